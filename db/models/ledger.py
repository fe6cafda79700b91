"""The points ledger: accounts, entries (history) and the summary tables the ledger keeps."""

from __future__ import annotations

import datetime as dt

from sqlalchemy import CheckConstraint, Date, DateTime, ForeignKey, Index, Integer, String, Text, UniqueConstraint, text
from sqlalchemy.orm import Mapped, mapped_column

from db.enums import LedgerKind
from db.history import Guard
from db.models.base import Base, BigId, known, now


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
        known("kind", LedgerKind),
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
