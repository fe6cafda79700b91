"""兑换记录: the list of redemptions, void with a reason (confirmed), home deliveries."""

from __future__ import annotations

import datetime as dt

import streamlit as st

from core.platform.errors import DomainError
from core.supermarket import receipts, shop
from ui import runtime, state
from ui.guard import page_guard
from ui.widgets import downloads, run_action, say


def _close_void() -> None:
    st.session_state[state.REDEMPTION_VOIDING] = None


@st.dialog("撤销兑换", on_dismiss=_close_void)
def _void_dialog(actor, village_id: int, rid: int) -> None:
    try:
        r = receipts.receipt(runtime.db(), village_id, rid)
    except DomainError as e:
        say("error", e)
        return
    st.text(f"凭证号 {r.receipt_no}：{r.door_no} {r.head_name}，{r.total} 分")
    st.text("、".join(f"{ln.name}×{ln.qty}" for ln in r.lines))
    st.warning("撤销后积分退回该户、商品退回库存。此操作会记入操作日志。", icon=":material/warning:")
    reason = st.text_input("撤销原因（必填）", max_chars=500, key="redemptions_void_reason")
    if st.button("确认撤销", type="primary", key="redemptions_void_confirm"):
        done = run_action(lambda: shop.void(runtime.db(), actor, rid, reason) or True,
                          success=f"已撤销兑换 {r.receipt_no}。")
        if done:
            st.session_state[state.REDEMPTION_VOIDING] = None
            st.rerun()


def _list(actor, village_id: int) -> None:
    today = dt.date.today()
    c1, c2 = st.columns(2)
    since = c1.date_input("从", value=today - dt.timedelta(days=30), max_value=today, key="redemptions_since",
                          format="YYYY-MM-DD")
    until = c2.date_input("到", value=today, key="redemptions_until", format="YYYY-MM-DD")
    if since > until:
        st.error("开始日期不能晚于结束日期。")
        return
    df = receipts.redemptions_frame(runtime.db(), village_id, since, until)
    if df.empty:
        st.info("这段时间没有兑换记录。")
        return
    done = df[df["状态"] == "已兑换"]
    m = st.columns(3)
    m[0].metric("兑换笔数", len(done))
    m[1].metric("使用积分", int(done["积分"].sum()))
    m[2].metric("已撤销", int((df["状态"] == "已撤销").sum()))
    st.dataframe(df, hide_index=True, width="stretch")
    downloads(df, f"兑换记录_{since:%Y%m%d}-{until:%Y%m%d}", key="redemptions_dl")

    st.subheader("撤销一笔兑换")
    st.caption("收银员可撤销当天的兑换；更早的兑换需村管理员撤销。")
    options = {int(row["兑换ID"]): f"{row['凭证号']}　{row['门牌号']} {row['户主']}　{row['商品']}（{row['积分']} 分）"
               for row in done[["兑换ID", "凭证号", "门牌号", "户主", "商品", "积分"]].to_dict("records")}
    cols = st.columns([4, 1], vertical_alignment="bottom")
    rid = cols[0].selectbox("选择兑换", list(options), format_func=options.get, index=None,
                            placeholder="选择要撤销的兑换", key="redemptions_void_pick")
    if cols[1].button("撤销…", disabled=rid is None, key="redemptions_void_open", width="stretch"):
        st.session_state[state.REDEMPTION_VOIDING] = rid
    if st.session_state.get(state.REDEMPTION_VOIDING):
        _void_dialog(actor, village_id, st.session_state[state.REDEMPTION_VOIDING])


def _deliveries(actor, village_id: int) -> None:
    df = receipts.delivery_frame(runtime.db(), village_id)
    if df.empty:
        st.info("没有待送货的兑换。")
    else:
        st.dataframe(df, hide_index=True, width="stretch")
        downloads(df, "待送货名单", key="redemptions_delivery_dl")
        options = {int(row["兑换ID"]): f"{row['凭证号']}　{row['门牌号']} {row['户主']}　{row['商品']}"
                   for row in df.to_dict("records")}
        with st.form("redemptions_delivered"):
            rid = st.selectbox("已送达的兑换", list(options), format_func=options.get, index=None,
                               placeholder="选择已送到村民家的兑换")
            confirmed = st.form_submit_button("确认已送达", type="primary") and rid is not None
        if confirmed and run_action(lambda: shop.mark_delivered(runtime.db(), actor, rid) or True,
                                    success="已确认送达。"):
            st.rerun()
    with st.expander("已送达记录"):
        done = receipts.delivery_frame(runtime.db(), village_id, include_delivered=True)
        done = done[done["送货"] == "已送达"]
        st.dataframe(done, hide_index=True, width="stretch")


def render() -> None:
    actor = page_guard("redemptions")
    st.title("兑换记录")
    if actor.village_id is None:
        st.info("当前账号不属于任何村。")
        return
    tab_list, tab_delivery = st.tabs(["兑换记录", "送货上门"])
    with tab_list:
        _list(actor, actor.village_id)
    with tab_delivery:
        _deliveries(actor, actor.village_id)


if __name__ == "__main__":  # opened by URL on a fresh server, outside st.navigation
    from ui.frame import run

    run()
