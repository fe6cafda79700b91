"""household life-cycle: household_event (closed, reopened, resident left or back, split, merged)

Revision ID: 0006
Revises: 0005
Create Date: 2026-12-06 10:00:00
"""

from collections.abc import Sequence

import sqlalchemy as sa
from alembic import op

from db.history import Guard, install

revision: str = '0006'
down_revision: str | None = '0005'
branch_labels: str | Sequence[str] | None = None
depends_on: str | Sequence[str] | None = None


def upgrade() -> None:
    op.create_table(
        'household_event',
        sa.Column('id', sa.Integer(), nullable=False),
        sa.Column('village_id', sa.Integer(), nullable=False),
        sa.Column('household_id', sa.Integer(), nullable=False),
        sa.Column('resident_id', sa.Integer(), nullable=True),
        sa.Column('kind', sa.String(length=20), nullable=False),
        sa.Column('reason', sa.String(length=20), nullable=False),
        sa.Column('note', sa.Text(), nullable=False),
        sa.Column('happened_on', sa.Date(), nullable=False),
        sa.Column('other_household_id', sa.Integer(), nullable=True),
        sa.Column('points', sa.Integer(), nullable=False),
        sa.Column('created_by', sa.Integer(), nullable=True),
        sa.Column('created_at', sa.DateTime(), nullable=False),
        sa.ForeignKeyConstraint(['village_id'], ['village.id'], name=op.f('fk_household_event_village_id_village')),
        sa.ForeignKeyConstraint(['household_id'], ['household.id'],
                                name=op.f('fk_household_event_household_id_household')),
        sa.ForeignKeyConstraint(['resident_id'], ['resident.id'], name=op.f('fk_household_event_resident_id_resident')),
        sa.ForeignKeyConstraint(['other_household_id'], ['household.id'],
                                name=op.f('fk_household_event_other_household_id_household')),
        sa.ForeignKeyConstraint(['created_by'], ['staff_user.id'],
                                name=op.f('fk_household_event_created_by_staff_user')),
        sa.PrimaryKeyConstraint('id', name=op.f('pk_household_event')),
    )
    op.create_index('ix_household_event_household', 'household_event', ['household_id', 'id'], unique=False)
    install(op.get_bind(), {"household_event": Guard.append_only()})


def downgrade() -> None:
    op.drop_index('ix_household_event_household', table_name='household_event')
    op.drop_table('household_event')
