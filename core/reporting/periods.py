"""Statistics periods: calendar months, quarters and years; months are yyyymm integers like
ledger_entry.month and household_month.month."""

from __future__ import annotations

import datetime as dt
from dataclasses import dataclass

from core.platform.errors import InvalidInput

PERIOD_KINDS = {"month": "本月", "quarter": "本季度", "year": "本年度"}




@dataclass(frozen=True)
class Period:
    """A calendar month, quarter or year; months are yyyymm integers like ledger_entry.month."""

    kind: str
    year: int
    index: int  # month 1-12, quarter 1-4, or 1 for a year

    @property
    def first_month(self) -> int:
        m = {"month": self.index, "quarter": 3 * self.index - 2, "year": 1}[self.kind]
        return self.year * 100 + m

    @property
    def last_month(self) -> int:
        m = {"month": self.index, "quarter": 3 * self.index, "year": 12}[self.kind]
        return self.year * 100 + m

    @property
    def start(self) -> dt.date:
        return dt.date(self.year, self.first_month % 100, 1)

    @property
    def end(self) -> dt.date:
        """First day after the period."""
        last = self.last_month % 100
        return dt.date(self.year + 1, 1, 1) if last == 12 else dt.date(self.year, last + 1, 1)

    @property
    def label(self) -> str:
        if self.kind == "month":
            return f"{self.year}年{self.index}月"
        if self.kind == "quarter":
            return f"{self.year}年第{self.index}季度"
        return f"{self.year}年"

    def months(self) -> list[int]:
        return [self.year * 100 + m for m in range(self.first_month % 100, self.last_month % 100 + 1)]


def period_of(kind: str, day: dt.date) -> Period:
    if kind not in PERIOD_KINDS:
        raise InvalidInput("统计周期只能是月、季度或年。")
    index = {"month": day.month, "quarter": (day.month - 1) // 3 + 1, "year": 1}[kind]
    return Period(kind, day.year, index)


def recent_periods(kind: str, today: dt.date, n: int = 12) -> list[Period]:
    """The current period and the ``n - 1`` before it, newest first (for a select box)."""
    out = [period_of(kind, today)]
    while len(out) < n:
        p = out[-1]
        out.append(period_of(kind, p.start - dt.timedelta(days=1)))
    return out


def months_back(last_month: int, n: int) -> list[int]:
    y, m = divmod(last_month, 100)
    out = []
    for _ in range(n):
        out.append(y * 100 + m)
        y, m = (y - 1, 12) if m == 1 else (y, m - 1)
    return out[::-1]


def month_label(month: int) -> str:
    return f"{month // 100}-{month % 100:02d}"


def last_complete(kind: str, today: dt.date) -> Period:
    """The last period of this kind that has ended: on 2 March, February (not March, which has
    hardly begun and would compare zeros)."""
    return period_of(kind, period_of(kind, today).start - dt.timedelta(days=1))
