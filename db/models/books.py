"""The village's books beside the ledger: the village fund (村集体资金), import batches, period closes and honour lists."""

from __future__ import annotations

import datetime as dt

from sqlalchemy import (
    BigInteger,
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

from db.enums import CloseKind, FundKind, HonourKind
from db.history import Guard
from db.models.base import Base, known, now


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
        known("kind", FundKind),
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
    kind: Mapped[str] = mapped_column(String(10))  # month / year (db.enums.CloseKind)
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
    __table_args__ = (UniqueConstraint("village_id", "kind", "period", name="uq_period_close_village_period"),
                      known("kind", CloseKind))


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
    kind: Mapped[str] = mapped_column(String(20))  # household / volunteer (db.enums.HonourKind)
    household_id: Mapped[int | None] = mapped_column(ForeignKey("household.id"))
    resident_id: Mapped[int | None] = mapped_column(ForeignKey("resident.id"))
    name: Mapped[str] = mapped_column(String(100))  # head of household or volunteer, as published
    door_no: Mapped[str] = mapped_column(String(50), default="")
    level: Mapped[int] = mapped_column(Integer, default=0)  # star level (household) or place (volunteer)
    points: Mapped[int] = mapped_column(Integer, default=0)  # year's points (household)
    minutes: Mapped[int] = mapped_column(Integer, default=0)  # year's confirmed minutes (volunteer)
    number: Mapped[str] = mapped_column(String(40), unique=True)  # certificate number
    __table_args__ = (known("kind", HonourKind),)
