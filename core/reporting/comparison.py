"""Comparison (比积分、比环境、比义务工) at county → township → village level.

The same measures at every level — points per household, participation, volunteer hours,
deductions — from the same per-village sums: one GROUP BY village per measure over the
summaries (``household_month``, ``category_month``) and attendance, for all villages in the
actor's reach at once (no query per village), then added up per township or county here.
A township's participation is its households taking part over its households (not an average
of its villages' percentages), and so on up.
"""

from __future__ import annotations

from dataclasses import dataclass

from sqlalchemy import and_, func, select
from sqlalchemy.orm import Session

from core.platform.access import Actor
from core.platform.errors import InvalidInput, NotAllowed
from core.platform.natural import natural_key
from core.reporting.periods import Period
from db.models import (
    Activity,
    Attendance,
    CategoryMonth,
    Household,
    HouseholdMonth,
    Resident,
    RuleCategory,
    Village,
)

ENVIRONMENT = "环境卫生"  # the category the township compares (比环境)
LEVELS = {"county": "县（区）", "township": "镇（街道）", "village": "村"}


@dataclass(frozen=True)
class CompareRow:
    """One county, township or village of a comparison; sums over the period."""

    level: str  # county / township / village
    name: str
    county: str
    township: str  # "" on a county row
    villages: int
    households: int  # active households
    people: int  # active residents
    households_taking_part: int  # active households with earned points in the period
    earned: int
    deducted: int
    redeemed: int
    environment: int  # net points of the 环境卫生 category
    volunteer_minutes: int  # confirmed, of activities held in the period

    @property
    def net(self) -> int:
        return self.earned - self.deducted

    @property
    def points_per_household(self) -> float:
        return round(self.net / self.households, 1) if self.households else 0.0

    @property
    def participation_pct(self) -> float:
        return round(100 * self.households_taking_part / self.households, 1) if self.households else 0.0

    @property
    def volunteer_hours(self) -> float:
        return round(self.volunteer_minutes / 60, 1)

    @property
    def hours_per_person(self) -> float:
        return round(self.volunteer_minutes / 60 / self.people, 2) if self.people else 0.0

    @property
    def deducted_per_household(self) -> float:
        return round(self.deducted / self.households, 1) if self.households else 0.0


def _area(actor: Actor):
    """(condition on Village, or None for all) of the villages the actor may compare."""
    if actor.system:
        return None
    if "county_admin" in actor.roles and actor.county:
        return Village.county == actor.county
    for role in ("township_admin", "township_viewer"):
        if role in actor.roles and actor.township:
            cond = Village.township == actor.township
            return and_(cond, Village.county == actor.county) if actor.county else cond
    if actor.roles & {"county_admin", "township_admin", "township_viewer"}:
        return False  # an account that names no area sees nothing, not everything
    if "admin" in actor.roles and actor.village_id is not None:
        return "own"
    raise NotAllowed("没有权限：村际比较需要县级管理员、镇街管理员、镇街查看员或村管理员角色。")


def villages_for(s: Session, actor: Actor) -> list[Village]:
    """Villages the actor may compare: a county admin's county; a township admin's or viewer's
    township; a village admin's own township (or only their village, if it names none)."""
    cond = _area(actor)
    if cond is False:
        return []
    if isinstance(cond, str):
        own = s.get(Village, actor.village_id)
        if own is None:
            return []
        if not own.township:
            return [own]
        cond = and_(Village.township == own.township, Village.county == own.county)
    q = select(Village)
    if cond is not None:
        q = q.where(cond)
    villages = list(s.execute(q).scalars())
    villages.sort(key=lambda v: (natural_key(v.county), natural_key(v.township), v.code))
    return villages


def levels_for(actor: Actor) -> list[str]:
    """The levels an actor compares at: a county only for those who see a whole county."""
    if actor.system or "county_admin" in actor.roles:
        return list(LEVELS)
    return ["township", "village"]


def compare(s: Session, actor: Actor, period: Period, level: str = "village") -> list[CompareRow]:
    """The actor's villages side by side, or added up by township or county."""
    if level not in LEVELS:
        raise InvalidInput("比较层级只能是县（区）、镇（街道）或村。")
    if level not in levels_for(actor):
        raise NotAllowed("没有权限：按县（区）比较需要县级管理员角色。")
    villages = villages_for(s, actor)
    ids = [v.id for v in villages]
    if not ids:
        return []

    def by_village(q) -> dict[int, tuple]:
        return {r[0]: tuple(int(x or 0) for x in r[1:]) for r in s.execute(q)}

    hh = by_village(select(Household.village_id, func.count()).where(
        Household.village_id.in_(ids), Household.active.is_(True)).group_by(Household.village_id))
    people = by_village(select(Resident.village_id, func.count()).where(
        Resident.village_id.in_(ids), Resident.active.is_(True)).group_by(Resident.village_id))
    month_cond = [HouseholdMonth.village_id.in_(ids), HouseholdMonth.month >= period.first_month,
                  HouseholdMonth.month <= period.last_month]
    points = by_village(select(HouseholdMonth.village_id, func.sum(HouseholdMonth.earned),
                               func.sum(HouseholdMonth.deducted), func.sum(HouseholdMonth.redeemed))
                        .where(*month_cond).group_by(HouseholdMonth.village_id))
    per_hh = (select(HouseholdMonth.household_id).where(*month_cond)
              .group_by(HouseholdMonth.household_id).having(func.sum(HouseholdMonth.earned) > 0).subquery())
    part = by_village(select(Household.village_id, func.count())
                      .join(per_hh, per_hh.c.household_id == Household.id)
                      .where(Household.active.is_(True)).group_by(Household.village_id))
    vol = by_village(select(Attendance.village_id, func.sum(Attendance.minutes))
                     .join(Activity, Activity.id == Attendance.activity_id)
                     .where(Attendance.village_id.in_(ids), Activity.village_id == Attendance.village_id,
                            Attendance.confirmed_at.is_not(None), Activity.date >= period.start,
                            Activity.date < period.end)
                     .group_by(Attendance.village_id))
    env = by_village(select(CategoryMonth.village_id, func.sum(CategoryMonth.points))
                     .join(RuleCategory, RuleCategory.id == CategoryMonth.category_id)
                     .where(CategoryMonth.village_id.in_(ids), RuleCategory.name == ENVIRONMENT,
                            CategoryMonth.month >= period.first_month, CategoryMonth.month <= period.last_month)
                     .group_by(CategoryMonth.village_id))

    def key(v: Village) -> tuple:
        if level == "county":
            return (v.county or "",)
        if level == "township":
            return (v.county or "", v.township or "")
        return (v.county or "", v.township or "", v.id)

    sums: dict[tuple, list] = {}
    names: dict[tuple, str] = {}
    for v in villages:
        k = key(v)
        names[k] = {"county": v.county or "（未填县区）", "township": v.township or "（未填镇街）",
                    "village": v.name}[level]
        earned, deducted, redeemed = points.get(v.id, (0, 0, 0))
        add = [1, hh.get(v.id, (0,))[0], people.get(v.id, (0,))[0], part.get(v.id, (0,))[0], earned, deducted,
               redeemed, env.get(v.id, (0,))[0], vol.get(v.id, (0,))[0]]
        acc = sums.setdefault(k, [0] * len(add))
        for i, x in enumerate(add):
            acc[i] += x
    return [CompareRow(level, names[k], k[0], k[1] if level != "county" else "", *sums[k]) for k in sums]


def comparison_rows(db, actor: Actor, period: Period, level: str = "village") -> list[CompareRow]:
    """:func:`compare` in a read transaction of its own: what the 村际比较 page shows for a period and level."""
    with db.read() as s:
        return compare(s, actor, period, level)
