"""The declarative base every model shares: naming convention, id type, the status CHECK helper
and the default timestamp."""

from __future__ import annotations

import datetime as dt

from sqlalchemy import BigInteger, CheckConstraint, Integer, MetaData
from sqlalchemy.orm import DeclarativeBase

from db import clock
from db.enums import check_in

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
