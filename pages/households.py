"""户积分查询: find a household; its balance, earned total, members, history and 户籍变动, where a
reversal (冲正) stands beside the entry it undoes. Admins reverse or adjust, and record a
household's life-cycle (a member leaving, split, merge, closing, reopening), each with a reason
and a confirmation step. Closed households are found too, so their history stays readable."""

from __future__ import annotations

import datetime as dt

import pandas as pd
import streamlit as st

from core.committee import publicity
from core.points import corrections
from core.public import statement
from core.reporting import periods, township
from core.village import households, lifecycle
from ui import confirm, runtime, state
from ui.guard import page_guard
from ui.household_picker import household_labels, pick_household
from ui.tables import Col, labelled
from ui.widgets import downloads, flash, number_box, pdf_download, run_action
from ui.widgets import md_escape as _md

BALANCES = [
    Col("door_no", "门牌号"),
    Col("head_name", "户主"),
    Col("grid", "网格"),
    Col("balance", "可用积分", "points"),
    Col("held", "公示中扣分冻结", "points"),
    Col("spendable", "可兑换积分", "points"),
    Col("outstanding", "待扣积分", "points"),
    Col("earned_total", "累计积分", "points"),
]


def render() -> None:
    actor = page_guard("households")
    db = runtime.db()
    publicity.post_due_if_any(db, actor, actor.village_id)  # balances shown include items whose 公示 ended
    st.title("户积分查询")
    current = st.session_state.get(state.HOUSEHOLD_VIEW)
    pick = pick_household("选择户", actor.village_id, key="hh_pick", current=current, include_closed=True,
                          search="姓名、门牌号或积分卡号", search_placeholder="例如：王建国、2-105，或扫描积分卡",
                          search_key="hh_search")
    if pick is not None:
        if pick != current:
            confirm.close()  # a question asked about the household shown before is not carried over
        st.session_state[state.HOUSEHOLD_VIEW] = pick
    hid = st.session_state.get(state.HOUSEHOLD_VIEW)
    if hid is None:
        st.info("输入姓名、门牌号或卡号查找一户。")
        _balance_list(actor)
        if actor.has(*statement.STATEMENT_ROLES):
            _statements(actor)
        return
    screen = run_action(lambda: households.household_screen(db, actor.village_id, hid))
    if screen is None:
        st.session_state[state.HOUSEHOLD_VIEW] = None
        return
    view, people, hist, events, closed = screen.view, screen.members, screen.history, screen.events, screen.closed
    st.subheader(_md(f"{view.door_no} {view.head_name}（{view.grid}）" + ("　已注销" if not view.active else "")))
    if not view.active:
        when = f"于 {closed[0]} 注销（{closed[1]}）" if closed else "已注销"
        st.error(f"该户{when}：积分卡已作废，不能兑换，不参加排名；积分记录仍可查询。", icon=":material/block:")
    c = st.columns(5)
    c[0].metric("可用积分", view.balance)
    c[1].metric("公示中扣分冻结", view.held, help="评议通过、仍在公示中的扣分：这些积分暂不能兑换，公示期满后扣除。")
    c[2].metric("待扣积分", view.outstanding, help="扣分时余额不足、尚未扣除的积分；以后得到的积分先用于抵扣。")
    c[3].metric("累计积分", view.earned_total)
    c[4].metric("流水笔数", view.entries)
    tabs = ["积分流水", "家庭成员", "户籍变动"] + (["冲正与调整", "办理户籍变动"] if actor.has("admin") else [])
    t = st.tabs(tabs)
    with t[0]:
        if not hist:
            st.info("还没有积分记录。")
        else:
            st.caption("冲正记录紧挨着被冲正的原始记录显示（见“冲正”列）。")
            st.dataframe(_history_frame(households.side_by_side(hist)), hide_index=True, width="stretch")
            downloads(_history_frame(hist), f"积分流水_{view.door_no}", "hh_hist_dl")
    with t[1]:
        st.dataframe(pd.DataFrame([{"姓名": m.name, "关系": m.relation, "性别": m.gender, "出生年份": m.birth_year,
                                    "党员": "是" if m.party_member else ""} for m in people],
                                  columns=["姓名", "关系", "性别", "出生年份", "党员"]), hide_index=True, width="stretch")
    if actor.has(*statement.STATEMENT_ROLES):
        with t[0]:
            period = _statement_period("hh_stmt_one")
            pdf_download("打印本户对账单", lambda: statement.statements_pdf(db, actor, actor.village_id, period, [hid]),
                         f"积分对账单_{view.door_no}_{period.label}.pdf", "hh_stmt_one_pdf",
                         f"{view.head_name}{view.door_no}{view.grid}")
    with t[2]:
        _events(events, view)
    if actor.has("admin"):
        with t[3]:
            _corrections(actor, view)
        with t[4]:
            _lifecycle(actor, view)


HISTORY_COLUMNS = ["流水号", "日期", "类型", "累计积分变化", "可用积分变化", "待扣变化", "当事人", "事由", "冲正", "经办人",
                   "记账时间"]


def _history_frame(rows) -> pd.DataFrame:
    return pd.DataFrame([{"流水号": r.id, "日期": r.occurred_on, "类型": r.kind, "累计积分变化": r.delta_earned,
                          "可用积分变化": r.delta_balance, "待扣变化": r.delta_outstanding, "当事人": r.person,
                          "事由": r.reason, "冲正": r.link, "经办人": r.by, "记账时间": r.created_at} for r in rows],
                        columns=HISTORY_COLUMNS)


def _events(events, view) -> None:
    if not events:
        st.info("没有户籍变动记录。")
        return
    frame = pd.DataFrame([{"日期": e.happened_on, "变动": e.what, "成员": e.resident, "对方户": e.other,
                           "转移积分": e.points or "", "说明": e.note, "登记时间": e.recorded_at} for e in events],
                         columns=["日期", "变动", "成员", "对方户", "转移积分", "说明", "登记时间"])
    st.dataframe(frame, hide_index=True, width="stretch")
    downloads(frame, f"户籍变动_{view.door_no}", "hh_events_dl")


LIFECYCLE_ACTIONS = {"leave": "成员迁出/去世", "return": "成员恢复", "split": "分户", "merge": "并入另一户",
                     "close": "注销本户", "reopen": "恢复本户"}


def _lifecycle(actor, view) -> None:
    """Forms for the household's life-cycle; each leads to a confirmation naming both sides."""
    db = runtime.db()
    pending = confirm.token("hh_lc")
    if pending:  # the question stands in place of the forms until it is answered
        _confirm_lifecycle(actor, view, pending)
        return
    if not view.active:
        st.caption("该户已注销。恢复后才能办理其他变动（积分卡需要重新发放）。")
        with st.form("hh_reopen"):
            note = st.text_input("恢复原因（必填）", max_chars=200)
            if st.form_submit_button("恢复本户…"):
                _ask("reopen", {"note": note}, f"恢复 {view.door_no} {view.head_name}", [f"原因：{note}"])
        return
    choices = households.lifecycle_choices(db, view.village_id, view.id)
    members, gone = choices.members, choices.former
    names = {r.id: f"{r.name}（{r.relation}）" for r in members}
    other_labels = household_labels(view.village_id, exclude={view.id})  # the active households but this one
    action = st.segmented_control("办理", list(LIFECYCLE_ACTIONS), format_func=LIFECYCLE_ACTIONS.get,
                                  key="hh_lc_action", default="leave")
    today = dt.date.today()
    if action == "leave":
        with st.form("hh_lc_leave"):
            rid = st.selectbox("成员", list(names), format_func=names.get, index=None, placeholder="选择成员",
                               key="hh_lc_member")
            why = st.selectbox("原因", list(lifecycle.LEAVE_REASONS), format_func=lifecycle.LEAVE_REASONS.get)
            on = st.date_input("日期", value=today, max_value=today, format="YYYY-MM-DD")
            heir = st.selectbox("新户主（户主迁出或去世时必选）", list(names), format_func=names.get, index=None,
                                placeholder="不换户主")
            note = st.text_input("说明", max_chars=200)
            if st.form_submit_button("下一步…"):
                if rid is None:
                    st.error("请选择成员。")
                    return
                lines = [f"原因：{lifecycle.LEAVE_REASONS[why]}，日期 {on}", f"说明：{note}"]
                if heir is not None:
                    lines.append(f"新户主：{names[heir]}")
                _ask("leave", {"resident_id": rid, "reason": why, "on": on, "note": note, "new_head_id": heir},
                     f"{names[rid]} 离开 {view.door_no} {view.head_name}", lines)
    elif action == "return":
        if not gone:
            st.caption("这一户没有迁出或去世的成员。")
        else:
            back = {rid: f"{name}（{rel}）" for rid, name, rel in gone}
            with st.form("hh_lc_return"):
                rid = st.selectbox("成员", list(back), format_func=back.get)
                note = st.text_input("说明（如：登记有误、已迁回）", max_chars=200)
                if st.form_submit_button("下一步…"):
                    _ask("return", {"resident_id": rid, "note": note}, f"{back[rid]} 回到 {view.door_no}",
                         [f"说明：{note}"])
    elif action == "split":
        with st.form("hh_lc_split"):
            movers = st.multiselect("分出去的成员", list(names), format_func=names.get, placeholder="选择成员",
                                    key="hh_lc_movers")
            head = st.selectbox("新户户主", list(names), format_func=names.get, index=None, placeholder="默认第一位")
            door = st.text_input("新户门牌号（必填）", max_chars=30, key="hh_lc_door")
            pts = number_box(f"分给新户的可用积分（本户现有 {view.balance} 分）", min_value=0,
                             max_value=max(0, view.balance), value=0, step=1)
            on = st.date_input("日期", value=today, max_value=today, format="YYYY-MM-DD")
            note = st.text_input("说明（如：儿子结婚分户，积分按约定划分）", max_chars=200)
            if st.form_submit_button("下一步…"):
                if not movers or not door.strip():
                    st.error("请选择分出去的成员，并填写新户门牌号。")
                    return
                if pts is None:
                    return
                who = "、".join(names[m] for m in movers)
                _ask("split", {"resident_ids": movers, "door_no": door, "points": int(pts), "head_id": head,
                               "on": on, "note": note},
                     f"从 {view.door_no} {view.head_name} 分户",
                     [f"原户：{view.door_no} {view.head_name}，留下 {len(names) - len(movers)} 人，"
                      f"可用积分 {view.balance} → {view.balance - int(pts)} 分",
                      f"新户：门牌号 {door}，{who}，可用积分 0 → {int(pts)} 分", f"日期 {on}；说明：{note}"])
    elif action == "merge":
        with st.form("hh_lc_merge"):
            into = pick_household("并入哪一户", view.village_id, exclude={view.id}, key="hh_lc_into")
            on = st.date_input("日期", value=today, max_value=today, format="YYYY-MM-DD")
            note = st.text_input("说明", max_chars=200)
            if st.form_submit_button("下一步…"):
                if into is None:
                    st.error("请选择并入哪一户。")
                    return
                _ask("merge", {"into_id": into, "on": on, "note": note},
                     f"{view.door_no} {view.head_name} 并入 {other_labels[into]}",
                     [f"本户 {len(names)} 位成员和全部可用积分 {view.balance} 分转入 {other_labels[into]}",
                      "本户随即注销，积分卡作废；累计积分留在本户的记录里。", f"日期 {on}；说明：{note}"])
    elif action == "close":
        reasons = {k: v for k, v in lifecycle.CLOSE_REASONS.items() if k != "merged"}
        with st.form("hh_lc_close"):
            why = st.selectbox("原因", list(reasons), format_func=reasons.get)
            keep = st.radio("本户的可用积分", ["keep", "move"],
                            format_func={"keep": "保留在本户（冻结，可查询）", "move": "转给另一户"}.get)
            to = pick_household("转给哪一户（选择“转给另一户”时）", view.village_id, exclude={view.id},
                                key="hh_lc_close_to")
            on = st.date_input("日期", value=today, max_value=today, format="YYYY-MM-DD")
            note = st.text_input("说明", max_chars=200)
            if st.form_submit_button("下一步…"):
                target = to if keep == "move" else None
                if keep == "move" and to is None:
                    st.error("请选择接收积分的户。")
                else:
                    where = f"转给 {other_labels[target]}" if target else "保留在本户"
                    _ask("close", {"reason": why, "on": on, "note": note, "balance_to": target},
                         f"注销 {view.door_no} {view.head_name}",
                         [f"原因：{reasons[why]}，日期 {on}", f"可用积分 {view.balance} 分：{where}",
                          "积分卡立即作废；该户不能兑换，不参加排名，记录仍可查询。", f"说明：{note}"])


def _ask(action: str, args: dict, title: str, lines: list[str]) -> None:
    confirm.open_question("hh_lc", (action, args, title, lines))


def _confirm_lifecycle(actor, view, pending: tuple) -> None:
    action, args, title, lines = pending
    db = runtime.db()
    calls = {
        "leave": lambda: lifecycle.resident_leaves(db, actor, args["resident_id"], args["reason"], note=args["note"],
                                                   on=args["on"], new_head_id=args["new_head_id"]),
        "return": lambda: lifecycle.resident_returns(db, actor, args["resident_id"], note=args["note"]),
        "split": lambda: lifecycle.split(db, actor, view.id, args["resident_ids"], door_no=args["door_no"],
                                         points=args["points"], head_id=args["head_id"], note=args["note"],
                                         on=args["on"]),
        "merge": lambda: lifecycle.merge(db, actor, view.id, args["into_id"], note=args["note"], on=args["on"]),
        "close": lambda: lifecycle.close_household(db, actor, view.id, args["reason"], note=args["note"],
                                                   on=args["on"], balance_to=args["balance_to"]),
        "reopen": lambda: lifecycle.reopen_household(db, actor, view.id, note=args["note"]),
    }
    st.subheader("请确认户籍变动")
    # once: a split has nothing the core could recognise as done, so a second click must find no question
    if confirm.confirmed("hh_lc", pending, details=[title, *lines], confirm="确认", back="取消", once=True,
                         warning="确认后记入户籍变动和积分流水，不能删除；如有错误，只能再办理一次相反的变动。"):
        done = run_action(calls[action])
        if done is not None:
            flash(done.message)
            st.rerun()


def _corrections(actor, view) -> None:
    db = runtime.db()
    pending = confirm.token("hh_correct")
    if pending:
        kind, arg, reason = pending
        what = f"冲正第 {arg} 号流水" if kind == "reverse" else f"调整 {arg:+d} 分"
        # once: an adjustment has no natural cause the core could deduplicate on
        if confirm.confirmed("hh_correct", pending, confirm="确认", back="取消", once=True,
                             warning=f"确认为 {view.door_no} {view.head_name} {what}吗？原因：{reason}。"
                                     "此操作会记入积分流水，不能删除。"):
            fn = (lambda: corrections.reverse(db, actor, arg, reason)) if kind == "reverse" else \
                (lambda: corrections.adjust(db, actor, view.id, arg, reason))
            if run_action(fn):
                flash(f"已{what}。")
                st.rerun()
        return
    st.subheader("冲正一条流水")
    options = households.reversible_entries(db, view.id)
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
                confirm.open_question("hh_correct", ("reverse", eid, reason.strip()))
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
            confirm.open_question("hh_correct", ("adjust", int(pts), reason.strip()))



def _balance_list(actor) -> None:
    """全村积分余额表: every household's spendable, held and outstanding points, to download."""
    rows = township.balance_rows(runtime.db(), actor.village_id)
    st.caption("全村积分余额表：每户的可用、冻结、待扣和累计积分。")
    downloads(labelled(rows, BALANCES), "全村积分余额表", "hh_balances_dl")


def _statement_period(key: str) -> periods.Period:
    cols = st.columns([1, 2])
    kind = cols[0].segmented_control("对账单周期", ["month", "year"], format_func={"month": "按月", "year": "按年"}.get,
                                     default="month", key=f"{key}_kind") or "month"
    options = periods.recent_periods(kind, dt.date.today(), 12 if kind == "month" else 5)
    return cols[1].selectbox("时间", options, format_func=lambda p: p.label, key=f"{key}_period_{kind}")


def _statements(actor) -> None:
    """积分对账单 for households without a phone: a grid or the whole village, a page per household."""
    st.subheader("打印积分对账单")
    st.caption("给没有手机的村民：每户一页，含可用、暂扣、待扣积分，本期积分记录和星级。查找一户可单独打印。")
    db = runtime.db()
    grids = publicity.grid_names(db, actor.village_id)
    scope = st.selectbox("范围", [None, *grids], key="hh_stmt_scope",
                         format_func=lambda g: "全村" if g is None else grids[g])
    period = _statement_period("hh_stmt_all")
    if not st.button("生成对账单", icon=":material/print:", key="hh_stmt_build"):
        return
    bar = st.progress(0.0, text="正在生成……")
    data = run_action(lambda: statement.statements_pdf(
        db, actor, actor.village_id, period, grid_id=scope,
        progress=lambda n, total: bar.progress(n / total, text=f"已生成 {n} / {total} 户")))
    if data:
        name = "全村" if scope is None else grids[scope]
        st.download_button("下载对账单 PDF", data, f"积分对账单_{name}_{period.label}.pdf", mime="application/pdf",
                           icon=":material/download:", key="hh_stmt_dl", on_click="ignore")


if __name__ == "__main__":  # opened by URL on a fresh server, outside st.navigation
    from ui.frame import run

    run()
