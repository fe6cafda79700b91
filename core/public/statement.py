"""Household statements on paper (积分对账单) for residents without a phone: one A4 page (or
more, for a long month) per household with today's balance, held and outstanding points, the
period's entries and the star level of the period's year — what the card page shows, printed.

Built for one household, a grid or the whole village in one PDF. The data is read in a few
queries for all the households at once (accounts, held points, the period's entries, the year's
points), then drawn household by household, calling ``progress(done, total)`` so a page can
show how far it got.
"""

from __future__ import annotations

import datetime as dt
from collections.abc import Callable
from dataclasses import dataclass

from sqlalchemy import func, select

from core.platform import settings
from core.platform.access import Actor, require
from core.points.balances import held_points, spendable
from core.points.entry_rules import KIND_NAMES
from core.reporting import rankings
from core.reporting.periods import Period
from db.models import Account, Grid, Household, HouseholdMonth, LedgerEntry, RuleItem, Village

STATEMENT_ROLES = ("admin", "cashier", "committee", "grid_worker")
MAX_ROWS = 400  # entries printed per household and period (a month has a handful)


@dataclass(frozen=True)
class StatementLine:
    day: dt.date
    kind: str
    points: int
    reason: str


@dataclass(frozen=True)
class Statement:
    household_id: int
    door_no: str
    head_name: str
    grid: str
    balance: int
    held: int
    outstanding: int
    year_points: int
    star: int | None  # None when the village does not grade star households
    lines: list[StatementLine]

    @property
    def spendable(self) -> int:
        return spendable(self.balance, self.held)

    @property
    def period_total(self) -> int:
        return sum(x.points for x in self.lines)


def statements(s, actor: Actor, village_id: int, period: Period, household_ids: list[int] | None = None,
               grid_id: int | None = None) -> list[Statement]:
    """The statements of the village's active households (or of the given ones, or one grid's)."""
    require(actor, STATEMENT_ROLES, village_id)
    q = (select(Household.id, Household.door_no, Household.head_name, Grid.name)
         .outerjoin(Grid, Grid.id == Household.grid_id)
         .where(Household.village_id == village_id, Household.active.is_(True)))
    if household_ids is not None:
        q = q.where(Household.id.in_([int(h) for h in household_ids]))
    if grid_id is not None:
        q = q.where(Household.grid_id == grid_id)
    people = s.execute(q.order_by(Grid.name, Household.door_no, Household.id)).all()
    ids = [r[0] for r in people]
    if not ids:
        return []
    accounts = {hid: (bal, out) for hid, bal, out in s.execute(
        select(Account.household_id, Account.balance, Account.outstanding).where(Account.household_id.in_(ids)))}
    held = held_points(s, ids)
    year = Period("year", period.year, 1)
    year_pts = dict(s.execute(
        select(HouseholdMonth.household_id, func.sum(HouseholdMonth.earned - HouseholdMonth.deducted))
        .where(HouseholdMonth.household_id.in_(ids), HouseholdMonth.month >= year.first_month,
               HouseholdMonth.month <= min(year.last_month, period.last_month))
        .group_by(HouseholdMonth.household_id)).all())
    lines: dict[int, list[StatementLine]] = {}
    for hid, day, kind, delta, reason, item in s.execute(
            select(LedgerEntry.household_id, LedgerEntry.occurred_on, LedgerEntry.kind, LedgerEntry.delta_balance,
                   LedgerEntry.reason, RuleItem.name)
            .outerjoin(RuleItem, RuleItem.id == LedgerEntry.rule_item_id)
            .where(LedgerEntry.village_id == village_id, LedgerEntry.household_id.in_(ids),
                   LedgerEntry.month >= period.first_month, LedgerEntry.month <= period.last_month)
            .order_by(LedgerEntry.household_id, LedgerEntry.occurred_on, LedgerEntry.id)):
        rows = lines.setdefault(hid, [])
        if len(rows) < MAX_ROWS:
            rows.append(StatementLine(day, KIND_NAMES.get(kind, kind), delta, reason or item or ""))
    graded = rankings.stars_enabled(s, village_id)  # a grade: whatever the rankings switch says
    thresholds = list(settings.get(s, village_id, "star_household_thresholds"))
    out = []
    for hid, door, head, grid in people:
        bal, owed = accounts.get(hid, (0, 0))
        pts = int(year_pts.get(hid) or 0)
        out.append(Statement(hid, door, head, grid or "", bal, held.get(hid, 0), owed, pts,
                             rankings.star_level(pts, thresholds) if graded else None, lines.get(hid, [])))
    return out


def statements_pdf(db, actor: Actor, village_id: int, period: Period, household_ids: list[int] | None = None,
                   grid_id: int | None = None, today: dt.date | None = None,
                   progress: Callable[[int, int], None] | None = None) -> bytes:
    """One PDF, a page (or more) per household: 积分对账单 of the period."""
    from core.platform.pdf import Sheet

    today = today or dt.date.today()
    with db.read() as s:
        items = statements(s, actor, village_id, period, household_ids, grid_id)
        village = s.get(Village, village_id).name
    pdf = Sheet(title=f"{village}积分对账单 {period.label}")
    total = len(items)
    for n, st in enumerate(items, 1):
        _page(pdf, village, period, st, today)
        if progress is not None:
            progress(n, total)
    if not items:
        pdf.add_page()
        pdf.cell(0, 10, "所选范围内没有在册的户。")
    return pdf.output_bytes()


def _page(pdf, village: str, period: Period, st: Statement, today: dt.date) -> None:
    pdf.add_page()
    pdf.set_font_size(18)
    pdf.cell(0, 11, f"{village}积分对账单", align="C", new_x="LMARGIN", new_y="NEXT")
    pdf.set_font_size(12)
    pdf.cell(0, 8, f"{period.label}　　户主：{st.head_name}　　门牌号：{st.door_no}"
                   + (f"　　{st.grid}" if st.grid else ""), align="C", new_x="LMARGIN", new_y="NEXT")
    pdf.ln(2)
    pdf.set_font_size(13)
    star = f"{rankings.STAR_NAMES[st.star]}文明户" if st.star else ("未评星级" if st.star == 0 else "")
    summary = [("可用积分（截至打印日）", st.spendable), ("公示中扣分暂扣", min(st.held, st.balance)),
               ("待扣积分", st.outstanding), (f"{period.year}年积分（加分减扣分）", st.year_points)]
    for label, value in summary:
        pdf.cell(95, 9, label, border=1)
        pdf.cell(0, 9, f"{value} 分", border=1, align="R", new_x="LMARGIN", new_y="NEXT")
    if star:
        pdf.cell(95, 9, "星级（按年度积分）", border=1)
        pdf.cell(0, 9, star, border=1, align="R", new_x="LMARGIN", new_y="NEXT")
    pdf.ln(3)
    pdf.set_font_size(11)
    pdf.cell(0, 7, f"本期积分记录 {len(st.lines)} 笔，合计 {st.period_total:+d} 分（按发生日期）",
             new_x="LMARGIN", new_y="NEXT")
    rows = [[f"{x.day:%Y-%m-%d}", x.kind, f"{x.points:+d}", x.reason] for x in st.lines]
    if rows:
        pdf.table_rows(["日期", "类型", "积分", "事由"], rows, [26, 28, 18, 118])
    else:
        pdf.cell(0, 7, "本期没有积分记录。", new_x="LMARGIN", new_y="NEXT")
    pdf.ln(4)
    pdf.set_font_size(11)
    pdf.multi_cell(0, 6, "如对积分有疑问，请到村委会或找网格员核对。排名与星级按当年加分减扣分计算，兑换不影响。",
                   new_x="LMARGIN", new_y="NEXT")
    pdf.cell(0, 8, f"打印日期：{today:%Y年%m月%d日}　　村民签字：________", align="R")
