"""Rankings (排行), star households (星级文明户) and the honour list (光荣榜).

Ranks are by points EARNED over a period (加分 minus 扣分), never by the spendable
balance: redeeming in the supermarket must not push a family down.

The village setting ``rankings_enabled`` switches every ranking off (2023 central guidance
against 指尖上的形式主义). Then each function here raises :class:`RankingsDisabled`;
other areas (the resident view, the board) ask :func:`rankings_enabled` first, or call
:func:`household_rank`, which answers None.

星级文明户 are a grade, not a ranking: they follow their own setting ``star_households_enabled``
(raising :class:`StarsDisabled` when it is off), whatever the rankings switch says.

Reads aggregates: household_month for households and grids; for residents one GROUP BY
over ledger entries of the village and period (by the (village_id, month) index).
"""

from __future__ import annotations

import datetime as dt
from dataclasses import dataclass
from types import SimpleNamespace

from sqlalchemy import and_, bindparam, func, select
from sqlalchemy.orm import Session

from core.platform import settings
from core.platform.errors import DomainError
from core.reporting.periods import Period, period_of
from db.models import (
    Grid,
    Household,
    HouseholdMonth,
    LedgerEntry,
    Resident,
    StarLevelEvent,
    VolunteerTotal,
)

STAR_NAMES = {1: "一星", 2: "二星", 3: "三星", 4: "四星", 5: "五星"}


class RankingsDisabled(DomainError):
    """The village has switched rankings off."""


def rankings_enabled(s: Session, village_id: int) -> bool:
    return bool(settings.get(s, village_id, "rankings_enabled"))


class StarsDisabled(DomainError):
    """The village does not grade star households."""


def stars_enabled(s: Session, village_id: int) -> bool:
    return bool(settings.get(s, village_id, "star_households_enabled"))


def _require_enabled(s: Session, village_id: int) -> None:
    if not rankings_enabled(s, village_id):
        raise RankingsDisabled("本村已关闭排名显示（系统设置 → 显示排名）。")


def competition_ranks(values: list[int]) -> list[int]:
    """1-2-2-4 ranking of values already sorted from high to low (ties share a place)."""
    ranks: list[int] = []
    for i, v in enumerate(values):
        ranks.append(ranks[-1] if i and v == values[i - 1] else i + 1)
    return ranks


def star_level(points: int, thresholds: list[int]) -> int:
    """How many of the (ascending) thresholds the year's earned points reach: 0..5."""
    return sum(1 for t in thresholds if points >= t)


def _household_points(s: Session, village_id: int, period: Period, grid_id: int | None = None):
    return _household_points_query(village_id, period, grid_id).subquery()


def _household_points_query(village_id: int, period: Period, grid_id: int | None = None):
    cond = [HouseholdMonth.village_id == village_id, HouseholdMonth.month >= period.first_month,
            HouseholdMonth.month <= period.last_month]
    if grid_id is not None:
        cond.append(HouseholdMonth.grid_id == grid_id)
    return (select(HouseholdMonth.household_id,
                   func.sum(HouseholdMonth.earned - HouseholdMonth.deducted).label("points"),
                   func.sum(HouseholdMonth.earned).label("earned"),
                   func.sum(HouseholdMonth.deducted).label("deducted"))
            .where(*cond).group_by(HouseholdMonth.household_id))


@dataclass(frozen=True)
class HouseholdRank:
    """One household on the rankings: its place (1-2-2-4) and its points over the period."""

    rank: int
    door_no: str
    head_name: str
    grid: str  # "" when the household has no grid
    points: int  # 加分 − 扣分
    earned: int
    deducted: int


def households(s: Session, village_id: int, period: Period, grid_id: int | None = None,
               limit: int | None = None) -> list[HouseholdRank]:
    """Households by earned points (加分 − 扣分) over the period; only households with entries."""
    _require_enabled(s, village_id)
    pts = _household_points(s, village_id, period, grid_id)
    q = (select(Household.door_no, Household.head_name, Grid.name.label("grid"), pts.c.points, pts.c.earned,
                pts.c.deducted)
         .join(Household, and_(Household.id == pts.c.household_id, Household.village_id == village_id,
                                   Household.active.is_(True)))
         .outerjoin(Grid, and_(Grid.id == Household.grid_id, Grid.village_id == village_id))
         .order_by(pts.c.points.desc(), Household.door_no))
    rows = s.execute(q).all()
    ranks = competition_ranks([int(r.points) for r in rows])
    out = [HouseholdRank(rank, r.door_no, r.head_name, r.grid or "", int(r.points), int(r.earned), int(r.deducted))
           for rank, r in zip(ranks, rows, strict=True)]
    return out if limit is None else [h for h in out if h.rank <= limit]


@dataclass(frozen=True)
class ResidentRank:
    """One resident on the rankings: its place and the earned points of entries attributed to them."""

    rank: int
    name: str
    door_no: str
    points: int
    entries: int


def residents(s: Session, village_id: int, period: Period, limit: int | None = None) -> list[ResidentRank]:
    """Residents by the earned points of entries attributed to them (resident_id set)."""
    _require_enabled(s, village_id)
    agg = (select(LedgerEntry.resident_id, func.sum(LedgerEntry.delta_earned).label("points"),
                  func.count().label("n"))
           .where(LedgerEntry.village_id == village_id, LedgerEntry.month >= period.first_month,
                  LedgerEntry.month <= period.last_month, LedgerEntry.resident_id.is_not(None),
                  LedgerEntry.delta_earned != 0)
           .group_by(LedgerEntry.resident_id).subquery())
    rows = s.execute(
        select(Resident.name, Household.door_no, agg.c.points, agg.c.n)
        .join(Resident, and_(Resident.id == agg.c.resident_id, Resident.village_id == village_id))
        .join(Household, and_(Household.id == Resident.household_id, Household.village_id == village_id))
        .where(Resident.active.is_(True))
        .order_by(agg.c.points.desc(), Resident.name)).all()
    ranks = competition_ranks([int(r.points) for r in rows])
    out = [ResidentRank(rank, r.name, r.door_no, int(r.points), int(r.n)) for rank, r in zip(ranks, rows, strict=True)]
    return out if limit is None else [r for r in out if r.rank <= limit]


@dataclass(frozen=True)
class GridRank:
    """One grid on the rankings: its place by points per active household."""

    rank: int
    grid: str
    households: int  # active households
    points: int  # 加分 − 扣分 of the grid's households
    per_household: float  # points ÷ households, one decimal


def grids(s: Session, village_id: int, period: Period) -> list[GridRank]:
    """Grids by points per household (fair between grids of different sizes)."""
    _require_enabled(s, village_id)
    counts = dict(s.execute(select(Household.grid_id, func.count()).where(
        Household.village_id == village_id, Household.active.is_(True)).group_by(Household.grid_id)).all())
    sums = dict(s.execute(
        select(HouseholdMonth.grid_id, func.sum(HouseholdMonth.earned - HouseholdMonth.deducted))
        .where(HouseholdMonth.village_id == village_id, HouseholdMonth.month >= period.first_month,
               HouseholdMonth.month <= period.last_month)
        .group_by(HouseholdMonth.grid_id)).all())
    rows = []
    for gid, name in s.execute(select(Grid.id, Grid.name).where(Grid.village_id == village_id)):
        n = int(counts.get(gid, 0))
        pts = int(sums.get(gid) or 0)
        rows.append((name, n, pts, round(pts / n, 1) if n else 0.0))
    rows.sort(key=lambda r: (-r[3], r[0]))
    return [GridRank(rank, *r) for rank, r in zip(competition_ranks([r[3] for r in rows]), rows, strict=True)]


@dataclass(frozen=True)
class StarHousehold:
    """One graded household (星级文明户) of a year: its level (STAR_NAMES) and the year's points."""

    household_id: int
    level: int  # 1..5
    door_no: str
    head_name: str
    grid: str
    points: int  # the year's 加分 − 扣分


def graded_households(s: Session, village_id: int, year: int) -> list[StarHousehold]:
    """The active households that reach a star level in ``year`` (highest level and points
    first): graded by the year's earned points against the village thresholds, whether or
    not rankings are shown. Raises StarsDisabled when the village does not grade them."""
    if not stars_enabled(s, village_id):
        raise StarsDisabled("本村没有开启星级文明户评定（系统设置 → 评定星级文明户）。")
    thresholds = list(settings.get(s, village_id, "star_household_thresholds"))
    pts = _household_points(s, village_id, Period("year", year, 1))
    rows = s.execute(
        select(Household.id, Household.door_no, Household.head_name, Grid.name.label("grid"), pts.c.points)
        .join(Household, and_(Household.id == pts.c.household_id, Household.village_id == village_id,
                              Household.active.is_(True)))
        .outerjoin(Grid, and_(Grid.id == Household.grid_id, Grid.village_id == village_id))
        .where(pts.c.points >= thresholds[0])).all()
    out = [StarHousehold(r.id, star_level(int(r.points), thresholds), r.door_no, r.head_name, r.grid or "",
                         int(r.points)) for r in rows]
    out.sort(key=lambda h: (-h.level, -h.points, h.door_no))
    return out


def _counts(graded: list[StarHousehold]) -> dict[str, int]:
    return {STAR_NAMES[lv]: sum(1 for h in graded if h.level == lv) for lv in range(5, 0, -1)}


def star_counts(s: Session, village_id: int, year: int) -> dict[str, int]:
    """Number of households at each star level (五星 … 一星)."""
    return _counts(graded_households(s, village_id, year))


@dataclass(frozen=True)
class StarVolunteer:
    """A volunteer (志愿者) who reached a star level (STAR_NAMES) in the period, with their total hours."""

    name: str
    door_no: str
    level: int
    reached_on: dt.date
    minutes: int  # confirmed minutes to date


@dataclass(frozen=True)
class Honours:
    """光荣榜 of a period (see :func:`honours`)."""

    period: Period
    households: list[HouseholdRank]  # top households with points
    residents: list[ResidentRank]  # top residents with points
    volunteers: list[StarVolunteer]  # 志愿者 who reached a star level in the period


def honours(s: Session, village_id: int, period: Period, top: int = 10) -> Honours:
    """光荣榜 of a period: the top households and residents and new star volunteers."""
    _require_enabled(s, village_id)
    vols = s.execute(
        select(Resident.name, Household.door_no, StarLevelEvent.level, StarLevelEvent.reached_on,
               VolunteerTotal.minutes)
        .join(Resident, Resident.id == StarLevelEvent.resident_id)
        .join(Household, and_(Household.id == Resident.household_id, Household.village_id == village_id))
        .outerjoin(VolunteerTotal, and_(VolunteerTotal.resident_id == Resident.id,
                                        VolunteerTotal.village_id == village_id))
        .where(Resident.village_id == village_id, StarLevelEvent.reached_on >= period.start,
               StarLevelEvent.reached_on < period.end)
        .order_by(StarLevelEvent.level.desc(), StarLevelEvent.reached_on)).all()
    return Honours(period, [h for h in households(s, village_id, period, limit=top) if h.points > 0],
                   [r for r in residents(s, village_id, period, limit=top) if r.points > 0],
                   [StarVolunteer(v.name, v.door_no, v.level, v.reached_on, int(v.minutes or 0)) for v in vols])


# ---------------------------------------------------------------- what the 排行 page reads
# One function per part of the screen, each one read transaction; the page opens none itself.


@dataclass(frozen=True)
class Switches:
    """The village's two display switches: rankings (``rankings_enabled``) and star households
    (``star_households_enabled``), read together so the page decides its tabs from one moment."""

    rankings: bool
    stars: bool


def switches(db, village_id: int) -> Switches:
    with db.read() as s:
        return Switches(rankings_enabled(s, village_id), stars_enabled(s, village_id))


def household_ranking(db, village_id: int, period: Period) -> list[HouseholdRank]:
    with db.read() as s:
        return households(s, village_id, period)


def resident_ranking(db, village_id: int, period: Period) -> list[ResidentRank]:
    with db.read() as s:
        return residents(s, village_id, period)


def grid_ranking(db, village_id: int, period: Period) -> list[GridRank]:
    with db.read() as s:
        return grids(s, village_id, period)


@dataclass(frozen=True)
class StarYear:
    """A year's 星级文明户: the households, the number at each level (五星 … 一星) and the thresholds
    (一星 … 五星, setting ``star_household_thresholds``) they were graded by, from one read."""

    households: list[StarHousehold]
    counts: dict[str, int]
    thresholds: list[int]


def star_year(db, village_id: int, year: int) -> StarYear:
    with db.read() as s:
        graded = graded_households(s, village_id, year)
        return StarYear(graded, _counts(graded), settings.get(s, village_id, "star_household_thresholds"))


def honour_list(db, village_id: int, period: Period) -> Honours:
    """:func:`honours` (the top ten) in a read transaction of its own."""
    with db.read() as s:
        return honours(s, village_id, period)


def household_rank(s: Session, village_id: int, household_id: int, period: Period) -> int | None:
    """The household's place in the village for the period, or None when rankings are off
    or it has no points in the period. For the resident view: one aggregate query."""
    if not rankings_enabled(s, village_id):
        return None
    pts = _household_points(s, village_id, period)
    mine = s.execute(select(pts.c.points).where(pts.c.household_id == household_id)).scalar()
    if mine is None:
        return None
    above = s.execute(select(func.count()).select_from(pts).where(pts.c.points > mine)).scalar_one()
    return int(above) + 1


def _standing():
    bound = SimpleNamespace(first_month=bindparam("first"), last_month=bindparam("last"))
    pts = _household_points_query(bindparam("vid"), bound).cte("pts")
    mine = select(pts.c.points).where(pts.c.household_id == bindparam("hid")).scalar_subquery()
    return select(mine, func.count().filter(pts.c.points > mine), func.count()).select_from(pts)


_STANDING = _standing()  # built once, with bound parameters: every card page asks


def household_standing(s: Session, village_id: int, household_id: int, period: Period
                       ) -> tuple[int, int | None, int]:
    """(the household's points in the period, its place as on the rankings page or None when it
    has no entries in the period, how many households the rankings page lists): one statement."""
    points, above, listed = s.execute(_STANDING, {"vid": village_id, "hid": household_id,
                                                  "first": period.first_month, "last": period.last_month}).one()
    if points is None:
        return 0, None, int(listed)
    return int(points), int(above) + 1, int(listed)


def current_year(today: dt.date | None = None) -> Period:
    return period_of("year", today or dt.date.today())
