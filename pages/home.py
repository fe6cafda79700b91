"""工作台: what needs attention today, for whoever is logged in, each item a link."""

from __future__ import annotations

import datetime as dt

import streamlit as st

from core.reporting import reports
from ui import runtime
from ui.guard import page_guard
from ui.nav import PAGES, PageSpec, pages_for, render_function
from ui.widgets import md_escape

WEEKDAYS = "一二三四五六日"


def _link(spec: PageSpec, label: str) -> None:
    # The same url_path as the page registered in st.navigation, so the link resolves to it.
    page = st.Page(render_function(spec.module), title=spec.title, icon=spec.icon, url_path=spec.module)
    st.page_link(page, label=label, icon=spec.icon)


def render() -> None:
    actor = page_guard("home")
    st.title("工作台")
    today = dt.date.today()
    with runtime.db().read() as s:
        where = reports.village_name(s, actor.village_id) if actor.village_id else ""
        items = reports.today_summary(s, actor, today)
    if actor.has("township_viewer") and actor.township:
        where = actor.township
    st.caption(f"{md_escape(actor.name)} · {md_escape(where)} · {today:%Y年%m月%d日} 星期{WEEKDAYS[today.weekday()]}")
    allowed = {p.module: p for p in pages_for(actor.roles)}
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


if __name__ == "__main__":  # opened by URL on a fresh server, outside st.navigation
    from ui.frame import run

    run()
