"""公示与异议: what is on public notice now, the printable sheet (village or one grid),
logging a resident's objection, and objections already resolved."""

from __future__ import annotations

import datetime as dt

import pandas as pd
import streamlit as st

from core.committee import publicity
from core.committee.review import STATUS_NAMES
from ui import runtime
from ui.guard import page_guard
from ui.widgets import downloads, flash, pdf_download, run_action, text_of

OBJECTION_STATUS = {"open": "待处理", "upheld": "异议不成立（已记账）", "overturned": "异议成立（已撤销）"}


def render() -> None:
    actor = page_guard("publicity")
    db = runtime.db()
    vid = actor.village_id
    posted = publicity.post_due_if_any(db, actor, vid)
    st.title("公示与异议")
    if posted:
        st.success(f"公示期满且无异议的 {posted} 项已记入积分账户。")
    names = publicity.grid_names(db, vid)
    grid_id = st.selectbox("范围", [None, *names], format_func=lambda g: "全村" if g is None else names[g],
                           key="pb_grid")
    screen = publicity.publicity_screen(db, vid, grid_id)
    rows, open_obs, all_obs = screen.items, screen.open_objections, screen.objections
    tabs = st.tabs([f"公示中（{len(rows)}）", "登记异议", f"异议记录（{len(open_obs)} 待处理）"])
    with tabs[0]:
        _list(vid, grid_id, names, rows)
    with tabs[1]:
        _log_objection(actor, rows)
    with tabs[2]:
        _objection_table(all_obs)


def _list(vid: int, grid_id: int | None, names: dict, rows: list[dict]) -> None:
    scope = "全村" if grid_id is None else names[grid_id]
    df = pd.DataFrame([{"编号": r["id"], "网格": r["grid"] or "", "门牌号": r["door_no"], "户主": r["head_name"],
                        "当事人": r["resident"] or "", "事项": f"{r['code']} {r['rule']}", "分值": r["decided_points"],
                        "事由": r["note"] or "", "事项日期": r["act_date"], "公示至": r["publicity_until"],
                        "状态": STATUS_NAMES.get(r["status"], r["status"])} for r in rows])
    # Built only when clicked; the names and reasons it prints are checked against the font now.
    pdf_download(f"打印公示单（{scope}，PDF）", lambda: publicity.sheet_pdf_of(runtime.db(), vid, grid_id),
                 f"积分公示_{scope}_{dt.date.today():%Y%m%d}.pdf", f"pb_pdf_{grid_id}", text_of(scope, df),
                 type="primary")
    if not rows:
        st.info("目前没有公示中的事项。")
        return
    st.dataframe(df, hide_index=True, width="stretch")
    downloads(df, f"积分公示_{scope}", "pb_list_dl")


def _log_objection(actor, rows: list[dict]) -> None:
    open_rows = {r["id"]: r for r in rows if r["status"] == "publicity"}
    if not open_rows:
        st.info("没有可以提出异议的公示事项。")
        return
    st.caption("村民对公示事项有不同意见时，由工作人员登记；该事项暂停记账，提交下一次评议会处理。")
    with st.form("pb_objection", clear_on_submit=True):
        pid = st.selectbox("公示事项", list(open_rows), key="pb_ob_item",
                           format_func=lambda i: f"#{i} {open_rows[i]['door_no']} {open_rows[i]['head_name']} · "
                                                 f"{open_rows[i]['rule']} {open_rows[i]['decided_points']:+d} 分")
        who = st.text_input("提出人（姓名或门牌号）", key="pb_ob_who", max_chars=40)
        why = st.text_area("异议理由", key="pb_ob_why", max_chars=500)
        ok = st.form_submit_button("登记异议", type="primary")
    if ok and run_action(lambda: publicity.log_objection(runtime.db(), actor, pid, raised_by=who, reason=why)):
        flash("异议已登记，该事项暂停记账，待评议会处理。")
        st.rerun()


def _objection_table(obs: list[dict]) -> None:
    if not obs:
        st.info("还没有异议记录。")
        return
    df = pd.DataFrame([{"编号": o["id"], "申报号": o["proposal_id"], "门牌号": o["door_no"], "户主": o["head_name"],
                        "事项": o["rule"], "分值": o["decided_points"], "提出人": o["raised_by"], "理由": o["reason"],
                        "登记时间": o["logged_at"], "状态": OBJECTION_STATUS.get(o["status"], o["status"]),
                        "处理意见": o["resolution"]} for o in obs])
    st.dataframe(df, hide_index=True, width="stretch")
    downloads(df, "异议记录", "pb_obs_dl")


if __name__ == "__main__":  # opened by URL on a fresh server, outside st.navigation
    from ui.frame import run

    run()
