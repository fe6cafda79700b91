"""The charity field (党员义田): plots, seasons and work days, and the units every field figure
uses (weights are whole grams, entered and shown as kg to 0.1).

Work days are volunteer activities with a plot (core.volunteering.service_hours owns hours, confirmation
and the hours → points conversion); this module only adds what is special to the field. The produce —
harvest weighing and the stock that harvests fill and distributions, shop transfers and sales empty — is
in :mod:`core.charity.produce`.
"""

from __future__ import annotations

import datetime as dt
from dataclasses import dataclass
from decimal import Decimal, InvalidOperation

from sqlalchemy import func, select
from sqlalchemy.orm import Session

from core.platform import validate
from core.platform.access import Actor, require
from core.platform.audit import record
from core.platform.errors import InvalidInput, NotAllowed, NotFound
from db.models import (
    Activity,
    Attendance,
    Harvest,
    Plot,
    PlotMember,
    Resident,
    Season,
)

FIELD_ROLES = ("field_lead", "admin")
MOVE_NAMES = {"harvest": "收获入库", "deliver": "分配发放", "to_shop": "转入积分超市", "sale": "出售",
              "adjust": "损耗调整", "return": "未领退库"}
MAX_KG = 1_000_000
MAX_MU = 10_000
PHOTO_MAX_BYTES = 8 * 1024 * 1024
WORK_DAY_CATEGORY = "党员义田"


# ---------------------------------------------------------------- units and input


def kg_to_grams(value: object, label: str = "重量", allow_zero: bool = False) -> int:
    """A weight typed in kg (to 0.1) → whole grams; refuses more decimals, negatives, huge."""
    if isinstance(value, bool) or value is None or value == "":
        raise InvalidInput(f"请填写{label}（公斤）。")
    try:
        d = Decimal(str(value).strip())
    except InvalidOperation as e:
        raise InvalidInput(f"{label}必须是数字（公斤）。") from e
    if not d.is_finite():
        raise InvalidInput(f"{label}必须是数字（公斤）。")
    if d < 0 or (d == 0 and not allow_zero):
        raise InvalidInput(f"{label}必须大于 0。")
    if d > MAX_KG:
        raise InvalidInput(f"{label}过大（不超过 {MAX_KG} 公斤），请核对。")
    tenths = d * 10
    if tenths != tenths.to_integral_value():
        raise InvalidInput(f"{label}最多精确到 0.1 公斤。")
    return int(tenths) * 100


def fmt_kg(grams: int | None) -> str:
    if grams is None:
        return ""
    return f"{grams / 1000:,.1f}"


def kg_value(grams: int | None) -> float:
    """Grams → kg as a number rounded to 0.1, for tables and exports."""
    return round((grams or 0) / 1000, 1)


def _id(value: object, what: str) -> int:
    if isinstance(value, bool) or not isinstance(value, int):
        raise NotFound(f"找不到该{what}。")
    return value


def _date(value: object, label: str) -> dt.date:
    if not isinstance(value, dt.date) or isinstance(value, dt.datetime):
        raise InvalidInput(f"请选择{label}。")
    if value > dt.date.today() + dt.timedelta(days=1):
        raise InvalidInput(f"{label}不能是将来的日期。")
    return value


def _village(actor: Actor) -> int:
    if actor.village_id is None:
        raise NotAllowed("没有权限：此账号不属于任何村。")
    return actor.village_id


# ---------------------------------------------------------------- plots and seasons


def _plot(s: Session, plot_id: object, actor: Actor | None = None) -> Plot:
    plot = s.get(Plot, _id(plot_id, "义田地块"))
    if plot is None:
        raise NotFound("找不到该义田地块。")
    if actor is not None:
        require(actor, FIELD_ROLES, plot.village_id)
    return plot


def save_plot(db, actor: Actor, *, name: str, area_mu: object, location: str = "", party_group: str = "",
              member_ids: list[int] = (), active: bool = True, plot_id: int | None = None) -> int:
    """Create or edit a plot (名称、亩数、位置、责任党小组及成员); returns its id."""
    name = validate.text(name, "地块名称", 40, required=True)
    location = validate.text(location, "位置", 80)
    party_group = validate.text(party_group, "责任党小组", 60)
    try:
        mu = Decimal(str(area_mu))
    except InvalidOperation as e:
        raise InvalidInput("面积必须是数字（亩）。") from e
    if not mu.is_finite() or mu <= 0 or mu > MAX_MU:
        raise InvalidInput(f"面积必须大于 0、不超过 {MAX_MU} 亩。")
    if mu != mu.quantize(Decimal("0.01")):
        raise InvalidInput("面积最多精确到 0.01 亩。")
    village_id = _village(actor)
    require(actor, FIELD_ROLES, village_id)
    members = sorted({_id(m, "村民") for m in member_ids})
    with db.write() as s:
        if members:
            found = set(s.execute(select(Resident.id).where(Resident.id.in_(members),
                                                            Resident.village_id == village_id)).scalars())
            if found != set(members):
                raise NotFound("成员中有不是本村的村民。")
        if plot_id is None:
            plot = Plot(village_id=village_id, name=name, area_mu=mu, location=location, party_group=party_group,
                        active=bool(active))
            s.add(plot)
            s.flush()
            old_members: set[int] = set()
        else:
            plot = _plot(s, plot_id, actor)
            plot.name, plot.area_mu, plot.location, plot.party_group, plot.active = (
                name, mu, location, party_group, bool(active))
            old_members = set(s.execute(select(PlotMember.resident_id).where(PlotMember.plot_id == plot.id)).scalars())
        for rid in old_members - set(members):
            s.delete(s.get(PlotMember, (plot.id, rid)))
        for rid in set(members) - old_members:
            s.add(PlotMember(plot_id=plot.id, resident_id=rid))
        record(s, actor, "plot.save", "plot", plot.id,
               {"name": name, "area_mu": str(mu), "members": members, "new": plot_id is None}, village_id=village_id)
        return plot.id


def add_season(db, actor: Actor, plot_id: int, *, crop: str, sown_on: dt.date | None, year: int | None = None) -> int:
    """A season on a plot: the crop and when it was sown; returns its id."""
    crop = validate.text(crop, "作物", 20, required=True)
    if sown_on is not None:
        _date(sown_on, "播种日期")
    year = year or (sown_on.year if sown_on else dt.date.today().year)
    if isinstance(year, bool) or not isinstance(year, int) or not 2000 <= year <= 2100:
        raise InvalidInput("年份不正确。")
    with db.write() as s:
        plot = _plot(s, plot_id, actor)
        season = Season(village_id=plot.village_id, plot_id=plot.id, year=year, crop=crop, sown_on=sown_on)
        s.add(season)
        s.flush()
        record(s, actor, "season.add", "season", season.id, {"plot_id": plot.id, "crop": crop, "year": year},
               village_id=plot.village_id)
        return season.id


@dataclass(frozen=True)
class PlotRow:
    """One plot with how many members it has."""

    id: int
    name: str
    area_mu: float
    location: str
    party_group: str
    members: int
    active: bool


def plots(db, village_id: int) -> list[PlotRow]:
    with db.read() as s:
        members = dict(s.execute(select(PlotMember.plot_id, func.count()).join(Plot, Plot.id == PlotMember.plot_id)
                                 .where(Plot.village_id == village_id).group_by(PlotMember.plot_id)).all())
        rows = s.execute(select(Plot).where(Plot.village_id == village_id).order_by(Plot.id)).scalars().all()
        return [PlotRow(p.id, p.name, float(p.area_mu), p.location, p.party_group, members.get(p.id, 0),
                        bool(p.active)) for p in rows]


def plot_members(db, village_id: int, plot_id: int) -> list[tuple[int, str]]:
    with db.read() as s:
        return [tuple(r) for r in s.execute(
            select(Resident.id, Resident.name).join(PlotMember, PlotMember.resident_id == Resident.id)
            .join(Plot, Plot.id == PlotMember.plot_id)
            .where(PlotMember.plot_id == plot_id, Plot.village_id == village_id).order_by(Resident.name)).all()]


def party_members(db, village_id: int) -> list[tuple[int, str]]:
    """Active party members of the village (id, 'name（门牌）') for member pickers."""
    from db.models import Household

    with db.read() as s:
        return [(rid, f"{name}（{door}）") for rid, name, door in s.execute(
            select(Resident.id, Resident.name, Household.door_no).join(Household, Household.id == Resident.household_id)
            .where(Resident.village_id == village_id, Resident.active, Resident.party_member)
            .order_by(Household.door_no, Resident.id)).all()]


@dataclass(frozen=True)
class SeasonRow:
    """One season on a plot with what has been harvested from it."""

    id: int
    year: int
    plot: str
    crop: str
    sown_on: dt.date | None
    harvested_grams: int

    @property
    def harvested_kg(self) -> float:
        return kg_value(self.harvested_grams)


def seasons(db, village_id: int) -> list[SeasonRow]:
    with db.read() as s:
        harvested = dict(s.execute(select(Harvest.season_id, func.sum(Harvest.grams))
                                   .where(Harvest.village_id == village_id).group_by(Harvest.season_id)).all())
        rows = s.execute(select(Season, Plot.name).join(Plot, Plot.id == Season.plot_id)
                         .where(Season.village_id == village_id)
                         .order_by(Season.year.desc(), Plot.name, Season.id)).all()
        return [SeasonRow(se.id, se.year, pname, se.crop, se.sown_on, int(harvested.get(se.id) or 0))
                for se, pname in rows]


def season_choices(db, village_id: int) -> list[tuple[int, str]]:
    with db.read() as s:
        return [(sid, f"{year} {pname} · {crop}") for sid, year, pname, crop in s.execute(
            select(Season.id, Season.year, Plot.name, Season.crop).join(Plot, Plot.id == Season.plot_id)
            .where(Season.village_id == village_id).order_by(Season.year.desc(), Plot.name)).all()]


def plot_choices(db, village_id: int, active_only: bool = True) -> list[tuple[int, str]]:
    with db.read() as s:
        q = select(Plot.id, Plot.name, Plot.area_mu).where(Plot.village_id == village_id)
        if active_only:
            q = q.where(Plot.active)
        return [(pid, f"{name}（{float(mu):g} 亩）") for pid, name, mu in s.execute(q.order_by(Plot.id)).all()]


# ---------------------------------------------------------------- work days (volunteer activities)


def create_work_day(db, actor: Actor, *, plot_id: int, date: dt.date, tasks: str, title: str = "",
                    start_time: dt.time | None = None, end_time: dt.time | None = None) -> int:
    """A work day is a volunteer activity with the plot: hours count as volunteer hours."""
    from core.volunteering.volunteer import create_activity

    with db.read() as s:
        plot = _plot(s, plot_id, actor)
        name = plot.name
    tasks = validate.text(tasks, "劳动任务", 2000, required=True)
    return create_activity(db, actor, title=validate.text(title, "名称", 80) or f"义田劳动：{name}", date=date,
                           category=WORK_DAY_CATEGORY, organiser="党支部", place=name, start_time=start_time,
                           end_time=end_time, plot_id=plot_id, tasks=tasks)


def add_work_hours(db, actor: Actor, activity_id: int, resident_ids: list[int], minutes: int) -> int:
    """Picked names + the same hours for each (the lead's paper sign-in sheet).

    Each person is core.volunteering.service_hours.set_minutes, its own small write; running it again
    sets the same time again, so a repeated click changes nothing. Returns how many."""
    from core.volunteering.service_hours import set_minutes

    if not resident_ids:
        raise InvalidInput("请至少选择一位参加劳动的人。")
    for rid in resident_ids:
        set_minutes(db, actor, activity_id, rid, minutes, note="义田劳动（名单录入）")
    return len(resident_ids)


@dataclass(frozen=True)
class WorkDayRow:
    """One work day (a volunteer activity with a plot): ``status`` is the stored ActivityStatus
    code (core.volunteering.volunteer.STATUS_NAMES), ``minutes`` the sum over its attendance."""

    id: int
    date: dt.date
    plot: str
    title: str
    tasks: str
    status: str
    people: int
    minutes: int
    confirmed: int

    @property
    def hours(self) -> float:
        return round(self.minutes / 60, 1)


def work_days(db, village_id: int, date_from: dt.date | None = None, date_to: dt.date | None = None
              ) -> list[WorkDayRow]:
    """Work days in the range, newest first, with attendance, minutes and confirmed attendance."""
    with db.read() as s:
        att = (select(Attendance.activity_id, func.count().label("n"),
                      func.sum(Attendance.minutes).label("m"),
                      func.count(Attendance.confirmed_at).label("c"))
               .where(Attendance.village_id == village_id).group_by(Attendance.activity_id).subquery())
        q = (select(Activity.id, Activity.date, Plot.name, Activity.title, Activity.tasks, Activity.status,
                    att.c.n, att.c.m, att.c.c)
             .join(Plot, Plot.id == Activity.plot_id).outerjoin(att, att.c.activity_id == Activity.id)
             .where(Activity.village_id == village_id, Activity.plot_id.is_not(None)))
        if date_from:
            q = q.where(Activity.date >= date_from)
        if date_to:
            q = q.where(Activity.date <= date_to)
        rows = s.execute(q.order_by(Activity.date.desc(), Activity.id.desc())).all()
    return [WorkDayRow(aid, d, pname, title, tasks, st, n or 0, int(m or 0), c or 0)
            for aid, d, pname, title, tasks, st, n, m, c in rows]
