"""Distribution rounds (分配轮次) and signed delivery (签领) of the charity field's produce.

A round is first a draft: the allocation computed by core.charity.allocation.allocate from the
households eligible that day (the register in :mod:`core.charity.field_aid`). The lead may adjust the
amounts; confirming re-checks eligibility, the exact total and the bounds, writes the final amounts and
takes the total out of the produce stock — one transaction. Each allocation is then signed for once: by
scanning the household card or by a proxy who signs the printed 签领表. A second delivery of the same
allocation is refused by a conditional UPDATE, so two staff scanning the same card cannot both hand out
produce.
"""

from __future__ import annotations

import datetime as dt
import json
from dataclasses import dataclass

from sqlalchemy import func, select, update
from sqlalchemy.orm import Session

from core.charity import allocation
from core.charity.field import FIELD_ROLES, _id, _village, fmt_kg, kg_to_grams, kg_value
from core.charity.field_aid import (
    ROUND_STATUS,
    _category,
    _claims_in,
)
from core.charity.produce import move_produce, stock_grams
from core.platform import settings, validate
from core.platform.access import Actor, require
from core.platform.audit import record
from core.platform.errors import AlreadyDone, InvalidInput, NotFound
from core.village.templates import BENEFICIARY_CATEGORIES
from db.enums import CardStatus, RoundStatus
from db.models import (
    Allocation,
    DistributionRound,
    Household,
    StaffUser,
    now,
)

# ---------------------------------------------------------------- rounds


def _round(s: Session, actor: Actor, round_id: object, lock: bool = False) -> DistributionRound:
    q = select(DistributionRound).where(DistributionRound.id == _id(round_id, "分配轮次"))
    if lock:
        q = q.with_for_update()
    r = s.execute(q).scalar_one_or_none()
    if r is None:
        raise NotFound("找不到该分配轮次。")
    require(actor, FIELD_ROLES, r.village_id)
    return r


def _optional_kg(value: object, label: str) -> int | None:
    if value is None or value == "" or value == 0:
        return None
    return kg_to_grams(value, label)


def create_round(db, actor: Actor, *, title: str, crop: str, total_kg: object, rule: str,
                 min_kg: object = None, max_kg: object = None, categories: list[str] | None = None,
                 on: dt.date | None = None) -> int:
    """A draft round with the computed allocation (nothing leaves the stock yet). Returns its id.

    Eligible: approved, active, not expired on ``on`` (default today); ``categories``
    narrows the round to some categories (e.g. only 五保 and 低保)."""
    title = validate.text(title, "轮次名称", 80)
    crop = validate.text(crop, "作物", 20, required=True)
    total = kg_to_grams(total_kg, "分配总量")
    lo = _optional_kg(min_kg, "每户最少量") or 0
    hi = _optional_kg(max_kg, "每户最多量")
    if rule not in allocation.RULES:
        raise InvalidInput("请选择分配方式。")
    cats = tuple(_category(c) for c in categories) if categories else None
    on = on or dt.date.today()
    village_id = _village(actor)
    require(actor, FIELD_ROLES, village_id)
    with db.write() as s:
        have = stock_grams(s, village_id, crop)
        if total > have:
            raise InvalidInput(f"“{crop}”库存只有 {fmt_kg(have)} 公斤，不能分 {fmt_kg(total)} 公斤。")
        weights = settings.get(s, village_id, "beneficiary_weights")
        claims = _claims_in(s, village_id, on, cats)
        units = allocation.allocate(total // allocation.UNIT_GRAMS, claims, rule, weights,
                                    lo // allocation.UNIT_GRAMS, hi // allocation.UNIT_GRAMS if hi else None)
        params = {"weights": weights, "min_grams": lo, "max_grams": hi, "categories": list(cats) if cats else None,
                  "on": on.isoformat()}
        r = DistributionRound(village_id=village_id, title=title or f"{on:%Y年%m月}{crop}分配", crop=crop,
                              total_grams=total, rule=rule, params=json.dumps(params, ensure_ascii=False),
                              status=RoundStatus.DRAFT, created_by=actor.user_id)
        s.add(r)
        s.flush()
        for c in claims:
            s.add(Allocation(round_id=r.id, household_id=c.household_id,
                             category=allocation.primary_category(c.categories, weights), persons=c.persons,
                             grams=units[c.household_id] * allocation.UNIT_GRAMS))
        s.flush()
        record(s, actor, "round.create", "distribution_round", r.id,
               {"crop": crop, "total_grams": total, "rule": rule, "households": len(claims), **params},
               village_id=village_id)
        return r.id


def confirm_round(db, actor: Actor, round_id: int, adjusted_grams: dict[int, int] | None = None) -> int:
    """Confirm a draft: apply the lead's adjustments (household_id → grams), re-validate
    (eligible today, exact total, bounds), take the total from the produce stock. Returns
    the produce move id. A second confirm is refused: the round is no longer a draft."""
    with db.write() as s:
        r = _round(s, actor, round_id, lock=True)
        if r.status != RoundStatus.DRAFT:
            raise AlreadyDone(f"该轮次{ROUND_STATUS.get(r.status, r.status)}，不能再确认。")
        params = json.loads(r.params or "{}")
        rows = {a.household_id: a for a in s.execute(select(Allocation).where(Allocation.round_id == r.id)
                                                     .with_for_update()).scalars()}
        if adjusted_grams is not None:
            unknown = set(adjusted_grams) - set(rows)
            if unknown:
                raise InvalidInput("调整表中有不在本轮名单里的户，请刷新后重试。")
            for grams in adjusted_grams.values():
                if isinstance(grams, bool) or not isinstance(grams, int) or grams % allocation.UNIT_GRAMS:
                    raise InvalidInput("每户分配量必须精确到 0.1 公斤。")
        grams_by_hh = {hid: (adjusted_grams or {}).get(hid, a.grams) for hid, a in rows.items()}
        unit = allocation.UNIT_GRAMS
        allocation.validate_adjusted(r.total_grams // unit, {h: g // unit for h, g in grams_by_hh.items()},
                                     (params.get("min_grams") or 0) // unit,
                                     params["max_grams"] // unit if params.get("max_grams") else None)
        cats = tuple(params["categories"]) if params.get("categories") else None
        still = {c.household_id for c in _claims_in(s, r.village_id, dt.date.today(), cats)}
        lapsed = [hid for hid, g in grams_by_hh.items() if g > 0 and hid not in still]
        if lapsed:
            doors = s.execute(select(Household.door_no).where(Household.id.in_(lapsed))).scalars().all()
            raise InvalidInput(f"这些户已不在有效的受助名单中（过期、停用或未审核）：{'、'.join(doors)}。"
                               "请作废本草稿，重新生成分配。")
        changed = {}
        for hid, a in rows.items():
            if a.grams != grams_by_hh[hid]:
                changed[hid] = [a.grams, grams_by_hh[hid]]
                a.grams = grams_by_hh[hid]
        move = move_produce(s, actor, r.village_id, r.crop, -r.total_grams, "deliver",
                            ref_type="distribution_round", ref_id=r.id, note=f"分配：{r.title}")
        r.status = RoundStatus.CONFIRMED
        record(s, actor, "round.confirm", "distribution_round", r.id,
               {"total_grams": r.total_grams, "adjusted": changed, "move_id": move.id}, village_id=r.village_id)
        return move.id


def close_round(db, actor: Actor, round_id: int, reason: str) -> int:
    """End a confirmed round before everyone has collected (e.g. the produce would spoil, or
    a household moved away): what is still undelivered goes back into the produce stock as
    one 未领退库 move, those allocations are marked returned with the reason, and the round
    is closed (no more deliveries). Returns the grams returned."""
    reason = validate.text(reason, "结束原因", 200, required=True)
    with db.write() as s:
        r = _round(s, actor, round_id, lock=True)
        if r.status != RoundStatus.CONFIRMED:
            raise InvalidInput(f"该轮次{ROUND_STATUS.get(r.status, r.status)}，只有已确认、正在发放的轮次可以结束。")
        left = list(s.execute(select(Allocation).where(Allocation.round_id == r.id, Allocation.delivered_at.is_(None),
                                                      Allocation.grams > 0, Allocation.via != "returned")
                              .with_for_update()).scalars())
        grams = sum(a.grams for a in left)
        move_id = None
        if grams:
            move = move_produce(s, actor, r.village_id, r.crop, grams, "return", ref_type="distribution_round",
                                ref_id=r.id, note=f"未领退库：{r.title}（{reason}）"[:200])
            move_id = move.id
        for a in left:
            a.via, a.note = "returned", f"未领取，已退回库存：{reason}"[:500]
        r.status = RoundStatus.CLOSED
        record(s, actor, "round.close", "distribution_round", r.id,
               {"returned_grams": grams, "households": [a.household_id for a in left], "move_id": move_id},
               reason, village_id=r.village_id)
        return grams


def adjusted_from_kg(values: dict[int, object]) -> dict[int, int]:
    """The adjustment table's kg (to 0.1, 0 allowed) → grams per household; refuses other input."""
    out = {}
    for hid, v in values.items():
        if v is None or (isinstance(v, float) and v != v):
            v = 0
        out[int(hid)] = kg_to_grams(f"{float(v):.6f}".rstrip("0").rstrip("."), "分配量", allow_zero=True)
    return out


def cancel_draft(db, actor: Actor, round_id: int) -> None:
    """Discard a draft (nothing left the stock); kept, marked 已作废."""
    with db.write() as s:
        r = _round(s, actor, round_id, lock=True)
        if r.status != RoundStatus.DRAFT:
            raise InvalidInput("只有草稿可以作废；已确认的轮次已出库。")
        r.status = RoundStatus.CANCELLED
        record(s, actor, "round.cancel", "distribution_round", r.id, village_id=r.village_id)


@dataclass(frozen=True)
class RoundRow:
    """One distribution round with its counts: ``rule`` (allocation.RULES) and ``status``
    (ROUND_STATUS) are the stored codes."""

    id: int
    title: str
    crop: str
    total_grams: int
    rule: str
    households: int
    persons: int
    delivered: int
    status: str
    created_at: dt.datetime

    @property
    def total_kg(self) -> float:
        return kg_value(self.total_grams)


def rounds(db, village_id: int) -> list[RoundRow]:
    """The village's rounds, newest first: households and people with a share (grams > 0), and
    how many of them have signed."""
    with db.read() as s:
        stats = (select(Allocation.round_id, func.count().label("n"),
                        func.count(Allocation.delivered_at).label("d"),
                        func.sum(Allocation.persons).label("p"))
                 .where(Allocation.grams > 0).group_by(Allocation.round_id).subquery())
        rows = s.execute(select(DistributionRound, stats.c.n, stats.c.d, stats.c.p)
                         .outerjoin(stats, stats.c.round_id == DistributionRound.id)
                         .where(DistributionRound.village_id == village_id)
                         .order_by(DistributionRound.id.desc())).all()
    return [RoundRow(r.id, r.title, r.crop, r.total_grams, r.rule, n or 0, p or 0, d or 0, r.status, r.created_at)
            for r, n, d, p in rows]


def settings_weights(db, village_id: int) -> dict[str, float]:
    with db.read() as s:
        return settings.get(s, village_id, "beneficiary_weights")


def round_choices(db, village_id: int, statuses: tuple[str, ...] = (RoundStatus.DRAFT, RoundStatus.CONFIRMED)
                  ) -> list[tuple[int, str]]:
    with db.read() as s:
        rows = s.execute(select(DistributionRound.id, DistributionRound.title, DistributionRound.status)
                         .where(DistributionRound.village_id == village_id, DistributionRound.status.in_(statuses))
                         .order_by(DistributionRound.id.desc())).all()
    # Rounds that need work first (drafts, then those still being handed out), newest first.
    rank = {"draft": 0, "confirmed": 1}
    rows = sorted(rows, key=lambda r: (rank.get(r[2], 2), -r[0]))
    return [(rid, f"{title}（{ROUND_STATUS.get(st, st)}）") for rid, title, st in rows]


def round_info(db, village_id: int, round_id: int) -> DistributionRound:
    with db.read() as s:
        r = s.get(DistributionRound, round_id)
        if r is None or r.village_id != village_id:
            raise NotFound("找不到该分配轮次。")
        return r


VIA_NAMES = {"card": "扫卡", "proxy": "代签", "returned": "未领退库"}


@dataclass(frozen=True)
class AllocationRow:
    """One household's share in a round and how it was signed for: ``category`` is the
    BENEFICIARY_CATEGORIES code, ``via`` the VIA_NAMES code (None until signed or returned)."""

    id: int
    household_id: int
    door_no: str
    head_name: str
    phone: str | None
    category: str
    persons: int
    grams: int
    has_card: bool
    delivered_at: dt.datetime | None
    via: str | None
    signed_by: str | None
    staff: str | None
    note: str | None

    @property
    def kg(self) -> float:
        return kg_value(self.grams)


def allocations(db, village_id: int, round_id: int, only_undelivered: bool = False) -> list[AllocationRow]:
    """A round's allocations by door number; ``only_undelivered``: those with a share still to sign for."""
    from db.models import Card

    with db.read() as s:
        q = (select(Allocation, Household.door_no, Household.head_name, Household.phone, StaffUser.display_name,
                    Card.id)
             .join(DistributionRound, DistributionRound.id == Allocation.round_id)
             .join(Household, Household.id == Allocation.household_id)
             .outerjoin(StaffUser, StaffUser.id == Allocation.delivered_by)
             .outerjoin(Card, (Card.household_id == Allocation.household_id) & (Card.status == CardStatus.ACTIVE))
             .where(Allocation.round_id == round_id, DistributionRound.village_id == village_id))
        if only_undelivered:
            q = q.where(Allocation.delivered_at.is_(None), Allocation.grams > 0)
        rows = s.execute(q.order_by(Household.door_no)).all()
    return [AllocationRow(a.id, a.household_id, door, head, phone, a.category, a.persons, a.grams, card is not None,
                          a.delivered_at, a.via or None, a.signed_by, who, a.note)
            for a, door, head, phone, who, card in rows]


# ---------------------------------------------------------------- delivery


def _deliver(s: Session, actor: Actor, a: Allocation, r: DistributionRound, via: str, signed_by: str,
             note: str) -> None:
    if r.status != RoundStatus.CONFIRMED:
        raise InvalidInput(f"该轮次{ROUND_STATUS.get(r.status, r.status)}，不能签领。")
    if a.grams <= 0:
        raise InvalidInput("该户本轮分配量为 0，无需签领。")
    res = s.execute(update(Allocation).where(Allocation.id == a.id, Allocation.delivered_at.is_(None))
                    .values(delivered_at=now(), delivered_by=actor.user_id, via=via, signed_by=signed_by, note=note)
                    .execution_options(synchronize_session=False))
    if res.rowcount != 1:
        s.refresh(a)
        raise AlreadyDone(f"该户已于 {a.delivered_at:%m-%d %H:%M} 签领（{a.signed_by or '扫卡'}），不能重复发放。")
    s.expire(a)
    record(s, actor, "allocation.deliver", "allocation", a.id,
           {"round_id": r.id, "household_id": a.household_id, "via": via, "grams": a.grams}, note,
           village_id=r.village_id)
    undelivered = s.execute(select(func.count()).select_from(Allocation).where(
        Allocation.round_id == r.id, Allocation.delivered_at.is_(None), Allocation.grams > 0)).scalar_one()
    if undelivered == 0:
        r.status = RoundStatus.CLOSED


def deliver_by_card(db, actor: Actor, round_id: int, scanned: str) -> str:
    """Scan the household card at the hand-out table; returns a message for the screen."""
    from core.village.cards import resolve

    with db.write() as s:
        r = _round(s, actor, round_id, lock=True)
        _card, hh = resolve(s, r.village_id, scanned)
        a = s.execute(select(Allocation).where(Allocation.round_id == r.id, Allocation.household_id == hh.id)
                      ).scalar_one_or_none()
        if a is None:
            raise NotFound(f"{hh.door_no} {hh.head_name} 不在本轮分配名单中。")
        _deliver(s, actor, a, r, "card", hh.head_name, "")
        return f"{hh.door_no} {hh.head_name}：已签领 {fmt_kg(a.grams)} 公斤{r.crop}。"


def deliver_by_proxy(db, actor: Actor, allocation_id: int, signed_by: str, note: str = "") -> str:
    """Delivery without a card: who signed (本人或代领人) and a note, e.g. 送货上门."""
    signed_by = validate.text(signed_by, "签领人姓名", 40, required=True)
    note = validate.text(note, "备注", 200)
    with db.write() as s:
        a = s.get(Allocation, _id(allocation_id, "分配记录"))
        if a is None:
            raise NotFound("找不到该分配记录。")
        r = _round(s, actor, a.round_id, lock=True)
        _deliver(s, actor, a, r, "proxy", signed_by, note)
        hh = s.get(Household, a.household_id)
        return f"{hh.door_no} {hh.head_name}：由 {signed_by} 签领 {fmt_kg(a.grams)} 公斤{r.crop}。"


def signoff_pdf(db, village_id: int, round_id: int, only_undelivered: bool = True,
                without_card_only: bool = False) -> bytes:
    """签领表: one line per household with an empty signature column, for households
    without a card or for a proxy; already signed households are left out by default."""
    from core.platform.pdf import Sheet
    from db.models import Village

    r = round_info(db, village_id, round_id)
    rows = allocations(db, village_id, round_id, only_undelivered=only_undelivered)
    if without_card_only:
        rows = [a for a in rows if not a.has_card]
    with db.read() as s:
        vname = s.get(Village, village_id).name
    pdf = Sheet(title=f"{r.title} 签领表")
    pdf.add_page()
    pdf.set_font_size(16)
    pdf.cell(0, 10, f"{vname} 党员义田 {r.crop}分配签领表", align="C", new_x="LMARGIN", new_y="NEXT")
    pdf.set_font_size(10)
    pdf.cell(0, 7, f"轮次：{r.title}    总量：{fmt_kg(r.total_grams)} 公斤    本表 {len(rows)} 户    "
             f"打印时间：{dt.datetime.now():%Y-%m-%d %H:%M}", new_x="LMARGIN", new_y="NEXT")
    lines = [[i + 1, a.door_no, a.head_name, BENEFICIARY_CATEGORIES.get(a.category, a.category), a.persons,
              f"{a.kg:.1f}", "", ""] for i, a in enumerate(rows)]
    pdf.table_rows(["序号", "门牌号", "户主", "类别", "人口", "公斤", "签领人签字", "日期"], lines,
                   [12, 22, 28, 30, 12, 18, 45, 23], font_size=12)
    pdf.ln(6)
    pdf.cell(0, 7, "发放人：____________    监督人：____________    村委会（盖章）", new_x="LMARGIN", new_y="NEXT")
    return pdf.output_bytes()
