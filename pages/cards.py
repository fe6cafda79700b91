"""积分卡: issue, reissue and revoke household cards (each confirmed), print card sheets."""

from __future__ import annotations

import streamlit as st

from core.village import card_sheet, cards
from ui import confirm, runtime, state
from ui.guard import page_guard
from ui.household_picker import household_labels, pick_household
from ui.tables import Col, table
from ui.widgets import card_address_ok, flash, run_action

ACTIONS = {"issue": "发卡", "reissue": "补办（旧卡立即失效）", "revoke": "挂失/作废"}
CARD_NAMES = {True: "有效", False: "未办卡"}  # a household's card, by has_card
OVERVIEW = [
    Col("household_id", "户ID", "int"),
    Col("door_no", "门牌号"),
    Col("head_name", "户主"),
    Col("has_card", "积分卡", names=CARD_NAMES),
    Col("issued_at", "发卡时间", "datetime"),
]


def _confirm(actor, pending: tuple) -> None:
    action, hid, label, reason = pending
    details = [f"{ACTIONS[action]}：{label}"] + ([f"原因：{reason}"] if reason else [])
    warning = ("旧卡将立即失效，扫码和兑换都不能再用。" if action in ("reissue", "revoke")
               else "确认为这一户发卡吗？")
    # once: a reissue clicked twice would print a second card and void the first
    if confirm.confirmed("cards", pending, details=details, warning=warning, confirm="确认", back="取消", once=True):
        db = runtime.db()
        calls = {
            "issue": lambda: cards.issue_card(db, actor, hid),
            "reissue": lambda: cards.reissue_card(db, actor, hid, reason),
            "revoke": lambda: cards.revoke_card(db, actor, hid, reason) or True,
        }
        if run_action(calls[action], success=f"已{ACTIONS[action][:2]}：{label}。"):
            st.session_state[state.CARDS_SHEET] = [hid] if action != "revoke" else None
            st.rerun()


def _manage(actor, village_id: int, rows: list[cards.HouseholdCardRow]) -> None:
    notes = {r.household_id: f"[{CARD_NAMES[r.has_card]}]" for r in rows}  # the card's state after the name
    with st.form("cards_action"):
        hid = pick_household("户", village_id, only=notes, notes=notes, key="cards_household")
        action = st.segmented_control("操作", list(ACTIONS), format_func=ACTIONS.get, default="issue")
        reason = st.text_input("原因（补办、挂失必填）", max_chars=200, placeholder="如：遗失、损坏")
        if st.form_submit_button("下一步", type="primary"):
            if hid is None or action is None:
                st.error("请选择户和操作。")
            else:
                confirm.open_question("cards", (action, hid, household_labels(village_id, only={hid}, notes=notes)[hid],
                                                reason.strip()))
    pending = confirm.token("cards")
    if pending:
        _confirm(actor, pending)


def _print(actor, village_id: int, rows: list[cards.HouseholdCardRow]) -> None:
    st.caption("A4 纸每页 10 张（85.6×54 毫米，银行卡大小），沿灰线裁切；建议塑封。")
    without = [r.household_id for r in rows if not r.has_card]
    if without:
        st.info(f"还有 {len(without)} 户没有积分卡。")
        if st.button(f"为这 {len(without)} 户发卡", key="cards_issue_missing"):
            n = run_action(lambda: cards.issue_missing(runtime.db(), actor, village_id))
            if n is not None:
                flash(f"已为 {n} 户发卡，可在下面打印。")
                st.session_state[state.CARDS_SHEET] = without
                st.rerun()
    labels = {r.household_id: f"{r.door_no}　{r.head_name}" for r in rows if r.has_card}
    default = [h for h in (st.session_state.get(state.CARDS_SHEET) or []) if h in labels]
    chosen = st.multiselect("打印哪些户的卡（不选 = 全村有效卡）", list(labels), format_func=labels.get,
                            default=default, key="cards_print_pick")
    may, local = card_address_ok(village_id, state.CARDS_LOCAL_OK)
    if st.button("生成打印文件", type="primary", key="cards_make_sheet", icon=":material/print:", disabled=not may):
        pdf = run_action(lambda: card_sheet.card_sheet(runtime.db(), actor, village_id, chosen or None,
                                                       local_ok=local and may))
        if pdf:
            n = len(chosen) if chosen else len(labels)
            st.download_button(f"下载积分卡 PDF（{n} 张）", pdf, "积分卡.pdf", mime="application/pdf",
                               icon=":material/download:", key="cards_sheet_dl", on_click="ignore")


def render() -> None:
    actor = page_guard("cards")
    st.title("积分卡")
    village_id = actor.village_id
    if village_id is None:
        st.info("当前账号不属于任何村。")
        return
    rows = cards.household_cards(runtime.db(), village_id)
    if not rows:
        st.info("本村还没有登记户，请先导入花名册。")
        return
    m = st.columns(2)
    m[0].metric("有效积分卡", sum(r.has_card for r in rows))
    m[1].metric("未办卡", sum(not r.has_card for r in rows))
    tabs = st.tabs(["发卡/补办/挂失", "打印积分卡", "全部户"])
    with tabs[0]:
        _manage(actor, village_id, rows)
    with tabs[1]:
        _print(actor, village_id, rows)
    with tabs[2]:
        table(rows, OVERVIEW, key="cards_overview", download="积分卡发放情况")


if __name__ == "__main__":  # opened by URL on a fresh server, outside st.navigation
    from ui.frame import run

    run()
