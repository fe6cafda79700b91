"""outside volunteers (外来志愿者): outside_volunteer; sign-ups, attendance and certificates name a
resident or an outside volunteer, exactly one (CHECK)

Revision ID: 0013
Revises: 0012
Create Date: 2026-12-03 08:00:00

On PostgreSQL the three tables are altered in place. SQLite cannot drop a NOT NULL or add a CHECK
in place, so there each table is rebuilt: its rows are carried into a scratch table, the table is
created as the models have it and the rows are inserted again, ids and all. ``hours_correction``
refers to ``attendance`` and is carried the same way (dropping a table that rows still refer to
fails with foreign keys on). Rebuilding drops the history triggers of ``certificate`` and
``hours_correction``; they are installed again. Nothing here updates or deletes a history row.
"""

from collections.abc import Sequence

import sqlalchemy as sa
from alembic import op

from db.history import Guard, install

revision: str = '0013'
down_revision: str | None = '0012'
branch_labels: str | Sequence[str] | None = None
depends_on: str | Sequence[str] | None = None

# The guards as this revision installs them (frozen here, like 0004's).
GUARDS = {
    "hours_correction": Guard.set_once(status=("open",), decided_by=(), decided_at=(), decision_note=("",)),
    "certificate": Guard.append_only(),
}
ONE_PERSON = "(resident_id IS NULL) <> (outsider_id IS NULL)"


def _outside_volunteer() -> None:
    op.create_table(
        'outside_volunteer',
        sa.Column('id', sa.Integer(), nullable=False),
        sa.Column('village_id', sa.Integer(), nullable=False),
        sa.Column('name', sa.String(length=40), nullable=False),
        sa.Column('unit', sa.String(length=60), nullable=False),
        sa.Column('phone', sa.String(length=20), nullable=False),
        sa.Column('party_member', sa.Boolean(), nullable=False),
        sa.Column('card_no', sa.String(length=40), nullable=True),
        sa.Column('active', sa.Boolean(), nullable=False),
        sa.Column('created_by', sa.Integer(), nullable=True),
        sa.Column('created_at', sa.DateTime(), nullable=False),
        sa.ForeignKeyConstraint(['village_id'], ['village.id'], name=op.f('fk_outside_volunteer_village_id_village')),
        sa.ForeignKeyConstraint(['created_by'], ['staff_user.id'],
                                name=op.f('fk_outside_volunteer_created_by_staff_user')),
        sa.PrimaryKeyConstraint('id', name=op.f('pk_outside_volunteer')),
        sa.UniqueConstraint('village_id', 'card_no', name=op.f('uq_outside_volunteer_village_id')),
    )
    op.create_index(op.f('ix_outside_volunteer_village_id'), 'outside_volunteer', ['village_id'])


def _signup() -> None:
    op.create_table(
        'signup',
        sa.Column('id', sa.Integer(), nullable=False),
        sa.Column('activity_id', sa.Integer(), nullable=False),
        sa.Column('resident_id', sa.Integer(), nullable=True),
        sa.Column('outsider_id', sa.Integer(), nullable=True),
        sa.Column('status', sa.String(length=10), nullable=False),
        sa.Column('created_at', sa.DateTime(), nullable=False),
        sa.CheckConstraint(ONE_PERSON, name=op.f('ck_signup_one_person')),
        sa.ForeignKeyConstraint(['activity_id'], ['activity.id'], name=op.f('fk_signup_activity_id_activity')),
        sa.ForeignKeyConstraint(['resident_id'], ['resident.id'], name=op.f('fk_signup_resident_id_resident')),
        sa.ForeignKeyConstraint(['outsider_id'], ['outside_volunteer.id'],
                                name=op.f('fk_signup_outsider_id_outside_volunteer')),
        sa.PrimaryKeyConstraint('id', name=op.f('pk_signup')),
        sa.UniqueConstraint('activity_id', 'resident_id', name=op.f('uq_signup_activity_id')),
        sa.UniqueConstraint('activity_id', 'outsider_id', name=op.f('uq_signup_activity_outsider')),
    )
    op.create_index(op.f('ix_signup_activity_id'), 'signup', ['activity_id'])


def _attendance() -> None:
    op.create_table(
        'attendance',
        sa.Column('id', sa.Integer(), nullable=False),
        sa.Column('village_id', sa.Integer(), nullable=False),
        sa.Column('activity_id', sa.Integer(), nullable=False),
        sa.Column('resident_id', sa.Integer(), nullable=True),
        sa.Column('outsider_id', sa.Integer(), nullable=True),
        sa.Column('household_id', sa.Integer(), nullable=True),
        sa.Column('check_in', sa.DateTime(), nullable=True),
        sa.Column('check_out', sa.DateTime(), nullable=True),
        sa.Column('minutes', sa.Integer(), nullable=True),
        sa.Column('confirmed_at', sa.DateTime(), nullable=True),
        sa.Column('confirmed_by', sa.Integer(), nullable=True),
        sa.CheckConstraint('minutes IS NULL OR (minutes >= 0 AND minutes <= 1440)',
                           name=op.f('ck_attendance_minutes_range')),
        sa.CheckConstraint(ONE_PERSON, name=op.f('ck_attendance_one_person')),
        sa.CheckConstraint('(household_id IS NULL) = (resident_id IS NULL)',
                           name=op.f('ck_attendance_household_with_resident')),
        sa.ForeignKeyConstraint(['activity_id'], ['activity.id'], name=op.f('fk_attendance_activity_id_activity')),
        sa.ForeignKeyConstraint(['confirmed_by'], ['staff_user.id'],
                                name=op.f('fk_attendance_confirmed_by_staff_user')),
        sa.ForeignKeyConstraint(['household_id'], ['household.id'], name=op.f('fk_attendance_household_id_household')),
        sa.ForeignKeyConstraint(['resident_id'], ['resident.id'], name=op.f('fk_attendance_resident_id_resident')),
        sa.ForeignKeyConstraint(['outsider_id'], ['outside_volunteer.id'],
                                name=op.f('fk_attendance_outsider_id_outside_volunteer')),
        sa.ForeignKeyConstraint(['village_id'], ['village.id'], name=op.f('fk_attendance_village_id_village')),
        sa.PrimaryKeyConstraint('id', name=op.f('pk_attendance')),
        sa.UniqueConstraint('activity_id', 'resident_id', name=op.f('uq_attendance_activity_id')),
        sa.UniqueConstraint('activity_id', 'outsider_id', name=op.f('uq_attendance_activity_outsider')),
    )
    op.create_index(op.f('ix_attendance_activity_id'), 'attendance', ['activity_id'])
    op.create_index(op.f('ix_attendance_resident_id'), 'attendance', ['resident_id'])
    op.create_index(op.f('ix_attendance_outsider_id'), 'attendance', ['outsider_id'])
    op.create_index('ix_attendance_village_activity', 'attendance', ['village_id', 'activity_id'])


def _certificate() -> None:
    op.create_table(
        'certificate',
        sa.Column('id', sa.Integer(), nullable=False),
        sa.Column('number', sa.String(length=30), nullable=False),
        sa.Column('village_id', sa.Integer(), nullable=False),
        sa.Column('resident_id', sa.Integer(), nullable=True),
        sa.Column('outsider_id', sa.Integer(), nullable=True),
        sa.Column('period_from', sa.Date(), nullable=False),
        sa.Column('period_to', sa.Date(), nullable=False),
        sa.Column('total_minutes', sa.Integer(), nullable=False),
        sa.Column('issued_by', sa.Integer(), nullable=True),
        sa.Column('issued_at', sa.DateTime(), nullable=False),
        sa.CheckConstraint(ONE_PERSON, name=op.f('ck_certificate_one_person')),
        sa.ForeignKeyConstraint(['issued_by'], ['staff_user.id'], name=op.f('fk_certificate_issued_by_staff_user')),
        sa.ForeignKeyConstraint(['resident_id'], ['resident.id'], name=op.f('fk_certificate_resident_id_resident')),
        sa.ForeignKeyConstraint(['outsider_id'], ['outside_volunteer.id'],
                                name=op.f('fk_certificate_outsider_id_outside_volunteer')),
        sa.ForeignKeyConstraint(['village_id'], ['village.id'], name=op.f('fk_certificate_village_id_village')),
        sa.PrimaryKeyConstraint('id', name=op.f('pk_certificate')),
        sa.UniqueConstraint('number', name=op.f('uq_certificate_number')),
    )


def _hours_correction() -> None:
    op.create_table(
        'hours_correction',
        sa.Column('id', sa.Integer(), nullable=False),
        sa.Column('attendance_id', sa.Integer(), nullable=False),
        sa.Column('requested_by', sa.String(length=40), nullable=False),
        sa.Column('reason', sa.Text(), nullable=False),
        sa.Column('old_minutes', sa.Integer(), nullable=True),
        sa.Column('new_minutes', sa.Integer(), nullable=False),
        sa.Column('status', sa.String(length=10), nullable=False),
        sa.Column('decided_by', sa.Integer(), nullable=True),
        sa.Column('decided_at', sa.DateTime(), nullable=True),
        sa.Column('decision_note', sa.Text(), nullable=False),
        sa.Column('created_at', sa.DateTime(), nullable=False),
        sa.ForeignKeyConstraint(['attendance_id'], ['attendance.id'],
                                name=op.f('fk_hours_correction_attendance_id_attendance')),
        sa.ForeignKeyConstraint(['decided_by'], ['staff_user.id'],
                                name=op.f('fk_hours_correction_decided_by_staff_user')),
        sa.PrimaryKeyConstraint('id', name=op.f('pk_hours_correction')),
    )
    op.create_index(op.f('ix_hours_correction_attendance_id'), 'hours_correction', ['attendance_id'])


COLUMNS = {
    "signup": "id, activity_id, resident_id, status, created_at",
    "attendance": ("id, village_id, activity_id, resident_id, household_id, check_in, check_out, minutes, "
                   "confirmed_at, confirmed_by"),
    "certificate": "id, number, village_id, resident_id, period_from, period_to, total_minutes, issued_by, issued_at",
    "hours_correction": ("id, attendance_id, requested_by, reason, old_minutes, new_minutes, status, decided_by, "
                         "decided_at, decision_note, created_at"),
}


def _rebuild_sqlite() -> None:
    """Carry, drop (children first), create, refill (parents first)."""
    order = ["hours_correction", "certificate", "signup", "attendance"]
    for table in order:
        op.execute(f"CREATE TABLE carry_{table} AS SELECT {COLUMNS[table]} FROM {table}")
    for table in order:
        op.drop_table(table)
    _attendance()
    _signup()
    _certificate()
    _hours_correction()
    for table in reversed(order):
        op.execute(f"INSERT INTO {table} ({COLUMNS[table]}) SELECT {COLUMNS[table]} FROM carry_{table} ORDER BY id")
        op.drop_table(f"carry_{table}")


def _alter_postgresql() -> None:
    for table in ("signup", "attendance", "certificate"):
        op.add_column(table, sa.Column('outsider_id', sa.Integer(), nullable=True))
        op.alter_column(table, 'resident_id', existing_type=sa.Integer(), nullable=True)
        op.create_foreign_key(op.f(f'fk_{table}_outsider_id_outside_volunteer'), table, 'outside_volunteer',
                              ['outsider_id'], ['id'])
        op.create_check_constraint(op.f(f'ck_{table}_one_person'), table, ONE_PERSON)
    op.alter_column('attendance', 'household_id', existing_type=sa.Integer(), nullable=True)
    op.create_check_constraint(op.f('ck_attendance_household_with_resident'), 'attendance',
                               '(household_id IS NULL) = (resident_id IS NULL)')
    op.create_unique_constraint(op.f('uq_signup_activity_outsider'), 'signup', ['activity_id', 'outsider_id'])
    op.create_unique_constraint(op.f('uq_attendance_activity_outsider'), 'attendance', ['activity_id', 'outsider_id'])
    op.create_index(op.f('ix_attendance_outsider_id'), 'attendance', ['outsider_id'])


def upgrade() -> None:
    _outside_volunteer()
    if op.get_bind().dialect.name == "sqlite":
        _rebuild_sqlite()
        install(op.get_bind(), GUARDS)
    else:
        _alter_postgresql()


def downgrade() -> None:
    # Outside volunteers' rows have no place in the older tables: the downgrade refuses while any exist.
    bind = op.get_bind()
    if bind.execute(sa.text("SELECT COUNT(*) FROM outside_volunteer")).scalar():
        raise RuntimeError("已登记外来志愿者，不能降级到 0010。")
    if bind.dialect.name == "sqlite":
        raise RuntimeError("SQLite 数据库不支持从 0013 降级，请从备份恢复。")
    op.drop_index(op.f('ix_attendance_outsider_id'), table_name='attendance')
    op.drop_constraint(op.f('uq_attendance_activity_outsider'), 'attendance', type_='unique')
    op.drop_constraint(op.f('uq_signup_activity_outsider'), 'signup', type_='unique')
    op.drop_constraint(op.f('ck_attendance_household_with_resident'), 'attendance', type_='check')
    op.alter_column('attendance', 'household_id', existing_type=sa.Integer(), nullable=False)
    for table in ("signup", "attendance", "certificate"):
        op.drop_constraint(op.f(f'ck_{table}_one_person'), table, type_='check')
        op.drop_constraint(op.f(f'fk_{table}_outsider_id_outside_volunteer'), table, type_='foreignkey')
        op.alter_column(table, 'resident_id', existing_type=sa.Integer(), nullable=False)
        op.drop_column(table, 'outsider_id')
    op.drop_index(op.f('ix_outside_volunteer_village_id'), table_name='outside_volunteer')
    op.drop_table('outside_volunteer')
