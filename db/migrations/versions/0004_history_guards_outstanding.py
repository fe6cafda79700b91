"""history tables guarded in the schema; deductions never lost (待扣)

- Every table that records what happened refuses UPDATE and DELETE beyond what its guard
  allows, by triggers (db.history); before this only ledger_entry did.
- account.outstanding (待扣) and ledger_entry.delta_outstanding: a deduction the balance cannot
  cover is kept in full as outstanding, settled first from the household's next points.
- Deductions posted before this revision that took less than their amount (the rest was never
  taken) are recorded now: one 待扣补记 entry for each, naming it; where the household has a
  balance again, one 待扣抵扣 entry settles what it can at once — new entries, nothing rewritten.

Revision ID: 0004
Revises: 0003
Create Date: 2026-12-02 09:00:00
"""

import datetime as dt
from collections.abc import Sequence

import sqlalchemy as sa
from alembic import op

from db.history import Guard, Prefix, install

revision: str = '0004'
down_revision: str | None = '0003'
branch_labels: str | Sequence[str] | None = None
depends_on: str | Sequence[str] | None = None

# The guards as this revision installs them (frozen here: a later revision that changes one
# installs its own).
GUARDS = {
    "audit_log": Guard.append_only(),
    "ledger_entry": Guard.append_only(),
    "proposal_photo": Guard.append_only(),
    "review_session": Guard.until("closed_at"),
    "session_attendee": Guard.append_only(),
    "session_departure": Guard.append_only(),
    "decision": Guard.append_only(),
    "vote": Guard.append_only(),
    "objection": Guard.set_once(status=("open",), resolved_session_id=(), resolution=("",)),
    "card": Guard.set_once(status=("active",), revoked_at=(), revoke_reason=("",)),
    "stock_move": Guard.append_only(),
    "redemption": Guard.set_once(receipt_no=Prefix("tmp-"), status=("done",), voided_by=(), voided_at=(), void_reason=("",),
                                 delivery=("pending",), delivered_at=(), delivered_by=()),
    "redemption_line": Guard.append_only(),
    "hours_correction": Guard.set_once(status=("open",), decided_by=(), decided_at=(), decision_note=("",)),
    "star_level_event": Guard.append_only(),
    "certificate": Guard.append_only(),
    "harvest": Guard.append_only(),
    "produce_move": Guard.append_only(),
    "allocation": Guard.until("delivered_at", via="returned"),
    "fund_entry": Guard.append_only(),
    "import_batch": Guard.append_only(),
}

_ENTRY_COLUMNS = ("village_id, household_id, resident_id, kind, delta_balance, delta_earned, delta_outstanding, "
                  "source_type, source_id, rule_item_id, category_id, reverses_id, occurred_on, month, reason, "
                  "created_by, created_at")


def upgrade() -> None:
    bind = op.get_bind()
    with op.batch_alter_table('account', schema=None) as batch_op:
        batch_op.add_column(sa.Column('outstanding', sa.Integer(), server_default='0', nullable=False))
        batch_op.create_check_constraint(op.f('ck_account_outstanding_not_negative'), 'outstanding >= 0')
    # Not in batch mode: on SQLite that would copy the guarded ledger table; ADD COLUMN does not.
    op.add_column('ledger_entry', sa.Column('delta_outstanding', sa.Integer(), server_default='0', nullable=False))
    if bind.dialect.name == "postgresql":
        op.execute("DROP TRIGGER IF EXISTS ledger_entry_append_only ON ledger_entry")
        op.execute("DROP FUNCTION IF EXISTS jifen_append_only()")
    _record_lost_deductions(bind)
    install(bind, GUARDS)


def _record_lost_deductions(bind) -> None:
    now = dt.datetime.now().replace(microsecond=0)
    today = now.date()
    month = today.year * 100 + today.month
    stamp = sa.bindparam("now", now, type_=sa.DateTime())
    # 1. one 待扣补记 per deduction that took less than its amount (its uncovered part)
    bind.execute(sa.text(
        f"INSERT INTO ledger_entry ({_ENTRY_COLUMNS}) "
        "SELECT village_id, household_id, resident_id, 'backfill', 0, 0, delta_balance - delta_earned, "
        "'backfill', CAST(id AS VARCHAR(60)), NULL, NULL, NULL, occurred_on, month, "
        "'待扣补记：扣分 ' || CAST(-delta_earned AS VARCHAR(12)) || ' 分，当时只扣到 ' "
        "|| CAST(-delta_balance AS VARCHAR(12)) || ' 分', NULL, :now "
        "FROM ledger_entry WHERE kind IN ('deducted', 'adjustment') AND delta_earned < 0 "
        "AND delta_balance - delta_earned > 0 ORDER BY id").bindparams(stamp))
    bind.execute(sa.text(
        "UPDATE account SET "
        "outstanding = outstanding + (SELECT SUM(e.delta_outstanding) FROM ledger_entry e "
        "  WHERE e.household_id = account.household_id AND e.kind = 'backfill'), "
        "entries = entries + (SELECT COUNT(*) FROM ledger_entry e "
        "  WHERE e.household_id = account.household_id AND e.kind = 'backfill') "
        "WHERE household_id IN (SELECT household_id FROM ledger_entry WHERE kind = 'backfill')"))
    # 2. where the household has points again, settle what they cover (待扣抵扣), as the ledger
    #    does from now on with every new point
    settle = "CASE WHEN a.balance < a.outstanding THEN a.balance ELSE a.outstanding END"
    bind.execute(sa.text(
        f"INSERT INTO ledger_entry ({_ENTRY_COLUMNS}) "
        f"SELECT a.village_id, a.household_id, NULL, 'settlement', -({settle}), 0, -({settle}), "
        "'settlement', 'upgrade-0004:' || CAST(a.household_id AS VARCHAR(20)), NULL, NULL, NULL, :today, :month, "
        "'待扣抵扣：以现有积分抵扣待扣积分', NULL, :now "
        "FROM account a WHERE a.outstanding > 0 AND a.balance > 0 ORDER BY a.household_id").bindparams(
            stamp, sa.bindparam("today", today, type_=sa.Date()), sa.bindparam("month", month)))
    bind.execute(sa.text(
        "INSERT INTO household_month (household_id, month, village_id, grid_id, earned, deducted, redeemed, other) "
        "SELECT e.household_id, e.month, e.village_id, h.grid_id, 0, 0, 0, e.delta_balance "
        "FROM ledger_entry e JOIN household h ON h.id = e.household_id "
        "WHERE e.kind = 'settlement' AND e.source_id LIKE 'upgrade-0004:%' "
        "ON CONFLICT (household_id, month) DO UPDATE SET other = household_month.other + excluded.other"))
    bind.execute(sa.text(
        "UPDATE account SET "
        "balance = balance + (SELECT e.delta_balance FROM ledger_entry e WHERE e.source_type = 'settlement' "
        "  AND e.source_id = 'upgrade-0004:' || CAST(account.household_id AS VARCHAR(20))), "
        "outstanding = outstanding + (SELECT e.delta_outstanding FROM ledger_entry e "
        "  WHERE e.source_type = 'settlement' AND e.source_id = 'upgrade-0004:' || CAST(account.household_id AS VARCHAR(20))), "
        "entries = entries + 1 "
        "WHERE outstanding > 0 AND balance > 0"))


def downgrade() -> None:
    raise NotImplementedError("0004 cannot be undone: it recorded ledger entries, and history is never removed.")
