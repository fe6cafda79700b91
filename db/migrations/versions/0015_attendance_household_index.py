"""index attendance by household (the card page's 志愿服务记录)

Without it the card page read the household's service records by scanning every attendance row of
the database: 23 ms of PostgreSQL per page on the township benchmark data, more than the rest of
the page together.

Revision ID: 0015
Revises: 0014
Create Date: 2026-12-03 08:50:00
"""

from collections.abc import Sequence

from alembic import op

revision: str = '0015'
down_revision: str | None = '0014'
branch_labels: str | Sequence[str] | None = None
depends_on: str | Sequence[str] | None = None


def upgrade() -> None:
    op.create_index('ix_attendance_household', 'attendance', ['household_id', 'id'], unique=False)


def downgrade() -> None:
    op.drop_index('ix_attendance_household', table_name='attendance')
