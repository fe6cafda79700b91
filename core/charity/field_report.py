"""The season report (义田年度报告): area, work days, volunteer hours, kilos harvested by
crop, kilos delivered, households and people reached by category — for a date range.
Everything is read as SQL aggregates; the PDF and the Excel show the same numbers."""

from __future__ import annotations

import datetime as dt
from dataclasses import dataclass, field

import pandas as pd
from sqlalchemy import distinct, func, select

from core.charity.field import fmt_kg, kg_value
from core.village.templates import BENEFICIARY_CATEGORIES
from db.enums import ActivityStatus
from db.models import (
    Activity,
    Allocation,
    Attendance,
    DistributionRound,
    Harvest,
    Plot,
    ProduceMove,
    Season,
    Village,
)


@dataclass
class SeasonReport:
    village: str
    date_from: dt.date
    date_to: dt.date
    area_mu: float = 0.0
    plots: int = 0
    work_days: int = 0
    workers: int = 0
    volunteer_minutes: int = 0
    harvested_grams: int = 0
    delivered_grams: int = 0
    households: int = 0
    people: int = 0
    to_shop_grams: int = 0
    sold_grams: int = 0
    by_crop: pd.DataFrame = field(default_factory=pd.DataFrame)
    by_category: pd.DataFrame = field(default_factory=pd.DataFrame)

    def summary_frame(self) -> pd.DataFrame:
        rows = [
            ("义田面积（亩）", f"{self.area_mu:g}"), ("地块数", self.plots), ("义务劳动日（天次）", self.work_days),
            ("参加劳动人数", self.workers), ("志愿服务时长（小时）", round(self.volunteer_minutes / 60, 1)),
            ("收获总量（公斤）", fmt_kg(self.harvested_grams)), ("已发放（公斤）", fmt_kg(self.delivered_grams)),
            ("受益户数", self.households), ("受益人数", self.people),
            ("转入积分超市（公斤）", fmt_kg(self.to_shop_grams)), ("出售（公斤）", fmt_kg(self.sold_grams)),
        ]
        return pd.DataFrame(rows, columns=["项目", "数值"]).astype({"数值": str})


def season_report(db, village_id: int, date_from: dt.date, date_to: dt.date) -> SeasonReport:
    start = dt.datetime.combine(date_from, dt.time.min)
    end = dt.datetime.combine(date_to + dt.timedelta(days=1), dt.time.min)
    with db.read() as s:
        rep = SeasonReport(s.get(Village, village_id).name, date_from, date_to)
        # Area: plots with a season sown in the range, or (no sowing date) of that year.
        sown = (select(Season.plot_id).where(Season.village_id == village_id,
                                             ((Season.sown_on >= date_from) & (Season.sown_on <= date_to))
                                             | (Season.sown_on.is_(None) & Season.year.between(date_from.year,
                                                                                                date_to.year))))
        area, plots = s.execute(select(func.coalesce(func.sum(Plot.area_mu), 0), func.count())
                                .where(Plot.id.in_(sown))).one()
        rep.area_mu, rep.plots = float(area), plots
        days = select(Activity.id).where(Activity.village_id == village_id, Activity.plot_id.is_not(None),
                                         Activity.status != ActivityStatus.CANCELLED,
                                         Activity.date.between(date_from, date_to))
        rep.work_days = s.execute(select(func.count()).select_from(days.subquery())).scalar_one()
        workers, minutes = s.execute(
            select(func.count(distinct(Attendance.resident_id)), func.coalesce(func.sum(Attendance.minutes), 0))
            .where(Attendance.activity_id.in_(days), Attendance.confirmed_at.is_not(None))).one()
        rep.workers, rep.volunteer_minutes = workers, int(minutes)
        harvested = dict(s.execute(select(Harvest.crop, func.sum(Harvest.grams))
                                   .where(Harvest.village_id == village_id, Harvest.date.between(date_from, date_to))
                                   .group_by(Harvest.crop)).all())
        delivered = dict(s.execute(
            select(DistributionRound.crop, func.sum(Allocation.grams))
            .join(DistributionRound, DistributionRound.id == Allocation.round_id)
            .where(DistributionRound.village_id == village_id, Allocation.delivered_at >= start,
                   Allocation.delivered_at < end).group_by(DistributionRound.crop)).all())
        moved = {(crop, kind): -g for crop, kind, g in s.execute(
            select(ProduceMove.crop, ProduceMove.kind, func.sum(ProduceMove.grams))
            .where(ProduceMove.village_id == village_id, ProduceMove.kind.in_(("to_shop", "sale")),
                   ProduceMove.created_at >= start, ProduceMove.created_at < end)
            .group_by(ProduceMove.crop, ProduceMove.kind)).all()}
        per_hh = s.execute(
            select(Allocation.household_id, Allocation.category, func.max(Allocation.persons),
                   func.sum(Allocation.grams))
            .join(DistributionRound, DistributionRound.id == Allocation.round_id)
            .where(DistributionRound.village_id == village_id, Allocation.delivered_at >= start,
                   Allocation.delivered_at < end)
            .group_by(Allocation.household_id, Allocation.category)).all()
    crops = sorted(set(harvested) | set(delivered) | {c for c, _ in moved})
    rep.by_crop = pd.DataFrame(
        [{"作物": c, "收获（公斤）": kg_value(harvested.get(c)), "发放（公斤）": kg_value(delivered.get(c)),
          "转入超市（公斤）": kg_value(moved.get((c, "to_shop"))), "出售（公斤）": kg_value(moved.get((c, "sale")))}
         for c in crops], columns=["作物", "收获（公斤）", "发放（公斤）", "转入超市（公斤）", "出售（公斤）"])
    rep.harvested_grams = sum(harvested.values())
    rep.delivered_grams = sum(delivered.values())
    rep.to_shop_grams = sum(g for (_, k), g in moved.items() if k == "to_shop")
    rep.sold_grams = sum(g for (_, k), g in moved.items() if k == "sale")
    # A household is counted once, under the category of its latest allocation row met first.
    seen: dict[int, tuple[str, int]] = {}
    grams_by_cat: dict[str, int] = {}
    for hid, cat, persons, grams in per_hh:
        seen.setdefault(hid, (cat, persons or 0))
        grams_by_cat[cat] = grams_by_cat.get(cat, 0) + (grams or 0)
    rep.households = len(seen)
    rep.people = sum(p for _, p in seen.values())
    cat_rows = []
    for cat, name in BENEFICIARY_CATEGORIES.items():
        hh = [p for c, p in seen.values() if c == cat]
        cat_rows.append({"类别": name, "户数": len(hh), "人数": sum(hh), "发放（公斤）": kg_value(grams_by_cat.get(cat))})
    rep.by_category = pd.DataFrame(cat_rows, columns=["类别", "户数", "人数", "发放（公斤）"])
    return rep


def report_pdf(rep: SeasonReport) -> bytes:
    from core.platform.pdf import Sheet

    pdf = Sheet(title="党员义田年度报告")
    pdf.add_page()
    pdf.set_font_size(16)
    pdf.cell(0, 10, f"{rep.village} 党员义田报告", align="C", new_x="LMARGIN", new_y="NEXT")
    pdf.set_font_size(10)
    pdf.cell(0, 7, f"统计期间：{rep.date_from:%Y-%m-%d} 至 {rep.date_to:%Y-%m-%d}", align="C",
             new_x="LMARGIN", new_y="NEXT")
    pdf.ln(3)
    pdf.table_rows(["项目", "数值"], rep.summary_frame().values.tolist(), [90, 90])
    for title, df in (("按作物", rep.by_crop), ("按受助类别（已签领）", rep.by_category)):
        pdf.ln(5)
        pdf.set_font_size(12)
        pdf.cell(0, 8, title, new_x="LMARGIN", new_y="NEXT")
        cols = list(df.columns)
        width = 180 / len(cols)
        pdf.table_rows(cols, df.values.tolist(), [width] * len(cols))
    return pdf.output_bytes()
