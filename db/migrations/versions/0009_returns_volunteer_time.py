"""partial returns of redemptions (redemption_return, its lines); an activity's travel allowance
and fixed duration

Revision ID: 0009
Revises: 0006
Create Date: 2026-12-02 11:30:00
"""

from collections.abc import Sequence

import sqlalchemy as sa
from alembic import op

from db.history import Guard, install

revision: str = '0009'
down_revision: str | None = '0006'
branch_labels: str | Sequence[str] | None = None
depends_on: str | Sequence[str] | None = None

# The guards as this revision installs them (frozen here, like 0004's).
GUARDS = {"redemption_return": Guard.append_only(), "redemption_return_line": Guard.append_only()}

BigId = sa.BigInteger().with_variant(sa.Integer(), "sqlite")


def upgrade() -> None:
    op.create_table(
        'redemption_return',
        sa.Column('id', BigId, nullable=False),
        sa.Column('village_id', sa.Integer(), nullable=False),
        sa.Column('redemption_id', BigId, nullable=False),
        sa.Column('household_id', sa.Integer(), nullable=False),
        sa.Column('receipt_no', sa.String(length=40), nullable=False),
        sa.Column('return_key', sa.String(length=64), nullable=False),
        sa.Column('total', sa.Integer(), nullable=False),
        sa.Column('reason', sa.Text(), nullable=False),
        sa.Column('created_by', sa.Integer(), nullable=True),
        sa.Column('created_at', sa.DateTime(), nullable=False),
        sa.CheckConstraint('total >= 0', name=op.f('ck_redemption_return_total_not_negative')),
        sa.ForeignKeyConstraint(['village_id'], ['village.id'], name=op.f('fk_redemption_return_village_id_village')),
        sa.ForeignKeyConstraint(['redemption_id'], ['redemption.id'],
                                name=op.f('fk_redemption_return_redemption_id_redemption')),
        sa.ForeignKeyConstraint(['household_id'], ['household.id'],
                                name=op.f('fk_redemption_return_household_id_household')),
        sa.ForeignKeyConstraint(['created_by'], ['staff_user.id'],
                                name=op.f('fk_redemption_return_created_by_staff_user')),
        sa.PrimaryKeyConstraint('id', name=op.f('pk_redemption_return')),
        sa.UniqueConstraint('receipt_no', name=op.f('uq_redemption_return_receipt_no')),
        sa.UniqueConstraint('return_key', name=op.f('uq_redemption_return_return_key')),
    )
    op.create_index(op.f('ix_redemption_return_redemption_id'), 'redemption_return', ['redemption_id'])
    op.create_index(op.f('ix_redemption_return_household_id'), 'redemption_return', ['household_id'])
    op.create_table(
        'redemption_return_line',
        sa.Column('id', BigId, nullable=False),
        sa.Column('return_id', BigId, nullable=False),
        sa.Column('redemption_line_id', BigId, nullable=False),
        sa.Column('product_id', sa.Integer(), nullable=False),
        sa.Column('qty', sa.Integer(), nullable=False),
        sa.Column('price', sa.Integer(), nullable=False),
        sa.CheckConstraint('qty > 0', name=op.f('ck_redemption_return_line_qty_positive')),
        sa.ForeignKeyConstraint(['return_id'], ['redemption_return.id'],
                                name=op.f('fk_redemption_return_line_return_id_redemption_return')),
        sa.ForeignKeyConstraint(['redemption_line_id'], ['redemption_line.id'],
                                name=op.f('fk_redemption_return_line_redemption_line_id_redemption_line')),
        sa.ForeignKeyConstraint(['product_id'], ['product.id'],
                                name=op.f('fk_redemption_return_line_product_id_product')),
        sa.PrimaryKeyConstraint('id', name=op.f('pk_redemption_return_line')),
    )
    op.create_index(op.f('ix_redemption_return_line_return_id'), 'redemption_return_line', ['return_id'])
    op.create_index(op.f('ix_redemption_return_line_redemption_line_id'), 'redemption_return_line',
                    ['redemption_line_id'])
    with op.batch_alter_table('activity') as batch:
        batch.add_column(sa.Column('travel_minutes', sa.Integer(), nullable=True))
        batch.add_column(sa.Column('fixed_minutes', sa.Integer(), nullable=True))
    install(op.get_bind(), GUARDS)


def downgrade() -> None:
    with op.batch_alter_table('activity') as batch:
        batch.drop_column('fixed_minutes')
        batch.drop_column('travel_minutes')
    op.drop_table('redemption_return_line')
    op.drop_table('redemption_return')
