"""One statement, many rows, without SQLAlchemy building parameters row by row.

SQLAlchemy Core's ``session.execute(insert(table), rows)`` runs every row through the
compiler's ``construct_params`` and each column's bind processor before the driver's
``executemany``. For the batches of the morning meeting (200 decisions, 200 ledger entries,
the account and summary updates that go with them) that per-row work was the largest
Python share of deciding and posting a batch, and half its time on SQLite (see
BENCHMARKS.md). :func:`executemany` compiles the statement once per dialect, converts only
the values whose type needs it (dates and datetimes on SQLite, stored in SQLAlchemy's own
text format so that they compare with every other row) and hands the rows to the driver.

It runs in the session's transaction, like ``session.execute``. Statements are plain SQL
with ``:name`` placeholders that SQLite and PostgreSQL both accept (``ON CONFLICT … DO
UPDATE`` included); the tests run every caller on both.
"""

from __future__ import annotations

import functools
from collections.abc import Mapping, Sequence

from sqlalchemy import text
from sqlalchemy.engine import CursorResult, Dialect
from sqlalchemy.orm import Session
from sqlalchemy.types import TypeEngine


@functools.lru_cache(maxsize=64)
def _compiled(sql: str, dialect: Dialect) -> tuple[str, tuple[str, ...] | None]:
    """The statement in the driver's own placeholder style, and the names' order if it is
    positional. Python's sqlite3 takes ``:name`` with dicts as it is."""
    if dialect.name == "sqlite" and dialect.driver == "pysqlite":
        return sql, None
    c = text(sql).compile(dialect=dialect)
    return c.string, (tuple(c.positiontup) if dialect.positional else None)


@functools.lru_cache(maxsize=64)
def _processor(type_: TypeEngine, dialect: Dialect):
    return type_.dialect_impl(dialect).bind_processor(dialect)


def executemany(s: Session, sql: str, rows: Sequence[Mapping], types: Mapping[str, TypeEngine] | None = None
                ) -> CursorResult:
    """Run ``sql`` once per row of ``rows`` (dicts keyed by the placeholders' names) in the
    session's transaction. ``types`` names the placeholders whose values need converting for
    the database (e.g. ``{"day": LedgerEntry.occurred_on.type}``); the rest go as they are.
    The result's ``rowcount`` is the total over all rows."""
    if not rows:  # the driver would run the statement once, without parameters
        raise ValueError("executemany needs at least one row")
    conn = s.connection()
    dialect = conn.dialect
    stmt, order = _compiled(sql, dialect)
    procs = {k: p for k, t in (types or {}).items() if (p := _processor(t, dialect)) is not None}
    if procs:
        rows = [{**r, **{k: (None if r[k] is None else p(r[k])) for k, p in procs.items()}} for r in rows]
    params = [tuple(r[k] for k in order) for r in rows] if order is not None else list(rows)
    return conn.exec_driver_sql(stmt, params)
