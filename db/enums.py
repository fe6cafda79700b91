"""The values a code column may hold, one ``StrEnum`` per column: statuses (``proposal.status``
…) and kinds (``ledger_entry.kind``, ``stock_move.kind``, ``decision.outcome`` …).

Each member equals the string the column stores (``ProposalStatus.POSTED == "posted"``), so rows
written before the enums existed, raw SQL and string literals elsewhere keep working; what the
enums add is one place that lists the values. ``db.models`` builds a CHECK constraint per column
from them (:func:`check_in`), so the database itself refuses a value that is not listed: a typo in
Python fails at the write, not later on a screen that does not know the value.

Adding a value means adding a member here *and* a migration that replaces the column's CHECK
(existing databases keep the old constraint until then). The names shown for the values stay with
the code that shows them (``core.points.entry_rules.KIND_NAMES`` …).
"""

from __future__ import annotations

from enum import StrEnum


class ProposalStatus(StrEnum):
    """积分申报: submitted → rejected / deferred (back in the queue) / publicity (approved with a
    publicity period) or posted (approved, no publicity) → objected → posted | overturned."""

    SUBMITTED = "submitted"
    DEFERRED = "deferred"
    REJECTED = "rejected"
    PUBLICITY = "publicity"
    OBJECTED = "objected"
    POSTED = "posted"
    OVERTURNED = "overturned"


class ObjectionStatus(StrEnum):
    """An objection during publicity: open until the committee upholds or overturns the proposal."""

    OPEN = "open"
    UPHELD = "upheld"
    OVERTURNED = "overturned"


class CardStatus(StrEnum):
    ACTIVE = "active"
    REVOKED = "revoked"


class RedemptionStatus(StrEnum):
    """A redemption is done or voided; returns are rows of their own (``redemption_return``), so
    "partly returned" is computed for display, never stored."""

    DONE = "done"
    VOIDED = "voided"


class Delivery(StrEnum):
    """``redemption.delivery``: picked up at the shop (none), to deliver, delivered."""

    NONE = "none"
    PENDING = "pending"
    DELIVERED = "delivered"


class ActivityStatus(StrEnum):
    PLANNED = "planned"
    OPEN = "open"
    DONE = "done"
    CANCELLED = "cancelled"


class SignupStatus(StrEnum):
    SIGNED = "signed"
    WAITLIST = "waitlist"
    CANCELLED = "cancelled"


class CorrectionStatus(StrEnum):
    """``hours_correction.status``: a request to correct volunteer minutes."""

    OPEN = "open"
    ACCEPTED = "accepted"
    REFUSED = "refused"


class RoundStatus(StrEnum):
    """``distribution_round.status``: a draft is confirmed (allocations fixed, handing out) and
    then closed; a draft can also be cancelled."""

    DRAFT = "draft"
    CONFIRMED = "confirmed"
    CLOSED = "closed"
    CANCELLED = "cancelled"


# ---------------------------------------------------------------- kinds


class LedgerKind(StrEnum):
    """``ledger_entry.kind``: what a points entry is (core.points.entry_rules says what each kind
    changes and names it)."""

    EARNED = "earned"
    DEDUCTED = "deducted"
    BASE = "base"  # 底分, spendable
    BASE_LOCKED = "base_locked"  # 底分 counted in the earned total only
    REDEEMED = "redeemed"
    REDEEM_VOID = "redeem_void"
    REDEEM_RETURN = "redeem_return"
    REVERSAL = "reversal"
    CLEARING = "clearing"
    ADJUSTMENT = "adjustment"
    VOLUNTEER = "volunteer"
    SETTLEMENT = "settlement"  # 待扣 settled from new points
    BACKFILL = "backfill"  # 待扣 recorded by migration 0004 for deductions that lost points before
    CARRYOVER = "carryover"  # opening balance from the village's old book
    CARRYOVER_EARNED = "carryover_earned"
    CARRYOVER_RECORD = "carryover_record"
    TRANSFER = "transfer"  # points moved by a split, a merge or a closed household


class HouseholdEventKind(StrEnum):
    """``household_event.kind``: a step of a household's life (core.village.lifecycle)."""

    CLOSE = "close"
    REOPEN = "reopen"
    RESIDENT_LEAVE = "resident_leave"
    RESIDENT_RETURN = "resident_return"
    SPLIT_OUT = "split_out"
    SPLIT_IN = "split_in"
    MERGE_OUT = "merge_out"
    MERGE_IN = "merge_in"
    HEAD_CHANGE = "head_change"


class CloseKind(StrEnum):
    """``period_close.kind``: a month close (period yyyymm) or the year end (period yyyy)."""

    MONTH = "month"
    YEAR = "year"


class HonourKind(StrEnum):
    """``honour_entry.kind``: 星级文明户 or 优秀志愿者."""

    HOUSEHOLD = "household"
    VOLUNTEER = "volunteer"


class ProduceMoveKind(StrEnum):
    """``produce_move.kind`` (义田 produce): harvested, handed out in a round, moved to the shop, sold,
    adjusted (loss), or returned to store when a round's allocation was not collected."""

    HARVEST = "harvest"
    DELIVER = "deliver"
    TO_SHOP = "to_shop"
    SALE = "sale"
    ADJUST = "adjust"
    RETURN = "return"


class ProductKind(StrEnum):
    """``product.kind``: goods have stock; a service (理发, 维修) has none."""

    GOODS = "goods"
    SERVICE = "service"


class StockMoveKind(StrEnum):
    """``stock_move.kind``: received (purchase, donation, harvest from the field), redeemed, put back
    by a voided redemption or a return of redeemed goods, or a stock count's difference."""

    PURCHASE = "purchase"
    DONATION = "donation"
    HARVEST = "harvest"
    REDEEM = "redeem"
    VOID = "void"
    RETURN = "return"
    COUNT = "count"


class DecisionOutcome(StrEnum):
    """``decision.outcome``: on a proposal approved / rejected / deferred; on an objection upheld
    (the proposal stands) or overturned."""

    APPROVED = "approved"
    REJECTED = "rejected"
    DEFERRED = "deferred"
    UPHELD = "upheld"
    OVERTURNED = "overturned"


class FundKind(StrEnum):
    """``fund_entry.kind`` (村集体资金): income, spending, or the reversal of an entry."""

    OPENING = "opening"
    DONATION = "donation"
    OTHER_INCOME = "other_income"
    FIELD_SALE = "field_sale"
    PURCHASE = "purchase"
    OTHER_SPENDING = "other_spending"
    REVERSAL = "reversal"


class DepartureKind(StrEnum):
    """``session_departure.kind``: the attendee left the session, or was recorded by mistake."""

    LEFT = "left"
    MISTAKE = "mistake"


class VoteChoice(StrEnum):
    """``vote.vote``."""

    AGREE = "agree"
    DISAGREE = "disagree"
    ABSTAIN = "abstain"


# Every enum-held column: (table, column) → its enum. The models, the migrations that added the
# CHECKs and the tests read these lists: STATUS_COLUMNS got their CHECKs in migration 0016,
# KIND_COLUMNS in 0017 (fund_entry, session_departure and vote had theirs from the start: 0012, 0003).
STATUS_COLUMNS: dict[tuple[str, str], type[StrEnum]] = {
    ("proposal", "status"): ProposalStatus,
    ("objection", "status"): ObjectionStatus,
    ("card", "status"): CardStatus,
    ("redemption", "status"): RedemptionStatus,
    ("redemption", "delivery"): Delivery,
    ("activity", "status"): ActivityStatus,
    ("signup", "status"): SignupStatus,
    ("hours_correction", "status"): CorrectionStatus,
    ("distribution_round", "status"): RoundStatus,
}
KIND_COLUMNS: dict[tuple[str, str], type[StrEnum]] = {
    ("ledger_entry", "kind"): LedgerKind,
    ("household_event", "kind"): HouseholdEventKind,
    ("period_close", "kind"): CloseKind,
    ("honour_entry", "kind"): HonourKind,
    ("produce_move", "kind"): ProduceMoveKind,
    ("product", "kind"): ProductKind,
    ("stock_move", "kind"): StockMoveKind,
    ("decision", "outcome"): DecisionOutcome,
    ("fund_entry", "kind"): FundKind,
    ("session_departure", "kind"): DepartureKind,
    ("vote", "vote"): VoteChoice,
}
CODE_COLUMNS: dict[tuple[str, str], type[StrEnum]] = {**STATUS_COLUMNS, **KIND_COLUMNS}


def check_in(column: str, values: type[StrEnum]) -> str:
    """The SQL of a CHECK that ``column`` holds one of ``values`` (the same text on SQLite and
    PostgreSQL)."""
    listed = ", ".join(f"'{v.value}'" for v in values)
    return f"{column} IN ({listed})"
