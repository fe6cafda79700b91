"""Villages, grids, households and residents; staff accounts, login sessions, throttles and the audit log; the rules catalogue (积分细则)."""

from __future__ import annotations

import datetime as dt

from sqlalchemy import (
    Boolean,
    CheckConstraint,
    Date,
    DateTime,
    ForeignKey,
    Index,
    Integer,
    String,
    Text,
    UniqueConstraint,
)
from sqlalchemy.orm import Mapped, mapped_column

from db.enums import HouseholdEventKind
from db.history import Guard
from db.models.base import Base, BigId, known, now


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
    __table_args__ = (Index("ix_household_event_household", "household_id", "id"),
                      known("kind", HouseholdEventKind))


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
