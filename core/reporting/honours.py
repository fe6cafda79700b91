"""年度表彰: the year's honour list and its certificates.

The list is built from the data — 星级文明户 graded by the year's earned points
(``rankings.graded_households``, independent of the rankings switch) and the year's top
volunteers by confirmed service hours — reviewed by the committee or the admin and published
once: ``honour_list`` (one per village and year) and its ``honour_entry`` rows are history,
never changed; a later change of points or hours does not rewrite what was published.
Each entry carries a certificate number RY-<village code>-<year>-<seq>. Certificates are
printed from the published rows (A4 landscape, one page per household or volunteer), the list
as Excel through ``core.platform.exports``.
"""

from __future__ import annotations

import datetime as dt
from collections.abc import Callable
from dataclasses import dataclass

import pandas as pd
from sqlalchemy import and_, func, select
from sqlalchemy.exc import IntegrityError

from core.platform import exports
from core.platform.access import Actor, require
from core.platform.audit import record
from core.platform.errors import AlreadyDone, InvalidInput, NotFound
from core.platform.pdf import Sheet
from core.reporting import rankings
from core.reporting.rankings import STAR_NAMES, StarHousehold
from db.models import Activity, Attendance, HonourEntry, HonourList, Household, Resident, Village

ROLES = ("admin", "committee")
TOP_VOLUNTEERS = 10
KIND_NAMES = {"household": "星级文明户", "volunteer": "优秀志愿者"}


@dataclass(frozen=True)
class VolunteerHonour:
    """One of the year's top volunteers (优秀志愿者) in a draft: their place and confirmed minutes."""

    resident_id: int
    household_id: int
    place: int  # 1-2-2-4 by the year's confirmed minutes
    name: str
    door_no: str
    minutes: int


@dataclass(frozen=True)
class Draft:
    year: int
    stars_on: bool
    households: list[StarHousehold]
    volunteers: list[VolunteerHonour]

    @property
    def empty(self) -> bool:
        return not self.households and not self.volunteers


def _check_year(year: object) -> int:
    if isinstance(year, bool) or not isinstance(year, int) or not 2000 <= year <= dt.date.today().year:
        raise InvalidInput("请选择已经开始的年度（2000 年以后）。")
    return year


def _top_volunteers(s, village_id: int, year: int, top: int) -> list[VolunteerHonour]:
    """Residents by their confirmed minutes in activities of ``year``; ties at the last place
    are all included."""
    mins = func.sum(Attendance.minutes).label("minutes")
    rows = s.execute(
        select(Resident.id, Resident.household_id, Resident.name, Household.door_no, mins)
        .join(Activity, Activity.id == Attendance.activity_id)
        .join(Resident, and_(Resident.id == Attendance.resident_id, Resident.village_id == village_id))
        .join(Household, Household.id == Resident.household_id)
        .where(Attendance.village_id == village_id, Attendance.confirmed_at.is_not(None),
               Attendance.minutes > 0, Activity.date >= dt.date(year, 1, 1), Activity.date <= dt.date(year, 12, 31),
               Resident.active.is_(True))
        .group_by(Resident.id, Resident.household_id, Resident.name, Household.door_no)
        .order_by(mins.desc(), Household.door_no, Resident.id)).all()
    places = rankings.competition_ranks([int(r.minutes) for r in rows])
    return [VolunteerHonour(r.id, r.household_id, place, r.name, r.door_no, int(r.minutes))
            for place, r in zip(places, rows, strict=True) if place <= top]


def _draft(s, village_id: int, year: int, top: int) -> Draft:
    stars_on = rankings.stars_enabled(s, village_id)
    households = rankings.graded_households(s, village_id, year) if stars_on else []
    return Draft(year, stars_on, households, _top_volunteers(s, village_id, year, top))


def draft(db, village_id: int, year: int, top: int = TOP_VOLUNTEERS) -> Draft:
    """The honour list ``year`` would get if published now (nothing is written)."""
    _check_year(year)
    with db.read() as s:
        return _draft(s, village_id, year, top)


def published_list_id(db, village_id: int, year: int) -> int | None:
    with db.read() as s:
        return s.execute(select(HonourList.id).where(HonourList.village_id == village_id,
                                                     HonourList.year == year)).scalar()


def publish(db, actor: Actor, village_id: int, year: int, confirm: bool = False, top: int = TOP_VOLUNTEERS) -> int:
    """Publish ``year``'s honour list as built from the data now; once per village and year.
    ``confirm`` is the page's confirmation step. Returns the list's id."""
    require(actor, ROLES, village_id)
    year = _check_year(year)
    if isinstance(top, bool) or not isinstance(top, int) or not 1 <= top <= 100:
        raise InvalidInput("优秀志愿者人数应在 1 到 100 之间。")
    if not confirm:
        raise InvalidInput("请先核对名单并确认发布：发布后名单不能修改。")
    try:
        with db.write() as s:
            require(actor, ROLES, village_id)
            village = s.execute(select(Village).where(Village.id == village_id)
                                .with_for_update(key_share=True)).scalar_one()
            if s.execute(select(HonourList.id).where(HonourList.village_id == village_id,
                                                     HonourList.year == year)).scalar() is not None:
                raise AlreadyDone(f"{year}年度表彰名单已经发布，不能再次发布或修改。")
            d = _draft(s, village_id, year, top)
            if d.empty:
                raise InvalidInput(f"{year}年没有达到星级的文明户，也没有志愿服务时长，名单为空，不能发布。")
            lst = HonourList(village_id=village_id, year=year, title=f"{year}年度表彰名单", published_by=actor.user_id)
            s.add(lst)
            s.flush()
            prefix = f"RY-{village.code}-{year}-"
            seq = 0
            for h in d.households:
                seq += 1
                s.add(HonourEntry(list_id=lst.id, kind="household", household_id=h.household_id, name=h.head_name,
                                  door_no=h.door_no, level=h.level, points=h.points, minutes=0,
                                  number=f"{prefix}{seq:04d}"))
            for v in d.volunteers:
                seq += 1
                s.add(HonourEntry(list_id=lst.id, kind="volunteer", household_id=v.household_id,
                                  resident_id=v.resident_id, name=v.name, door_no=v.door_no, level=v.place,
                                  points=0, minutes=v.minutes, number=f"{prefix}{seq:04d}"))
            s.flush()
            record(s, actor, "honours.publish", "honour_list", lst.id,
                   {"year": year, "households": len(d.households), "volunteers": len(d.volunteers)},
                   village_id=village_id)
            return lst.id
    except IntegrityError as e:
        raise AlreadyDone(f"{year}年度表彰名单刚刚已由他人发布。") from e


@dataclass(frozen=True)
class Published:
    id: int
    year: int
    title: str
    published_at: dt.datetime
    households: int
    volunteers: int


def published(db, village_id: int) -> list[Published]:
    """The village's published lists, newest year first."""
    with db.read() as s:
        counts = {(lid, kind): int(n) for lid, kind, n in s.execute(
            select(HonourEntry.list_id, HonourEntry.kind, func.count())
            .join(HonourList, HonourList.id == HonourEntry.list_id)
            .where(HonourList.village_id == village_id).group_by(HonourEntry.list_id, HonourEntry.kind))}
        return [Published(lst.id, lst.year, lst.title, lst.published_at, counts.get((lst.id, "household"), 0),
                          counts.get((lst.id, "volunteer"), 0))
                for lst in s.execute(select(HonourList).where(HonourList.village_id == village_id)
                                     .order_by(HonourList.year.desc())).scalars()]


@dataclass(frozen=True)
class Certificate:
    """One published entry of an honour list: ``kind`` household (``level`` its star level, STAR_NAMES)
    or volunteer (``level`` its place); KIND_NAMES."""

    number: str
    kind: str
    name: str
    door_no: str
    level: int
    points: int
    minutes: int


@dataclass(frozen=True)
class ListData:
    year: int
    title: str
    issuer: str
    published_on: dt.date
    entries: list[Certificate]


def list_data(db, village_id: int, list_id: int) -> ListData:
    with db.read() as s:
        lst = s.get(HonourList, list_id) if isinstance(list_id, int) else None
        if lst is None or lst.village_id != village_id:
            raise NotFound("找不到这份表彰名单。")
        village = s.get(Village, village_id)
        entries = [Certificate(e.number, e.kind, e.name, e.door_no, e.level, e.points, e.minutes)
                   for e in s.execute(select(HonourEntry).where(HonourEntry.list_id == lst.id)
                                      .order_by(HonourEntry.id)).scalars()]
        return ListData(lst.year, lst.title, f"{village.county}{village.township}{village.name}村民委员会",
                        lst.published_at.date(), entries)


LIST_COLUMNS = ["证书编号", "表彰类别", "等次", "姓名（户主）", "门牌号", "年度积分", "年度服务时长（小时）"]


def _honour_name(c: Certificate) -> str:
    return f"{STAR_NAMES.get(c.level, c.level)}级文明户" if c.kind == "household" else "优秀志愿者"


def grade(c: Certificate) -> str:
    """等次 of an entry: a household's star (三星级文明户), a volunteer's place (第 2 名)."""
    return _honour_name(c) if c.kind == "household" else f"第 {c.level} 名"


def _list_sheet(data: ListData) -> pd.DataFrame:
    """The list as the Excel document has it, labelled here from the published entries."""
    return pd.DataFrame([{"证书编号": c.number, "表彰类别": KIND_NAMES[c.kind], "等次": grade(c),
                          "姓名（户主）": c.name, "门牌号": c.door_no,
                          "年度积分": c.points if c.kind == "household" else None,
                          "年度服务时长（小时）": round(c.minutes / 60, 1) if c.kind == "volunteer" else None}
                         for c in data.entries], columns=LIST_COLUMNS)


def excel(db, village_id: int, list_id: int) -> bytes:
    data = list_data(db, village_id, list_id)
    return exports.excel_bytes({data.title: _list_sheet(data)})


def _certificate_page(pdf, data: ListData, c: Certificate) -> None:
    pdf.add_page()
    w, h = pdf.w, pdf.h
    pdf.set_draw_color(178, 34, 34)
    pdf.set_line_width(1.6)
    pdf.rect(10, 10, w - 20, h - 20)
    pdf.set_line_width(0.4)
    pdf.rect(14, 14, w - 28, h - 28)
    pdf.set_text_color(178, 34, 34)
    pdf.set_y(30)
    pdf.set_font_size(40)
    pdf.cell(0, 20, "荣 誉 证 书", align="C", new_x="LMARGIN", new_y="NEXT")
    pdf.set_text_color(0, 0, 0)
    pdf.ln(10)
    pdf.set_x(35)
    pdf.set_font_size(20)
    if c.kind == "household":
        pdf.cell(0, 12, f"{c.door_no}  {c.name} 户：", new_x="LMARGIN", new_y="NEXT")
        body = (f"在 {data.year} 年度村级积分制管理中积极参与、表现突出，年度积分 {c.points} 分，"
                f"被评为“{_honour_name(c)}”。")
    else:
        body = (f"在 {data.year} 年度志愿服务中热心奉献，经确认的服务时长累计 {c.minutes / 60:.1f} 小时，"
                "被评为“优秀志愿者”。")
        pdf.cell(0, 12, f"{c.name} 同志：", new_x="LMARGIN", new_y="NEXT")
    pdf.ln(4)
    pdf.set_x(35)
    pdf.set_font_size(18)
    pdf.multi_cell(w - 70, 12, "        " + body + "特发此证，以资鼓励。", align="L", new_x="LMARGIN", new_y="NEXT")
    pdf.set_y(h - 62)
    pdf.set_font_size(16)
    pdf.cell(w - 40, 10, data.issuer, align="R", new_x="LMARGIN", new_y="NEXT")
    pdf.cell(w - 40, 10, f"{data.published_on.year}年{data.published_on.month}月{data.published_on.day}日",
             align="R", new_x="LMARGIN", new_y="NEXT")
    pdf.set_xy(20, h - 30)
    pdf.set_font_size(11)
    pdf.cell(0, 8, f"证书编号：{c.number}")


def render_certificates(data: ListData, progress: Callable[[int, int], None] | None = None) -> bytes:
    """One A4 landscape page per honoured household or volunteer (pure: data in, PDF out)."""
    if not data.entries:
        raise InvalidInput("这份名单没有可打印的证书。")
    pdf = Sheet(orientation="L", title=f"{data.title} 荣誉证书")
    pdf.set_auto_page_break(False)
    total = len(data.entries)
    for i, c in enumerate(data.entries, start=1):
        _certificate_page(pdf, data, c)
        if progress:
            progress(i, total)
    return pdf.output_bytes()


def certificates_pdf(db, village_id: int, list_id: int,
                     progress: Callable[[int, int], None] | None = None) -> bytes:
    return render_certificates(list_data(db, village_id, list_id), progress)
