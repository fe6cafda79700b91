"""The charity field (党员义田): plots, seasons, work days, harvest weighing and the
produce stock that harvests fill and distributions, shop transfers and sales empty.

Invariants (checked by :func:`verify_produce` and the tests):
- ``produce_move`` is append-only; ``produce_stock.grams`` equals the sum of the moves
  of that village and crop, changed in the same transaction;
- stock never goes below zero: a taking move is a conditional UPDATE, backed by a CHECK;
- weights are whole grams, entered and shown as kg to 0.1.

Work days are volunteer activities with a plot (core.volunteering.volunteer owns hours, confirmation
and the hours → points conversion); this module only adds what is special to the field.
"""

from __future__ import annotations

import datetime as dt
import hashlib
import uuid
from decimal import Decimal, InvalidOperation

import pandas as pd
from sqlalchemy import func, select, update
from sqlalchemy.orm import Session

from core.platform import validate
from core.platform.access import Actor, require
from core.platform.audit import record
from core.platform.errors import InvalidInput, NotAllowed, NotFound, OutOfStock
from core.supermarket import fund
from db.engine import upsert_insert
from db.models import (
    Activity,
    Attendance,
    FundEntry,
    Harvest,
    Plot,
    PlotMember,
    ProduceMove,
    ProduceStock,
    Product,
    Resident,
    Season,
    StaffUser,
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


def plots_frame(db, village_id: int) -> pd.DataFrame:
    with db.read() as s:
        members = dict(s.execute(select(PlotMember.plot_id, func.count()).join(Plot, Plot.id == PlotMember.plot_id)
                                 .where(Plot.village_id == village_id).group_by(PlotMember.plot_id)).all())
        rows = s.execute(select(Plot).where(Plot.village_id == village_id).order_by(Plot.id)).scalars().all()
        return pd.DataFrame(
            [{"编号": p.id, "地块": p.name, "面积（亩）": float(p.area_mu), "位置": p.location,
              "责任党小组": p.party_group, "成员人数": members.get(p.id, 0), "状态": "在用" if p.active else "停用"}
             for p in rows],
            columns=["编号", "地块", "面积（亩）", "位置", "责任党小组", "成员人数", "状态"])


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


def seasons_frame(db, village_id: int) -> pd.DataFrame:
    with db.read() as s:
        harvested = dict(s.execute(select(Harvest.season_id, func.sum(Harvest.grams))
                                   .where(Harvest.village_id == village_id).group_by(Harvest.season_id)).all())
        rows = s.execute(select(Season, Plot.name).join(Plot, Plot.id == Season.plot_id)
                         .where(Season.village_id == village_id)
                         .order_by(Season.year.desc(), Plot.name, Season.id)).all()
        return pd.DataFrame(
            [{"编号": se.id, "年份": se.year, "地块": pname, "作物": se.crop, "播种日期": se.sown_on,
              "已收获（公斤）": kg_value(harvested.get(se.id))} for se, pname in rows],
            columns=["编号", "年份", "地块", "作物", "播种日期", "已收获（公斤）"])


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


def work_days_frame(db, village_id: int, date_from: dt.date | None = None, date_to: dt.date | None = None
                    ) -> pd.DataFrame:
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
    from core.volunteering.volunteer import STATUS_NAMES

    return pd.DataFrame(
        [{"编号": aid, "日期": d, "地块": pname, "名称": title, "劳动任务": tasks,
          "状态": STATUS_NAMES.get(st, st), "参加人数": n or 0, "时长（小时）": round((m or 0) / 60, 1),
          "已确认人数": c or 0} for aid, d, pname, title, tasks, st, n, m, c in rows],
        columns=["编号", "日期", "地块", "名称", "劳动任务", "状态", "参加人数", "时长（小时）", "已确认人数"])


# ---------------------------------------------------------------- produce stock


def move_produce(s: Session, actor: Actor | None, village_id: int, crop: str, grams: int, kind: str, *,
                 ref_type: str = "", ref_id: object = "", note: str = "", at: dt.datetime | None = None
                 ) -> ProduceMove:
    """Append one produce move and change the stock in the caller's transaction.

    A taking move is a conditional UPDATE (grams + delta >= 0): two rounds confirmed at
    the same moment can never both take the last kilos."""
    if kind not in MOVE_NAMES:
        raise InvalidInput("未知的出入库类型。")
    if grams == 0:
        raise InvalidInput("数量不能为 0。")
    if grams > 0:
        ins = upsert_insert(s)(ProduceStock.__table__).values(village_id=village_id, crop=crop, grams=grams)
        s.execute(ins.on_conflict_do_update(index_elements=["village_id", "crop"],
                                            set_={"grams": ProduceStock.__table__.c.grams + grams}))
    else:
        res = s.execute(update(ProduceStock)
                        .where(ProduceStock.village_id == village_id, ProduceStock.crop == crop,
                               ProduceStock.grams + grams >= 0)
                        .values(grams=ProduceStock.grams + grams).execution_options(synchronize_session=False))
        if res.rowcount != 1:
            have = s.execute(select(ProduceStock.grams).where(ProduceStock.village_id == village_id,
                                                             ProduceStock.crop == crop)).scalar() or 0
            raise OutOfStock(f"“{crop}”库存不足：现有 {fmt_kg(have)} 公斤，需要 {fmt_kg(-grams)} 公斤。")
    move = ProduceMove(village_id=village_id, crop=crop, grams=grams, kind=kind, ref_type=ref_type,
                       ref_id=str(ref_id)[:40], note=note, created_by=actor.user_id if actor else None,
                       **({"created_at": at} if at else {}))
    s.add(move)
    s.flush()
    return move


def stock_grams(s: Session, village_id: int, crop: str) -> int:
    return s.execute(select(ProduceStock.grams).where(ProduceStock.village_id == village_id,
                                                      ProduceStock.crop == crop)).scalar() or 0


def stock_frame(db, village_id: int) -> pd.DataFrame:
    with db.read() as s:
        rows = s.execute(select(ProduceStock.crop, ProduceStock.grams).where(ProduceStock.village_id == village_id)
                         .order_by(ProduceStock.crop)).all()
    return pd.DataFrame([{"作物": c, "库存（公斤）": kg_value(g)} for c, g in rows], columns=["作物", "库存（公斤）"])


def crops_in_stock(db, village_id: int) -> dict[str, int]:
    with db.read() as s:
        return dict(s.execute(select(ProduceStock.crop, ProduceStock.grams)
                              .where(ProduceStock.village_id == village_id, ProduceStock.grams > 0)
                              .order_by(ProduceStock.crop)).all())


def moves_frame(db, village_id: int, limit: int = 500) -> pd.DataFrame:
    with db.read() as s:
        rows = s.execute(select(ProduceMove, StaffUser.display_name)
                         .outerjoin(StaffUser, StaffUser.id == ProduceMove.created_by)
                         .where(ProduceMove.village_id == village_id)
                         .order_by(ProduceMove.created_at.desc(), ProduceMove.id.desc()).limit(limit)).all()
    return pd.DataFrame(
        [{"时间": m.created_at, "作物": m.crop, "类型": MOVE_NAMES.get(m.kind, m.kind),
          "数量（公斤）": kg_value(m.grams), "说明": m.note, "经办人": who or ""} for m, who in rows],
        columns=["时间", "作物", "类型", "数量（公斤）", "说明", "经办人"])


def fund_frame(db, village_id: int, date_from: dt.date | None = None, date_to: dt.date | None = None
               ) -> pd.DataFrame:
    """The village fund (村集体资金) entries from the field, newest first, amounts in yuan."""
    with db.read() as s:
        q = (select(FundEntry, StaffUser.display_name).outerjoin(StaffUser, StaffUser.id == FundEntry.created_by)
             .where(FundEntry.village_id == village_id, FundEntry.kind == "field_sale"))
        if date_from is not None:
            q = q.where(FundEntry.date >= date_from)
        if date_to is not None:
            q = q.where(FundEntry.date <= date_to)
        rows = s.execute(q.order_by(FundEntry.date.desc(), FundEntry.id.desc())).all()
    return pd.DataFrame(
        [{"编号": e.id, "日期": e.date, "来源": e.source, "金额（元）": e.amount_fen / 100, "说明": e.note,
          "经办人": who or ""} for e, who in rows],
        columns=["编号", "日期", "来源", "金额（元）", "说明", "经办人"])


def verify_produce(db, village_id: int) -> list[str]:
    """Problems found (empty = fine): stock that differs from the sum of its moves."""
    with db.read() as s:
        moved = dict(s.execute(select(ProduceMove.crop, func.sum(ProduceMove.grams))
                               .where(ProduceMove.village_id == village_id).group_by(ProduceMove.crop)).all())
        stored = dict(s.execute(select(ProduceStock.crop, ProduceStock.grams)
                                .where(ProduceStock.village_id == village_id)).all())
    return [f"{crop}：库存 {stored.get(crop, 0)} 克，流水合计 {moved.get(crop, 0) or 0} 克"
            for crop in sorted(set(moved) | set(stored)) if (moved.get(crop) or 0) != stored.get(crop, 0)]


# ---------------------------------------------------------------- harvest


def _photo_name(photo: bytes) -> str:
    """Check a weighing photo (type, size) and return its content-addressed relative path."""
    if len(photo) > PHOTO_MAX_BYTES:
        raise InvalidInput("照片太大（不超过 8 MB）。")
    if photo[:3] == b"\xff\xd8\xff":
        ext = "jpg"
    elif photo[:8] == b"\x89PNG\r\n\x1a\n":
        ext = "png"
    else:
        raise InvalidInput("照片只能是 JPG 或 PNG 图片。")
    from core.platform.images import open_image

    with open_image(photo, "过秤照片") as img:  # a real picture, within the pixel limit
        try:
            img.verify()
        except Exception:  # any failure to read it means "not a picture"
            raise InvalidInput("过秤照片不是图片：只能是 JPG 或 PNG 图片。") from None
    return f"harvest/{hashlib.sha256(photo).hexdigest()}.{ext}"


def record_harvest(db, actor: Actor, *, season_id: int, date: dt.date, kg: object, photo: bytes | None = None,
                   photo_dir=None, note: str = "") -> int:
    """Weighing on harvest day: the harvest row and the stock-in commit together. Returns its id.

    The photo is written as ``<name>.part`` only after every check has passed, renamed once the
    transaction has committed and removed if it fails (core.committee.photos.recover finishes a rename a
    crash interrupted), so a refused or failed weighing leaves no file behind."""
    import os
    from pathlib import Path

    grams = kg_to_grams(kg)
    date = _date(date, "收获日期")
    note = validate.text(note, "备注", 200)
    photo_path = _photo_name(photo) if photo else ""
    part = final = None
    try:
        with db.write() as s:
            season = s.get(Season, _id(season_id, "种植季"))
            if season is None:
                raise NotFound("找不到该种植季。")
            require(actor, FIELD_ROLES, season.village_id)
            if season.sown_on and date < season.sown_on:
                raise InvalidInput("收获日期早于播种日期，请核对。")
            h = Harvest(village_id=season.village_id, season_id=season.id, crop=season.crop, date=date, grams=grams,
                        recorded_by=actor.user_id, photo_path=photo_path)
            s.add(h)
            s.flush()
            move_produce(s, actor, season.village_id, season.crop, grams, "harvest", ref_type="harvest", ref_id=h.id,
                         note=note or f"{date:%Y-%m-%d} 收获过秤")
            record(s, actor, "harvest.record", "harvest", h.id, {"crop": season.crop, "grams": grams, "date": date},
                   village_id=season.village_id)
            if photo:
                if photo_dir is None:
                    from core.platform import config

                    photo_dir = config.load().photo_dir
                final = Path(photo_dir) / photo_path
                final.parent.mkdir(parents=True, exist_ok=True)
                part = final.with_name(final.name + ".part")
                part.write_bytes(photo)
            harvest_id = h.id
    except BaseException:
        if part is not None:
            part.unlink(missing_ok=True)
        raise
    if part is not None:
        os.replace(part, final)
    return harvest_id


def harvests_frame(db, village_id: int, limit: int = 1000) -> pd.DataFrame:
    with db.read() as s:
        rows = s.execute(select(Harvest, Plot.name, StaffUser.display_name)
                         .join(Season, Season.id == Harvest.season_id).join(Plot, Plot.id == Season.plot_id)
                         .outerjoin(StaffUser, StaffUser.id == Harvest.recorded_by)
                         .where(Harvest.village_id == village_id)
                         .order_by(Harvest.date.desc(), Harvest.id.desc()).limit(limit)).all()
    return pd.DataFrame(
        [{"编号": h.id, "日期": h.date, "地块": pname, "作物": h.crop, "重量（公斤）": kg_value(h.grams),
          "记录人": who or "", "照片": "有" if h.photo_path else ""} for h, pname, who in rows],
        columns=["编号", "日期", "地块", "作物", "重量（公斤）", "记录人", "照片"])


def harvest_photos(db, village_id: int, photo_dir) -> list[tuple[str, object]]:
    """(label, file path) of the harvests that have a weighing photo, newest first."""
    from pathlib import Path

    with db.read() as s:
        rows = s.execute(select(Harvest.date, Harvest.crop, Harvest.grams, Harvest.photo_path)
                         .where(Harvest.village_id == village_id, Harvest.photo_path != "")
                         .order_by(Harvest.date.desc(), Harvest.id.desc()).limit(200)).all()
    base = Path(photo_dir).resolve()
    out = []
    for day, crop, grams, rel in rows:
        path = (base / rel).resolve()
        if base in path.parents and path.exists():  # never read outside the photo folder
            out.append((f"{day:%Y-%m-%d} {crop} {fmt_kg(grams)} 公斤", path))
    return out


# ---------------------------------------------------------------- surplus


def transfer_to_shop(db, actor: Actor, *, crop: str, kg: object, product_id: int, qty: int, note: str = "") -> int:
    """Surplus into the points supermarket: kilos leave the produce stock and ``qty`` units
    of the product arrive on the shelf, in one transaction. Returns the produce move id."""
    from core.supermarket.stock import receive

    grams = kg_to_grams(kg)
    crop = validate.text(crop, "作物", 20, required=True)
    note = validate.text(note, "备注", 200)
    village_id = _village(actor)
    require(actor, FIELD_ROLES, village_id)
    with db.write() as s:
        product = s.get(Product, _id(product_id, "商品"))
        if product is None or product.village_id != village_id:
            raise NotFound("找不到该商品。")
        move = move_produce(s, actor, village_id, crop, -grams, "to_shop", ref_type="product", ref_id=product.id,
                            note=note or f"转入积分超市：{product.name} × {qty}{product.unit}")
        stock_move = receive(s, actor, product.id, qty, kind="harvest", reason=f"义田{crop} {fmt_kg(grams)} 公斤",
                             ref_type="produce_move", ref_id=move.id)
        record(s, actor, "produce.to_shop", "produce_move", move.id,
               {"crop": crop, "grams": grams, "product_id": product.id, "qty": qty, "stock_move_id": stock_move.id},
               village_id=village_id)
        return move.id


def sell_surplus(db, actor: Actor, *, crop: str, kg: object, amount_yuan: object, date: dt.date, buyer: str = "",
                 note: str = "") -> int:
    """Sell surplus: kilos leave the stock and the money enters the village fund (村集体资金)
    in one transaction. Returns the fund entry id."""
    grams = kg_to_grams(kg)
    crop = validate.text(crop, "作物", 20, required=True)
    buyer = validate.text(buyer, "购买方", 40)
    note = validate.text(note, "备注", 200)
    date = _date(date, "出售日期")
    try:
        yuan = Decimal(str(amount_yuan))
    except InvalidOperation as e:
        raise InvalidInput("金额必须是数字（元）。") from e
    if not yuan.is_finite() or yuan <= 0 or yuan > 10_000_000:
        raise InvalidInput("金额必须大于 0 元、不超过一千万元。")
    if yuan != yuan.quantize(Decimal("0.01")):
        raise InvalidInput("金额最多精确到分（0.01 元）。")
    fen = int(yuan * 100)
    village_id = _village(actor)
    require(actor, FIELD_ROLES, village_id)
    with db.write() as s:
        entry = fund.append(s, actor, village_id, kind="field_sale", date=date, amount_fen=fen, source="义田出售",
                            counterparty=buyer, entry_key=f"field_sale:{uuid.uuid4().hex}",
                            note=f"{crop} {fmt_kg(grams)} 公斤" + (f"，购买方：{buyer}" if buyer else "")
                            + (f"；{note}" if note else ""))
        move_produce(s, actor, village_id, crop, -grams, "sale", ref_type="fund_entry", ref_id=entry.id,
                     note=f"出售 {yuan} 元" + (f"（{buyer}）" if buyer else ""))
        record(s, actor, "produce.sale", "fund_entry", entry.id, {"crop": crop, "grams": grams, "fen": fen},
               village_id=village_id)
        return entry.id


def record_loss(db, actor: Actor, *, crop: str, kg: object, reason: str) -> int:
    """Spoilage or a weighing correction found at a stock check (损耗), with a reason."""
    grams = kg_to_grams(kg)
    crop = validate.text(crop, "作物", 20, required=True)
    reason = validate.text(reason, "原因", 200, required=True)
    village_id = _village(actor)
    require(actor, FIELD_ROLES, village_id)
    with db.write() as s:
        move = move_produce(s, actor, village_id, crop, -grams, "adjust", note=reason)
        record(s, actor, "produce.loss", "produce_move", move.id, {"crop": crop, "grams": grams}, reason,
               village_id=village_id)
        return move.id


def shop_products(db, village_id: int) -> list[tuple[int, str]]:
    with db.read() as s:
        return [(pid, f"{name}（{unit}，现有 {stock}）") for pid, name, unit, stock in s.execute(
            select(Product.id, Product.name, Product.unit, Product.stock)
            .where(Product.village_id == village_id, Product.active, Product.kind == "goods")
            .order_by(Product.name)).all()]
