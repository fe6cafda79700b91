"""操作日志: search the village's audit log by date, user, action and text; export."""

from __future__ import annotations

import datetime as dt

import streamlit as st

from core.reporting import audit_search
from ui import runtime
from ui.guard import page_guard
from ui.tables import Col, table
from ui.widgets import run_action


def _who(r: audit_search.AuditRow) -> str:
    """操作人: the staff account, else who the details name (a resident through the card…), else 系统."""
    return f"{r.user_name}（{r.username}）" if r.user_name else r.acted_by or "系统"


LOG = [
    Col("at", "时间", "datetime", format="YYYY-MM-DD HH:mm:ss"),
    Col("user_name", "操作人", value=_who),
    Col("action", "操作", names=audit_search.ACTION_NAMES),
    Col("target_type", "对象", names=audit_search.TARGET_NAMES),
    Col("target_id", "对象编号"),
    Col("detail", "详情"),
    Col("reason", "原因"),
]


def render() -> None:
    actor = page_guard("audit")
    st.title("操作日志")
    st.caption("系统中每一次修改都会记录：谁、什么时间、做了什么、原因。日志只能查看，不能修改。")
    db = runtime.db()
    users, actions = audit_search.filters(db, actor, actor.village_id)
    today = dt.date.today()
    with st.form("audit_search", border=True):
        c1, c2, c3, c4 = st.columns([2, 2, 2, 3])
        dates = c1.date_input("日期范围", value=(today - dt.timedelta(days=30), today), max_value=today,
                              format="YYYY-MM-DD")
        user = c2.selectbox("操作人", [None, *users], format_func=lambda u: "全部" if u is None else users[u])
        action = c3.selectbox("操作", [None, *actions],
                              format_func=lambda a: "全部" if a is None else audit_search.action_name(a))
        text = c4.text_input("包含文字（详情、原因、对象编号）", max_chars=100)
        limit = st.select_slider("最多显示", [100, 500, 1000, 5000], value=500)
        st.form_submit_button("查询", type="primary", icon=":material/search:")
    if isinstance(dates, tuple | list):
        date_from = dates[0] if len(dates) > 0 else None
        date_to = dates[1] if len(dates) > 1 else date_from
    else:
        date_from = date_to = dates
    rows = run_action(lambda: audit_search.search(db, actor, actor.village_id, date_from=date_from, date_to=date_to,
                                              user_id=user, action=action, text=text, limit=limit))
    if rows is None:
        return
    st.caption(f"共 {len(rows)} 条（按时间从新到旧）" + ("，已达显示上限，请缩小范围" if len(rows) >= limit else ""))
    table(rows, LOG, key="audit", download="操作日志")


if __name__ == "__main__":  # opened by URL on a fresh server, outside st.navigation
    from ui.frame import run

    run()
