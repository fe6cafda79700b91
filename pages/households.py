"""户积分查询: find a household; its balance, earned total, members and history, where a
reversal (冲正) stands beside the entry it undoes. Admins reverse or adjust, with a
reason and a confirmation step."""

from __future__ import annotations

import pandas as pd
import streamlit as st

from core import households, ledger, proposals, publicity
from ui import runtime, state
from ui.guard import page_guard
from ui.widgets import downloads, flash, run_action
from ui.widgets import md_escape as _md


def render() -> None:
    actor = page_guard("admin", "committee", "grid_worker", "cashier", "volunteer_lead", "field_lead")
    db = runtime.db()
    publicity.post_due_if_any(db, actor, actor.village_id)  # balances shown include items whose 公示 ended
    st.title("户积分查询")
    text = st.text_input("姓名、门牌号或积分卡号", key="hh_search", placeholder="例如：王建国、2-105，或扫描积分卡")
    if text.strip():
        with db.read() as s:
            found = run_action(lambda: proposals.find_households(s, actor.village_id, text))
        if found == []:
            st.warning("没有找到这一户。")
        elif found:
            labels = {h["id"]: h["label"] for h in found}
            ids = list(labels)
            current = st.session_state.get(state.HOUSEHOLD_VIEW)
            pick = st.selectbox("选择户", ids, format_func=labels.get, key="hh_pick",
                                index=ids.index(current) if current in ids else 0)
            if pick != current:
                st.session_state[state.HOUSEHOLD_PENDING] = None
            st.session_state[state.HOUSEHOLD_VIEW] = pick
    hid = st.session_state.get(state.HOUSEHOLD_VIEW)
    if hid is None:
        st.info("输入姓名、门牌号或卡号查找一户。")
        _balance_list(actor)
        return
    with db.read() as s:
        view = run_action(lambda: households.household(s, actor.village_id, hid))
        if view is None:
            st.session_state[state.HOUSEHOLD_VIEW] = None
            return
        people = households.members_frame(s, hid)
        hist = households.history_frame(s, hid)
    st.subheader(_md(f"{view.door_no} {view.head_name}（{view.grid}）"))
    c = st.columns(5)
    c[0].metric("可用积分", view.balance)
    c[1].metric("公示中扣分冻结", view.held, help="评议通过、仍在公示中的扣分：这些积分暂不能兑换，公示期满后扣除。")
    c[2].metric("待扣积分", view.outstanding, help="扣分时余额不足、尚未扣除的积分；以后得到的积分先用于抵扣。")
    c[3].metric("累计积分", view.earned_total)
    c[4].metric("流水笔数", view.entries)
    tabs = ["积分流水", "家庭成员"] + (["冲正与调整"] if actor.has("admin") else [])
    t = st.tabs(tabs)
    with t[0]:
        if hist.empty:
            st.info("还没有积分记录。")
        else:
            st.caption("冲正记录紧挨着被冲正的原始记录显示（见“冲正”列）。")
            st.dataframe(households.side_by_side(hist), hide_index=True, width="stretch")
            downloads(hist, f"积分流水_{view.door_no}", "hh_hist_dl")
    with t[1]:
        st.dataframe(people, hide_index=True, width="stretch")
    if actor.has("admin"):
        with t[2]:
            _corrections(actor, view)


def _corrections(actor, view) -> None:
    db = runtime.db()
    pending = st.session_state.get(state.HOUSEHOLD_PENDING)
    if pending:
        kind, arg, reason = pending
        what = f"冲正第 {arg} 号流水" if kind == "reverse" else f"调整 {arg:+d} 分"
        st.warning(f"确认为 {_md(view.door_no)} {_md(view.head_name)} {what}吗？原因：{_md(reason)}。"
                   "此操作会记入积分流水，不能删除。")
        c = st.columns(2)
        if c[0].button("确认", type="primary", key="hh_confirm"):
            st.session_state[state.HOUSEHOLD_PENDING] = None  # cleared first: a double click does nothing twice
            fn = (lambda: ledger.reverse(db, actor, arg, reason)) if kind == "reverse" else \
                (lambda: ledger.adjust(db, actor, view.id, arg, reason))
            if run_action(fn):
                flash(f"已{what}。")
            st.rerun()
        if c[1].button("取消", key="hh_cancel"):
            st.session_state[state.HOUSEHOLD_PENDING] = None
            st.rerun()
        return
    st.subheader("冲正一条流水")
    with db.read() as s:
        options = households.reversible(s, view.id)
    if options:
        with st.form("hh_reverse"):
            labels = {o["id"]: o["label"] for o in options}
            eid = st.selectbox("流水", list(labels), format_func=labels.get)
            reason = st.text_input("冲正原因（必填）", max_chars=200)
            ok = st.form_submit_button("冲正…")
        if ok:
            if not reason.strip():
                st.error("冲正必须填写原因。")
            else:
                st.session_state[state.HOUSEHOLD_PENDING] = ("reverse", eid, reason.strip())
                st.rerun()
    else:
        st.caption("没有可冲正的流水。")
    st.subheader("手工调整")
    with st.form("hh_adjust"):
        pts = st.number_input("调整分值（扣减填负数）", value=0, step=1)  # core refuses too large, in Chinese
        reason = st.text_input("调整原因（必填）", max_chars=200)
        ok = st.form_submit_button("调整…")
    if ok:
        if int(pts) == 0 or not reason.strip():
            st.error("调整分值不能为 0，且必须填写原因。")
        else:
            st.session_state[state.HOUSEHOLD_PENDING] = ("adjust", int(pts), reason.strip())
            st.rerun()



def _balance_list(actor) -> None:
    """全村积分余额表: every household's spendable, held and outstanding points, to download."""
    with runtime.db().read() as s:
        rows = households.balances(s, actor.village_id)
    frame = pd.DataFrame([{"门牌号": r.door_no, "户主": r.head_name, "网格": r.grid, "可用积分": r.balance,
                          "公示中扣分冻结": r.held, "可兑换积分": r.spendable, "待扣积分": r.outstanding,
                          "累计积分": r.earned_total} for r in rows],
                         columns=["门牌号", "户主", "网格", "可用积分", "公示中扣分冻结", "可兑换积分", "待扣积分",
                                  "累计积分"])

    st.caption("全村积分余额表：每户的可用、冻结、待扣和累计积分。")
    downloads(frame, "全村积分余额表", "hh_balances_dl")


if __name__ == "__main__":  # opened by URL on a fresh server, outside st.navigation
    from ui.frame import run

    run()
