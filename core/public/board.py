"""The public board (公示栏) shown on the village office TV, without login.

What is public — decided here, in one place, and tested:
- items in 公示: the household head's name masked (张*明), the grid, the rule item's name,
  the points and the last day of 公示. Not the door number, the note, photos, phone numbers
  or who reported it: villagers recognise a family from the masked name and the grid, and
  raise objections at the village office;
- this month's honours (only when the village's rankings are on): masked household head
  names with the points EARNED this month, and residents who reached a volunteer star level;
- volunteer activities from today on: title, date, time, place, organiser;
- supermarket news: goods newly in stock and their prices, the number of redemptions this month;
- the village fund (村集体资金, once it has entries): its balance and this month's income and
  spending (part of 五公开: the village's money is public, whose points are not).
Never shown: balances (可用积分), phone numbers, addresses, full names, beneficiary lists
(receiving help is private), who redeemed what.

The board is off unless the village setting ``board_enabled`` is on; then it shows only
that it is switched off.
"""

from __future__ import annotations

import datetime as dt
from dataclasses import dataclass, field

from sqlalchemy import func, select
from sqlalchemy.orm import Session

from core.platform import settings
from core.platform.masking import mask_name
from core.reporting import rankings
from core.reporting.periods import period_of
from core.supermarket import fund
from db.enums import ActivityStatus, ProposalStatus, RedemptionStatus
from db.models import (
    Activity,
    FundEntry,
    Grid,
    Household,
    Product,
    Proposal,
    Redemption,
    RuleItem,
    StockMove,
    Village,
)

NEW_STOCK_DAYS = 30
MAX_ITEMS = 12  # per section: what fits on a TV screen in large type


def find_village(s: Session, code: str | None) -> Village | None:
    """The village whose code is given; without a code, the only village if there is one."""
    code = (code or "").strip()
    if code:
        return s.execute(select(Village).where(Village.code == code[:20])).scalar_one_or_none()
    first_two = s.execute(select(Village).order_by(Village.id).limit(2)).scalars().all()
    return first_two[0] if len(first_two) == 1 else None


def villages(s: Session) -> list[tuple[str, str]]:
    """(code, name) of every village, for choosing which board a TV shows."""
    return [tuple(r) for r in s.execute(select(Village.code, Village.name).order_by(Village.id)).all()]


@dataclass(frozen=True)
class BoardVillage:
    """Which board a TV shows: the village named by its code (or the only village), or, when no code
    is given and there are several, none yet and the (code, name) of each to choose from."""

    village_id: int | None
    choices: list[tuple[str, str]]


def village_for_board(db, code: str | None) -> BoardVillage:
    """The village a board address names (see :func:`find_village`); with no code and several villages,
    the choices. A code that names no village gives neither."""
    with db.read() as s:
        village = find_village(s, code)
        if village is not None or code:
            return BoardVillage(village.id if village is not None else None, [])
        return BoardVillage(None, villages(s))


def board_enabled(s: Session, village_id: int) -> bool:
    return bool(settings.get(s, village_id, "board_enabled"))


@dataclass
class BoardContent:
    village: str
    enabled: bool
    publicity: list[dict] = field(default_factory=list)  # 户主, 网格, 事项, 分值, 公示截止
    honours: list[dict] | None = None  # None = rankings switched off; 名次, 户主, 本月积分
    star_volunteers: list[dict] | None = None  # 姓名, 星级
    activities: list[dict] = field(default_factory=list)  # 活动, 日期, 时间, 地点, 组织者
    new_goods: list[dict] = field(default_factory=list)  # 商品, 所需积分
    redemptions_this_month: int = 0
    fund: dict | None = None  # None = no fund entries yet; 余额, 本月收入, 本月支出 (fen)


def content(s: Session, village_id: int, today: dt.date) -> BoardContent:
    """Everything the board may show today; nothing when the board is switched off."""
    village = s.get(Village, village_id)
    name = village.name if village else ""
    if village is None or not board_enabled(s, village_id):
        return BoardContent(village=name, enabled=False)
    out = BoardContent(village=name, enabled=True)

    rows = s.execute(
        select(Household.head_name, Grid.name.label("grid"), RuleItem.name.label("item"),
               func.coalesce(Proposal.decided_points, Proposal.points).label("points"), Proposal.publicity_until)
        .join(Household, Household.id == Proposal.household_id)
        .outerjoin(Grid, Grid.id == Household.grid_id)
        .join(RuleItem, RuleItem.id == Proposal.rule_item_id)
        .where(Proposal.village_id == village_id, Proposal.status == ProposalStatus.PUBLICITY)
        .order_by(Proposal.publicity_until, Proposal.id).limit(MAX_ITEMS * 4)).all()
    out.publicity = [{"户主": mask_name(r.head_name), "网格": r.grid or "", "事项": r.item,
                      "分值": int(r.points), "公示截止": r.publicity_until} for r in rows]

    if rankings.rankings_enabled(s, village_id):
        month = period_of("month", today)
        h = rankings.honours(s, village_id, month, top=10)
        out.honours = [{"名次": r.rank, "户主": mask_name(r.head_name), "网格": r.grid, "本月积分": r.points}
                       for r in h.households]
        out.star_volunteers = [{"姓名": mask_name(v.name), "星级": f"{rankings.STAR_NAMES.get(v.level, v.level)}志愿者"}
                               for v in h.volunteers]

    acts = s.execute(
        select(Activity.title, Activity.date, Activity.start_time, Activity.end_time, Activity.place,
               Activity.organiser)
        .where(Activity.village_id == village_id, Activity.date >= today,
               Activity.status.in_((ActivityStatus.PLANNED, ActivityStatus.OPEN)))
        .order_by(Activity.date, Activity.start_time, Activity.id).limit(MAX_ITEMS)).all()
    out.activities = [{
        "活动": a.title, "日期": a.date,
        "时间": (f"{a.start_time:%H:%M}" if a.start_time else "") + (f"–{a.end_time:%H:%M}" if a.end_time else ""),
        "地点": a.place, "组织者": a.organiser} for a in acts]

    since = dt.datetime.combine(today - dt.timedelta(days=NEW_STOCK_DAYS), dt.time())
    fresh = (select(StockMove.product_id, func.max(StockMove.created_at).label("at"))
             .where(StockMove.village_id == village_id, StockMove.created_at >= since, StockMove.qty > 0,
                    StockMove.kind.in_(("purchase", "donation", "harvest")))
             .group_by(StockMove.product_id).subquery())
    goods = s.execute(
        select(Product.name, Product.price, Product.unit)
        .join(fresh, fresh.c.product_id == Product.id)
        .where(Product.active.is_(True), Product.stock > 0)
        .order_by(fresh.c.at.desc(), Product.name).limit(MAX_ITEMS)).all()
    out.new_goods = [{"商品": g.name, "所需积分": f"{g.price} 分/{g.unit}"} for g in goods]
    m = period_of("month", today)
    out.redemptions_this_month = int(s.execute(select(func.count()).select_from(Redemption).where(
        Redemption.village_id == village_id, Redemption.status == RedemptionStatus.DONE,
        Redemption.month == m.first_month)).scalar_one())
    if s.execute(select(FundEntry.id).where(FundEntry.village_id == village_id).limit(1)).first() is not None:
        start = today.replace(day=1)
        _, by_kind = fund.month_totals(s, village_id, start, (start + dt.timedelta(days=32)).replace(day=1))
        out.fund = {"余额": fund.balance_in(s, village_id),
                    "本月收入": sum(v for k, v in by_kind.items() if k in fund.INCOME),
                    "本月支出": -sum(v for k, v in by_kind.items() if k in fund.SPENDING)}
    return out


def board_content(db, village_id: int, today: dt.date) -> BoardContent:
    """:func:`content` in a read transaction of its own, for each turn of the board's slides."""
    with db.read() as s:
        return content(s, village_id, today)
