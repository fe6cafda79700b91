"""工作台: what needs attention today, for whoever is logged in, each item a link."""

from __future__ import annotations

import datetime as dt

import streamlit as st

from core.committee import cadence
from core.reporting import reports
from ui import runtime
from ui.guard import page_guard
from ui.nav import PAGES, PageSpec, pages_for, render_function
from ui.tables import Col, labelled, table
from ui.widgets import excel_download, md_escape, pdf_download, say, text_of

WEEKDAYS = "一二三四五六日"
REMINDERS = [
    Col("kind", "提醒", value=lambda r: r.text if r.kind == "message" else cadence.SUMMARY_KINDS.get(r.kind, r.kind)),
    Col("proposal_id", "申报编号", "int"),
    Col("door_no", "门牌号"),
    Col("head_name", "户主"),
    Col("rule", "积分细则"),
    Col("since", "日期", "date"),
    Col("days", "天数", "int"),
    Col("note", "说明"),
]


def _link(spec: PageSpec, label: str) -> None:
    # The same url_path as the page registered in st.navigation, so the link resolves to it.
    page = st.Page(render_function(spec.module), title=spec.title, icon=spec.icon, url_path=spec.module)
    st.page_link(page, label=label, icon=spec.icon)


def render() -> None:
    actor = page_guard("home")
    st.title("工作台")
    today = dt.date.today()
    bench = reports.workbench(runtime.db(), actor, today)
    where, items = bench.village, bench.items
    if actor.has("township_viewer") and actor.township:
        where = actor.township
    st.caption(f"{md_escape(actor.name)} · {md_escape(where)} · {today:%Y年%m月%d日} 星期{WEEKDAYS[today.weekday()]}")
    allowed = {p.module: p for p in pages_for(actor.roles)}
    if actor.village_id is not None and actor.has("committee", "admin"):
        _reminders(actor, today, allowed, where)
    if not items:
        st.info("今天没有需要处理的事项。")
    for start in range(0, len(items), 3):
        cols = st.columns(3)
        for col, item in zip(cols, items[start:start + 3], strict=False):
            with col.container(border=True):
                st.metric(item.label, item.value)
                if item.help:
                    st.caption(item.help)
                page = allowed.get(item.page)
                if page is not None:
                    _link(page, f"去{page.title}")
    shortcuts = [p for p in PAGES if p.module in allowed and p.module != "home"]
    if shortcuts:
        st.subheader("常用功能")
        cols = st.columns(4)
        for i, p in enumerate(shortcuts):
            with cols[i % 4]:
                _link(p, p.title)


def _reminders(actor, today: dt.date, allowed: dict, village: str) -> None:
    """评议提醒: a session due by the cadence, items waiting past it, 公示 ended with objections open."""
    db = runtime.db()
    r = cadence.reminders_of(db, actor.village_id, today)
    notes = cadence.messages(r, today)
    for note in notes:
        say("warning", note, icon=":material/schedule:")
    summary = cadence.summary_rows(r, today)
    if notes:
        with st.expander(f"逾期事项明细（等待超过评议周期 {r.overdue_count} 件，公示期满异议未处理 {r.blocked_count} 件）"):
            table([x for x in summary if x.kind != "message"], REMINDERS, key="home_reminders")
        if "review" in allowed:
            _link(allowed["review"], "去评议会处理")
    if actor.has("admin"):
        with st.container(horizontal=True):
            excel_download("导出评议提醒日报（Excel）", lambda: {"评议提醒": labelled(summary, REMINDERS)},
                           f"评议提醒_{today:%Y%m%d}.xlsx", key="home_reminders_xlsx")
            pdf_download("打印评议提醒日报（PDF）", lambda: cadence.summary_pdf(db, actor.village_id, today),
                         f"评议提醒_{today:%Y%m%d}.pdf", "home_reminders_pdf",
                         text_of(labelled(summary, REMINDERS), village))


if __name__ == "__main__":  # opened by URL on a fresh server, outside st.navigation
    from ui.frame import run

    run()
