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
from dataclasses import dataclass, field

import pandas as pd
from sqlalchemy import func, select

from core.platform.errors import InvalidInput
from core.platform.pdf import Sheet
from core.supermarket import fund
from core.supermarket.stock import MOVE_NAMES
from db.enums import RedemptionStatus
from db.models import Product, Redemption, RedemptionLine, StaffUser, StockMove, Village


@dataclass(frozen=True)
class MonthlyReport:
    village: str
    month: int  # yyyymm
    received: pd.DataFrame
    prices: pd.DataFrame
    redeemed: pd.DataFrame
    counts: pd.DataFrame
    redemptions: int
    households: int
    points: int
    money: fund.MonthSummary = field(default_factory=lambda: fund.MonthSummary(opening=0))

    @property
    def title(self) -> str:
        return f"{self.village}积分超市{self.month // 100}年{self.month % 100}月五公开"

    def frames(self) -> dict[str, pd.DataFrame]:
        return {"入库与捐赠": self.received, "兑换价格": self.prices, "兑换明细": self.redeemed, "库存盘点": self.counts,
                "资金收支": fund.summary_frame(self.money), "资金明细": fund.public_frame(self.money)}


HEADINGS = ["一、入库与捐赠", "二、兑换价格", "三、兑换明细", "四、库存盘点", "五、资金收支", "资金明细"]
"""The headings of ``MonthlyReport.frames()``, in order, on screen and in the PDF."""


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
        received=pd.DataFrame(
            [{"日期": at.date(), "商品": name, "类型": MOVE_NAMES.get(kind, kind), "数量": f"{qty}{unit}",
              "捐赠人": donor, "资金来源": funding, "备注": reason}
             for at, name, unit, kind, qty, donor, funding, reason in received],
            columns=["日期", "商品", "类型", "数量", "捐赠人", "资金来源", "备注"]),
        prices=pd.DataFrame(
            [{"商品": name, "分类": cat, "类型": "实物" if kind == "goods" else "服务", "兑换积分": price,
              "单位": unit, "每户每月限兑": str(limit) if limit is not None else "不限",
              "当前库存": str(stock) if kind == "goods" else "—"}
             for name, cat, kind, price, unit, limit, stock in prices],
            columns=["商品", "分类", "类型", "兑换积分", "单位", "每户每月限兑", "当前库存"]),
        redeemed=pd.DataFrame(
            [{"商品": name, "兑换数量": f"{int(q)}{unit}", "消耗积分": int(p), "兑换户数": int(h)}
             for name, unit, q, p, h in redeemed],
            columns=["商品", "兑换数量", "消耗积分", "兑换户数"]),
        counts=pd.DataFrame(
            [{"日期": at.date(), "商品": name, "账面数量": counted(ref, qty)[0], "实盘数量": counted(ref, qty)[1],
              "差异": qty, "单位": unit, "原因": reason, "盘点人": who or ""}
             for at, name, unit, qty, ref, reason, who in counts],
            columns=["日期", "商品", "账面数量", "实盘数量", "差异", "单位", "原因", "盘点人"]),
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
    for heading, df, cols in zip(HEADINGS, r.frames().values(), widths, strict=True):
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
