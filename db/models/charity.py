"""The charity field (党员义田): plots, seasons, harvests, the produce stock and its moves, beneficiaries, distribution rounds and allocations."""

from __future__ import annotations

import datetime as dt

from sqlalchemy import (
    Boolean,
    CheckConstraint,
    Date,
    DateTime,
    ForeignKey,
    Integer,
    Numeric,
    String,
    Text,
    UniqueConstraint,
)
from sqlalchemy.orm import Mapped, mapped_column

from db.enums import ProduceMoveKind, RoundStatus
from db.history import Guard
from db.models.base import Base, BigId, known, now


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
    kind: Mapped[str] = mapped_column(String(20))  # harvest / deliver / to_shop / sale / adjust / return
    ref_type: Mapped[str] = mapped_column(String(20), default="")
    ref_id: Mapped[str] = mapped_column(String(40), default="")
    note: Mapped[str] = mapped_column(Text, default="")
    created_by: Mapped[int | None] = mapped_column(ForeignKey("staff_user.id"))
    created_at: Mapped[dt.datetime] = mapped_column(DateTime, default=now)
    __table_args__ = (known("kind", ProduceMoveKind),)


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
