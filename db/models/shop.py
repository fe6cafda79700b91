"""Household cards and the points supermarket: products, stock moves, redemptions and returns."""

from __future__ import annotations

import datetime as dt

from sqlalchemy import (
    Boolean,
    CheckConstraint,
    DateTime,
    ForeignKey,
    Index,
    Integer,
    String,
    Text,
    UniqueConstraint,
    text,
)
from sqlalchemy.orm import Mapped, mapped_column

from db.enums import CardStatus, Delivery, ProductKind, RedemptionStatus, StockMoveKind
from db.history import Guard, Prefix
from db.models.base import Base, BigId, known, now


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
        known("kind", ProductKind),
    )


class StockMove(Base):
    """Append-only stock ledger; product.stock is kept equal to the sum of qty."""

    __tablename__ = "stock_move"
    __history__ = Guard.append_only()
    id: Mapped[int] = mapped_column(BigId, primary_key=True)
    village_id: Mapped[int] = mapped_column(ForeignKey("village.id"))
    product_id: Mapped[int] = mapped_column(ForeignKey("product.id"), index=True)
    kind: Mapped[str] = mapped_column(String(20))  # purchase / donation / harvest / redeem / void / return / count
    qty: Mapped[int] = mapped_column(Integer)  # signed
    donor: Mapped[str] = mapped_column(String(60), default="")
    funding: Mapped[str] = mapped_column(String(60), default="")
    reason: Mapped[str] = mapped_column(Text, default="")
    ref_type: Mapped[str] = mapped_column(String(20), default="")
    ref_id: Mapped[str] = mapped_column(String(40), default="")
    created_by: Mapped[int | None] = mapped_column(ForeignKey("staff_user.id"))
    created_at: Mapped[dt.datetime] = mapped_column(DateTime, default=now)
    __table_args__ = (Index("ix_stock_move_village_at", "village_id", "created_at"), known("kind", StockMoveKind))


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
