"""Month close (月结) and the annual carry-over (年度结转) as recorded closes.

A month close is one ``period_close`` row per village and month (kind ``month``, period
yyyymm) with the totals of every ledger entry of the village dated up to the end of that
month: spendable balance, earned total, outstanding (待扣), households with entries, entries.

Rules:
- only a month that is over can be closed, and months are closed in order (the first close may
  be any past month; each later one is the month after the last), each once (unique row);
- nothing posts into a closed month afterwards: ``core.points.posting`` dates an entry whose
  act date is in a closed month on the first day of the first open month, noting the original
  date in its reason, so late decisions and reversals still post and the closed totals hold;
- a close locks every account of the village first, so a post in flight finishes before the
  totals are taken, and a post after it sees the close;
- the year-end (kind ``year``, period yyyy) needs December closed; it records the totals at the
  end of December and the village's policy: ``carry_over`` carries the balances into the next
  year unchanged, ``clear`` runs the clearing entries (``cycles.run_year_end``) and records
  the points cleared;
- ``verify`` recomputes every recorded total from the ledger (:func:`problems`).
"""

from __future__ import annotations

import datetime as dt
from dataclasses import dataclass

from sqlalchemy import func, select
from sqlalchemy.exc import IntegrityError

from core.platform import settings
from core.platform.access import Actor, require
from core.platform.audit import record
from core.platform.errors import AlreadyDone, InvalidInput
from core.points import cycles
from core.points.posting import closed_through, first_open_day
from db.models import Account, LedgerEntry, PeriodClose

POLICY_NAMES = {"carry_over": "结转", "clear": "清零"}


@dataclass(frozen=True)
class Totals:
    balance: int
    earned: int
    outstanding: int
    households: int
    entries: int


def _month_key(text: str) -> int:
    p = cycles.parse_period(text)
    if p.key.count("-") != 1 or "Q" in p.key:
        raise InvalidInput("请选择要结账的月份，例如 2026-03。")
    return p.start.year * 100 + p.start.month


def month_label(period: int) -> str:
    return f"{period // 100}年{period % 100}月"


def totals_through(s, village_id: int, month: int) -> Totals:
    """The sums of the village's entries dated up to the end of ``month`` (yyyymm)."""
    bal, earned, owed, households, entries = s.execute(
        select(func.coalesce(func.sum(LedgerEntry.delta_balance), 0),
               func.coalesce(func.sum(LedgerEntry.delta_earned), 0),
               func.coalesce(func.sum(LedgerEntry.delta_outstanding), 0),
               func.count(func.distinct(LedgerEntry.household_id)), func.count())
        .where(LedgerEntry.village_id == village_id, LedgerEntry.month <= month)).one()
    return Totals(int(bal), int(earned), int(owed), int(households), int(entries))


@dataclass(frozen=True)
class CloseStatus:
    last_closed: int | None  # yyyymm
    next_month: int | None  # the month that can be closed next (None: nothing is over yet)
    totals: Totals | None  # of next_month, as it would be recorded


def _last_complete_month(today: dt.date) -> int:
    first = today.replace(day=1) - dt.timedelta(days=1)
    return first.year * 100 + first.month


def status(db, village_id: int, month: str | None = None, today: dt.date | None = None) -> CloseStatus:
    """What closing would do: the last closed month, the month to close next (``month`` when it
    is the one allowed, else the one after the last close, or the last complete month) and its totals."""
    today = today or dt.date.today()
    with db.read() as s:
        last = closed_through(s, village_id)
        if last is not None:
            nxt = first_open_day(last)
            candidate = nxt.year * 100 + nxt.month
        else:
            candidate = _month_key(month) if month else _last_complete_month(today)
        if candidate > _last_complete_month(today):
            return CloseStatus(last, None, None)
        return CloseStatus(last, candidate, totals_through(s, village_id, candidate))


def _lock_village_accounts(s, village_id: int) -> None:
    """Every account of the village, locked until commit (PostgreSQL; SQLite writers already
    queue): a post in flight finishes first, a later one waits and then sees the close."""
    s.execute(select(Account.household_id).where(Account.village_id == village_id)
              .order_by(Account.household_id).with_for_update()).all()


def close_month(db, actor: Actor, village_id: int, month: str, confirm: bool = False) -> int:
    """Close ``month`` ('2026-03') for the village: record its totals; returns the close's id.
    ``confirm`` is the page's confirmation step."""
    period = _month_key(month)
    if not confirm:
        raise InvalidInput("请先确认月结：结账后，该月及以前的日期不能再记账。")
    today = dt.date.today()
    if period > _last_complete_month(today):
        raise InvalidInput(f"{month_label(period)}还没有结束，不能结账。")
    try:
        with db.write() as s:
            require(actor, "admin", village_id)
            _lock_village_accounts(s, village_id)
            last = closed_through(s, village_id)
            if last is not None and period <= last:
                raise AlreadyDone(f"{month_label(period)}已经结账（已结账到 {month_label(last)}）。")
            if last is not None:
                nxt = first_open_day(last)
                if period != nxt.year * 100 + nxt.month:
                    raise InvalidInput(f"请按月份顺序结账：下一个应结账的月份是 {nxt.year}年{nxt.month}月。")
            t = totals_through(s, village_id, period)
            row = PeriodClose(village_id=village_id, kind="month", period=period, balance_total=t.balance,
                              earned_total=t.earned, outstanding_total=t.outstanding, households=t.households,
                              entries=t.entries, policy="", cleared=0, closed_by=actor.user_id)
            s.add(row)
            s.flush()
            record(s, actor, "close.month", "period_close", row.id,
                   {"month": period, "balance": t.balance, "earned": t.earned, "outstanding": t.outstanding,
                    "households": t.households, "entries": t.entries}, village_id=village_id)
            return row.id
    except IntegrityError as e:
        raise AlreadyDone(f"{month_label(period)}刚刚已由另一位管理员结账。") from e


@dataclass(frozen=True)
class YearClose:
    close_id: int
    policy: str
    totals: Totals
    cleared: int  # points cleared (policy clear)
    households_cleared: int


def close_year(db, actor: Actor, village_id: int, year: int, confirm: str, progress=None) -> YearClose:
    """The annual carry-over (or clearing, by the village's policy) recorded as a year close.
    December of ``year`` must be closed; ``confirm`` repeats the year (the page passes it once its
    question was confirmed)."""
    year = cycles._check_year(year)
    require(actor, "admin", village_id)
    if str(confirm).strip() != str(year):
        raise InvalidInput(f"请在确认框中输入年份 {year} 以确认年度结转。")
    with db.read() as s:
        last = closed_through(s, village_id)
        done = s.execute(select(PeriodClose.id).where(PeriodClose.village_id == village_id,
                                                     PeriodClose.kind == "year",
                                                     PeriodClose.period == year)).scalar()
        policy = settings.get(s, village_id, "year_end_policy")
    if done is not None:
        raise AlreadyDone(f"{year}年已经做过年度结转。")
    if last is None or last < year * 100 + 12:
        raise InvalidInput(f"请先把 {year}年12月及以前的月份结账，再做年度结转。")
    cleared = households_cleared = 0
    if policy == "clear":
        result = cycles.run_year_end(db, actor, village_id, year, confirm, progress=progress)
        households_cleared = result.households
    try:
        with db.write() as s:
            require(actor, "admin", village_id)
            t = totals_through(s, village_id, year * 100 + 12)
            if policy == "clear":
                cleared = _cleared(s, village_id, year)
            row = PeriodClose(village_id=village_id, kind="year", period=year, balance_total=t.balance,
                              earned_total=t.earned, outstanding_total=t.outstanding, households=t.households,
                              entries=t.entries, policy=policy, cleared=cleared, closed_by=actor.user_id)
            s.add(row)
            s.flush()
            record(s, actor, "close.year", "period_close", row.id,
                   {"year": year, "policy": policy, "balance": t.balance, "cleared": cleared},
                   village_id=village_id)
            return YearClose(row.id, policy, t, cleared, households_cleared)
    except IntegrityError as e:
        raise AlreadyDone(f"{year}年的年度结转刚刚已由另一位管理员完成。") from e


def _cleared(s, village_id: int, year: int) -> int:
    """Points taken by the year's clearing entries (a positive number)."""
    return -int(s.execute(select(func.coalesce(func.sum(LedgerEntry.delta_balance), 0)).where(
        LedgerEntry.village_id == village_id, LedgerEntry.source_type == "clearing",
        LedgerEntry.source_id.like(f"{year}:%"))).scalar_one())


CLOSE_KINDS = {"month": "月结", "year": "年度结转"}


@dataclass(frozen=True)
class CloseRow:
    """One recorded close: a month (``period`` yyyymm) or a year (yyyy) with its totals; ``policy``
    is the year's POLICY_NAMES code ("" for a month)."""

    kind: str
    period: int
    balance_total: int
    earned_total: int
    outstanding_total: int
    households: int
    entries: int
    policy: str
    cleared: int
    closed_at: dt.datetime

    @property
    def period_label(self) -> str:
        return month_label(self.period) if self.kind == "month" else f"{self.period}年"


def closes(db, village_id: int) -> list[CloseRow]:
    """The village's recorded closes, newest first."""
    with db.read() as s:
        rows = s.execute(select(PeriodClose).where(PeriodClose.village_id == village_id)
                         .order_by(PeriodClose.closed_at.desc(), PeriodClose.id.desc())).scalars().all()
        return [CloseRow(c.kind, c.period, c.balance_total, c.earned_total, c.outstanding_total, c.households,
                         c.entries, c.policy, c.cleared, c.closed_at) for c in rows]


def problems(s) -> list[str]:
    """Recorded closes whose totals no longer match the ledger (for ``verify``): each close is
    recomputed from the entries dated up to its month (December for a year)."""
    out = []
    for c in s.execute(select(PeriodClose).order_by(PeriodClose.id)).scalars():
        month = c.period if c.kind == "month" else c.period * 100 + 12
        t = totals_through(s, c.village_id, month)
        label = month_label(c.period) if c.kind == "month" else f"{c.period}年年度结转"
        recorded = Totals(c.balance_total, c.earned_total, c.outstanding_total, c.households, c.entries)
        if recorded != t:
            out.append(f"村 {c.village_id} {label}：结账时记录 可用 {c.balance_total} / 累计 {c.earned_total} / "
                       f"待扣 {c.outstanding_total} / {c.households} 户 / {c.entries} 笔，按流水重算为 "
                       f"可用 {t.balance} / 累计 {t.earned} / 待扣 {t.outstanding} / {t.households} 户 / "
                       f"{t.entries} 笔")
        if c.kind == "year" and c.policy == "clear" and c.cleared != _cleared(s, c.village_id, c.period):
            out.append(f"村 {c.village_id} {c.period}年年度结转：记录清零 {c.cleared} 分，"
                       f"清零流水合计 {_cleared(s, c.village_id, c.period)} 分")
    return out
