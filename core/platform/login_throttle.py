"""Slowing down password guessing without letting a stranger lock anyone out.

Two counters of failed logins in a row, kept in ``login_throttle`` so every app instance shares
them: one per account name as typed (lower-cased, hashed; an unknown name has one too, so it
behaves exactly like a real one) and one per client address (core.platform.clients). After a few free
failures each further one makes the next try wait, doubling up to a cap: guessing slows to a
crawl, but a wait is never a lock.

- The account's wait does not apply to a browser where that user has logged in before (a signed
  "known device" cookie, core.platform.auth): a stranger hammering the only admin account slows the
  stranger, not the admin at the office PC.
- The client's wait applies to every name tried from that address (password spraying).
- A success clears the account's counter; a client's counter is forgotten an hour after its last
  failure. Counters idle for a day are deleted.
"""

from __future__ import annotations

import datetime as dt
import hashlib
import math

from sqlalchemy import delete, select

from db.engine import upsert_insert
from db.models import LoginThrottle

ACCOUNT_FREE_FAILURES = 3  # then 2, 4, 8 … seconds
ACCOUNT_MAX_WAIT = 300  # seconds: at most one guess per account name every 5 minutes
CLIENT_FREE_FAILURES = 10  # a whole office may share one address
CLIENT_MAX_WAIT = 900
FORGET_AFTER = dt.timedelta(hours=1)


def account_key(username: str) -> str:
    return "acct:" + hashlib.sha256(username.strip().lower().encode("utf-8", "replace")).hexdigest()[:60]


def client_key(client: str | None) -> str:
    return "client:" + hashlib.sha256(str(client or "unknown").encode("utf-8", "replace")).hexdigest()[:60]


def wait_for(failures: int, free: int, cap: int) -> int:
    """Seconds to wait after ``failures`` failures in a row."""
    if failures < free:
        return 0
    return min(cap, 2 ** (failures - free + 1))


def seconds_left(db, keys: list[str], now: dt.datetime) -> int:
    """The longest wait still running on any of ``keys`` (0: go ahead)."""
    with db.read() as s:
        until = s.execute(select(LoginThrottle.blocked_until).where(LoginThrottle.key.in_(keys))).scalars()
        left = [math.ceil((u - now).total_seconds()) for u in until if u is not None and u > now]
    return max(left, default=0)


def failed(db, now: dt.datetime, *keys: tuple[str, int, int]) -> dict[str, int]:
    """Count one failure on each (key, free failures, maximum wait); in its own transaction, so it
    sticks although the caller goes on to raise. Returns each key's failures in a row."""
    counts: dict[str, int] = {}
    with db.write() as s:
        insert = upsert_insert(s)
        for key, free, cap in sorted(keys):  # one lock order for every caller
            s.execute(insert(LoginThrottle.__table__).values(key=key, failures=0, last_failed_at=now)
                      .on_conflict_do_nothing(index_elements=["key"]))
            row = s.execute(select(LoginThrottle).where(LoginThrottle.key == key).with_for_update()
                            .execution_options(populate_existing=True)).scalar_one()
            fresh = row.last_failed_at is None or row.last_failed_at < now - FORGET_AFTER
            row.failures = 1 if fresh else row.failures + 1
            row.last_failed_at = now
            wait = wait_for(row.failures, free, cap)
            row.blocked_until = now + dt.timedelta(seconds=wait) if wait else None
            counts[key] = row.failures
        if now.minute % 10 == 0:  # keep the table small; cheap, it holds only recent failures
            s.execute(delete(LoginThrottle).where(LoginThrottle.last_failed_at < now - dt.timedelta(days=1)))
    return counts


def cleared(db, key: str) -> None:
    with db.write() as s:
        s.execute(delete(LoginThrottle).where(LoginThrottle.key == key))


def blocked_accounts(db, usernames: list[str], now: dt.datetime) -> dict[str, dt.datetime]:
    """username → until when guessing it is slowed, for the staff page."""
    keys = {account_key(u): u for u in usernames}
    with db.read() as s:
        rows = s.execute(select(LoginThrottle.key, LoginThrottle.blocked_until)
                         .where(LoginThrottle.key.in_(list(keys)), LoginThrottle.blocked_until > now)).all()
    return {keys[k]: until for k, until in rows}
