"""county and township admins: a staff user's county (county admins), villages indexed by county

Revision ID: 0011
Revises: 0010
Create Date: 2026-12-03 07:30:00
"""

from collections.abc import Sequence

import sqlalchemy as sa
from alembic import op

revision: str = '0011'
down_revision: str | None = '0010'
branch_labels: str | Sequence[str] | None = None
depends_on: str | Sequence[str] | None = None


def upgrade() -> None:
    op.add_column('staff_user', sa.Column('county', sa.String(length=60), nullable=True))
    op.create_index('ix_village_county_township', 'village', ['county', 'township'])


def downgrade() -> None:
    op.drop_index('ix_village_county_township', table_name='village')
    with op.batch_alter_table('staff_user') as batch:
        batch.drop_column('county')
