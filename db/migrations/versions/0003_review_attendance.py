"""review attendance: guests, arrivals and departures; votes by attendee

Revision ID: 0003
Revises: 0002
Create Date: 2026-12-02 09:00:00

``session_attendee`` gets an id of its own, a name and a capacity, so that 村民代表, 党员代表
and residents can be recorded beside the committee members, and a late arrival is one more
row; ``session_departure`` records who left (or was recorded by mistake); ``vote`` names the
attendee instead of the staff user, so a guest's vote can be kept too.

The rows already recorded are carried over, not updated in place: they are copied into scratch
tables, the two tables are rebuilt, and the rows inserted again (a member keeps the name the
account had, arrives when the session opened, and votes as before). Nothing here issues an
UPDATE or DELETE on the history tables.
"""

from collections.abc import Sequence

import sqlalchemy as sa
from alembic import op

revision: str = '0003'
down_revision: str | None = '0002'
branch_labels: str | Sequence[str] | None = None
depends_on: str | Sequence[str] | None = None

DECISION_ID = sa.BigInteger().with_variant(sa.Integer(), 'sqlite')


def _attendee_table() -> None:
    op.create_table(
        'session_attendee',
        sa.Column('id', sa.Integer(), nullable=False),
        sa.Column('session_id', sa.Integer(), nullable=False),
        sa.Column('user_id', sa.Integer(), nullable=True),
        sa.Column('resident_id', sa.Integer(), nullable=True),
        sa.Column('name', sa.String(length=40), nullable=False),
        sa.Column('capacity', sa.String(length=20), nullable=False),
        sa.Column('voting', sa.Boolean(), nullable=False),
        sa.Column('arrived_at', sa.DateTime(), nullable=False),
        sa.Column('recorded_by', sa.Integer(), nullable=True),
        sa.CheckConstraint("capacity <> 'committee' OR user_id IS NOT NULL",
                           name=op.f('ck_session_attendee_committee_member_is_staff')),
        sa.ForeignKeyConstraint(['session_id'], ['review_session.id'],
                                name=op.f('fk_session_attendee_session_id_review_session')),
        sa.ForeignKeyConstraint(['user_id'], ['staff_user.id'], name=op.f('fk_session_attendee_user_id_staff_user')),
        sa.ForeignKeyConstraint(['resident_id'], ['resident.id'],
                                name=op.f('fk_session_attendee_resident_id_resident')),
        sa.ForeignKeyConstraint(['recorded_by'], ['staff_user.id'],
                                name=op.f('fk_session_attendee_recorded_by_staff_user')),
        sa.PrimaryKeyConstraint('id', name=op.f('pk_session_attendee')),
    )
    op.create_index(op.f('ix_session_attendee_session_id'), 'session_attendee', ['session_id'], unique=False)


def upgrade() -> None:
    bind = op.get_bind()
    op.execute(
        "CREATE TABLE carry_attendee AS "
        "SELECT a.session_id, a.user_id, u.display_name AS name, r.opened_at AS arrived_at, r.opened_by AS recorded_by "
        "FROM session_attendee a JOIN staff_user u ON u.id = a.user_id JOIN review_session r ON r.id = a.session_id")
    op.execute(
        "CREATE TABLE carry_vote AS SELECT v.decision_id, d.session_id, v.user_id, v.vote "
        "FROM vote v JOIN decision d ON d.id = v.decision_id")
    # Votes were only ever taken from attendees; should one not be, its voter is kept as an
    # attendee rather than its vote lost.
    op.execute(
        "INSERT INTO carry_attendee (session_id, user_id, name, arrived_at, recorded_by) "
        "SELECT DISTINCT c.session_id, c.user_id, u.display_name, r.opened_at, r.opened_by FROM carry_vote c "
        "JOIN staff_user u ON u.id = c.user_id JOIN review_session r ON r.id = c.session_id "
        "WHERE NOT EXISTS (SELECT 1 FROM carry_attendee a WHERE a.session_id = c.session_id "
        "AND a.user_id = c.user_id)")
    op.drop_table('vote')
    op.drop_table('session_attendee')

    _attendee_table()
    op.create_table(
        'session_departure',
        sa.Column('attendee_id', sa.Integer(), nullable=False),
        sa.Column('kind', sa.String(length=10), nullable=False),
        sa.Column('at', sa.DateTime(), nullable=False),
        sa.Column('recorded_by', sa.Integer(), nullable=True),
        sa.CheckConstraint("kind IN ('left', 'mistake')", name=op.f('ck_session_departure_kind_known')),
        sa.ForeignKeyConstraint(['attendee_id'], ['session_attendee.id'],
                                name=op.f('fk_session_departure_attendee_id_session_attendee')),
        sa.ForeignKeyConstraint(['recorded_by'], ['staff_user.id'],
                                name=op.f('fk_session_departure_recorded_by_staff_user')),
        sa.PrimaryKeyConstraint('attendee_id', name=op.f('pk_session_departure')),
    )
    op.create_table(
        'vote',
        sa.Column('decision_id', DECISION_ID, nullable=False),
        sa.Column('attendee_id', sa.Integer(), nullable=False),
        sa.Column('vote', sa.String(length=10), nullable=False),
        sa.CheckConstraint("vote IN ('agree', 'disagree', 'abstain')", name=op.f('ck_vote_vote_known')),
        sa.ForeignKeyConstraint(['decision_id'], ['decision.id'], name=op.f('fk_vote_decision_id_decision')),
        sa.ForeignKeyConstraint(['attendee_id'], ['session_attendee.id'],
                                name=op.f('fk_vote_attendee_id_session_attendee')),
        sa.PrimaryKeyConstraint('decision_id', 'attendee_id', name=op.f('pk_vote')),
    )

    bind.execute(sa.text(
        "INSERT INTO session_attendee (session_id, user_id, name, capacity, voting, arrived_at, recorded_by) "
        "SELECT session_id, user_id, name, 'committee', :yes, arrived_at, recorded_by FROM carry_attendee "
        "ORDER BY session_id, user_id"), {"yes": True})
    op.execute(
        "INSERT INTO vote (decision_id, attendee_id, vote) SELECT c.decision_id, a.id, c.vote FROM carry_vote c "
        "JOIN session_attendee a ON a.session_id = c.session_id AND a.user_id = c.user_id")
    op.drop_table('carry_vote')
    op.drop_table('carry_attendee')


def downgrade() -> None:
    # Guests, departures and guests' votes have no place in the older tables and are dropped.
    op.execute("CREATE TABLE carry_attendee AS SELECT DISTINCT session_id, user_id FROM session_attendee "
               "WHERE user_id IS NOT NULL")
    op.execute("CREATE TABLE carry_vote AS SELECT v.decision_id, a.user_id, v.vote FROM vote v "
               "JOIN session_attendee a ON a.id = v.attendee_id WHERE a.user_id IS NOT NULL")
    op.drop_table('vote')
    op.drop_table('session_departure')
    with op.batch_alter_table('session_attendee', schema=None) as batch_op:
        batch_op.drop_index(batch_op.f('ix_session_attendee_session_id'))
    op.drop_table('session_attendee')
    op.create_table(
        'session_attendee',
        sa.Column('session_id', sa.Integer(), nullable=False),
        sa.Column('user_id', sa.Integer(), nullable=False),
        sa.ForeignKeyConstraint(['session_id'], ['review_session.id'],
                                name=op.f('fk_session_attendee_session_id_review_session')),
        sa.ForeignKeyConstraint(['user_id'], ['staff_user.id'], name=op.f('fk_session_attendee_user_id_staff_user')),
        sa.PrimaryKeyConstraint('session_id', 'user_id', name=op.f('pk_session_attendee')),
    )
    op.create_table(
        'vote',
        sa.Column('decision_id', DECISION_ID, nullable=False),
        sa.Column('user_id', sa.Integer(), nullable=False),
        sa.Column('vote', sa.String(length=10), nullable=False),
        sa.ForeignKeyConstraint(['decision_id'], ['decision.id'], name=op.f('fk_vote_decision_id_decision')),
        sa.ForeignKeyConstraint(['user_id'], ['staff_user.id'], name=op.f('fk_vote_user_id_staff_user')),
        sa.PrimaryKeyConstraint('decision_id', 'user_id', name=op.f('pk_vote')),
    )
    op.execute("INSERT INTO session_attendee (session_id, user_id) SELECT session_id, user_id FROM carry_attendee")
    op.execute("INSERT INTO vote (decision_id, user_id, vote) SELECT DISTINCT decision_id, user_id, vote "
               "FROM carry_vote")
    op.drop_table('carry_vote')
    op.drop_table('carry_attendee')
