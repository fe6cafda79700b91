"""受助对象: the register of households the charity field gives to — by category, approved,
valid until a date — and suggestions from the roster (a member aged 70+) to confirm."""

from __future__ import annotations

import datetime as dt

import streamlit as st

from core.charity import field_aid
from core.charity.field_aid import EntryStatus
from core.village.templates import BENEFICIARY_CATEGORIES
from core.volunteering import volunteer_queries as vq
from ui import confirm, runtime, state
from ui.guard import page_guard
from ui.tables import Col, column_config, records, table
from ui.widgets import flash, run_action

REGISTER = [
    Col("id", "编号", "int"),
    Col("door_no", "门牌号"),
    Col("head_name", "户主"),
    Col("persons", "人口", "int"),
    Col("category", "类别", names=BENEFICIARY_CATEGORIES),
    Col("reason", "原因"),
    Col("approved_by", "审核人", blank=""),
    Col("approved_at", "审核时间", "datetime"),
    Col("valid_until", "有效期至", "date"),
    Col("status", "状态", names=field_aid.ENTRY_STATUS),
]
LISTED = (EntryStatus.VALID, EntryStatus.PENDING, EntryStatus.EXPIRED)  # shown by default; 已停用 on request
SUGGESTED = [
    Col("household_id", "户ID", "int"),
    Col("door_no", "门牌号"),
    Col("head_name", "户主"),
    Col("elderly_text", "70岁以上成员"),
]


def _summary(actor) -> None:
    summary = field_aid.register_summary(runtime.db(), actor.village_id)
    cols = st.columns(len(summary))
    for col, (cat, (hh, people)) in zip(cols, summary.items(), strict=True):
        col.metric(BENEFICIARY_CATEGORIES[cat], f"{hh} 户")
        col.caption(f"{people} 人")
    st.caption("以上为当前有效（已审核、在有效期内）的登记；同一户可属于多个类别。")


def _register_list(actor) -> None:
    db = runtime.db()
    rows = field_aid.register_entries(db, actor.village_id)
    if not rows:
        st.info("登记册为空：可在“新增登记”中逐户登记，或在“70岁以上老人建议”中一次确认多户。")
        return
    c1, c2 = st.columns(2)
    status = c1.multiselect("状态", list(EntryStatus), default=[*LISTED],
                            format_func=field_aid.ENTRY_STATUS.get, key="ben_filter_status", placeholder="全部状态")
    cats = c2.multiselect("类别", list(BENEFICIARY_CATEGORIES), format_func=BENEFICIARY_CATEGORIES.get,
                          key="ben_filter_cat", placeholder="全部类别")
    view = [e for e in rows if (not status or e.status in status) and (not cats or e.category in cats)]
    st.caption(f"共 {len(view)} 条。分配时只计“有效”的登记：已审核、在有效期内、未停用。")
    table(view, REGISTER, key="ben_list", download="受助对象登记册")
    _renew(actor, rows)
    pending = [e for e in view if e.status == EntryStatus.PENDING]
    active = [e for e in view if e.status in LISTED]
    c1, c2 = st.columns(2)
    with c1.container(border=True):
        st.markdown("**审核**")
        if not pending:
            st.caption("没有待审核的登记。")
        else:
            options = {e.id: _label(e) for e in pending}
            pick = st.selectbox("待审核", list(options), format_func=options.get, key="ben_approve_pick")
            if (st.button("审核通过", key="ben_approve_btn", type="primary")
                    and run_action(lambda: field_aid.approve(db, actor, pick), "已审核通过。") is not None):
                st.rerun()
    with c2.container(border=True):
        st.markdown("**停用**（迁出、去世、不再符合条件）")
        if not active:
            st.caption("没有可停用的登记。")
        else:
            options = {e.id: _label(e) for e in active}
            with st.form("ben_deactivate_form", clear_on_submit=True):
                pick = st.selectbox("登记", list(options), format_func=options.get)
                reason = st.text_input("原因（必填）", max_chars=500)
                if st.form_submit_button("停用…"):
                    confirm.open_question("ben_deactivate", (pick, reason))
            asked = confirm.token("ben_deactivate")
            if asked and asked[0] in options and confirm.confirmed(
                    "ben_deactivate", asked, confirm="确认停用", back="返回",
                    warning=f"确认停用“{options[asked[0]]}”吗？保留记录，不再参与分配。原因：{asked[1]}") \
                    and run_action(lambda: field_aid.deactivate(db, actor, asked[0], asked[1]) or True, "已停用。"):
                confirm.close()
                st.rerun()


def _label(e) -> str:
    return f"{e.door_no} {e.head_name} · {BENEFICIARY_CATEGORIES.get(e.category, e.category)}"


def _renew(actor, rows) -> None:
    soon = dt.date.today() + dt.timedelta(days=30)
    due = [e for e in rows if e.status == EntryStatus.EXPIRED
           or (e.status == EntryStatus.VALID and e.valid_until is not None and e.valid_until <= soon)]
    if not due:
        return
    with st.container(border=True):
        st.markdown(f"**复核续期**：{len(due)} 条已过期或 30 天内到期")
        options = {e.id: f"{_label(e)}（至 {e.valid_until}）" for e in due}
        with st.form("ben_renew_form", clear_on_submit=True):
            c1, c2 = st.columns([3, 2])
            pick = c1.selectbox("登记", list(options), format_func=options.get)
            until = c2.date_input("续期至", value=dt.date.today() + dt.timedelta(days=365), format="YYYY-MM-DD")
            if (st.form_submit_button("复核通过并续期", type="primary")
                    and run_action(lambda: field_aid.renew(runtime.db(), actor, pick, until), "已续期。") is not None):
                st.rerun()


def _new_entry(actor) -> None:
    db = runtime.db()
    query = st.text_input("查找户（户主或成员姓名、门牌号）", key="ben_find", max_chars=40)
    if not query:
        st.caption("输入姓名或门牌号查找要登记的户。")
        return
    found = vq.find_residents(db, actor.village_id, query)
    if not found:
        st.info("没有找到。")
        return
    households = dict(field_aid.households_of(db, actor.village_id, [rid for rid, _ in found]))
    with st.form("ben_new_form", clear_on_submit=True):
        hid = st.selectbox("户", list(households), format_func=households.get)
        c1, c2 = st.columns(2)
        cat = c1.selectbox("类别", list(BENEFICIARY_CATEGORIES), format_func=BENEFICIARY_CATEGORIES.get)
        until = c2.date_input("有效期至", value=dt.date.today() + dt.timedelta(days=365), format="YYYY-MM-DD")
        reason = st.text_area("原因 / 依据（“其他困难户”必填，如：因病致困、突发变故）", max_chars=500, height=70)
        approve = st.checkbox("我已核实，直接审核通过", value=True)
        if st.form_submit_button("登记", type="primary"):
            fp = f"{hid}|{cat}|{until}|{reason}|{approve}"
            if st.session_state.get(state.BENEFICIARY_LAST) == fp:
                st.warning("刚刚已经登记过了。")
            elif run_action(lambda: field_aid.register(db, actor, household_id=hid, category=cat, reason=reason,
                                                       valid_until=until, approve=approve)):
                st.session_state[state.BENEFICIARY_LAST] = fp
                flash(f"已登记：{households[hid]}（{BENEFICIARY_CATEGORIES[cat]}）。")
                st.rerun()


def _suggestions(actor) -> None:
    db = runtime.db()
    rows = field_aid.suggestions(db, actor.village_id)
    st.caption("根据花名册的出生年份，列出家中有 70 岁以上成员、尚未登记为“70岁以上老人”的户。请核实后勾选确认。")
    if not rows:
        st.success("没有新的建议：符合条件的户都已登记。")
        return
    view = records(rows, SUGGESTED)
    view.insert(0, "confirm", False)
    cc = {"confirm": st.column_config.CheckboxColumn("确认"), **column_config(SUGGESTED)}
    edited = st.data_editor(view, hide_index=True, width="stretch", disabled=[c.field for c in SUGGESTED],
                            column_config=cc, key="ben_suggest_editor")
    chosen = [int(h) for h, ok in zip(edited["household_id"], edited["confirm"], strict=True) if ok]
    until = st.date_input("有效期至", value=dt.date.today() + dt.timedelta(days=365), format="YYYY-MM-DD",
                          key="ben_suggest_until")
    if st.button(f"确认登记所选 {len(chosen)} 户", key="ben_suggest_btn", type="primary", disabled=not chosen):
        n = run_action(lambda: field_aid.confirm_suggestions(db, actor, chosen, until))
        if n:
            flash(f"已登记 {n} 户为 70 岁以上老人（已审核）。")
            st.rerun()


def render() -> None:
    actor = page_guard("beneficiaries")
    st.title("受助对象")
    _summary(actor)
    tabs = st.tabs(["登记册", "新增登记", "70岁以上老人建议"])
    with tabs[0]:
        _register_list(actor)
    with tabs[1]:
        _new_entry(actor)
    with tabs[2]:
        _suggestions(actor)


if __name__ == "__main__":  # opened by URL on a fresh server, outside st.navigation
    from ui.frame import run

    run()
