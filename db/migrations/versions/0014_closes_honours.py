"""year end: recorded month and year closes (period_close), published honour lists
(honour_list, honour_entry)

Revision ID: 0014
Revises: 0013
Create Date: 2026-12-03 08:00:00
"""

from collections.abc import Sequence

import sqlalchemy as sa
from alembic import op

from db.history import Guard, install

revision: str = '0014'
down_revision: str | None = '0013'
branch_labels: str | Sequence[str] | None = None
depends_on: str | Sequence[str] | None = None

# The guards as this revision installs them (frozen here, like 0004's).
GUARDS = {"period_close": Guard.append_only(), "honour_list": Guard.append_only(),
          "honour_entry": Guard.append_only()}


def upgrade() -> None:
    op.create_table(
        'period_close',
        sa.Column('id', sa.Integer(), nullable=False),
        sa.Column('village_id', sa.Integer(), nullable=False),
        sa.Column('kind', sa.String(length=10), nullable=False),
        sa.Column('period', sa.Integer(), nullable=False),
        sa.Column('balance_total', sa.Integer(), nullable=False),
        sa.Column('earned_total', sa.Integer(), nullable=False),
        sa.Column('outstanding_total', sa.Integer(), nullable=False),
        sa.Column('households', sa.Integer(), nullable=False),
        sa.Column('entries', sa.Integer(), nullable=False),
        sa.Column('policy', sa.String(length=20), nullable=False),
        sa.Column('cleared', sa.Integer(), nullable=False),
        sa.Column('closed_by', sa.Integer(), nullable=True),
        sa.Column('closed_at', sa.DateTime(), nullable=False),
        sa.ForeignKeyConstraint(['village_id'], ['village.id'], name=op.f('fk_period_close_village_id_village')),
        sa.ForeignKeyConstraint(['closed_by'], ['staff_user.id'], name=op.f('fk_period_close_closed_by_staff_user')),
        sa.PrimaryKeyConstraint('id', name=op.f('pk_period_close')),
        sa.UniqueConstraint('village_id', 'kind', 'period', name='uq_period_close_village_period'),
    )
    op.create_table(
        'honour_list',
        sa.Column('id', sa.Integer(), nullable=False),
        sa.Column('village_id', sa.Integer(), nullable=False),
        sa.Column('year', sa.Integer(), nullable=False),
        sa.Column('title', sa.String(length=100), nullable=False),
        sa.Column('published_by', sa.Integer(), nullable=True),
        sa.Column('published_at', sa.DateTime(), nullable=False),
        sa.ForeignKeyConstraint(['village_id'], ['village.id'], name=op.f('fk_honour_list_village_id_village')),
        sa.ForeignKeyConstraint(['published_by'], ['staff_user.id'],
                                name=op.f('fk_honour_list_published_by_staff_user')),
        sa.PrimaryKeyConstraint('id', name=op.f('pk_honour_list')),
        sa.UniqueConstraint('village_id', 'year', name='uq_honour_list_village_year'),
    )
    op.create_table(
        'honour_entry',
        sa.Column('id', sa.Integer(), nullable=False),
        sa.Column('list_id', sa.Integer(), nullable=False),
        sa.Column('kind', sa.String(length=20), nullable=False),
        sa.Column('household_id', sa.Integer(), nullable=True),
        sa.Column('resident_id', sa.Integer(), nullable=True),
        sa.Column('name', sa.String(length=100), nullable=False),
        sa.Column('door_no', sa.String(length=50), nullable=False),
        sa.Column('level', sa.Integer(), nullable=False),
        sa.Column('points', sa.Integer(), nullable=False),
        sa.Column('minutes', sa.Integer(), nullable=False),
        sa.Column('number', sa.String(length=40), nullable=False),
        sa.ForeignKeyConstraint(['list_id'], ['honour_list.id'], name=op.f('fk_honour_entry_list_id_honour_list')),
        sa.ForeignKeyConstraint(['household_id'], ['household.id'],
                                name=op.f('fk_honour_entry_household_id_household')),
        sa.ForeignKeyConstraint(['resident_id'], ['resident.id'], name=op.f('fk_honour_entry_resident_id_resident')),
        sa.PrimaryKeyConstraint('id', name=op.f('pk_honour_entry')),
        sa.UniqueConstraint('number', name=op.f('uq_honour_entry_number')),
    )
    op.create_index(op.f('ix_honour_entry_list_id'), 'honour_entry', ['list_id'])
    install(op.get_bind(), GUARDS)


def downgrade() -> None:
    op.drop_table('honour_entry')
    op.drop_table('honour_list')
    op.drop_table('period_close')
