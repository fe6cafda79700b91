"""五公开 — the supermarket's monthly public report for the village notice board:
stock received (purchases, donations with donor and funding, harvest transfers), the
price list in points, redemptions by item, stock counts (counted vs expected), and the
village fund's money (资金收支: opening balance, income and spending by kind, closing balance,
and each entry of the month with its source or purpose and donor or supplier).

Built from aggregates over one month's rows (indexed by village and time / month); the
same report renders on screen, as a PDF for the board, and as an Excel workbook.
"""

from __future__ import annotations

import datetime as dt
from collections.abc import Callable
from dataclasses import dataclass, field
from operator import attrgetter
from typing import Any

import pandas as pd
from sqlalchemy import func, select

from core.platform.errors import InvalidInput
from core.platform.pdf import Sheet
from core.supermarket import fund
from core.supermarket.stock import MOVE_NAMES
from db.enums import RedemptionStatus
from db.models import Product, Redemption, RedemptionLine, StaffUser, StockMove, Village


@dataclass(frozen=True)
class ReceivedRow:
    """One stock move into the shop in the month (a purchase, donation or harvest; ``kind`` is MOVE_NAMES' code)."""

    created_at: dt.datetime
    product: str
    unit: str
    kind: str
    qty: int
    donor: str | None
    funding: str | None
    reason: str | None


@dataclass(frozen=True)
class PriceRow:
    """One active product on the price list (``kind`` goods or service; ``monthly_limit`` None for no limit)."""

    product: str
    category: str
    kind: str
    price: int
    unit: str
    monthly_limit: int | None
    stock: int


@dataclass(frozen=True)
class RedeemedRow:
    """One product's redemptions in the month (voided ones left out): quantity, points, households."""

    product: str
    unit: str
    qty: int
    points: int
    households: int


@dataclass(frozen=True)
class CountRow:
    """One stock count in the month: the book and counted quantities (None when not recorded) and the difference."""

    created_at: dt.datetime
    product: str
    unit: str
    expected: int | None
    counted: int | None
    diff: int
    reason: str | None
    counted_by: str


def _sheet(rows: list, spec: list[tuple[str, Callable[[Any], Any]]]) -> pd.DataFrame:
    return pd.DataFrame([[get(r) for _, get in spec] for r in rows], columns=[h for h, _ in spec])


_RECEIVED = [("日期", lambda r: r.created_at.date()), ("商品", attrgetter("product")),
             ("类型", lambda r: MOVE_NAMES.get(r.kind, r.kind)), ("数量", lambda r: f"{r.qty}{r.unit}"),
             ("捐赠人", attrgetter("donor")), ("资金来源", attrgetter("funding")), ("备注", attrgetter("reason"))]
_PRICES = [("商品", attrgetter("product")), ("分类", attrgetter("category")),
           ("类型", lambda r: "实物" if r.kind == "goods" else "服务"), ("兑换积分", attrgetter("price")),
           ("单位", attrgetter("unit")),
           ("每户每月限兑", lambda r: str(r.monthly_limit) if r.monthly_limit is not None else "不限"),
           ("当前库存", lambda r: str(r.stock) if r.kind == "goods" else "—")]
_REDEEMED = [("商品", attrgetter("product")), ("兑换数量", lambda r: f"{r.qty}{r.unit}"),
             ("消耗积分", attrgetter("points")), ("兑换户数", attrgetter("households"))]
_COUNTS = [("日期", lambda r: r.created_at.date()), ("商品", attrgetter("product")), ("账面数量", attrgetter("expected")),
           ("实盘数量", attrgetter("counted")), ("差异", attrgetter("diff")), ("单位", attrgetter("unit")),
           ("原因", attrgetter("reason")), ("盘点人", attrgetter("counted_by"))]
_MONEY = [("项目", attrgetter("item")), ("金额（元）", lambda r: fund.fmt_yuan(r.amount_fen))]
_MONEY_ENTRIES = [("日期", attrgetter("date")), ("类型", attrgetter("kind_name")),
                  ("金额（元）", lambda r: fund.fmt_yuan(r.amount_fen, sign=True)),
                  ("来源或用途", attrgetter("source_or_purpose")), ("对方", attrgetter("counterparty")),
                  ("采购物品", attrgetter("items"))]


@dataclass(frozen=True)
class MonthlyReport:
    village: str
    month: int  # yyyymm
    received: list[ReceivedRow]
    prices: list[PriceRow]
    redeemed: list[RedeemedRow]
    counts: list[CountRow]
    redemptions: int
    households: int
    points: int
    money: fund.MonthSummary = field(default_factory=lambda: fund.MonthSummary(opening=0))

    @property
    def title(self) -> str:
        return f"{self.village}积分超市{self.month // 100}年{self.month % 100}月五公开"

    def sheets(self) -> dict[str, pd.DataFrame]:
        """The report as the notice's sheets with their Chinese headers, for the Excel workbook and the
        PDF: the layout is the document's, so it is built here, from the typed rows."""
        return {"入库与捐赠": _sheet(self.received, _RECEIVED), "兑换价格": _sheet(self.prices, _PRICES),
                "兑换明细": _sheet(self.redeemed, _REDEEMED), "库存盘点": _sheet(self.counts, _COUNTS),
                "资金收支": _sheet(fund.summary_lines(self.money), _MONEY),
                "资金明细": _sheet(self.money.entries, _MONEY_ENTRIES)}


HEADINGS = ["一、入库与捐赠", "二、兑换价格", "三、兑换明细", "四、库存盘点", "五、资金收支", "资金明细"]
"""The headings of ``MonthlyReport.sheets()``, in order, on screen and in the PDF."""


def month_bounds(month: int) -> tuple[dt.datetime, dt.datetime]:
    y, m = divmod(month, 100)
    if not (2000 <= y <= 2100 and 1 <= m <= 12):
        raise InvalidInput("月份无效。")
    start = dt.datetime(y, m, 1)
    end = dt.datetime(y + (m == 12), m % 12 + 1, 1)
    return start, end


def monthly_report(db, village_id: int, month: int) -> MonthlyReport:
    start, end = month_bounds(month)
    with db.read() as s:
        vname = s.execute(select(Village.name).where(Village.id == village_id)).scalar_one()
        in_month = (StockMove.village_id == village_id, StockMove.created_at >= start, StockMove.created_at < end)
        received = s.execute(
            select(StockMove.created_at, Product.name, Product.unit, StockMove.kind, StockMove.qty,
                   StockMove.donor, StockMove.funding, StockMove.reason)
            .join(Product, Product.id == StockMove.product_id)
            .where(*in_month, StockMove.kind.in_(("purchase", "donation", "harvest")))
            .order_by(StockMove.created_at, StockMove.id)
        ).all()
        prices = s.execute(
            select(Product.name, Product.category, Product.kind, Product.price, Product.unit, Product.monthly_limit,
                   Product.stock)
            .where(Product.village_id == village_id, Product.active.is_(True))
            .order_by(Product.category, Product.price)
        ).all()
        redeemed = s.execute(
            select(Product.name, Product.unit, func.sum(RedemptionLine.qty), func.sum(RedemptionLine.qty *
                   RedemptionLine.price), func.count(func.distinct(Redemption.household_id)))
            .join(Redemption, Redemption.id == RedemptionLine.redemption_id)
            .join(Product, Product.id == RedemptionLine.product_id)
            .where(Redemption.village_id == village_id, Redemption.month == month,
                   Redemption.status == RedemptionStatus.DONE)
            .group_by(Product.id, Product.name, Product.unit).order_by(func.sum(RedemptionLine.qty).desc())
        ).all()
        n_red, n_hh, points = s.execute(
            select(func.count(), func.count(func.distinct(Redemption.household_id)),
                   func.coalesce(func.sum(Redemption.total), 0))
            .where(Redemption.village_id == village_id, Redemption.month == month,
                   Redemption.status == RedemptionStatus.DONE)
        ).one()
        counts = s.execute(
            select(StockMove.created_at, Product.name, Product.unit, StockMove.qty, StockMove.ref_id,
                   StockMove.reason, StaffUser.display_name)
            .join(Product, Product.id == StockMove.product_id)
            .outerjoin(StaffUser, StaffUser.id == StockMove.created_by)
            .where(*in_month, StockMove.kind == "count").order_by(StockMove.created_at, StockMove.id)
        ).all()

    def counted(ref: str, qty: int) -> tuple[int | None, int | None]:
        try:
            c = int(ref)
        except ValueError:
            return None, None
        return c - qty, c

    return MonthlyReport(
        village=vname, month=month,
        received=[ReceivedRow(*row) for row in received],
        prices=[PriceRow(*row) for row in prices],
        redeemed=[RedeemedRow(name, unit, int(q), int(p), int(h)) for name, unit, q, p, h in redeemed],
        counts=[CountRow(at, name, unit, *counted(ref, qty), qty, reason, who or "")
                for at, name, unit, qty, ref, reason, who in counts],
        redemptions=int(n_red), households=int(n_hh), points=int(points),
        money=fund.month_summary(db, village_id, start.date(), end.date()),
    )


def report_pdf(r: MonthlyReport) -> bytes:
    """A4 landscape notice for the board (公示栏)."""
    pdf = Sheet(orientation="L", title=r.title)
    pdf.add_page()
    pdf.set_font_size(18)
    pdf.cell(0, 12, r.title, align="C", new_x="LMARGIN", new_y="NEXT")
    pdf.set_font_size(11)
    pdf.cell(0, 8, f"本月兑换 {r.redemptions} 笔，{r.households} 户参与，共使用积分 {r.points} 分。",
             align="C", new_x="LMARGIN", new_y="NEXT")
    widths = [[28, 55, 25, 25, 45, 45, 54], [70, 35, 25, 30, 25, 40, 52], [100, 60, 60, 57],
              [28, 55, 28, 28, 22, 18, 60, 38], [100, 60], [28, 28, 35, 80, 50, 56]]
    for heading, df, cols in zip(HEADINGS, r.sheets().values(), widths, strict=True):
        pdf.ln(3)
        pdf.set_font_size(13)
        pdf.cell(0, 9, heading, new_x="LMARGIN", new_y="NEXT")
        if df.empty:
            pdf.set_font_size(11)
            pdf.cell(0, 7, "本月无记录。", new_x="LMARGIN", new_y="NEXT")
            continue
        rows = [["" if pd.isna(v) else v for v in row] for row in df.itertuples(index=False)]
        pdf.table_rows(list(df.columns), rows, cols)
    pdf.ln(6)
    pdf.set_font_size(11)
    pdf.cell(0, 7, f"公示时间：{dt.date.today():%Y年%m月%d日}    如有疑问请向村委会反映。", new_x="LMARGIN", new_y="NEXT")
    return pdf.output_bytes()
