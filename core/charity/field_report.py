"""The season report (义田年度报告): area, work days, volunteer hours, kilos harvested by
crop, kilos delivered, households and people reached by category — for a date range.
Everything is read as SQL aggregates into typed lines (:class:`SeasonReport`); the PDF and the Excel
are documents and share their Chinese-headed tables (:func:`report_tables`), so they show the same numbers."""

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


@dataclass(frozen=True)
class CropLine:
    """One crop in the report's period: harvested, delivered (signed for), moved to the shop, sold."""

    crop: str
    harvested_grams: int
    delivered_grams: int
    to_shop_grams: int
    sold_grams: int

    @property
    def harvested_kg(self) -> float:
        return kg_value(self.harvested_grams)

    @property
    def delivered_kg(self) -> float:
        return kg_value(self.delivered_grams)

    @property
    def to_shop_kg(self) -> float:
        return kg_value(self.to_shop_grams)

    @property
    def sold_kg(self) -> float:
        return kg_value(self.sold_grams)


@dataclass(frozen=True)
class CategoryLine:
    """One beneficiary category (BENEFICIARY_CATEGORIES code): households and people reached, kilos signed for."""

    category: str
    households: int
    people: int
    grams: int

    @property
    def kg(self) -> float:
        return kg_value(self.grams)


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
    by_crop: list[CropLine] = field(default_factory=list)
    by_category: list[CategoryLine] = field(default_factory=list)


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
    rep.by_crop = [CropLine(c, int(harvested.get(c) or 0), int(delivered.get(c) or 0),
                            int(moved.get((c, "to_shop")) or 0), int(moved.get((c, "sale")) or 0)) for c in crops]
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
    rep.by_category = []
    for cat in BENEFICIARY_CATEGORIES:
        hh = [p for c, p in seen.values() if c == cat]
        rep.by_category.append(CategoryLine(cat, len(hh), sum(hh), int(grams_by_cat.get(cat) or 0)))
    return rep


def report_tables(rep: SeasonReport) -> dict[str, pd.DataFrame]:
    """The report's tables as the PDF and the Excel print them (汇总, 按作物, 按类别): the layout is
    the document's, so the headers are Chinese here, built from the report's typed lines."""
    summary = [
        ("义田面积（亩）", f"{rep.area_mu:g}"), ("地块数", rep.plots), ("义务劳动日（天次）", rep.work_days),
        ("参加劳动人数", rep.workers), ("志愿服务时长（小时）", round(rep.volunteer_minutes / 60, 1)),
        ("收获总量（公斤）", fmt_kg(rep.harvested_grams)), ("已发放（公斤）", fmt_kg(rep.delivered_grams)),
        ("受益户数", rep.households), ("受益人数", rep.people),
        ("转入积分超市（公斤）", fmt_kg(rep.to_shop_grams)), ("出售（公斤）", fmt_kg(rep.sold_grams)),
    ]
    by_crop = pd.DataFrame([(c.crop, c.harvested_kg, c.delivered_kg, c.to_shop_kg, c.sold_kg) for c in rep.by_crop],
                           columns=["作物", "收获（公斤）", "发放（公斤）", "转入超市（公斤）", "出售（公斤）"])
    by_category = pd.DataFrame([(BENEFICIARY_CATEGORIES.get(c.category, c.category), c.households, c.people, c.kg)
                                for c in rep.by_category], columns=["类别", "户数", "人数", "发放（公斤）"])
    return {"汇总": pd.DataFrame(summary, columns=["项目", "数值"]).astype({"数值": str}),
            "按作物": by_crop, "按类别": by_category}


def report_pdf(rep: SeasonReport) -> bytes:
    """The report as a PDF document (its tables from :func:`report_tables`)."""
    from core.platform.pdf import Sheet

    pdf = Sheet(title="党员义田年度报告")
    pdf.add_page()
    pdf.set_font_size(16)
    pdf.cell(0, 10, f"{rep.village} 党员义田报告", align="C", new_x="LMARGIN", new_y="NEXT")
    pdf.set_font_size(10)
    pdf.cell(0, 7, f"统计期间：{rep.date_from:%Y-%m-%d} 至 {rep.date_to:%Y-%m-%d}", align="C",
             new_x="LMARGIN", new_y="NEXT")
    pdf.ln(3)
    tables = report_tables(rep)
    pdf.table_rows(["项目", "数值"], tables["汇总"].values.tolist(), [90, 90])
    for title, df in (("按作物", tables["按作物"]), ("按受助类别（已签领）", tables["按类别"])):
        pdf.ln(5)
        pdf.set_font_size(12)
        pdf.cell(0, 8, title, new_x="LMARGIN", new_y="NEXT")
        cols = list(df.columns)
        width = 180 / len(cols)
        pdf.table_rows(cols, df.values.tolist(), [width] * len(cols))
    return pdf.output_bytes()
