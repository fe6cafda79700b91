"""The values a status column may hold, one ``StrEnum`` per column.

Each member equals the string the column stores (``ProposalStatus.POSTED == "posted"``), so rows
written before the enums existed, raw SQL and string literals elsewhere keep working; what the
enums add is one place that lists the values. ``db.models`` builds a CHECK constraint per column
from them (:func:`check_in`), so the database itself refuses a value that is not listed: a typo in
Python fails at the write, not later on a screen that does not know the value.

Adding a value means adding a member here *and* a migration that replaces the column's CHECK
(existing databases keep the old constraint until then).
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


# Every enum-held column: (table, column) → its enum. The models, the migration that added the
# CHECKs and the tests read this one list.
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


def check_in(column: str, values: type[StrEnum]) -> str:
    """The SQL of a CHECK that ``column`` holds one of ``values`` (the same text on SQLite and
    PostgreSQL)."""
    listed = ", ".join(f"'{v.value}'" for v in values)
    return f"{column} IN ({listed})"
