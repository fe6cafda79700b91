"""SQLAlchemy 2 models for the whole points system.

History tables (``__history__``: ledger entries, stock and produce moves, the audit log,
decisions, votes, objections, cards, redemptions …) refuse changes beyond what their guard
allows, in the database (triggers) and in the ORM (listeners registered at the end of this
module, so in every process that uses the models): see ``db.history``.

Money-like quantities are integers: points are whole points, volunteer time is in
minutes, produce weights are in grams (shown as kg to 0.1), fund amounts in fen.
Balances and stock that must never go negative carry CHECK constraints, so a bug in
Python can never overdraw them: the database refuses.

Timestamps are naive local time (the village's clock); dates are calendar dates.
"""

from __future__ import annotations

import datetime as dt

from sqlalchemy import (
    BigInteger,
    Boolean,
    CheckConstraint,
    Date,
    DateTime,
    ForeignKey,
    Index,
    Integer,
    MetaData,
    Numeric,
    String,
    Text,
    UniqueConstraint,
    event,
    inspect,
    text,
)
from sqlalchemy.orm import DeclarativeBase, Mapped, mapped_column

from db import clock, history
from db.enums import (
    ActivityStatus,
    CardStatus,
    CorrectionStatus,
    Delivery,
    ObjectionStatus,
    ProposalStatus,
    RedemptionStatus,
    RoundStatus,
    SignupStatus,
    check_in,
)
from db.history import Guard, Prefix

NAMING = {
    "ix": "ix_%(column_0_label)s",
    "uq": "uq_%(table_name)s_%(column_0_name)s",
    "ck": "ck_%(table_name)s_%(constraint_name)s",
    "fk": "fk_%(table_name)s_%(column_0_name)s_%(referred_table_name)s",
    "pk": "pk_%(table_name)s",
}

# SQLite needs INTEGER PRIMARY KEY for rowid aliasing; BigInteger elsewhere.
BigId = BigInteger().with_variant(Integer(), "sqlite")


def known(column: str, values) -> CheckConstraint:
    """The CHECK that a status column holds one of its enum's values (``ck_<table>_<column>_known``):
    the database refuses any other string, whatever code writes it."""
    return CheckConstraint(check_in(column, values), name=f"{column}_known")


def now() -> dt.datetime:
    """Column default for timestamps: the app's clock (db.clock), so demo data and imports of a
    village's past record history as it happened."""
    return clock.now()


class Base(DeclarativeBase):
    metadata = MetaData(naming_convention=NAMING)


# ---------------------------------------------------------------- places & people


class Village(Base):
    __tablename__ = "village"
    id: Mapped[int] = mapped_column(primary_key=True)
    name: Mapped[str] = mapped_column(String(60))
    township: Mapped[str] = mapped_column(String(60), default="")
    county: Mapped[str] = mapped_column(String(60), default="")
    code: Mapped[str] = mapped_column(String(20), unique=True)
    is_demo: Mapped[bool] = mapped_column(Boolean, default=False)
    created_at: Mapped[dt.datetime] = mapped_column(DateTime, default=now)
    __table_args__ = (Index("ix_village_township", "township"),
                      Index("ix_village_county_township", "county", "township"))


class Setting(Base):
    """One village setting; defaults and explanations live in core.platform.settings."""

    __tablename__ = "setting"
    village_id: Mapped[int] = mapped_column(ForeignKey("village.id"), primary_key=True)
    key: Mapped[str] = mapped_column(String(60), primary_key=True)
    value: Mapped[str] = mapped_column(Text)  # JSON


class Grid(Base):
    __tablename__ = "grid"
    id: Mapped[int] = mapped_column(primary_key=True)
    village_id: Mapped[int] = mapped_column(ForeignKey("village.id"), index=True)
    name: Mapped[str] = mapped_column(String(40))
    worker_user_id: Mapped[int | None] = mapped_column(ForeignKey("staff_user.id"))
    __table_args__ = (UniqueConstraint("village_id", "name"),)


class Household(Base):
    __tablename__ = "household"
    id: Mapped[int] = mapped_column(primary_key=True)
    village_id: Mapped[int] = mapped_column(ForeignKey("village.id"))
    grid_id: Mapped[int | None] = mapped_column(ForeignKey("grid.id"), index=True)
    door_no: Mapped[str] = mapped_column(String(30))
    head_name: Mapped[str] = mapped_column(String(40), default="")
    phone: Mapped[str] = mapped_column(String(20), default="")
    address: Mapped[str] = mapped_column(String(120), default="")
    needs_delivery: Mapped[bool] = mapped_column(Boolean, default=False)
    active: Mapped[bool] = mapped_column(Boolean, default=True)
    created_at: Mapped[dt.datetime] = mapped_column(DateTime, default=now)
    __table_args__ = (
        UniqueConstraint("village_id", "door_no"),
        Index("ix_household_village_head", "village_id", "head_name"),
    )


class Resident(Base):
    """A villager. No ID-card numbers are stored (data minimisation)."""

    __tablename__ = "resident"
    id: Mapped[int] = mapped_column(primary_key=True)
    village_id: Mapped[int] = mapped_column(ForeignKey("village.id"))
    household_id: Mapped[int] = mapped_column(ForeignKey("household.id"), index=True)
    name: Mapped[str] = mapped_column(String(40))
    gender: Mapped[str] = mapped_column(String(2), default="")  # 男 / 女
    birth_year: Mapped[int | None] = mapped_column(Integer)
    party_member: Mapped[bool] = mapped_column(Boolean, default=False)
    relation: Mapped[str] = mapped_column(String(10), default="")  # 户主 / 配偶 / 子女 ...
    phone: Mapped[str] = mapped_column(String(20), default="")
    active: Mapped[bool] = mapped_column(Boolean, default=True)
    __table_args__ = (Index("ix_resident_village_name", "village_id", "name"),)


class HouseholdEvent(Base):
    """户籍变动: what happened to a household or one of its residents — closed (moved away, died,
    merged), reopened, a resident left or came back, split, merged — with the date it happened
    and why. ``Household.active`` / ``Resident.active`` are the current state; these rows are the
    history (a step is undone by a new step, never by changing a row). ``other_household_id``
    names the other side of a split, a merge or a balance moved on closing; ``points`` the
    spendable points moved by ledger entries whose cause is this event."""

    __tablename__ = "household_event"
    __history__ = Guard.append_only()
    id: Mapped[int] = mapped_column(primary_key=True)
    village_id: Mapped[int] = mapped_column(ForeignKey("village.id"))
    household_id: Mapped[int] = mapped_column(ForeignKey("household.id"))
    resident_id: Mapped[int | None] = mapped_column(ForeignKey("resident.id"))
    kind: Mapped[str] = mapped_column(String(20))
    reason: Mapped[str] = mapped_column(String(20), default="")
    note: Mapped[str] = mapped_column(Text, default="")
    happened_on: Mapped[dt.date] = mapped_column(Date)
    other_household_id: Mapped[int | None] = mapped_column(ForeignKey("household.id"))
    points: Mapped[int] = mapped_column(Integer, default=0)
    created_by: Mapped[int | None] = mapped_column(ForeignKey("staff_user.id"))
    created_at: Mapped[dt.datetime] = mapped_column(DateTime, default=now)
    __table_args__ = (Index("ix_household_event_household", "household_id", "id"),)


# ---------------------------------------------------------------- staff & security


class StaffUser(Base):
    __tablename__ = "staff_user"
    id: Mapped[int] = mapped_column(primary_key=True)
    username: Mapped[str] = mapped_column(String(40), unique=True)
    display_name: Mapped[str] = mapped_column(String(40))
    password_hash: Mapped[str] = mapped_column(String(200))
    village_id: Mapped[int | None] = mapped_column(ForeignKey("village.id"), index=True)
    township: Mapped[str | None] = mapped_column(String(60))  # township viewers and admins
    county: Mapped[str | None] = mapped_column(String(60))  # county admins (township staff: their county)
    roles: Mapped[str] = mapped_column(String(200), default="")  # comma separated
    active: Mapped[bool] = mapped_column(Boolean, default=True)
    must_change_password: Mapped[bool] = mapped_column(Boolean, default=False)
    failed_logins: Mapped[int] = mapped_column(Integer, default=0)
    locked_until: Mapped[dt.datetime | None] = mapped_column(DateTime)
    last_login_at: Mapped[dt.datetime | None] = mapped_column(DateTime)
    created_at: Mapped[dt.datetime] = mapped_column(DateTime, default=now)
    # 大字模式 chosen by the user: True/False, or None to follow the village's default (setting large_text)
    large_text: Mapped[bool | None] = mapped_column(Boolean)


class AuthSession(Base):
    """A logged-in browser. The cookie carries a signed id; revoking the row ends it."""

    __tablename__ = "auth_session"
    id: Mapped[str] = mapped_column(String(64), primary_key=True)  # sha256 of the secret
    user_id: Mapped[int] = mapped_column(ForeignKey("staff_user.id"), index=True)
    created_at: Mapped[dt.datetime] = mapped_column(DateTime, default=now)
    expires_at: Mapped[dt.datetime] = mapped_column(DateTime)
    revoked_at: Mapped[dt.datetime | None] = mapped_column(DateTime)
    handoff_hash: Mapped[str | None] = mapped_column(String(64), unique=True)
    handoff_expires_at: Mapped[dt.datetime | None] = mapped_column(DateTime)


class RateLimit(Base):
    """Fixed-window counters shared by every app instance (token guessing, logins)."""

    __tablename__ = "rate_limit"
    key: Mapped[str] = mapped_column(String(120), primary_key=True)
    window_start: Mapped[dt.datetime] = mapped_column(DateTime)
    count: Mapped[int] = mapped_column(Integer, default=0)


class AuditLog(Base):
    __tablename__ = "audit_log"
    __history__ = Guard.append_only()
    id: Mapped[int] = mapped_column(BigId, primary_key=True)
    at: Mapped[dt.datetime] = mapped_column(DateTime, default=now)
    user_id: Mapped[int | None] = mapped_column(ForeignKey("staff_user.id"))
    village_id: Mapped[int | None] = mapped_column(ForeignKey("village.id"))
    action: Mapped[str] = mapped_column(String(60))
    target_type: Mapped[str] = mapped_column(String(40), default="")
    target_id: Mapped[str] = mapped_column(String(60), default="")
    detail: Mapped[str] = mapped_column(Text, default="")  # JSON
    reason: Mapped[str] = mapped_column(Text, default="")
    __table_args__ = (Index("ix_audit_village_at", "village_id", "at"),)


class LoginThrottle(Base):
    """Failed logins in a row, per account name (known or not: the same for both) and per client
    address, and the time before which the next try is refused. Keys are hashed."""

    __tablename__ = "login_throttle"
    key: Mapped[str] = mapped_column(String(80), primary_key=True)
    failures: Mapped[int] = mapped_column(Integer, default=0)
    last_failed_at: Mapped[dt.datetime] = mapped_column(DateTime)
    blocked_until: Mapped[dt.datetime | None] = mapped_column(DateTime)


# ---------------------------------------------------------------- rules catalogue


class RuleCategory(Base):
    __tablename__ = "rule_category"
    id: Mapped[int] = mapped_column(primary_key=True)
    village_id: Mapped[int] = mapped_column(ForeignKey("village.id"), index=True)
    name: Mapped[str] = mapped_column(String(40))
    sort: Mapped[int] = mapped_column(Integer, default=0)
    active: Mapped[bool] = mapped_column(Boolean, default=True)


class RuleItem(Base):
    """One version of a rule. Changing points makes a new row with the same code;
    proposals and ledger entries keep pointing at the version they used."""

    __tablename__ = "rule_item"
    id: Mapped[int] = mapped_column(primary_key=True)
    village_id: Mapped[int] = mapped_column(ForeignKey("village.id"), index=True)
    category_id: Mapped[int] = mapped_column(ForeignKey("rule_category.id"), index=True)
    code: Mapped[str] = mapped_column(String(20))
    name: Mapped[str] = mapped_column(String(120))
    points: Mapped[int] = mapped_column(Integer)  # signed default: + adds, - deducts
    min_points: Mapped[int] = mapped_column(Integer)
    max_points: Mapped[int] = mapped_column(Integer)
    cap_count: Mapped[int | None] = mapped_column(Integer)  # at most N times ...
    cap_period: Mapped[str | None] = mapped_column(String(10))  # ... per 'month' / 'year'
    version: Mapped[int] = mapped_column(Integer, default=1)
    adopted_on: Mapped[dt.date | None] = mapped_column(Date)
    adopted_by: Mapped[str] = mapped_column(String(60), default="")  # e.g. 村民代表大会
    active: Mapped[bool] = mapped_column(Boolean, default=True)
    supersedes_id: Mapped[int | None] = mapped_column(ForeignKey("rule_item.id"))
    __table_args__ = (
        UniqueConstraint("village_id", "code", "version"),
        CheckConstraint("min_points <= points AND points <= max_points", name="points_in_range"),
    )


# ---------------------------------------------------------------- the ledger


class Account(Base):
    """Per-household points account. balance = spendable (可用积分);
    earned_total = earned minus deducted (累计积分), never reduced by redemptions;
    outstanding = deducted points the balance could not cover yet (待扣), settled first from
    the household's next points. While outstanding > 0 the balance is 0."""

    __tablename__ = "account"
    household_id: Mapped[int] = mapped_column(ForeignKey("household.id"), primary_key=True)
    village_id: Mapped[int] = mapped_column(ForeignKey("village.id"), index=True)
    balance: Mapped[int] = mapped_column(Integer, default=0)
    earned_total: Mapped[int] = mapped_column(Integer, default=0)
    outstanding: Mapped[int] = mapped_column(Integer, default=0, server_default="0")
    entries: Mapped[int] = mapped_column(Integer, default=0)
    updated_at: Mapped[dt.datetime] = mapped_column(DateTime, default=now)
    __table_args__ = (CheckConstraint("balance >= 0", name="balance_not_negative"),
                      CheckConstraint("outstanding >= 0", name="outstanding_not_negative"))


class LedgerEntry(Base):
    """Append-only (``db.history``). (source_type, source_id) names the cause and is unique:
    one cause posts once. delta_outstanding is what the entry adds to (or settles of) the
    household's 待扣: a deduction's uncovered part, or minus a settlement."""

    __tablename__ = "ledger_entry"
    __history__ = Guard.append_only()
    id: Mapped[int] = mapped_column(BigId, primary_key=True)
    village_id: Mapped[int] = mapped_column(ForeignKey("village.id"))
    household_id: Mapped[int] = mapped_column(ForeignKey("household.id"))
    resident_id: Mapped[int | None] = mapped_column(ForeignKey("resident.id"))
    kind: Mapped[str] = mapped_column(String(20))
    delta_balance: Mapped[int] = mapped_column(Integer)
    delta_earned: Mapped[int] = mapped_column(Integer)
    delta_outstanding: Mapped[int] = mapped_column(Integer, default=0, server_default="0")
    source_type: Mapped[str] = mapped_column(String(20))
    source_id: Mapped[str] = mapped_column(String(60))
    rule_item_id: Mapped[int | None] = mapped_column(ForeignKey("rule_item.id"))
    category_id: Mapped[int | None] = mapped_column(ForeignKey("rule_category.id"))
    reverses_id: Mapped[int | None] = mapped_column(ForeignKey("ledger_entry.id"))
    occurred_on: Mapped[dt.date] = mapped_column(Date)
    month: Mapped[int] = mapped_column(Integer)  # yyyymm of occurred_on, for aggregates
    reason: Mapped[str] = mapped_column(Text, default="")
    created_by: Mapped[int | None] = mapped_column(ForeignKey("staff_user.id"))
    created_at: Mapped[dt.datetime] = mapped_column(DateTime, default=now)
    __table_args__ = (
        UniqueConstraint("source_type", "source_id", name="uq_ledger_entry_cause"),
        Index("ix_ledger_household_id", "household_id", "id"),
        Index("ix_ledger_village_month", "village_id", "month"),
        # newest entries of a village (overview's recent activity) without sorting the village's year
        Index("ix_ledger_village_id", "village_id", "id"),
        Index(
            "uq_ledger_entry_reverses",
            "reverses_id",
            unique=True,
            sqlite_where=text("reverses_id IS NOT NULL"),
            postgresql_where=text("reverses_id IS NOT NULL"),
        ),
    )


class HouseholdMonth(Base):
    """Summary kept in the same transaction as each ledger entry: dashboards and
    rankings read this instead of scanning the ledger."""

    __tablename__ = "household_month"
    household_id: Mapped[int] = mapped_column(ForeignKey("household.id"), primary_key=True)
    month: Mapped[int] = mapped_column(Integer, primary_key=True)
    village_id: Mapped[int] = mapped_column(ForeignKey("village.id"))
    grid_id: Mapped[int | None] = mapped_column(Integer)
    earned: Mapped[int] = mapped_column(Integer, default=0)  # positive earned-type points
    deducted: Mapped[int] = mapped_column(Integer, default=0)  # positive number of points deducted
    redeemed: Mapped[int] = mapped_column(Integer, default=0)  # net points spent
    other: Mapped[int] = mapped_column(Integer, default=0)  # clearing, adjustments to balance only
    __table_args__ = (Index("ix_household_month_village_month", "village_id", "month"),)


class CategoryMonth(Base):
    """Points per rule category per month per village (net earned, signed)."""

    __tablename__ = "category_month"
    village_id: Mapped[int] = mapped_column(ForeignKey("village.id"), primary_key=True)
    month: Mapped[int] = mapped_column(Integer, primary_key=True)
    category_id: Mapped[int] = mapped_column(ForeignKey("rule_category.id"), primary_key=True)
    points: Mapped[int] = mapped_column(Integer, default=0)
    entries: Mapped[int] = mapped_column(Integer, default=0)


# ---------------------------------------------------------------- review


class Proposal(Base):
    """积分申报. status (db.enums.ProposalStatus): submitted → rejected / deferred / publicity
    (or posted at once without publicity) → (objected) → posted | overturned."""

    __tablename__ = "proposal"
    id: Mapped[int] = mapped_column(BigId, primary_key=True)
    village_id: Mapped[int] = mapped_column(ForeignKey("village.id"))
    household_id: Mapped[int] = mapped_column(ForeignKey("household.id"), index=True)
    resident_id: Mapped[int | None] = mapped_column(ForeignKey("resident.id"))
    rule_item_id: Mapped[int] = mapped_column(ForeignKey("rule_item.id"))
    points: Mapped[int] = mapped_column(Integer)  # proposed
    act_date: Mapped[dt.date] = mapped_column(Date)
    note: Mapped[str] = mapped_column(Text, default="")
    source: Mapped[str] = mapped_column(String(20))  # grid / self / proxy / volunteer
    source_ref: Mapped[str | None] = mapped_column(String(60), unique=True)  # e.g. attendance:12
    submitted_by: Mapped[int | None] = mapped_column(ForeignKey("staff_user.id"))
    submitted_at: Mapped[dt.datetime] = mapped_column(DateTime, default=now)
    status: Mapped[str] = mapped_column(String(20), default=ProposalStatus.SUBMITTED)
    over_cap: Mapped[bool] = mapped_column(Boolean, default=False)
    decided_points: Mapped[int | None] = mapped_column(Integer)
    decision_reason: Mapped[str] = mapped_column(Text, default="")
    session_id: Mapped[int | None] = mapped_column(ForeignKey("review_session.id"))
    publicity_until: Mapped[dt.date | None] = mapped_column(Date)
    posted_entry_id: Mapped[int | None] = mapped_column(ForeignKey("ledger_entry.id"))
    # "我最近的申报" (a user's latest proposals) reads the newest by submitter: without this index
    # PostgreSQL scanned every proposal of the table.
    __table_args__ = (Index("ix_proposal_village_status", "village_id", "status"),
                      Index("ix_proposal_submitted_by", "submitted_by", "id"),
                      known("status", ProposalStatus))


class ProposalPhoto(Base):
    __tablename__ = "proposal_photo"
    __history__ = Guard.append_only()
    id: Mapped[int] = mapped_column(primary_key=True)
    proposal_id: Mapped[int] = mapped_column(ForeignKey("proposal.id"), index=True)
    path: Mapped[str] = mapped_column(String(200))  # relative to the data dir
    mime: Mapped[str] = mapped_column(String(40))
    size: Mapped[int] = mapped_column(Integer)
    sha256: Mapped[str] = mapped_column(String(64))


class ReviewSession(Base):
    __tablename__ = "review_session"
    __history__ = Guard.until("closed_at")
    id: Mapped[int] = mapped_column(primary_key=True)
    village_id: Mapped[int] = mapped_column(ForeignKey("village.id"), index=True)
    held_on: Mapped[dt.date] = mapped_column(Date)
    opened_by: Mapped[int | None] = mapped_column(ForeignKey("staff_user.id"))
    opened_at: Mapped[dt.datetime] = mapped_column(DateTime, default=now)
    closed_at: Mapped[dt.datetime | None] = mapped_column(DateTime)
    quorum_required: Mapped[int] = mapped_column(Integer)
    members_total: Mapped[int] = mapped_column(Integer)
    note: Mapped[str] = mapped_column(Text, default="")


class SessionAttendee(Base):
    """Someone recorded as present at a session: a committee member (``user_id``) or a guest
    named with a capacity (村民代表, 党员代表, a resident …, optionally the resident's id).
    Insert-only: a late arrival is a new row; leaving or a mistaken entry is a SessionDeparture.
    ``name`` is kept as it was when recorded; ``voting`` says whether this attendee had a vote."""

    __tablename__ = "session_attendee"
    __history__ = Guard.append_only()
    id: Mapped[int] = mapped_column(primary_key=True)
    session_id: Mapped[int] = mapped_column(ForeignKey("review_session.id"), index=True)
    user_id: Mapped[int | None] = mapped_column(ForeignKey("staff_user.id"))
    resident_id: Mapped[int | None] = mapped_column(ForeignKey("resident.id"))
    name: Mapped[str] = mapped_column(String(40))
    capacity: Mapped[str] = mapped_column(String(20))  # committee / representative / party / resident / other
    voting: Mapped[bool] = mapped_column(Boolean)
    arrived_at: Mapped[dt.datetime] = mapped_column(DateTime, default=now)
    recorded_by: Mapped[int | None] = mapped_column(ForeignKey("staff_user.id"))
    __table_args__ = (
        CheckConstraint("capacity <> 'committee' OR user_id IS NOT NULL", name="committee_member_is_staff"),
    )


class SessionDeparture(Base):
    """An attendee who left the session (``left``) or was recorded by mistake (``mistake``):
    from then on not present. At most one per attendee row; coming back is a new attendee row."""

    __tablename__ = "session_departure"
    __history__ = Guard.append_only()
    attendee_id: Mapped[int] = mapped_column(ForeignKey("session_attendee.id"), primary_key=True)
    kind: Mapped[str] = mapped_column(String(10))
    at: Mapped[dt.datetime] = mapped_column(DateTime, default=now)
    recorded_by: Mapped[int | None] = mapped_column(ForeignKey("staff_user.id"))
    __table_args__ = (CheckConstraint("kind IN ('left', 'mistake')", name="kind_known"),)


class Decision(Base):
    __tablename__ = "decision"
    __history__ = Guard.append_only()
    id: Mapped[int] = mapped_column(BigId, primary_key=True)
    session_id: Mapped[int] = mapped_column(ForeignKey("review_session.id"), index=True)
    proposal_id: Mapped[int] = mapped_column(ForeignKey("proposal.id"), index=True)
    outcome: Mapped[str] = mapped_column(String(20))  # approved / rejected / deferred / upheld / overturned
    points: Mapped[int | None] = mapped_column(Integer)
    reason: Mapped[str] = mapped_column(Text, default="")
    decided_by: Mapped[int | None] = mapped_column(ForeignKey("staff_user.id"))
    decided_at: Mapped[dt.datetime] = mapped_column(DateTime, default=now)
    __table_args__ = (UniqueConstraint("session_id", "proposal_id", "outcome"),)


class Vote(Base):
    """One attendee's vote on one decision, as entered; inserted with the decision."""

    __tablename__ = "vote"
    __history__ = Guard.append_only()
    decision_id: Mapped[int] = mapped_column(ForeignKey("decision.id"), primary_key=True)
    attendee_id: Mapped[int] = mapped_column(ForeignKey("session_attendee.id"), primary_key=True)
    vote: Mapped[str] = mapped_column(String(10))  # agree / disagree / abstain
    __table_args__ = (CheckConstraint("vote IN ('agree', 'disagree', 'abstain')", name="vote_known"),)


class Objection(Base):
    __tablename__ = "objection"
    __history__ = Guard.set_once(status=("open",), resolved_session_id=(), resolution=("",))
    id: Mapped[int] = mapped_column(primary_key=True)
    proposal_id: Mapped[int] = mapped_column(ForeignKey("proposal.id"), index=True)
    raised_by: Mapped[str] = mapped_column(String(40))
    reason: Mapped[str] = mapped_column(Text)
    logged_by: Mapped[int | None] = mapped_column(ForeignKey("staff_user.id"))
    logged_at: Mapped[dt.datetime] = mapped_column(DateTime, default=now)
    status: Mapped[str] = mapped_column(String(20), default=ObjectionStatus.OPEN)
    resolved_session_id: Mapped[int | None] = mapped_column(ForeignKey("review_session.id"))
    resolution: Mapped[str] = mapped_column(Text, default="")
    __table_args__ = (known("status", ObjectionStatus),)


# ---------------------------------------------------------------- cards & supermarket


class Card(Base):
    __tablename__ = "card"
    __history__ = Guard.set_once(status=("active",), revoked_at=(), revoke_reason=("",))
    id: Mapped[int] = mapped_column(primary_key=True)
    village_id: Mapped[int] = mapped_column(ForeignKey("village.id"))
    household_id: Mapped[int] = mapped_column(ForeignKey("household.id"), index=True)
    token: Mapped[str] = mapped_column(String(40), unique=True)
    status: Mapped[str] = mapped_column(String(10), default=CardStatus.ACTIVE)
    issued_at: Mapped[dt.datetime] = mapped_column(DateTime, default=now)
    issued_by: Mapped[int | None] = mapped_column(ForeignKey("staff_user.id"))
    revoked_at: Mapped[dt.datetime | None] = mapped_column(DateTime)
    revoke_reason: Mapped[str] = mapped_column(Text, default="")
    __table_args__ = (
        Index(
            "uq_card_one_active",
            "household_id",
            unique=True,
            sqlite_where=text("status = 'active'"),
            postgresql_where=text("status = 'active'"),
        ),
        known("status", CardStatus),
    )


class Product(Base):
    __tablename__ = "product"
    id: Mapped[int] = mapped_column(primary_key=True)
    village_id: Mapped[int] = mapped_column(ForeignKey("village.id"), index=True)
    name: Mapped[str] = mapped_column(String(60))
    category: Mapped[str] = mapped_column(String(30), default="")
    kind: Mapped[str] = mapped_column(String(10), default="goods")  # goods / service
    price: Mapped[int] = mapped_column(Integer)  # points
    unit: Mapped[str] = mapped_column(String(10), default="件")
    barcode: Mapped[str | None] = mapped_column(String(40))
    stock: Mapped[int] = mapped_column(Integer, default=0)  # unused for services
    low_stock: Mapped[int] = mapped_column(Integer, default=5)
    monthly_limit: Mapped[int | None] = mapped_column(Integer)  # per household per month
    active: Mapped[bool] = mapped_column(Boolean, default=True)
    __table_args__ = (
        CheckConstraint("stock >= 0", name="stock_not_negative"),
        CheckConstraint("price > 0", name="price_positive"),
        UniqueConstraint("village_id", "barcode"),
    )


class StockMove(Base):
    """Append-only stock ledger; product.stock is kept equal to the sum of qty."""

    __tablename__ = "stock_move"
    __history__ = Guard.append_only()
    id: Mapped[int] = mapped_column(BigId, primary_key=True)
    village_id: Mapped[int] = mapped_column(ForeignKey("village.id"))
    product_id: Mapped[int] = mapped_column(ForeignKey("product.id"), index=True)
    kind: Mapped[str] = mapped_column(String(20))  # purchase / donation / harvest / redeem / void / count
    qty: Mapped[int] = mapped_column(Integer)  # signed
    donor: Mapped[str] = mapped_column(String(60), default="")
    funding: Mapped[str] = mapped_column(String(60), default="")
    reason: Mapped[str] = mapped_column(Text, default="")
    ref_type: Mapped[str] = mapped_column(String(20), default="")
    ref_id: Mapped[str] = mapped_column(String(40), default="")
    created_by: Mapped[int | None] = mapped_column(ForeignKey("staff_user.id"))
    created_at: Mapped[dt.datetime] = mapped_column(DateTime, default=now)
    __table_args__ = (Index("ix_stock_move_village_at", "village_id", "created_at"),)


class Redemption(Base):
    __tablename__ = "redemption"
    __history__ = Guard.set_once(receipt_no=Prefix("tmp-"), status=("done",), voided_by=(), voided_at=(), void_reason=("",),
                                  delivery=("pending",), delivered_at=(), delivered_by=())
    id: Mapped[int] = mapped_column(BigId, primary_key=True)
    village_id: Mapped[int] = mapped_column(ForeignKey("village.id"))
    household_id: Mapped[int] = mapped_column(ForeignKey("household.id"), index=True)
    card_id: Mapped[int | None] = mapped_column(ForeignKey("card.id"))
    receipt_no: Mapped[str] = mapped_column(String(30), unique=True)
    cart_key: Mapped[str] = mapped_column(String(64), unique=True)  # idempotency key
    total: Mapped[int] = mapped_column(Integer)
    month: Mapped[int] = mapped_column(Integer)
    status: Mapped[str] = mapped_column(String(10), default=RedemptionStatus.DONE)
    created_by: Mapped[int | None] = mapped_column(ForeignKey("staff_user.id"))
    created_at: Mapped[dt.datetime] = mapped_column(DateTime, default=now)
    voided_by: Mapped[int | None] = mapped_column(ForeignKey("staff_user.id"))
    voided_at: Mapped[dt.datetime | None] = mapped_column(DateTime)
    void_reason: Mapped[str] = mapped_column(Text, default="")
    delivery: Mapped[str] = mapped_column(String(10), default=Delivery.NONE)
    delivered_at: Mapped[dt.datetime | None] = mapped_column(DateTime)
    delivered_by: Mapped[int | None] = mapped_column(ForeignKey("staff_user.id"))
    __table_args__ = (Index("ix_redemption_village_month", "village_id", "month"),
                      known("status", RedemptionStatus), known("delivery", Delivery))


class RedemptionLine(Base):
    __tablename__ = "redemption_line"
    __history__ = Guard.append_only()
    id: Mapped[int] = mapped_column(BigId, primary_key=True)
    redemption_id: Mapped[int] = mapped_column(ForeignKey("redemption.id"), index=True)
    product_id: Mapped[int] = mapped_column(ForeignKey("product.id"))
    qty: Mapped[int] = mapped_column(Integer)
    price: Mapped[int] = mapped_column(Integer)
    __table_args__ = (CheckConstraint("qty > 0", name="qty_positive"),)


class RedemptionReturn(Base):
    """A return of part (or the rest) of a redemption (退货): points back by a ``redeem_return`` entry
    naming it, goods back on the shelf by stock moves. Append-only: a return is never changed;
    what is left to return is what was bought minus every return before."""

    __tablename__ = "redemption_return"
    __history__ = Guard.append_only()
    id: Mapped[int] = mapped_column(BigId, primary_key=True)
    village_id: Mapped[int] = mapped_column(ForeignKey("village.id"))
    redemption_id: Mapped[int] = mapped_column(ForeignKey("redemption.id"), index=True)
    household_id: Mapped[int] = mapped_column(ForeignKey("household.id"), index=True)
    receipt_no: Mapped[str] = mapped_column(String(40), unique=True)  # TH + the redemption's number + -n
    return_key: Mapped[str] = mapped_column(String(64), unique=True)  # idempotency key
    total: Mapped[int] = mapped_column(Integer)
    reason: Mapped[str] = mapped_column(Text)
    created_by: Mapped[int | None] = mapped_column(ForeignKey("staff_user.id"))
    created_at: Mapped[dt.datetime] = mapped_column(DateTime, default=now)
    __table_args__ = (CheckConstraint("total >= 0", name="total_not_negative"),)


class RedemptionReturnLine(Base):
    __tablename__ = "redemption_return_line"
    __history__ = Guard.append_only()
    id: Mapped[int] = mapped_column(BigId, primary_key=True)
    return_id: Mapped[int] = mapped_column(ForeignKey("redemption_return.id"), index=True)
    redemption_line_id: Mapped[int] = mapped_column(ForeignKey("redemption_line.id"), index=True)
    product_id: Mapped[int] = mapped_column(ForeignKey("product.id"))
    qty: Mapped[int] = mapped_column(Integer)
    price: Mapped[int] = mapped_column(Integer)
    __table_args__ = (CheckConstraint("qty > 0", name="qty_positive"),)


# ---------------------------------------------------------------- volunteering


class Activity(Base):
    __tablename__ = "activity"
    id: Mapped[int] = mapped_column(primary_key=True)
    village_id: Mapped[int] = mapped_column(ForeignKey("village.id"), index=True)
    title: Mapped[str] = mapped_column(String(80))
    category: Mapped[str] = mapped_column(String(30), default="")
    organiser: Mapped[str] = mapped_column(String(60), default="")
    place: Mapped[str] = mapped_column(String(80), default="")
    date: Mapped[dt.date] = mapped_column(Date)
    start_time: Mapped[dt.time | None] = mapped_column()
    end_time: Mapped[dt.time | None] = mapped_column()
    capacity: Mapped[int | None] = mapped_column(Integer)
    points_per_hour: Mapped[int] = mapped_column(Integer, default=2)
    cap_minutes: Mapped[int | None] = mapped_column(Integer)  # credited per person per activity
    # counted time (计入时长): a fixed duration for everyone who attended, or the time between
    # check-in and check-out plus a travel allowance; neither set = the time on site only
    travel_minutes: Mapped[int | None] = mapped_column(Integer)
    fixed_minutes: Mapped[int | None] = mapped_column(Integer)
    status: Mapped[str] = mapped_column(String(10), default=ActivityStatus.OPEN)
    plot_id: Mapped[int | None] = mapped_column(ForeignKey("plot.id"))  # charity-field work day
    tasks: Mapped[str] = mapped_column(Text, default="")
    created_by: Mapped[int | None] = mapped_column(ForeignKey("staff_user.id"))
    created_at: Mapped[dt.datetime] = mapped_column(DateTime, default=now)
    __table_args__ = (known("status", ActivityStatus),)


class OutsideVolunteer(Base):
    """外来志愿者: a volunteer who is not a resident of the village (a 双报到 party member from a
    town unit, a helper from elsewhere). Their hours count for their unit, never for a household."""

    __tablename__ = "outside_volunteer"
    id: Mapped[int] = mapped_column(primary_key=True)
    village_id: Mapped[int] = mapped_column(ForeignKey("village.id"), index=True)
    name: Mapped[str] = mapped_column(String(40))
    unit: Mapped[str] = mapped_column(String(60), default="")  # 单位
    phone: Mapped[str] = mapped_column(String(20), default="")
    party_member: Mapped[bool] = mapped_column(Boolean, default=False)
    card_no: Mapped[str | None] = mapped_column(String(40))  # a volunteer card / QR, optional
    active: Mapped[bool] = mapped_column(Boolean, default=True)
    created_by: Mapped[int | None] = mapped_column(ForeignKey("staff_user.id"))
    created_at: Mapped[dt.datetime] = mapped_column(DateTime, default=now)
    __table_args__ = (UniqueConstraint("village_id", "card_no"),)


# A volunteering row is a resident's or an outside volunteer's: exactly one of the two.
ONE_PERSON = "(resident_id IS NULL) <> (outsider_id IS NULL)"


class Signup(Base):
    __tablename__ = "signup"
    id: Mapped[int] = mapped_column(primary_key=True)
    activity_id: Mapped[int] = mapped_column(ForeignKey("activity.id"), index=True)
    resident_id: Mapped[int | None] = mapped_column(ForeignKey("resident.id"))
    outsider_id: Mapped[int | None] = mapped_column(ForeignKey("outside_volunteer.id"))
    status: Mapped[str] = mapped_column(String(10), default=SignupStatus.SIGNED)
    created_at: Mapped[dt.datetime] = mapped_column(DateTime, default=now)
    __table_args__ = (
        UniqueConstraint("activity_id", "resident_id"),
        UniqueConstraint("activity_id", "outsider_id", name="uq_signup_activity_outsider"),
        CheckConstraint(ONE_PERSON, name="one_person"),
        known("status", SignupStatus),
    )


class Attendance(Base):
    __tablename__ = "attendance"
    id: Mapped[int] = mapped_column(primary_key=True)
    village_id: Mapped[int] = mapped_column(ForeignKey("village.id"))
    activity_id: Mapped[int] = mapped_column(ForeignKey("activity.id"), index=True)
    resident_id: Mapped[int | None] = mapped_column(ForeignKey("resident.id"), index=True)
    outsider_id: Mapped[int | None] = mapped_column(ForeignKey("outside_volunteer.id"), index=True)
    household_id: Mapped[int | None] = mapped_column(ForeignKey("household.id"))  # None for an outsider
    check_in: Mapped[dt.datetime | None] = mapped_column(DateTime)
    check_out: Mapped[dt.datetime | None] = mapped_column(DateTime)
    minutes: Mapped[int | None] = mapped_column(Integer)
    confirmed_at: Mapped[dt.datetime | None] = mapped_column(DateTime)
    confirmed_by: Mapped[int | None] = mapped_column(ForeignKey("staff_user.id"))
    __table_args__ = (
        UniqueConstraint("activity_id", "resident_id"),
        UniqueConstraint("activity_id", "outsider_id", name="uq_attendance_activity_outsider"),
        CheckConstraint("minutes IS NULL OR (minutes >= 0 AND minutes <= 1440)", name="minutes_range"),
        CheckConstraint(ONE_PERSON, name="one_person"),
        # an outsider's hours never belong to a household
        CheckConstraint("(household_id IS NULL) = (resident_id IS NULL)", name="household_with_resident"),
        # a village's volunteer hours (overview, comparison, exports) without reading other villages' rows
        Index("ix_attendance_village_activity", "village_id", "activity_id"),
        Index("ix_attendance_household", "household_id", "id"),  # the card page's service records
    )


class HoursCorrection(Base):
    __tablename__ = "hours_correction"
    __history__ = Guard.set_once(status=("open",), decided_by=(), decided_at=(), decision_note=("",))
    id: Mapped[int] = mapped_column(primary_key=True)
    attendance_id: Mapped[int] = mapped_column(ForeignKey("attendance.id"), index=True)
    requested_by: Mapped[str] = mapped_column(String(40))
    reason: Mapped[str] = mapped_column(Text)
    old_minutes: Mapped[int | None] = mapped_column(Integer)
    new_minutes: Mapped[int] = mapped_column(Integer)
    status: Mapped[str] = mapped_column(String(10), default=CorrectionStatus.OPEN)
    decided_by: Mapped[int | None] = mapped_column(ForeignKey("staff_user.id"))
    decided_at: Mapped[dt.datetime | None] = mapped_column(DateTime)
    decision_note: Mapped[str] = mapped_column(Text, default="")
    created_at: Mapped[dt.datetime] = mapped_column(DateTime, default=now)
    __table_args__ = (known("status", CorrectionStatus),)


class VolunteerTotal(Base):
    """Confirmed cumulative minutes per resident, kept with each confirmation."""

    __tablename__ = "volunteer_total"
    resident_id: Mapped[int] = mapped_column(ForeignKey("resident.id"), primary_key=True)
    village_id: Mapped[int] = mapped_column(ForeignKey("village.id"), index=True)
    minutes: Mapped[int] = mapped_column(Integer, default=0)
    star_level: Mapped[int] = mapped_column(Integer, default=0)


class StarLevelEvent(Base):
    __tablename__ = "star_level_event"
    __history__ = Guard.append_only()
    id: Mapped[int] = mapped_column(primary_key=True)
    resident_id: Mapped[int] = mapped_column(ForeignKey("resident.id"))
    level: Mapped[int] = mapped_column(Integer)
    reached_on: Mapped[dt.date] = mapped_column(Date)
    minutes_at: Mapped[int] = mapped_column(Integer)
    __table_args__ = (UniqueConstraint("resident_id", "level"),)


class Certificate(Base):
    __tablename__ = "certificate"
    __history__ = Guard.append_only()
    id: Mapped[int] = mapped_column(primary_key=True)
    number: Mapped[str] = mapped_column(String(30), unique=True)
    village_id: Mapped[int] = mapped_column(ForeignKey("village.id"))
    resident_id: Mapped[int | None] = mapped_column(ForeignKey("resident.id"))
    outsider_id: Mapped[int | None] = mapped_column(ForeignKey("outside_volunteer.id"))
    period_from: Mapped[dt.date] = mapped_column(Date)
    period_to: Mapped[dt.date] = mapped_column(Date)
    total_minutes: Mapped[int] = mapped_column(Integer)
    issued_by: Mapped[int | None] = mapped_column(ForeignKey("staff_user.id"))
    issued_at: Mapped[dt.datetime] = mapped_column(DateTime, default=now)
    __table_args__ = (CheckConstraint(ONE_PERSON, name="one_person"),)


# ---------------------------------------------------------------- charity field


class Plot(Base):
    __tablename__ = "plot"
    id: Mapped[int] = mapped_column(primary_key=True)
    village_id: Mapped[int] = mapped_column(ForeignKey("village.id"), index=True)
    name: Mapped[str] = mapped_column(String(40))
    area_mu: Mapped[float] = mapped_column(Numeric(8, 2))
    location: Mapped[str] = mapped_column(String(80), default="")
    party_group: Mapped[str] = mapped_column(String(60), default="")
    active: Mapped[bool] = mapped_column(Boolean, default=True)


class PlotMember(Base):
    __tablename__ = "plot_member"
    plot_id: Mapped[int] = mapped_column(ForeignKey("plot.id"), primary_key=True)
    resident_id: Mapped[int] = mapped_column(ForeignKey("resident.id"), primary_key=True)


class Season(Base):
    __tablename__ = "season"
    id: Mapped[int] = mapped_column(primary_key=True)
    village_id: Mapped[int] = mapped_column(ForeignKey("village.id"), index=True)
    plot_id: Mapped[int] = mapped_column(ForeignKey("plot.id"))
    year: Mapped[int] = mapped_column(Integer)
    crop: Mapped[str] = mapped_column(String(20))
    sown_on: Mapped[dt.date | None] = mapped_column(Date)


class Harvest(Base):
    __tablename__ = "harvest"
    __history__ = Guard.append_only()
    id: Mapped[int] = mapped_column(primary_key=True)
    village_id: Mapped[int] = mapped_column(ForeignKey("village.id"), index=True)
    season_id: Mapped[int] = mapped_column(ForeignKey("season.id"))
    crop: Mapped[str] = mapped_column(String(20))
    date: Mapped[dt.date] = mapped_column(Date)
    grams: Mapped[int] = mapped_column(Integer)
    recorded_by: Mapped[int | None] = mapped_column(ForeignKey("staff_user.id"))
    photo_path: Mapped[str] = mapped_column(String(200), default="")
    __table_args__ = (CheckConstraint("grams > 0", name="grams_positive"),)


class ProduceStock(Base):
    __tablename__ = "produce_stock"
    village_id: Mapped[int] = mapped_column(ForeignKey("village.id"), primary_key=True)
    crop: Mapped[str] = mapped_column(String(20), primary_key=True)
    grams: Mapped[int] = mapped_column(Integer, default=0)
    __table_args__ = (CheckConstraint("grams >= 0", name="grams_not_negative"),)


class ProduceMove(Base):
    """Append-only produce ledger; produce_stock is kept equal to the sum of grams."""

    __tablename__ = "produce_move"
    __history__ = Guard.append_only()
    id: Mapped[int] = mapped_column(BigId, primary_key=True)
    village_id: Mapped[int] = mapped_column(ForeignKey("village.id"), index=True)
    crop: Mapped[str] = mapped_column(String(20))
    grams: Mapped[int] = mapped_column(Integer)  # signed
    kind: Mapped[str] = mapped_column(String(20))  # harvest / deliver / to_shop / sale / adjust
    ref_type: Mapped[str] = mapped_column(String(20), default="")
    ref_id: Mapped[str] = mapped_column(String(40), default="")
    note: Mapped[str] = mapped_column(Text, default="")
    created_by: Mapped[int | None] = mapped_column(ForeignKey("staff_user.id"))
    created_at: Mapped[dt.datetime] = mapped_column(DateTime, default=now)


class Beneficiary(Base):
    __tablename__ = "beneficiary"
    id: Mapped[int] = mapped_column(primary_key=True)
    village_id: Mapped[int] = mapped_column(ForeignKey("village.id"), index=True)
    household_id: Mapped[int] = mapped_column(ForeignKey("household.id"))
    category: Mapped[str] = mapped_column(String(20))  # elderly / dibao / wubao / disabled / hardship
    reason: Mapped[str] = mapped_column(Text, default="")
    approved_by: Mapped[int | None] = mapped_column(ForeignKey("staff_user.id"))
    approved_at: Mapped[dt.datetime | None] = mapped_column(DateTime)
    valid_until: Mapped[dt.date | None] = mapped_column(Date)
    active: Mapped[bool] = mapped_column(Boolean, default=True)
    __table_args__ = (UniqueConstraint("household_id", "category"),)


class DistributionRound(Base):
    __tablename__ = "distribution_round"
    id: Mapped[int] = mapped_column(primary_key=True)
    village_id: Mapped[int] = mapped_column(ForeignKey("village.id"), index=True)
    title: Mapped[str] = mapped_column(String(80), default="")
    crop: Mapped[str] = mapped_column(String(20))
    total_grams: Mapped[int] = mapped_column(Integer)
    rule: Mapped[str] = mapped_column(String(20))  # household / person / weighted
    params: Mapped[str] = mapped_column(Text, default="{}")  # JSON: weights, min, max
    status: Mapped[str] = mapped_column(String(10), default=RoundStatus.DRAFT)
    created_by: Mapped[int | None] = mapped_column(ForeignKey("staff_user.id"))
    created_at: Mapped[dt.datetime] = mapped_column(DateTime, default=now)
    __table_args__ = (known("status", RoundStatus),)


class Allocation(Base):
    __tablename__ = "allocation"
    __history__ = Guard.until("delivered_at", via="returned")
    id: Mapped[int] = mapped_column(primary_key=True)
    round_id: Mapped[int] = mapped_column(ForeignKey("distribution_round.id"), index=True)
    household_id: Mapped[int] = mapped_column(ForeignKey("household.id"))
    category: Mapped[str] = mapped_column(String(20), default="")
    persons: Mapped[int] = mapped_column(Integer, default=1)
    grams: Mapped[int] = mapped_column(Integer)
    delivered_at: Mapped[dt.datetime | None] = mapped_column(DateTime)
    delivered_by: Mapped[int | None] = mapped_column(ForeignKey("staff_user.id"))
    signed_by: Mapped[str] = mapped_column(String(40), default="")
    via: Mapped[str] = mapped_column(String(10), default="")  # card / proxy
    note: Mapped[str] = mapped_column(Text, default="")
    __table_args__ = (
        UniqueConstraint("round_id", "household_id"),
        CheckConstraint("grams >= 0", name="grams_not_negative"),
    )


class FundEntry(Base):
    """The village fund (村集体资金), an append-only numbered chain per village (core.supermarket.fund):
    ``seq`` counts 1, 2, 3 … with no gap, ``balance_after`` is the previous one plus ``amount_fen``
    (signed: income > 0, spending < 0), and ``digest`` hashes the row with the previous digest, so a
    missing, inserted or edited row shows in ``verify``. A correction is a ``reversal`` naming the
    entry (``reverses_id``, unique: at most once); ``entry_key`` is unique so a repeated submit posts once."""

    __tablename__ = "fund_entry"
    __history__ = Guard.append_only()
    id: Mapped[int] = mapped_column(primary_key=True)
    village_id: Mapped[int] = mapped_column(ForeignKey("village.id"), index=True)
    seq: Mapped[int] = mapped_column(Integer)
    kind: Mapped[str] = mapped_column(String(20))
    date: Mapped[dt.date] = mapped_column(Date)
    amount_fen: Mapped[int] = mapped_column(BigInteger)  # signed, in fen (分)
    balance_after: Mapped[int] = mapped_column(BigInteger)
    source: Mapped[str] = mapped_column(String(40))  # where income came from / what it is
    counterparty: Mapped[str] = mapped_column(String(60), default="")  # donor, supplier or buyer
    purpose: Mapped[str] = mapped_column(String(200), default="")  # what spending was for
    items: Mapped[str] = mapped_column(Text, default="")  # goods bought for the supermarket
    note: Mapped[str] = mapped_column(Text, default="")
    reverses_id: Mapped[int | None] = mapped_column(ForeignKey("fund_entry.id"))
    entry_key: Mapped[str] = mapped_column(String(64))
    digest: Mapped[str] = mapped_column(String(64))
    created_by: Mapped[int | None] = mapped_column(ForeignKey("staff_user.id"))
    created_at: Mapped[dt.datetime] = mapped_column(DateTime, default=now)
    __table_args__ = (
        Index("uq_fund_entry_village_seq", "village_id", "seq", unique=True),
        Index("uq_fund_entry_reverses_id", "reverses_id", unique=True),
        Index("uq_fund_entry_entry_key", "entry_key", unique=True),
        CheckConstraint("kind IN ('opening', 'donation', 'other_income', 'field_sale', 'purchase', "
                        "'other_spending', 'reversal')", name="kind_known"),
    )


# ---------------------------------------------------------------- admin


class ImportBatch(Base):
    __tablename__ = "import_batch"
    __history__ = Guard.append_only()
    id: Mapped[int] = mapped_column(primary_key=True)
    village_id: Mapped[int] = mapped_column(ForeignKey("village.id"))
    filename: Mapped[str] = mapped_column(String(200))
    sha256: Mapped[str] = mapped_column(String(64))
    rows: Mapped[int] = mapped_column(Integer)
    created_by: Mapped[int | None] = mapped_column(ForeignKey("staff_user.id"))
    created_at: Mapped[dt.datetime] = mapped_column(DateTime, default=now)


# ---------------------------------------------------------------- year end: closes and honours


class PeriodClose(Base):
    """A recorded close (结账): kind ``month`` (period = yyyymm) — the totals of every entry of
    the village dated up to the end of that month; nothing posts into a closed month afterwards
    (``core.points.closes``) — or kind ``year`` (period = yyyy), the annual carry-over or
    clearing with the totals at the end of December. ``verify`` recomputes the totals."""

    __tablename__ = "period_close"
    __history__ = Guard.append_only()
    id: Mapped[int] = mapped_column(primary_key=True)
    village_id: Mapped[int] = mapped_column(ForeignKey("village.id"))
    kind: Mapped[str] = mapped_column(String(10))  # month / year
    period: Mapped[int] = mapped_column(Integer)  # yyyymm or yyyy
    balance_total: Mapped[int] = mapped_column(Integer)
    earned_total: Mapped[int] = mapped_column(Integer)
    outstanding_total: Mapped[int] = mapped_column(Integer)
    households: Mapped[int] = mapped_column(Integer)  # accounts with entries up to the close
    entries: Mapped[int] = mapped_column(Integer)  # ledger entries up to the close
    policy: Mapped[str] = mapped_column(String(20), default="")  # year: carry_over / clear
    cleared: Mapped[int] = mapped_column(Integer, default=0)  # year with policy clear: points cleared
    closed_by: Mapped[int | None] = mapped_column(ForeignKey("staff_user.id"))
    closed_at: Mapped[dt.datetime] = mapped_column(DateTime, default=now)
    __table_args__ = (UniqueConstraint("village_id", "kind", "period", name="uq_period_close_village_period"),)


class HonourList(Base):
    """A published year-end honour list (年度表彰名单): one per village and year, never changed."""

    __tablename__ = "honour_list"
    __history__ = Guard.append_only()
    id: Mapped[int] = mapped_column(primary_key=True)
    village_id: Mapped[int] = mapped_column(ForeignKey("village.id"))
    year: Mapped[int] = mapped_column(Integer)
    title: Mapped[str] = mapped_column(String(100))
    published_by: Mapped[int | None] = mapped_column(ForeignKey("staff_user.id"))
    published_at: Mapped[dt.datetime] = mapped_column(DateTime, default=now)
    __table_args__ = (UniqueConstraint("village_id", "year", name="uq_honour_list_village_year"),)


class HonourEntry(Base):
    """One honoured household (星级文明户, level 1..5) or volunteer (优秀志愿者, by hours) of a list,
    with what it was honoured for as published and its certificate number."""

    __tablename__ = "honour_entry"
    __history__ = Guard.append_only()
    id: Mapped[int] = mapped_column(primary_key=True)
    list_id: Mapped[int] = mapped_column(ForeignKey("honour_list.id"), index=True)
    kind: Mapped[str] = mapped_column(String(20))  # household / volunteer
    household_id: Mapped[int | None] = mapped_column(ForeignKey("household.id"))
    resident_id: Mapped[int | None] = mapped_column(ForeignKey("resident.id"))
    name: Mapped[str] = mapped_column(String(100))  # head of household or volunteer, as published
    door_no: Mapped[str] = mapped_column(String(50), default="")
    level: Mapped[int] = mapped_column(Integer, default=0)  # star level (household) or place (volunteer)
    points: Mapped[int] = mapped_column(Integer, default=0)  # year's points (household)
    minutes: Mapped[int] = mapped_column(Integer, default=0)  # year's confirmed minutes (volunteer)
    number: Mapped[str] = mapped_column(String(40), unique=True)  # certificate number


# ---------------------------------------------------------------- history guards

HISTORY: dict[str, Guard] = {
    m.local_table.name: m.class_.__history__ for m in Base.registry.mappers if "__history__" in m.class_.__dict__
}
"""Every history table and its guard (what the triggers and the ORM listeners enforce)."""

history.register(Base.registry.mappers, HISTORY)


@event.listens_for(Base.metadata, "after_create")
def _create_history_triggers(_metadata, connection, **_kw) -> None:
    history.install(connection, {t: g for t, g in HISTORY.items() if inspect(connection).has_table(t)})
