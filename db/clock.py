"""The clock every timestamp the app records is read from.

Naive local time to the second (the village's clock). Demo data and imports of a village's
past write history *as it happened* by running core functions inside :func:`at` — never by
changing rows afterwards, which history tables refuse (db.history). Tests use it too.
"""

from __future__ import annotations

import datetime as dt
from collections.abc import Iterator
from contextlib import contextmanager
from contextvars import ContextVar

_fixed: ContextVar[dt.datetime | None] = ContextVar("jifen_clock", default=None)


def now() -> dt.datetime:
    """The current time, or the time :func:`at` has set for this context."""
    fixed = _fixed.get()
    return fixed if fixed is not None else dt.datetime.now().replace(microsecond=0)


@contextmanager
def at(when: dt.datetime) -> Iterator[None]:
    """Within the block, :func:`now` is ``when`` (this thread / task only)."""
    token = _fixed.set(when.replace(microsecond=0))
    try:
        yield
    finally:
        _fixed.reset(token)
