"""Fixed-window rate limits kept in the database, so every app instance shares them
(card-token guessing on the public resident page).

A window is ``window`` seconds from its first counted event; the counter resets when a new
event arrives after the window ended. One UPSERT per event: two instances counting at once
cannot lose an increment.
"""

from __future__ import annotations

import datetime as dt
import hashlib

from sqlalchemy import bindparam, case, delete, select

from core.platform.errors import DomainError
from db.engine import upsert_insert
from db.models import RateLimit

CARD_LOOKUP_LIMIT = 20  # failed look-ups ...
CARD_LOOKUP_WINDOW = 600  # ... per 10 minutes per client


class TooManyAttempts(DomainError):
    """Too many failed attempts from one client in the current window."""


def client_key(prefix: str, client: str | None) -> str:
    """A bounded key from an IP address or header value (hashed: no raw addresses stored)."""
    digest = hashlib.sha256(str(client or "unknown").encode("utf-8", "replace")).hexdigest()[:40]
    return f"{prefix}:{digest}"


def _now() -> dt.datetime:
    return dt.datetime.now().replace(microsecond=0)


def count(db, key: str, window: int, now: dt.datetime | None = None) -> int:
    """Events counted for ``key`` in its current window (0 if the window has ended)."""
    with db.read() as s:
        return count_in(s, key, window, now)


_COUNT = select(RateLimit.window_start, RateLimit.count).where(RateLimit.key == bindparam("key"))  # built once


def count_in(s, key: str, window: int, now: dt.datetime | None = None) -> int:
    """:func:`count` inside the caller's read transaction (one query)."""
    now = now or _now()
    row = s.execute(_COUNT, {"key": key}).first()
    if row is None or row.window_start <= now - dt.timedelta(seconds=window):
        return 0
    return row.count


def is_blocked(db, key: str, limit: int, window: int, now: dt.datetime | None = None) -> bool:
    return count(db, key, window, now) >= limit


def hit(db, key: str, window: int, now: dt.datetime | None = None) -> None:
    """Count one event for ``key`` (atomic upsert; starts a new window when the old one ended)."""
    now = now or _now()
    cutoff = now - dt.timedelta(seconds=window)
    with db.write() as s:
        insert = upsert_insert(s)
        t = RateLimit.__table__
        expired = t.c.window_start <= cutoff
        stmt = insert(t).values(key=key, window_start=now, count=1)
        stmt = stmt.on_conflict_do_update(
            index_elements=["key"],
            set_={"count": case((expired, 1), else_=t.c.count + 1),
                  "window_start": case((expired, now), else_=t.c.window_start)},
        )
        s.execute(stmt)
        # Keep the table small: drop counters idle for a day (cheap, table is tiny).
        if now.second % 10 == 0:
            s.execute(delete(RateLimit).where(RateLimit.window_start < now - dt.timedelta(days=1)))
