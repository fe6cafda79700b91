"""Reading redemptions back: receipts (printable), the redemption list and the
home-delivery list. Reads only; the writes live in core.supermarket.shop."""

from __future__ import annotations

import datetime as dt
from dataclasses import dataclass

from sqlalchemy import func, select

from core.platform.errors import NotFound
from core.platform.pdf import Sheet
from core.supermarket.returns import returns_frame_rows
from db.enums import Delivery, RedemptionStatus
from db.models import Household, Product, Redemption, RedemptionLine, RedemptionReturn, StaffUser, Village

STATUS_NAMES = {"done": "已兑换", "voided": "已撤销", "partly_returned": "部分退货", "returned": "已全部退货"}
DELIVERY_NAMES = {"none": "自提", "pending": "待送货", "delivered": "已送达"}


@dataclass(frozen=True)
class ReceiptLine:
    name: str
    unit: str
    qty: int
    price: int

    @property
    def amount(self) -> int:
        return self.qty * self.price


@dataclass(frozen=True)
class Receipt:
    redemption_id: int
    receipt_no: str
    village: str
    door_no: str
    head_name: str
    created_at: dt.datetime
    cashier: str
    lines: list[ReceiptLine]
    total: int
    status: str
    delivery: str
    void_reason: str


def receipt(db, village_id: int, redemption_id: int) -> Receipt:
    with db.read() as s:
        row = s.execute(
            select(Redemption, Household, Village.name, StaffUser.display_name)
            .join(Household, Household.id == Redemption.household_id)
            .join(Village, Village.id == Redemption.village_id)
            .outerjoin(StaffUser, StaffUser.id == Redemption.created_by)
            .where(Redemption.id == redemption_id)
        ).first()
        if row is None or row[0].village_id != village_id:
            raise NotFound("找不到这笔兑换。")
        red, hh, vname, cashier = row
        lines = s.execute(
            select(Product.name, Product.unit, RedemptionLine.qty, RedemptionLine.price)
            .join(Product, Product.id == RedemptionLine.product_id)
            .where(RedemptionLine.redemption_id == red.id).order_by(RedemptionLine.id)
        ).all()
    return Receipt(red.id, red.receipt_no, vname, hh.door_no, hh.head_name, red.created_at, cashier or "",
                   [ReceiptLine(*ln) for ln in lines], red.total, red.status, red.delivery, red.void_reason)


def receipt_pdf(r: Receipt) -> bytes:
    """A half-page A4 receipt with a signature line (兑换凭证)."""
    pdf = Sheet(title=f"兑换凭证 {r.receipt_no}")
    pdf.add_page()
    pdf.set_font_size(16)
    pdf.cell(0, 10, f"{r.village} 积分超市兑换凭证", align="C", new_x="LMARGIN", new_y="NEXT")
    pdf.set_font_size(11)
    pdf.cell(0, 7, f"凭证号：{r.receipt_no}    时间：{r.created_at:%Y-%m-%d %H:%M}", new_x="LMARGIN", new_y="NEXT")
    pdf.cell(0, 7, f"门牌号：{r.door_no}    户主：{r.head_name}    收银员：{r.cashier}",
             new_x="LMARGIN", new_y="NEXT")
    pdf.ln(2)
    pdf.table_rows(["商品", "数量", "单价（分）", "小计（分）"],
                   [[ln.name, f"{ln.qty}{ln.unit}", ln.price, ln.amount] for ln in r.lines], [90, 30, 30, 30])
    pdf.set_font_size(12)
    pdf.cell(0, 9, f"合计：{r.total} 积分    {DELIVERY_NAMES.get(r.delivery, '')}", new_x="LMARGIN", new_y="NEXT")
    if r.status == RedemptionStatus.VOIDED:
        pdf.cell(0, 8, f"本笔兑换已撤销：{r.void_reason}", new_x="LMARGIN", new_y="NEXT")
    pdf.ln(8)
    pdf.cell(0, 8, "领取人签字：____________________    日期：____________", new_x="LMARGIN", new_y="NEXT")
    return pdf.output_bytes()


SLIP_WIDTHS = (58, 80)  # receipt-printer paper, mm


def receipt_slip_pdf(r: Receipt, width_mm: int = 58) -> bytes:
    """The receipt for a receipt printer (58 or 80 mm paper): one narrow page as long as its lines."""
    if width_mm not in SLIP_WIDTHS:
        raise ValueError(width_mm)
    margin = 3
    text_w = width_mm - 2 * margin
    size = 9 if width_mm == 58 else 10.5
    lines = [f"{ln.name} ×{ln.qty}{ln.unit}  {ln.amount}分" for ln in r.lines]
    height = 62 + 5.5 * sum(1 + len(x) // (14 if width_mm == 58 else 20) for x in lines)
    pdf = Sheet(title=f"兑换凭证 {r.receipt_no}", page_format=(width_mm, height))
    pdf.set_margins(margin, margin, margin)
    pdf.set_auto_page_break(False)
    pdf.add_page()
    pdf.set_font_size(size + 2)
    pdf.multi_cell(text_w, 6, f"{r.village}\n积分超市兑换凭证", align="C", new_x="LMARGIN", new_y="NEXT")
    pdf.set_font_size(size)
    for text in (f"凭证号 {r.receipt_no}", f"{r.created_at:%Y-%m-%d %H:%M}  收银 {r.cashier}",
                 f"{r.door_no}  {r.head_name}"):
        pdf.multi_cell(text_w, 5, text, new_x="LMARGIN", new_y="NEXT")
    pdf.cell(text_w, 4, "-" * (32 if width_mm == 58 else 46), new_x="LMARGIN", new_y="NEXT")
    for text in lines:
        pdf.multi_cell(text_w, 5, text, new_x="LMARGIN", new_y="NEXT")
    pdf.cell(text_w, 4, "-" * (32 if width_mm == 58 else 46), new_x="LMARGIN", new_y="NEXT")
    pdf.set_font_size(size + 1)
    pdf.multi_cell(text_w, 6, f"合计 {r.total} 积分  {DELIVERY_NAMES.get(r.delivery, '')}".strip(),
                   new_x="LMARGIN", new_y="NEXT")
    if r.status == RedemptionStatus.VOIDED:
        pdf.multi_cell(text_w, 5, f"已撤销：{r.void_reason}", new_x="LMARGIN", new_y="NEXT")
    pdf.set_font_size(size)
    pdf.multi_cell(text_w, 7, "领取人签字：", new_x="LMARGIN", new_y="NEXT")
    return pdf.output_bytes()


def confirm_code_pdf(village: str) -> bytes:
    """The 结算 code for the till, to print and stick beside the scanner: scanned after the
    goods, it confirms the cart (core.supermarket.shop.CONFIRM_CODE)."""
    from core.supermarket.shop import CONFIRM_CODE
    from core.village.card_sheet import draw_qr

    pdf = Sheet(title="收银台结算码")
    pdf.add_page()
    pdf.set_font_size(22)
    pdf.cell(0, 14, f"{village} 积分超市 · 结算码", align="C", new_x="LMARGIN", new_y="NEXT")
    pdf.set_font_size(13)
    pdf.multi_cell(0, 7, "扫完积分卡和商品后，扫描下面的结算码即确认兑换（与点“确认兑换”相同，不会重复扣分）。",
                   align="C", new_x="LMARGIN", new_y="NEXT")
    draw_qr(pdf, 55, 60, 100, CONFIRM_CODE)
    pdf.set_xy(10, 165)
    pdf.set_font_size(28)
    pdf.cell(0, 14, "结  算", align="C", new_x="LMARGIN", new_y="NEXT")
    pdf.set_font_size(11)
    pdf.cell(0, 8, CONFIRM_CODE, align="C", new_x="LMARGIN", new_y="NEXT")
    return pdf.output_bytes()


@dataclass(frozen=True)
class RedemptionRow:
    """One redemption in the list: ``status`` and ``delivery`` are the stored codes, ``items`` reads
    '大米×2、挂面×1', ``returns`` the items returned with their return receipts."""

    id: int
    receipt_no: str
    created_at: dt.datetime
    door_no: str
    head_name: str
    items: str
    total: int
    returned_points: int
    status: str
    returns: str
    delivery: str
    void_reason: str

    @property
    def state(self) -> str:
        """The status with returns counted (a STATUS_NAMES code): done, partly_returned, returned or voided."""
        if self.status == RedemptionStatus.DONE and self.returned_points:
            return "returned" if self.returned_points >= self.total else "partly_returned"
        return self.status

    @property
    def returnable(self) -> bool:
        """Something is left to return or void."""
        return self.state in (RedemptionStatus.DONE, "partly_returned")


def redemptions(db, village_id: int, since: dt.date, until: dt.date, limit: int = 2000) -> list[RedemptionRow]:
    """Redemptions in [since, until], newest first, one row each with its items."""
    start = dt.datetime.combine(since, dt.time.min)
    end = dt.datetime.combine(until + dt.timedelta(days=1), dt.time.min)
    with db.read() as s:
        reds = s.execute(
            select(Redemption, Household.door_no, Household.head_name)
            .join(Household, Household.id == Redemption.household_id)
            .where(Redemption.village_id == village_id, Redemption.created_at >= start, Redemption.created_at < end)
            .order_by(Redemption.created_at.desc(), Redemption.id.desc()).limit(limit)
        ).all()
        ids = [r.id for r, _, _ in reds]
        items = _items(s, ids)
        back = returns_frame_rows(s, ids)
        back_points = dict(s.execute(
            select(RedemptionReturn.redemption_id, func.sum(RedemptionReturn.total))
            .where(RedemptionReturn.redemption_id.in_(ids)).group_by(RedemptionReturn.redemption_id)
        ).all()) if ids else {}
    return [RedemptionRow(id=r.id, receipt_no=r.receipt_no, created_at=r.created_at, door_no=door, head_name=head,
                          items="、".join(items.get(r.id, [])), total=r.total,
                          returned_points=int(back_points.get(r.id) or 0), status=r.status,
                          returns="、".join(back.get(r.id, [])), delivery=r.delivery, void_reason=r.void_reason)
            for r, door, head in reds]


def _items(s, ids: list[int]) -> dict[int, list[str]]:
    """Each redemption's lines as '大米×2', in the order they were rung up."""
    items: dict[int, list[str]] = {}
    if ids:
        for rid, name, qty in s.execute(
            select(RedemptionLine.redemption_id, Product.name, RedemptionLine.qty)
            .join(Product, Product.id == RedemptionLine.product_id)
            .where(RedemptionLine.redemption_id.in_(ids)).order_by(RedemptionLine.id)
        ):
            items.setdefault(rid, []).append(f"{name}×{qty}")
    return items


@dataclass(frozen=True)
class DeliveryRow:
    """One home delivery with the address and phone for the runner; ``delivery`` is the stored code."""

    id: int
    receipt_no: str
    created_at: dt.datetime
    door_no: str
    head_name: str
    address: str
    phone: str
    items: str
    total: int
    delivery: str
    delivered_at: dt.datetime | None


def deliveries(db, village_id: int, include_delivered: bool = False) -> list[DeliveryRow]:
    """Home deliveries waiting (and optionally done), oldest first."""
    wanted = (Delivery.PENDING, Delivery.DELIVERED) if include_delivered else (Delivery.PENDING,)
    with db.read() as s:
        rows = s.execute(
            select(Redemption.id, Redemption.receipt_no, Redemption.created_at, Household.door_no,
                   Household.head_name, Household.address, Household.phone, Redemption.total, Redemption.delivery,
                   Redemption.delivered_at)
            .join(Household, Household.id == Redemption.household_id)
            .where(Redemption.village_id == village_id, Redemption.status == RedemptionStatus.DONE,
                   Redemption.delivery.in_(wanted))
            .order_by(Redemption.created_at).limit(1000)
        ).all()
        items = _items(s, [r[0] for r in rows])
    return [DeliveryRow(rid, no, at, door, head, addr, phone, "、".join(items.get(rid, [])), total, dl, dat)
            for rid, no, at, door, head, addr, phone, total, dl, dat in rows]
