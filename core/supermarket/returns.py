"""Returns at the points supermarket (退货): any quantity of any line of a redemption.

A return follows the same reversal rules as a void (core.supermarket.shop.void): the points come back by a
``redeem_return`` ledger entry whose cause is the return (``source_type='redemption_return'``)
and whose reason names the original receipt; goods go back on the shelf by ``return`` stock
moves; the return has its own receipt (退货凭证, ``TH…``).

Invariants:
- never more is returned of a line than was bought, across every return of it: what is left is
  computed under the household's account lock (the lock checkout and void take first), so two
  returns of the same redemption at once run one after the other and the second sees the first;
- a void after partial returns gives back only the rest (``remaining``), and nothing can be
  returned of a voided redemption;
- returns are history (append-only): a return is never changed; a mistaken return is not undone
  here (ring the goods up again at the counter).

Who may return after the day of the redemption is the village setting ``late_returns_by``
(admin only, or cashiers too); on the day itself every counter role may.
"""

from __future__ import annotations

import datetime as dt
from dataclasses import dataclass

from sqlalchemy import func, select
from sqlalchemy.exc import IntegrityError
from sqlalchemy.orm import Session

from core.platform import settings
from core.platform.access import Actor, require
from core.platform.audit import record
from core.platform.errors import AlreadyDone, InvalidInput, NotAllowed, NotFound
from core.platform.pdf import Sheet
from core.platform.validate import submit_key
from core.points import posting
from core.supermarket.stock import change_stock
from db import clock
from db.enums import RedemptionStatus
from db.models import (
    Household,
    Product,
    Redemption,
    RedemptionLine,
    RedemptionReturn,
    RedemptionReturnLine,
    StaffUser,
    Village,
)

SHOP_ROLES = ("cashier", "admin")


# ---------------------------------------------------------------- pure rules


def check_late(created_on: dt.date, today: dt.date, actor: Actor, late_returns_by: str, what: str) -> None:
    """Refuse a return or void after the redemption's day unless the village lets this actor."""
    if created_on == today or actor.has("admin"):
        return
    if late_returns_by == "cashier" and actor.has("cashier"):
        return
    raise NotAllowed(f"只能{what}当天的兑换；更早的兑换请村管理员{what}。")


def clean_quantities(quantities: object, left: dict[int, int], names: dict[int, str]) -> dict[int, int]:
    """{redemption line id: qty} with whole positive quantities, none above what is left of its line.
    Zeros are dropped (a line not returned); an empty return is refused."""
    if not isinstance(quantities, dict):
        raise InvalidInput("请选择要退货的商品和数量。")
    out: dict[int, int] = {}
    for line_id, qty in quantities.items():
        if isinstance(qty, float) and qty.is_integer():
            qty = int(qty)
        if isinstance(qty, bool) or not isinstance(qty, int) or qty < 0:
            raise InvalidInput("退货数量必须是整数。")
        if qty == 0:
            continue
        if line_id not in left:
            raise NotFound("退货的商品不在这笔兑换里。")
        if qty > left[line_id]:
            raise InvalidInput(f"“{names[line_id]}”最多还能退 {left[line_id]} 件（已兑换的减去已退的），"
                               f"不能退 {qty} 件。")
        out[line_id] = qty
    if not out:
        raise InvalidInput("请至少填写一种商品的退货数量。")
    return out


def clean_reason(reason: object, what: str = "退货") -> str:
    reason = reason.strip() if isinstance(reason, str) else ""
    if not reason:
        raise InvalidInput(f"{what}必须填写原因。")
    if len(reason) > 500:
        raise InvalidInput("原因不能超过 500 个字。")
    return reason


# ---------------------------------------------------------------- reads


@dataclass(frozen=True)
class ReturnableLine:
    line_id: int
    product_id: int
    name: str
    unit: str
    kind: str
    price: int
    bought: int
    returned: int

    @property
    def left(self) -> int:
        return self.bought - self.returned


def returned_by_line(s: Session, redemption_id: int) -> dict[int, int]:
    """Quantity already returned of each line of a redemption."""
    rows = s.execute(
        select(RedemptionReturnLine.redemption_line_id, func.sum(RedemptionReturnLine.qty))
        .join(RedemptionReturn, RedemptionReturn.id == RedemptionReturnLine.return_id)
        .where(RedemptionReturn.redemption_id == redemption_id)
        .group_by(RedemptionReturnLine.redemption_line_id)
    ).all()
    return {lid: int(n) for lid, n in rows}


def returned_points(s: Session, redemption_id: int) -> int:
    return int(s.execute(select(func.coalesce(func.sum(RedemptionReturn.total), 0))
                         .where(RedemptionReturn.redemption_id == redemption_id)).scalar())


def _lines(s: Session, redemption_id: int) -> list[ReturnableLine]:
    done = returned_by_line(s, redemption_id)
    rows = s.execute(
        select(RedemptionLine.id, Product.id, Product.name, Product.unit, Product.kind, RedemptionLine.price,
               RedemptionLine.qty)
        .join(Product, Product.id == RedemptionLine.product_id)
        .where(RedemptionLine.redemption_id == redemption_id).order_by(RedemptionLine.product_id)
    ).all()
    return [ReturnableLine(lid, pid, name, unit, kind, price, qty, done.get(lid, 0))
            for lid, pid, name, unit, kind, price, qty in rows]


def returnable(db, village_id: int, redemption_id: int) -> list[ReturnableLine]:
    """Each line of a redemption with what was bought, returned so far and is left to return."""
    with db.read() as s:
        red = s.get(Redemption, redemption_id) if isinstance(redemption_id, int) else None
        if red is None or red.village_id != village_id:
            raise NotFound("找不到这笔兑换。")
        return _lines(s, red.id)


def remaining(s: Session, redemption_id: int) -> list[ReturnableLine]:
    """What a void still gives back (inside the caller's transaction, after the account lock)."""
    return _lines(s, redemption_id)


# ---------------------------------------------------------------- the write


def return_items(db, actor: Actor, redemption_id: int, quantities: dict[int, int], reason: str,
                 return_key: str) -> int:
    """Return ``quantities`` ({redemption line id: qty}) of a redemption; returns the return's id.

    Same ``return_key`` again (a double click, a second tab) → the same return, nothing given back twice."""

    key = submit_key(return_key)
    reason = clean_reason(reason)
    try:
        return _return(db, actor, redemption_id, quantities, reason, key)
    except IntegrityError:
        with db.read() as s:  # the other tab committed this very return between our check and insert
            done = s.execute(select(RedemptionReturn.id).where(RedemptionReturn.return_key == key)).scalar()
            if done is None:
                raise
            return done


def _return(db, actor: Actor, redemption_id: int, quantities: dict, reason: str, key: str) -> int:
    with db.write() as s:
        red = s.get(Redemption, redemption_id) if isinstance(redemption_id, int) else None
        if red is None:
            raise NotFound("找不到这笔兑换。")
        require(actor, SHOP_ROLES, red.village_id)
        # The account first, like checkout and void: every write to this household's redemptions
        # queues here, so what is left to return is read after the other return committed.
        posting.lock_account(s, red.household_id)
        done = s.execute(select(RedemptionReturn.id).where(RedemptionReturn.return_key == key)).scalar()
        if done is not None:
            return done
        s.refresh(red)
        if red.status != RedemptionStatus.DONE:
            raise AlreadyDone("这笔兑换已经撤销，不能再退货。")
        now = clock.now()
        check_late(red.created_at.date(), now.date(), actor, settings.get(s, red.village_id, "late_returns_by"),
                   "退货")
        lines = {ln.line_id: ln for ln in _lines(s, red.id)}
        if all(ln.left == 0 for ln in lines.values()):
            raise AlreadyDone("这笔兑换的商品已经全部退回。")
        qty = clean_quantities(quantities, {i: ln.left for i, ln in lines.items()},
                               {i: ln.name for i, ln in lines.items()})
        total = sum(lines[i].price * q for i, q in qty.items())
        n = 1 + int(s.execute(select(func.count()).select_from(RedemptionReturn)
                              .where(RedemptionReturn.redemption_id == red.id)).scalar())
        ret = RedemptionReturn(village_id=red.village_id, redemption_id=red.id, household_id=red.household_id,
                               receipt_no=f"TH{red.receipt_no.removeprefix('DH')}-{n}", return_key=key, total=total,
                               reason=reason, created_by=actor.user_id, created_at=now.replace(microsecond=0))
        s.add(ret)
        s.flush()
        products = {p.id: p for p in s.execute(
            select(Product).where(Product.id.in_([lines[i].product_id for i in qty]))).scalars()}
        for line_id in sorted(qty, key=lambda i: lines[i].product_id):  # one lock order for every till
            ln = lines[line_id]
            s.add(RedemptionReturnLine(return_id=ret.id, redemption_line_id=line_id, product_id=ln.product_id,
                                       qty=qty[line_id], price=ln.price))
            if ln.kind == "goods":
                change_stock(s, products[ln.product_id], qty[line_id], kind="return", actor=actor, reason=reason,
                             ref_type="redemption_return", ref_id=str(ret.id))
        items = "、".join(f"{lines[i].name}×{q}" for i, q in qty.items())
        if total:
            posting.post(s, household_id=red.household_id, kind="redeem_return", points=total,
                         source_type="redemption_return", source_id=ret.id, actor=actor,
                         reason=f"退货 {ret.receipt_no}（原兑换 {red.receipt_no}）：{items}；{reason}")
        record(s, actor, "shop.return", "redemption", red.id,
               {"return_id": ret.id, "total": total, "lines": {str(k): v for k, v in qty.items()}}, reason,
               village_id=red.village_id)
        return ret.id


# ---------------------------------------------------------------- the receipt


@dataclass(frozen=True)
class ReturnReceipt:
    return_id: int
    receipt_no: str
    redemption_receipt_no: str
    village: str
    door_no: str
    head_name: str
    created_at: dt.datetime
    cashier: str
    lines: list[tuple[str, str, int, int]]  # name, unit, qty, price
    total: int
    reason: str


def return_receipt(db, village_id: int, return_id: int) -> ReturnReceipt:
    with db.read() as s:
        row = s.execute(
            select(RedemptionReturn, Redemption.receipt_no, Household.door_no, Household.head_name, Village.name,
                   StaffUser.display_name)
            .join(Redemption, Redemption.id == RedemptionReturn.redemption_id)
            .join(Household, Household.id == RedemptionReturn.household_id)
            .join(Village, Village.id == RedemptionReturn.village_id)
            .outerjoin(StaffUser, StaffUser.id == RedemptionReturn.created_by)
            .where(RedemptionReturn.id == return_id)
        ).first()
        if row is None or row[0].village_id != village_id:
            raise NotFound("找不到这次退货。")
        ret, red_no, door, head, vname, cashier = row
        lines = s.execute(
            select(Product.name, Product.unit, RedemptionReturnLine.qty, RedemptionReturnLine.price)
            .join(Product, Product.id == RedemptionReturnLine.product_id)
            .where(RedemptionReturnLine.return_id == ret.id).order_by(RedemptionReturnLine.id)
        ).all()
    return ReturnReceipt(ret.id, ret.receipt_no, red_no, vname, door, head, ret.created_at, cashier or "",
                         [tuple(ln) for ln in lines], ret.total, ret.reason)


def return_receipt_pdf(r: ReturnReceipt) -> bytes:
    """A half-page A4 return receipt (退货凭证) with a signature line."""
    pdf = Sheet(title=f"退货凭证 {r.receipt_no}")
    pdf.add_page()
    pdf.set_font_size(16)
    pdf.cell(0, 10, f"{r.village} 积分超市退货凭证", align="C", new_x="LMARGIN", new_y="NEXT")
    pdf.set_font_size(11)
    pdf.cell(0, 7, f"凭证号：{r.receipt_no}    原兑换凭证：{r.redemption_receipt_no}    时间：{r.created_at:%Y-%m-%d %H:%M}",
             new_x="LMARGIN", new_y="NEXT")
    pdf.cell(0, 7, f"门牌号：{r.door_no}    户主：{r.head_name}    经办：{r.cashier}", new_x="LMARGIN", new_y="NEXT")
    pdf.ln(2)
    pdf.table_rows(["退回商品", "数量", "单价（分）", "退回积分"],
                   [[name, f"{qty}{unit}", price, qty * price] for name, unit, qty, price in r.lines],
                   [90, 30, 30, 30])
    pdf.set_font_size(12)
    pdf.cell(0, 9, f"退回积分合计：{r.total} 分", new_x="LMARGIN", new_y="NEXT")
    pdf.multi_cell(0, 7, f"退货原因：{r.reason}", new_x="LMARGIN", new_y="NEXT")
    pdf.ln(8)
    pdf.cell(0, 8, "退货人签字：____________________    日期：____________", new_x="LMARGIN", new_y="NEXT")
    return pdf.output_bytes()


def returns_frame_rows(s: Session, redemption_ids: list[int]) -> dict[int, list[str]]:
    """For the redemption list: the items returned of each redemption ('大米×1（TH…-1）')."""
    out: dict[int, list[str]] = {}
    if not redemption_ids:
        return out
    for rid, no, name, qty in s.execute(
        select(RedemptionReturn.redemption_id, RedemptionReturn.receipt_no, Product.name, RedemptionReturnLine.qty)
        .join(RedemptionReturnLine, RedemptionReturnLine.return_id == RedemptionReturn.id)
        .join(Product, Product.id == RedemptionReturnLine.product_id)
        .where(RedemptionReturn.redemption_id.in_(redemption_ids))
        .order_by(RedemptionReturn.id, RedemptionReturnLine.id)
    ):
        out.setdefault(rid, []).append(f"{name}×{qty}（{no}）")
    return out
