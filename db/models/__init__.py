"""SQLAlchemy 2 models for the whole points system.

History tables (``__history__``: ledger entries, stock and produce moves, the audit log,
decisions, votes, objections, cards, redemptions …) refuse changes beyond what their guard
allows, in the database (triggers) and in the ORM (listeners registered at the end of this
package's ``__init__``, so in every process that imports any model): see ``db.history``.

One module per part of the village's records, all on one ``Base`` (``base``): ``people``
(villages, households, residents, staff and security, the rules catalogue), ``ledger``,
``review``, ``shop`` (cards and the supermarket), ``volunteering``, ``charity`` (the field)
and ``books`` (the fund, imports, closes and honours). Import models from ``db.models``.

Money-like quantities are integers: points are whole points, volunteer time is in
minutes, produce weights are in grams (shown as kg to 0.1), fund amounts in fen.
Balances and stock that must never go negative carry CHECK constraints, so a bug in
Python can never overdraw them: the database refuses.

Timestamps are naive local time (the village's clock); dates are calendar dates.
"""

from __future__ import annotations

from sqlalchemy import event, inspect

from db import history
from db.history import Guard
from db.models.base import NAMING, Base, BigId, known, now
from db.models.books import FundEntry, HonourEntry, HonourList, ImportBatch, PeriodClose
from db.models.charity import (
    Allocation,
    Beneficiary,
    DistributionRound,
    Harvest,
    Plot,
    PlotMember,
    ProduceMove,
    ProduceStock,
    Season,
)
from db.models.ledger import Account, CategoryMonth, HouseholdMonth, LedgerEntry
from db.models.people import (
    AuditLog,
    AuthSession,
    Grid,
    Household,
    HouseholdEvent,
    LoginThrottle,
    RateLimit,
    Resident,
    RuleCategory,
    RuleItem,
    Setting,
    StaffUser,
    Village,
)
from db.models.review import (
    Decision,
    Objection,
    Proposal,
    ProposalPhoto,
    ReviewSession,
    SessionAttendee,
    SessionDeparture,
    Vote,
)
from db.models.shop import Card, Product, Redemption, RedemptionLine, RedemptionReturn, RedemptionReturnLine, StockMove
from db.models.volunteering import (
    ONE_PERSON,
    Activity,
    Attendance,
    Certificate,
    HoursCorrection,
    OutsideVolunteer,
    Signup,
    StarLevelEvent,
    VolunteerTotal,
)

__all__ = [
    "Account",
    "Activity",
    "Allocation",
    "Attendance",
    "AuditLog",
    "AuthSession",
    "Base",
    "Beneficiary",
    "BigId",
    "Card",
    "CategoryMonth",
    "Certificate",
    "Decision",
    "DistributionRound",
    "FundEntry",
    "Grid",
    "Harvest",
    "HonourEntry",
    "HonourList",
    "HoursCorrection",
    "Household",
    "HouseholdEvent",
    "HouseholdMonth",
    "ImportBatch",
    "LedgerEntry",
    "LoginThrottle",
    "NAMING",
    "ONE_PERSON",
    "Objection",
    "OutsideVolunteer",
    "PeriodClose",
    "Plot",
    "PlotMember",
    "ProduceMove",
    "ProduceStock",
    "Product",
    "Proposal",
    "ProposalPhoto",
    "RateLimit",
    "Redemption",
    "RedemptionLine",
    "RedemptionReturn",
    "RedemptionReturnLine",
    "Resident",
    "ReviewSession",
    "RuleCategory",
    "RuleItem",
    "Season",
    "SessionAttendee",
    "SessionDeparture",
    "Setting",
    "Signup",
    "StaffUser",
    "StarLevelEvent",
    "StockMove",
    "Village",
    "VolunteerTotal",
    "Vote",
    "known",
    "now",
    "HISTORY",
]

# ---------------------------------------------------------------- history guards

HISTORY: dict[str, Guard] = {
    m.local_table.name: m.class_.__history__ for m in Base.registry.mappers if "__history__" in m.class_.__dict__
}
"""Every history table and its guard (what the triggers and the ORM listeners enforce)."""

history.register(Base.registry.mappers, HISTORY)


@event.listens_for(Base.metadata, "after_create")
def _create_history_triggers(_metadata, connection, **_kw) -> None:
    history.install(connection, {t: g for t, g in HISTORY.items() if inspect(connection).has_table(t)})
