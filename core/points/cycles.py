"""Cycles (周期): the base score (底分) at the start of a period, and year-end clearing
(年终清零) or carry-over (结转).

Invariants:
- a base score is one ledger entry per household and period, with the cause
  ``("base", f"{period}:{household_id}")``: the ledger's unique cause makes a second grant
  impossible, not merely unlikely;
- when the village does not let families spend the base score (setting
  ``base_score_spendable`` off) the entry is of kind ``base_locked``: it raises the earned
  total (ranks, stars) and never the spendable balance;
- clearing is a ``clearing`` entry per account that brings the balance to 0, cause
  ``("clearing", f"{year}:{household_id}")``; nothing is deleted and the earned totals
  per month (household_month) are untouched, so last year's stars survive;
- carry-over changes nothing.
"""

from __future__ import annotations

import datetime as dt
import re
from collections.abc import Callable
from dataclasses import dataclass

from sqlalchemy import func, select

from core.platform import settings
from core.platform.access import Actor, require
from core.platform.audit import record
from core.platform.errors import InvalidInput
from core.points import posting
from db.models import Account, Grid, Household, LedgerEntry

BATCH = 200  # households per transaction in the year-end run (progress bar steps)

_YEAR = re.compile(r"^(\d{4})$")
_QUARTER = re.compile(r"^(\d{4})-Q([1-4])$")
_MONTH = re.compile(r"^(\d{4})-(0[1-9]|1[0-2])$")


@dataclass(frozen=True)
class Period:
    key: str  # "2026", "2026-Q1" or "2026-03"
    start: dt.date
    end: dt.date
    label: str


def parse_period(text: str) -> Period:
    """'2026' (year), '2026-Q1' (quarter) or '2026-03' (month) → its first and last day."""
    text = (text or "").strip().upper()
    if m := _YEAR.match(text):
        y = int(m.group(1))
        p = Period(text, dt.date(y, 1, 1), dt.date(y, 12, 31), f"{y}年")
    elif m := _QUARTER.match(text):
        y, q = int(m.group(1)), int(m.group(2))
        start = dt.date(y, 3 * q - 2, 1)
        end = (dt.date(y + 1, 1, 1) if q == 4 else dt.date(y, 3 * q + 1, 1)) - dt.timedelta(days=1)
        p = Period(text, start, end, f"{y}年第{q}季度")
    elif m := _MONTH.match(text):
        y, mo = int(m.group(1)), int(m.group(2))
        end = (dt.date(y + 1, 1, 1) if mo == 12 else dt.date(y, mo + 1, 1)) - dt.timedelta(days=1)
        p = Period(text, dt.date(y, mo, 1), end, f"{y}年{mo}月")
    else:
        raise InvalidInput("周期格式不对：年度写 2026，季度写 2026-Q1，月份写 2026-03。")
    if not 2000 <= p.start.year <= 2100:
        raise InvalidInput("年份应在 2000 到 2100 之间。")
    return p


def current_period(kind: str, today: dt.date | None = None) -> str:
    """The period containing ``today`` for kind 'year' / 'quarter' / 'month'."""
    today = today or dt.date.today()
    if kind == "year":
        return f"{today.year}"
    if kind == "quarter":
        return f"{today.year}-Q{(today.month - 1) // 3 + 1}"
    return f"{today.year}-{today.month:02d}"


# ---------------------------------------------------------------- base score (底分)


@dataclass(frozen=True)
class BaseStatus:
    period: str
    points: int
    spendable: bool
    households: int  # active households
    granted: int  # households that already have this period's base score


def _base_source_ids(period: str, household_ids) -> list[str]:
    return [f"{period}:{h}" for h in household_ids]


def base_status(db, village_id: int, period: str) -> BaseStatus:
    p = parse_period(period)
    with db.read() as s:
        points = settings.get(s, village_id, "base_score")
        spendable = settings.get(s, village_id, "base_score_spendable")
        households = s.execute(select(func.count()).select_from(Household).where(
            Household.village_id == village_id, Household.active.is_(True))).scalar_one()
        granted = s.execute(select(func.count()).select_from(LedgerEntry).where(
            LedgerEntry.village_id == village_id, LedgerEntry.source_type == "base",
            LedgerEntry.source_id.like(f"{p.key}:%"))).scalar_one()
    return BaseStatus(p.key, points, spendable, households, granted)


def _concurrent(fn):
    """Two admins running the same grant or clearing at once: the ledger's unique cause lets
    only one entry per household through; the loser's whole transaction rolls back and the
    admin is told to look again (a rerun then does only what is left)."""
    import functools

    from sqlalchemy.exc import IntegrityError

    from core.platform.errors import AlreadyDone

    @functools.wraps(fn)
    def wrapper(*a, **kw):
        try:
            return fn(*a, **kw)
        except IntegrityError as e:
            raise AlreadyDone("另一位管理员正在同时执行同一操作，本次没有重复记账。请刷新页面查看结果。") from e

    return wrapper


@_concurrent
def grant_base(db, actor: Actor, village_id: int, period: str) -> int:
    """Grant this period's base score to every active household that lacks it; returns how
    many were granted (0 on a repeat: at most once per period by construction)."""
    p = parse_period(period)
    if p.start > dt.date.today():
        raise InvalidInput(f"{p.label}还没有开始，不能提前发放底分。")
    with db.write() as s:
        require(actor, "admin", village_id)
        points = settings.get(s, village_id, "base_score")
        if not points:
            raise InvalidInput("本村没有设置底分（系统设置 → 底分为 0）。")
        kind = "base" if settings.get(s, village_id, "base_score_spendable") else "base_locked"
        hids = list(s.execute(select(Household.id).where(
            Household.village_id == village_id, Household.active.is_(True)).order_by(Household.id)).scalars())
        done = set(s.execute(select(LedgerEntry.source_id).where(
            LedgerEntry.source_type == "base", LedgerEntry.village_id == village_id,
            LedgerEntry.source_id.like(f"{p.key}:%"))).scalars())
        count = 0
        for hid, source_id in zip(hids, _base_source_ids(p.key, hids), strict=True):
            if source_id in done:
                continue
            posting.post(s, household_id=hid, kind=kind, points=points, source_type="base", source_id=source_id,
                         occurred_on=p.start, actor=actor, reason=f"{p.label}底分")
            count += 1
        record(s, actor, "cycle.base_score", "period", p.key,
               {"points": points, "kind": kind, "households": count}, village_id=village_id)
        return count


# ---------------------------------------------------------------- year end (年终)


def year_end_policy(db, village_id: int) -> str:
    """The village's year-end policy (setting ``year_end_policy``): "clear" or "carry_over"; the cycles page
    explains it before the preview and the year close."""
    with db.read() as s:
        return settings.get(s, village_id, "year_end_policy")


def _clearing_source(year: int, household_id: int) -> str:
    return f"{year}:{household_id}"


YEAR_END_ACTIONS = {"clear": "清零", "empty": "无需处理（余额为 0）", "cleared": "{year}年已清零",
                    "carry": "结转到下一年"}


@dataclass(frozen=True)
class YearEndRow:
    """One household in the year-end preview: its balance now and after the policy (``action`` a
    YEAR_END_ACTIONS code)."""

    household_id: int
    door_no: str
    head_name: str
    grid: str | None
    year: int
    balance: int
    after: int  # spendable points after the year end
    earned_total: int  # unchanged by the year end
    action: str

    @property
    def to_clear(self) -> int:
        return self.balance - self.after


def year_end_preview(db, village_id: int, year: int) -> list[YearEndRow]:
    """Per household: what the year-end policy would do. One aggregate query."""
    _check_year(year)
    with db.read() as s:
        policy = settings.get(s, village_id, "year_end_policy")
        cleared = select(LedgerEntry.household_id).where(
            LedgerEntry.source_type == "clearing", LedgerEntry.village_id == village_id,
            LedgerEntry.source_id.like(f"{year}:%"))
        rows = s.execute(
            select(Household.id, Household.door_no, Household.head_name, Grid.name, Account.balance,
                   Account.earned_total, Household.id.in_(cleared))
            .join(Account, Account.household_id == Household.id)
            .outerjoin(Grid, Grid.id == Household.grid_id)
            .where(Household.village_id == village_id, Household.active.is_(True))
            .order_by(Household.door_no)
        ).all()
    out = []
    for hid, door, head, grid, bal, earned, done in rows:
        if policy == "clear" and not done:
            after, action = 0, ("clear" if bal else "empty")
        elif done:
            after, action = bal, "cleared"
        else:
            after, action = bal, "carry"
        out.append(YearEndRow(hid, door, head, grid, year, bal, after, earned, action))
    return out


def _check_year(year) -> int:
    if isinstance(year, bool) or not isinstance(year, int) or not 2000 <= year <= 2100:
        raise InvalidInput("年份应在 2000 到 2100 之间。")
    return year


@dataclass(frozen=True)
class YearEndResult:
    policy: str
    households: int  # accounts cleared in this run
    points: int  # total spendable points cleared in this run


@_concurrent
def run_year_end(db, actor: Actor, village_id: int, year: int, confirm: str,
                 progress: Callable[[int, int], None] | None = None) -> YearEndResult:
    """Apply the village's year-end policy for ``year``.

    ``clear``: one clearing entry per account with a balance, in batches of BATCH households
    per transaction (a crash leaves whole batches; a rerun finishes the rest and never clears
    an account twice for the same year). ``carry_over``: nothing changes.
    ``confirm`` must repeat the year (the page passes it once its question was confirmed).
    """
    _check_year(year)
    require(actor, "admin", village_id)
    if str(confirm).strip() != str(year):
        raise InvalidInput(f"请在确认框中输入年份 {year} 以确认年终处理。")
    with db.read() as s:
        policy = settings.get(s, village_id, "year_end_policy")
        hids = list(s.execute(select(Account.household_id).join(Household, Household.id == Account.household_id)
                              .where(Account.village_id == village_id, Household.active.is_(True))
                              .order_by(Account.household_id)).scalars())
    if policy != "clear":
        with db.write() as s:
            record(s, actor, "cycle.year_end", "year", year, {"policy": policy, "households": 0},
                   village_id=village_id)
        return YearEndResult(policy, 0, 0)
    cleared = points = 0
    total = len(hids)
    for i in range(0, total, BATCH):
        chunk = hids[i:i + BATCH]
        with db.write() as s:
            done = set(s.execute(select(LedgerEntry.household_id).where(
                LedgerEntry.source_type == "clearing",
                LedgerEntry.source_id.in_([_clearing_source(year, h) for h in chunk]))).scalars())
            for hid in chunk:
                if hid in done:
                    continue
                acc = posting.lock_account(s, hid)
                if acc.balance <= 0 or s.execute(select(LedgerEntry.id).where(
                        LedgerEntry.source_type == "clearing",
                        LedgerEntry.source_id == _clearing_source(year, hid))).first():
                    continue  # empty, or cleared meanwhile by a concurrent run (seen after the lock)
                amount = acc.balance
                posting.post(s, household_id=hid, kind="clearing", points=-amount, source_type="clearing",
                             source_id=_clearing_source(year, hid), actor=actor, reason=f"{year}年年终清零")
                cleared += 1
                points += amount
            record(s, actor, "cycle.year_end", "year", year,
                   {"policy": policy, "batch_from": i, "batch_size": len(chunk)}, village_id=village_id)
        if progress:
            progress(min(i + BATCH, total), total)
    return YearEndResult(policy, cleared, points)


@dataclass(frozen=True)
class EarnedRow:
    """One household's points earned (加分) and deducted (扣分) in a calendar year."""

    door_no: str
    head_name: str
    earned: int
    deducted: int

    @property
    def net(self) -> int:
        return self.earned - self.deducted


def earned_by_year(db, village_id: int, year: int) -> list[EarnedRow]:
    """Earned (加分) and deducted (扣分) per household for a calendar year, from household_month:
    what star grading reads, and what clearing never touches."""
    from db.models import HouseholdMonth

    _check_year(year)
    with db.read() as s:
        rows = s.execute(
            select(Household.door_no, Household.head_name,
                   func.coalesce(func.sum(HouseholdMonth.earned), 0),
                   func.coalesce(func.sum(HouseholdMonth.deducted), 0))
            .join(HouseholdMonth, HouseholdMonth.household_id == Household.id)
            .where(Household.village_id == village_id, HouseholdMonth.month.between(year * 100 + 1, year * 100 + 12))
            .group_by(Household.id, Household.door_no, Household.head_name)
            .order_by(Household.door_no)
        ).all()
    return [EarnedRow(d, h, int(e), int(x)) for d, h, e, x in rows]
