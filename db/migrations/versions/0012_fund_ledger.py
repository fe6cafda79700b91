"""the village fund (村集体资金) as a numbered chain: kind, seq, balance_after, counterparty, purpose,
items, reverses_id, entry_key and digest on fund_entry; existing rows (sales of field produce) are
numbered in the order they were written

Revision ID: 0012
Revises: 0011
Create Date: 2026-12-03 08:00:00
"""

import hashlib
import json
from collections.abc import Sequence
from types import SimpleNamespace

import sqlalchemy as sa
from alembic import op

from db.history import Guard, install

revision: str = '0012'
down_revision: str | None = '0011'
branch_labels: str | Sequence[str] | None = None
depends_on: str | Sequence[str] | None = None

GUARDS = {"fund_entry": Guard.append_only()}
KINDS = ("'opening', 'donation', 'other_income', 'field_sale', 'purchase', 'other_spending', 'reversal'")


def _digest(prev: str, r) -> str:
    """Frozen copy of core.supermarket.fund.digest as this revision writes it."""
    parts = [prev, str(r.village_id), str(r.seq), r.kind, r.date.isoformat(), str(r.amount_fen),
             str(r.balance_after), r.source, r.counterparty, r.purpose, r.items, r.note,
             "" if r.reverses_id is None else str(r.reverses_id), r.entry_key,
             "" if r.created_by is None else str(r.created_by), r.created_at.isoformat(sep=" ")]
    return hashlib.sha256(json.dumps(parts, ensure_ascii=False).encode()).hexdigest()


def _drop_guard(bind) -> None:
    if bind.dialect.name == "postgresql":
        op.execute("DROP TRIGGER IF EXISTS fund_entry_history_guard ON fund_entry")
    else:
        op.execute("DROP TRIGGER IF EXISTS fund_entry_no_update")
        op.execute("DROP TRIGGER IF EXISTS fund_entry_no_delete")


def upgrade() -> None:
    bind = op.get_bind()
    _drop_guard(bind)  # the existing rows are numbered below, once; the guard is installed again at the end
    with op.batch_alter_table('fund_entry') as batch:
        batch.add_column(sa.Column('seq', sa.Integer(), nullable=True))
        batch.add_column(sa.Column('kind', sa.String(length=20), nullable=True))
        batch.add_column(sa.Column('balance_after', sa.BigInteger(), nullable=True))
        batch.add_column(sa.Column('counterparty', sa.String(length=60), nullable=False, server_default=''))
        batch.add_column(sa.Column('purpose', sa.String(length=200), nullable=False, server_default=''))
        batch.add_column(sa.Column('items', sa.Text(), nullable=False, server_default=''))
        batch.add_column(sa.Column('reverses_id', sa.Integer(), nullable=True))
        batch.add_column(sa.Column('entry_key', sa.String(length=64), nullable=True))
        batch.add_column(sa.Column('digest', sa.String(length=64), nullable=True))

    t = sa.table('fund_entry', *(sa.column(n, ty) for n, ty in [
        ('id', sa.Integer()), ('village_id', sa.Integer()), ('date', sa.Date()), ('amount_fen', sa.BigInteger()),
        ('source', sa.String()), ('note', sa.Text()), ('created_by', sa.Integer()), ('created_at', sa.DateTime()),
        ('seq', sa.Integer()), ('kind', sa.String()), ('balance_after', sa.BigInteger()),
        ('counterparty', sa.String()), ('purpose', sa.String()), ('items', sa.Text()),
        ('reverses_id', sa.Integer()), ('entry_key', sa.String()), ('digest', sa.String())]))
    rows = bind.execute(sa.select(t).order_by(t.c.village_id, t.c.id)).all()
    last: dict[int, tuple[int, int, str]] = {}  # village -> (seq, balance, digest)
    for r in rows:
        seq, balance, prev = last.get(r.village_id, (0, 0, ""))
        values = {"seq": seq + 1, "kind": "field_sale" if r.source == "义田出售" else "other_income",
                  "balance_after": balance + r.amount_fen, "counterparty": r.counterparty or "",
                  "purpose": r.purpose or "", "items": r.items or "", "reverses_id": None,
                  "entry_key": f"fund_entry:{r.id}"}
        d = _digest(prev, SimpleNamespace(**{**r._mapping, **values}))
        bind.execute(sa.update(t).where(t.c.id == r.id).values(**values, digest=d))
        last[r.village_id] = (values["seq"], values["balance_after"], d)

    with op.batch_alter_table('fund_entry') as batch:
        for name, ty in [('seq', sa.Integer()), ('kind', sa.String(length=20)), ('balance_after', sa.BigInteger()),
                         ('entry_key', sa.String(length=64)), ('digest', sa.String(length=64))]:
            batch.alter_column(name, existing_type=ty, nullable=False)
        batch.create_foreign_key(op.f('fk_fund_entry_reverses_id_fund_entry'), 'fund_entry', ['reverses_id'], ['id'])
        batch.create_check_constraint(op.f('ck_fund_entry_kind_known'), f"kind IN ({KINDS})")
    op.create_index('uq_fund_entry_village_seq', 'fund_entry', ['village_id', 'seq'], unique=True)
    op.create_index('uq_fund_entry_reverses_id', 'fund_entry', ['reverses_id'], unique=True)
    op.create_index('uq_fund_entry_entry_key', 'fund_entry', ['entry_key'], unique=True)
    install(bind, GUARDS)


def downgrade() -> None:
    bind = op.get_bind()
    _drop_guard(bind)
    op.drop_index('uq_fund_entry_entry_key', table_name='fund_entry')
    op.drop_index('uq_fund_entry_reverses_id', table_name='fund_entry')
    op.drop_index('uq_fund_entry_village_seq', table_name='fund_entry')
    with op.batch_alter_table('fund_entry') as batch:
        batch.drop_constraint(op.f('ck_fund_entry_kind_known'), type_='check')
        batch.drop_constraint(op.f('fk_fund_entry_reverses_id_fund_entry'), type_='foreignkey')
        for name in ('digest', 'entry_key', 'reverses_id', 'items', 'purpose', 'counterparty', 'balance_after',
                     'kind', 'seq'):
            batch.drop_column(name)
    install(bind, GUARDS)
