"""index proposals by submitter, newest first (我最近的申报)

Revision ID: 0002
Revises: 0001
Create Date: 2026-12-01 18:30:00
"""

from collections.abc import Sequence

from alembic import op

revision: str = '0002'
down_revision: str | None = '0001'
branch_labels: str | Sequence[str] | None = None
depends_on: str | Sequence[str] | None = None


def upgrade() -> None:
    with op.batch_alter_table('proposal', schema=None) as batch_op:
        batch_op.create_index('ix_proposal_submitted_by', ['submitted_by', 'id'], unique=False)


def downgrade() -> None:
    with op.batch_alter_table('proposal', schema=None) as batch_op:
        batch_op.drop_index('ix_proposal_submitted_by')
