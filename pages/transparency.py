"""五公开报表: the supermarket's monthly public report — on screen, PDF for the board, Excel."""

from __future__ import annotations

import datetime as dt

import streamlit as st

from core.supermarket import fund, transparency
from core.supermarket.stock import MOVE_NAMES
from ui import runtime
from ui.guard import page_guard
from ui.tables import Col, table
from ui.widgets import excel_download, md_escape, pdf_download, text_of

# the on-screen tables; the PDF and the Excel workbook are the notice itself (MonthlyReport.sheets)
RECEIVED = [
    Col("created_at", "日期", "date"),
    Col("product", "商品"),
    Col("kind", "类型", names=MOVE_NAMES),
    Col("qty", "数量", value=lambda r: f"{r.qty}{r.unit}"),
    Col("donor", "捐赠人"),
    Col("funding", "资金来源"),
    Col("reason", "备注"),
]
PRICES = [
    Col("product", "商品"),
    Col("category", "分类"),
    Col("kind", "类型", names={"goods": "实物", "service": "服务"}),
    Col("price", "兑换积分", "points"),
    Col("unit", "单位"),
    Col("monthly_limit", "每户每月限兑", value=lambda r: "不限" if r.monthly_limit is None else str(r.monthly_limit)),
    Col("stock", "当前库存", value=lambda r: str(r.stock) if r.kind == "goods" else "—"),
]
REDEEMED = [
    Col("product", "商品"),
    Col("qty", "兑换数量", value=lambda r: f"{r.qty}{r.unit}"),
    Col("points", "消耗积分", "points"),
    Col("households", "兑换户数", "int"),
]
COUNTS = [
    Col("created_at", "日期", "date"),
    Col("product", "商品"),
    Col("expected", "账面数量", "int"),
    Col("counted", "实盘数量", "int"),
    Col("diff", "差异", "int"),
    Col("unit", "单位"),
    Col("reason", "原因"),
    Col("counted_by", "盘点人"),
]
MONEY = [
    Col("item", "项目"),
    Col("amount_fen", "金额（元）", value=lambda ln: fund.fmt_yuan(ln.amount_fen)),
]
MONEY_ENTRIES = [
    Col("date", "日期", "date"),
    Col("kind", "类型", names=fund.KIND_NAMES),
    Col("amount_fen", "金额（元）", value=lambda e: fund.fmt_yuan(e.amount_fen, sign=True)),
    Col("source_or_purpose", "来源或用途"),
    Col("counterparty", "对方"),
    Col("items", "采购物品"),
]


def _months(n: int = 24) -> list[int]:
    today = dt.date.today()
    y, m = today.year, today.month
    out = []
    for _ in range(n):
        out.append(y * 100 + m)
        y, m = (y - 1, 12) if m == 1 else (y, m - 1)
    return out


def render() -> None:
    actor = page_guard("transparency")
    st.title("五公开报表")
    village_id = actor.village_id
    if village_id is None:
        st.info("当前账号不属于任何村。")
        return
    month = st.selectbox("月份", _months(), format_func=lambda m: f"{m // 100}年{m % 100}月", key="transparency_month")
    r = transparency.monthly_report(runtime.db(), village_id, month)
    st.subheader(md_escape(r.title))
    m = st.columns(3)
    m[0].metric("兑换笔数", r.redemptions)
    m[1].metric("参与户数", r.households)
    m[2].metric("使用积分", r.points)
    cols = st.columns(2)
    sheets = r.sheets()
    # both files are made only when their button is clicked
    pdf_download("下载公示 PDF", lambda: transparency.report_pdf(r), f"{r.title}.pdf", "transparency_pdf",
                 text_of(r.title, *sheets.values()), where=cols[0])
    excel_download("下载 Excel", sheets, f"{r.title}.xlsx", "transparency_xlsx", where=cols[1])
    tables = [(r.received, RECEIVED, "received"), (r.prices, PRICES, "prices"), (r.redeemed, REDEEMED, "redeemed"),
              (r.counts, COUNTS, "counts"), (fund.summary_lines(r.money), MONEY, "money"),
              (r.money.entries, MONEY_ENTRIES, "money_entries")]
    for heading, (rows, columns, key) in zip(transparency.HEADINGS, tables, strict=True):
        st.markdown(f"**{heading}**")
        if heading == "五、资金收支":
            money = r.money
            f = st.columns(4)
            f[0].metric("月初余额（元）", fund.fmt_yuan(money.opening))
            f[1].metric("本月收入（元）", fund.fmt_yuan(money.income_total))
            f[2].metric("本月支出（元）", fund.fmt_yuan(money.spending_total))
            f[3].metric("月末余额（元）", fund.fmt_yuan(money.closing))
        if not rows:
            st.caption("本月无记录。")
        else:
            table(rows, columns, key=f"transparency_{key}")


if __name__ == "__main__":  # opened by URL on a fresh server, outside st.navigation
    from ui.frame import run

    run()
