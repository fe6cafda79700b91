"""Village statistics (村情总览) and the workbench summary (the comparison is in
core.reporting.comparison, periods in core.reporting.periods).

Everything here reads aggregates, never whole tables: ``household_month`` and
``category_month`` (kept by core.points.posting in the same transaction as each entry),
``attendance`` minutes, ``allocation`` grams and ``redemption`` rows, summed by SQL with
GROUP BY. The one exception is a grid-filtered category chart: category_month has no grid,
so that case sums ledger entries of the village's months by the (village_id, month) index.

Definitions (shown to users in the page captions):
- 加分 earned: positive points from approved acts, volunteer hours, base scores and positive
  adjustments, net of reversals; 扣分 deducted: points taken off, as a positive number;
- 兑换 redeemed: points spent in the supermarket net of voided redemptions;
- 参与户 households taking part: active households with any earned points in the period;
- 志愿时长 volunteer hours: confirmed attendance minutes of activities held in the period;
- 义田分配 produce delivered: grams of allocations signed for in the period.
"""

from __future__ import annotations

import datetime as dt
from dataclasses import dataclass

from sqlalchemy import and_, case, distinct, func, select
from sqlalchemy.orm import Session

from core.platform.access import AREA_ROLES, ROLES, Actor, require
from core.points.entry_rules import KIND_NAMES
from core.reporting.comparison import compare
from core.reporting.periods import Period, last_complete, months_back, period_of
from db.enums import ActivityStatus, Delivery, ObjectionStatus, ProposalStatus, RedemptionStatus, RoundStatus
from db.models import (
    Activity,
    Allocation,
    Attendance,
    CategoryMonth,
    DistributionRound,
    Grid,
    Household,
    HouseholdMonth,
    LedgerEntry,
    Objection,
    Product,
    Proposal,
    Redemption,
    RuleCategory,
    Village,
)

WAITING_REVIEW = ("submitted", "deferred")


# ---------------------------------------------------------------- village overview


@dataclass(frozen=True)
class Overview:
    period: Period
    earned: int
    deducted: int
    redeemed: int
    households: int  # active households (in the grid, if filtered)
    households_taking_part: int
    volunteer_minutes: int
    volunteers: int
    produce_grams: int
    redemptions: int

    @property
    def net(self) -> int:
        return self.earned - self.deducted

    @property
    def participation_pct(self) -> float:
        return round(100 * self.households_taking_part / self.households, 1) if self.households else 0.0

    @property
    def volunteer_hours(self) -> float:
        return round(self.volunteer_minutes / 60, 1)

    @property
    def produce_kg(self) -> float:
        return round(self.produce_grams / 1000, 1)


def _hm_filter(village_id: int, period: Period, grid_id: int | None):
    cond = [HouseholdMonth.village_id == village_id, HouseholdMonth.month >= period.first_month,
            HouseholdMonth.month <= period.last_month]
    if grid_id is not None:
        cond.append(HouseholdMonth.grid_id == grid_id)
    return and_(*cond)


def _grid_households(village_id: int, grid_id: int | None):
    """A subquery restricting household ids to one grid of the village (None = no restriction)."""
    return None if grid_id is None else select(Household.id).where(Household.village_id == village_id,
                                                                   Household.grid_id == grid_id)


def overview(s: Session, village_id: int, period: Period, grid_id: int | None = None) -> Overview:
    """Headline numbers of one village (optionally one grid) for a period."""
    earned, deducted, redeemed = s.execute(
        select(func.coalesce(func.sum(HouseholdMonth.earned), 0), func.coalesce(func.sum(HouseholdMonth.deducted), 0),
               func.coalesce(func.sum(HouseholdMonth.redeemed), 0))
        .where(_hm_filter(village_id, period, grid_id))
    ).one()
    # A household takes part when its earned points over the whole period are positive.
    per_household = (select(HouseholdMonth.household_id).where(_hm_filter(village_id, period, grid_id))
                     .group_by(HouseholdMonth.household_id).having(func.sum(HouseholdMonth.earned) > 0).subquery())
    taking_part = s.execute(
        select(func.count()).select_from(per_household)
        .join(Household, and_(Household.id == per_household.c.household_id, Household.village_id == village_id,
                              Household.active.is_(True)))
    ).scalar_one()
    hh_cond = [Household.village_id == village_id, Household.active.is_(True)]
    if grid_id is not None:
        hh_cond.append(Household.grid_id == grid_id)
    households = s.execute(select(func.count()).select_from(Household).where(*hh_cond)).scalar_one()

    grid_hh = _grid_households(village_id, grid_id)
    vol = (select(func.coalesce(func.sum(Attendance.minutes), 0), func.count(distinct(Attendance.resident_id)))
           .join(Activity, and_(Activity.id == Attendance.activity_id, Activity.village_id == village_id))
           .where(Attendance.village_id == village_id, Attendance.confirmed_at.is_not(None),
                  Activity.date >= period.start, Activity.date < period.end))
    if grid_hh is not None:
        vol = vol.where(Attendance.household_id.in_(grid_hh))
    minutes, volunteers = s.execute(vol).one()

    produce = (select(func.coalesce(func.sum(Allocation.grams), 0))
               .join(DistributionRound, DistributionRound.id == Allocation.round_id)
               .where(DistributionRound.village_id == village_id, Allocation.delivered_at.is_not(None),
                      Allocation.delivered_at >= dt.datetime.combine(period.start, dt.time()),
                      Allocation.delivered_at < dt.datetime.combine(period.end, dt.time())))
    if grid_hh is not None:
        produce = produce.where(Allocation.household_id.in_(grid_hh))
    grams = s.execute(produce).scalar_one()

    red = select(func.count()).select_from(Redemption).where(
        Redemption.village_id == village_id, Redemption.status == RedemptionStatus.DONE,
        Redemption.month >= period.first_month, Redemption.month <= period.last_month)
    if grid_hh is not None:
        red = red.where(Redemption.household_id.in_(grid_hh))
    redemptions = s.execute(red).scalar_one()
    return Overview(period, int(earned), int(deducted), int(redeemed), int(households), int(taking_part),
                    int(minutes), int(volunteers), int(grams), int(redemptions))


@dataclass(frozen=True)
class MonthFigures:
    """One month of the trend: points earned, deducted and redeemed (zeros for a quiet month)."""

    month: int  # yyyymm (core.reporting.periods.month_label names it)
    earned: int
    deducted: int
    redeemed: int


def monthly_trend(s: Session, village_id: int, last_month: int, n: int = 12,
                  grid_id: int | None = None) -> list[MonthFigures]:
    """加分 / 扣分 / 兑换 per month for the ``n`` months ending ``last_month`` (zeros included)."""
    months = months_back(last_month, n)
    cond = [HouseholdMonth.village_id == village_id, HouseholdMonth.month >= months[0],
            HouseholdMonth.month <= months[-1]]
    if grid_id is not None:
        cond.append(HouseholdMonth.grid_id == grid_id)
    rows = {r.month: r for r in s.execute(
        select(HouseholdMonth.month, func.sum(HouseholdMonth.earned).label("earned"),
               func.sum(HouseholdMonth.deducted).label("deducted"),
               func.sum(HouseholdMonth.redeemed).label("redeemed"))
        .where(*cond).group_by(HouseholdMonth.month))}
    out = []
    for m in months:
        r = rows.get(m)
        out.append(MonthFigures(m, int(r.earned) if r else 0, int(r.deducted) if r else 0,
                                int(r.redeemed) if r else 0))
    return out


@dataclass(frozen=True)
class CategoryFigures:
    """One rule category's net points and number of entries in the period."""

    category: str
    points: int
    entries: int


def by_category(s: Session, village_id: int, period: Period, grid_id: int | None = None) -> list[CategoryFigures]:
    """Net points per rule category, largest first; categories with neither points nor entries are left out."""
    if grid_id is None:
        q = (select(RuleCategory.name, func.sum(CategoryMonth.points), func.sum(CategoryMonth.entries))
             .join(RuleCategory, and_(RuleCategory.id == CategoryMonth.category_id,
                                      RuleCategory.village_id == village_id))
             .where(CategoryMonth.village_id == village_id, CategoryMonth.month >= period.first_month,
                    CategoryMonth.month <= period.last_month)
             .group_by(RuleCategory.id, RuleCategory.name))
    else:
        # Reversals count -1 entry, as in category_month.
        q = (select(RuleCategory.name, func.sum(LedgerEntry.delta_earned),
                    func.sum(case((LedgerEntry.reverses_id.is_(None), 1), else_=-1)))
             .join(RuleCategory, and_(RuleCategory.id == LedgerEntry.category_id,
                                      RuleCategory.village_id == village_id))
             .where(LedgerEntry.village_id == village_id, LedgerEntry.month >= period.first_month,
                    LedgerEntry.month <= period.last_month,
                    LedgerEntry.household_id.in_(_grid_households(village_id, grid_id)))
             .group_by(RuleCategory.id, RuleCategory.name))
    rows = [CategoryFigures(name, int(p or 0), int(n or 0)) for name, p, n in s.execute(q)]
    rows = [r for r in rows if r.points or r.entries]
    rows.sort(key=lambda r: (-r.points, r.category))
    return rows


@dataclass(frozen=True)
class GridFigures:
    """One grid's active households and points in the period, in the grids' own order."""

    grid_id: int
    grid: str
    households: int
    earned: int
    deducted: int
    net: int
    redeemed: int
    households_taking_part: int
    participation_pct: float  # households taking part ÷ households, one decimal


def by_grid(s: Session, village_id: int, period: Period) -> list[GridFigures]:
    """Per grid: households, earned, deducted, net, redeemed and participation."""
    grids = s.execute(select(Grid.id, Grid.name).where(Grid.village_id == village_id).order_by(Grid.id)).all()
    counts = dict(s.execute(
        select(Household.grid_id, func.count()).where(Household.village_id == village_id,
                                                      Household.active.is_(True))
        .group_by(Household.grid_id)).all())
    per_hh = (select(HouseholdMonth.household_id, HouseholdMonth.grid_id,
                     func.sum(HouseholdMonth.earned).label("earned"),
                     func.sum(HouseholdMonth.deducted).label("deducted"),
                     func.sum(HouseholdMonth.redeemed).label("redeemed"))
              .where(_hm_filter(village_id, period, None))
              .group_by(HouseholdMonth.household_id, HouseholdMonth.grid_id).subquery())
    sums = {r.grid_id: r for r in s.execute(
        select(per_hh.c.grid_id, func.sum(per_hh.c.earned).label("earned"),
               func.sum(per_hh.c.deducted).label("deducted"), func.sum(per_hh.c.redeemed).label("redeemed"),
               func.sum(case((per_hh.c.earned > 0, 1), else_=0)).label("taking_part"))
        .group_by(per_hh.c.grid_id))}
    out = []
    for gid, name in grids:
        r = sums.get(gid)
        n = int(counts.get(gid, 0))
        earned, deducted = (int(r.earned), int(r.deducted)) if r else (0, 0)
        part = int(r.taking_part) if r else 0
        out.append(GridFigures(gid, name, n, earned, deducted, earned - deducted, int(r.redeemed) if r else 0,
                               part, round(100 * part / n, 1) if n else 0.0))
    return out


def grids(s: Session, village_id: int) -> list[tuple[int, str]]:
    return [tuple(r) for r in s.execute(
        select(Grid.id, Grid.name).where(Grid.village_id == village_id).order_by(Grid.id)).all()]


FEED_KIND_NAMES = {**KIND_NAMES, "activity": "志愿活动"}  # a feed item's kind in words


@dataclass(frozen=True)
class FeedItem:
    """One line of the recent-activity feed: a ledger entry (``kind`` its ledger kind, with the
    household) or a volunteer activity (``kind`` "activity", with its date); FEED_KIND_NAMES."""

    at: dt.datetime
    kind: str
    door_no: str | None  # None for an activity
    head_name: str | None
    what: str  # an entry's category or else its reason ("" when neither); an activity's title
    activity_date: dt.date | None  # None for an entry
    points: int | None  # spendable points for redemptions and clearing, else earned; None for an activity


def recent_activity(s: Session, village_id: int, limit: int = 20) -> list[FeedItem]:
    """What happened lately: newest ledger entries and volunteer activities, newest first."""
    entries = s.execute(
        select(LedgerEntry.created_at, LedgerEntry.kind, LedgerEntry.delta_earned, LedgerEntry.delta_balance,
               LedgerEntry.reason, Household.door_no, Household.head_name, RuleCategory.name.label("category"))
        .join(Household, and_(Household.id == LedgerEntry.household_id, Household.village_id == village_id))
        .outerjoin(RuleCategory, and_(RuleCategory.id == LedgerEntry.category_id, RuleCategory.village_id == village_id))
        .where(LedgerEntry.village_id == village_id)
        .order_by(LedgerEntry.id.desc()).limit(limit)).all()
    rows = []
    for e in entries:
        points = e.delta_earned if e.kind not in ("redeemed", "redeem_void", "redeem_return", "clearing") else e.delta_balance
        rows.append(FeedItem(e.created_at, e.kind, e.door_no, e.head_name, e.category or e.reason or "", None,
                             int(points)))
    acts = s.execute(select(Activity.created_at, Activity.title, Activity.date, Activity.status)
                     .where(Activity.village_id == village_id)
                     .order_by(Activity.id.desc()).limit(5)).all()
    for a in acts:
        rows.append(FeedItem(a.created_at, "activity", None, None, a.title, a.date, None))
    rows.sort(key=lambda r: r.at, reverse=True)
    return rows[:limit]


# ---------------------------------------------------------------- workbench (工作台)


@dataclass(frozen=True)
class TodayItem:
    label: str
    value: str
    page: str  # module in pages/ the item links to
    help: str = ""
    alert: bool = False  # something waits for someone


def today_summary(s: Session, actor: Actor, today: dt.date) -> list[TodayItem]:
    """A short, role-aware list of what needs attention today; pages filter links by role."""
    if actor.roles & set(AREA_ROLES) and not actor.has(*_VILLAGE_ROLES):
        return _township_today(s, actor, today)
    vid = actor.village_id
    if vid is None:
        return []
    items: list[TodayItem] = []
    if actor.has("committee", "admin", "grid_worker"):
        waiting = s.execute(select(func.count()).select_from(Proposal).where(
            Proposal.village_id == vid, Proposal.status.in_(WAITING_REVIEW))).scalar_one()
        items.append(TodayItem("待评议申报", f"{waiting} 件", "review" if actor.has("committee", "admin")
                               else "proposal_new", "已提交、等待评议会决定的积分申报", waiting > 0))
        public = s.execute(select(func.count()).select_from(Proposal).where(
            Proposal.village_id == vid, Proposal.status == ProposalStatus.PUBLICITY)).scalar_one()
        objections = s.execute(select(func.count()).select_from(Objection)
                               .join(Proposal, Proposal.id == Objection.proposal_id)
                               .where(Proposal.village_id == vid,
                                       Objection.status == ObjectionStatus.OPEN)).scalar_one()
        items.append(TodayItem("公示中事项", f"{public} 件", "publicity",
                               f"其中未处理异议 {objections} 件" if objections else "公示期满后记入积分账户",
                               objections > 0))
    if actor.has("cashier", "admin"):
        low = s.execute(select(func.count()).select_from(Product).where(
            Product.village_id == vid, Product.kind == "goods", Product.active.is_(True),
            Product.stock <= Product.low_stock)).scalar_one()
        items.append(TodayItem("库存不足商品", f"{low} 种", "products", "库存低于预警线的商品", low > 0))
        day_start = dt.datetime.combine(today, dt.time())
        red = s.execute(select(func.count()).select_from(Redemption).where(
            Redemption.village_id == vid, Redemption.status == RedemptionStatus.DONE,
            Redemption.created_at >= day_start,
            Redemption.created_at < day_start + dt.timedelta(days=1))).scalar_one()
        items.append(TodayItem("今日兑换", f"{red} 笔", "redemptions"))
        pending = s.execute(select(func.count()).select_from(Redemption).where(
            Redemption.village_id == vid, Redemption.status == RedemptionStatus.DONE,
            Redemption.delivery == Delivery.PENDING)
        ).scalar_one()
        if pending:
            items.append(TodayItem("待送货上门", f"{pending} 单", "redemptions", "行动不便户的兑换物品", True))
    if actor.has("volunteer_lead", "field_lead", "admin"):
        acts = s.execute(select(func.count()).select_from(Activity).where(
            Activity.village_id == vid, Activity.date == today,
            Activity.status != ActivityStatus.CANCELLED)).scalar_one()
        items.append(TodayItem("今日志愿活动", f"{acts} 场", "checkin" if acts else "activities"))
        unconfirmed = s.execute(select(func.count()).select_from(Attendance)
                                .join(Activity, Activity.id == Attendance.activity_id)
                                .where(Attendance.village_id == vid, Attendance.confirmed_at.is_(None),
                                       Attendance.minutes.is_not(None), Activity.date <= today)).scalar_one()
        if unconfirmed and actor.has("volunteer_lead", "admin"):
            items.append(TodayItem("待确认志愿时长", f"{unconfirmed} 人次", "activities", "", True))
    if actor.has("field_lead", "admin"):
        undelivered = s.execute(select(func.count()).select_from(Allocation)
                                .join(DistributionRound, DistributionRound.id == Allocation.round_id)
                                .where(DistributionRound.village_id == vid,
                                       DistributionRound.status == RoundStatus.CONFIRMED,
                                       Allocation.delivered_at.is_(None))).scalar_one()
        items.append(TodayItem("待签领义田分配", f"{undelivered} 户", "distribution", "", undelivered > 0))
    if actor.has("admin", "committee"):
        ov = overview(s, vid, period_of("month", today))
        items.append(TodayItem("本月净积分", f"{ov.net} 分", "overview",
                               f"加分 {ov.earned}，扣分 {ov.deducted}，参与率 {ov.participation_pct}%"))
    return items


_VILLAGE_ROLES = ("admin", "committee", "grid_worker", "cashier", "volunteer_lead", "field_lead")


@dataclass(frozen=True)
class Workbench:
    """The workbench's head: where the user works and what needs attention, one snapshot."""

    village: str  # the user's village ("" for staff of no village)
    items: list[TodayItem]


def workbench(db, actor: Actor, today: dt.date) -> Workbench:
    """Every staff role has a workbench; an account without a role has none."""
    require(actor, ROLES)
    with db.read() as s:
        return Workbench(village_name(s, actor.village_id) if actor.village_id else "",
                         today_summary(s, actor, today))


def _township_today(s: Session, actor: Actor, today: dt.date) -> list[TodayItem]:
    """Area staff: their villages over the last complete month (the current one has hardly begun)."""
    period = last_complete("month", today)
    rows = compare(s, actor, period)
    if not rows:
        return [TodayItem("本镇村庄" if "county_admin" not in actor.roles else "本县村庄", "0 个", "compare",
                          "账号未设置所属镇街或县区，请联系管理员。")]
    hh = sum(r.households for r in rows)
    part = sum(r.households_taking_part for r in rows)
    where = "本县" if "county_admin" in actor.roles else "本镇"
    return [
        TodayItem(f"{where}村庄", f"{len(rows)} 个", "compare", f"共 {hh} 户"),
        TodayItem(f"{period.label}净积分", f"{sum(r.net for r in rows)} 分", "compare"),
        TodayItem(f"{period.label}参与率", f"{round(100 * part / hh, 1) if hh else 0.0}%", "compare"),
        TodayItem(f"{period.label}志愿时长", f"{round(sum(r.volunteer_minutes for r in rows) / 60, 1)} 小时", "compare"),
    ]


def village_name(s: Session, village_id: int | None) -> str:
    if village_id is None:
        return ""
    v = s.get(Village, village_id)
    return v.name if v else ""

