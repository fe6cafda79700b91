"""五公开报表: the supermarket's monthly public report — on screen, PDF for the board, Excel."""

from __future__ import annotations

import datetime as dt

import streamlit as st

from core.supermarket import fund, transparency
from ui import runtime
from ui.guard import page_guard
from ui.widgets import excel_download, md_escape, pdf_download, text_of


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
    frames = r.frames()
    # both files are made only when their button is clicked
    pdf_download("下载公示 PDF", lambda: transparency.report_pdf(r), f"{r.title}.pdf", "transparency_pdf",
                 text_of(r.title, *frames.values()), where=cols[0])
    excel_download("下载 Excel", frames, f"{r.title}.xlsx", "transparency_xlsx", where=cols[1])
    for heading, df in zip(transparency.HEADINGS, frames.values(), strict=True):
        st.markdown(f"**{heading}**")
        if heading == "五、资金收支":
            money = r.money
            f = st.columns(4)
            f[0].metric("月初余额（元）", fund.fmt_yuan(money.opening))
            f[1].metric("本月收入（元）", fund.fmt_yuan(money.income_total))
            f[2].metric("本月支出（元）", fund.fmt_yuan(money.spending_total))
            f[3].metric("月末余额（元）", fund.fmt_yuan(money.closing))
        if df.empty:
            st.caption("本月无记录。")
        else:
            st.dataframe(df, hide_index=True, width="stretch")


if __name__ == "__main__":  # opened by URL on a fresh server, outside st.navigation
    from ui.frame import run

    run()
