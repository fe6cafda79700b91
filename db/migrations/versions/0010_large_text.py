"""large-text mode: each staff user's own choice (None follows the village default)

Revision ID: 0010
Revises: 0009
Create Date: 2026-12-02 12:00:00
"""

from collections.abc import Sequence

import sqlalchemy as sa
from alembic import op

revision: str = '0010'
down_revision: str | None = '0009'
branch_labels: str | Sequence[str] | None = None
depends_on: str | Sequence[str] | None = None


def upgrade() -> None:
    op.add_column('staff_user', sa.Column('large_text', sa.Boolean(), nullable=True))


def downgrade() -> None:
    with op.batch_alter_table('staff_user') as batch:
        batch.drop_column('large_text')
