"""兑换记录: the list of redemptions, returns of part of one (退货) and void with a reason (each confirmed
when asked, ui.confirm), home deliveries."""

from __future__ import annotations

import datetime as dt
import uuid

import streamlit as st

from core.platform.errors import DomainError
from core.supermarket import receipts, returns, shop
from db.enums import Delivery, RedemptionStatus
from ui import confirm, runtime, state
from ui.guard import page_guard
from ui.tables import Col, table
from ui.widgets import md_escape, number_box, pdf_download, run_action, say, text_of

REDEMPTIONS = [
    Col("id", "兑换ID", "int"),
    Col("receipt_no", "凭证号"),
    Col("created_at", "时间", "datetime"),
    Col("door_no", "门牌号"),
    Col("head_name", "户主"),
    Col("items", "商品"),
    Col("total", "积分", "points"),
    Col("returned_points", "已退积分", "points"),
    Col("state", "状态", names=receipts.STATUS_NAMES),
    Col("returns", "退货"),
    Col("delivery", "送货", names=receipts.DELIVERY_NAMES),
    Col("void_reason", "撤销原因"),
]
DELIVERIES = [
    Col("id", "兑换ID", "int"),
    Col("receipt_no", "凭证号"),
    Col("created_at", "兑换时间", "datetime"),
    Col("door_no", "门牌号"),
    Col("head_name", "户主"),
    Col("address", "地址"),
    Col("phone", "电话"),
    Col("items", "商品"),
    Col("total", "积分", "points"),
    Col("delivery", "送货", names=receipts.DELIVERY_NAMES),
    Col("delivered_at", "送达时间", "datetime"),
]


def _void_question(actor, village_id: int, rid: int) -> None:
    try:
        r = receipts.receipt(runtime.db(), village_id, rid)
    except DomainError as e:
        say("error", e)
        return
    confirm.question("撤销后积分退回该户、商品退回库存（已退货的部分不再退）。此操作会记入操作日志。",
                     [f"撤销兑换　凭证号 {r.receipt_no}：{r.door_no} {r.head_name}，{r.total} 分",
                      "、".join(f"{ln.name}×{ln.qty}" for ln in r.lines)])
    reason = st.text_input("撤销原因（必填）", max_chars=500, key="redemptions_void_reason")
    # A redemption voided already is refused by the core, so a second click voids nothing twice.
    if confirm.answer("redemptions_void", confirm="确认撤销", back="取消"):
        done = run_action(lambda: shop.void(runtime.db(), actor, rid, reason) or True,
                          success=f"已撤销兑换 {r.receipt_no}。")
        if done:
            confirm.close()
            st.rerun()


def _return_question(actor, village_id: int, rid: int) -> None:
    try:
        r = receipts.receipt(runtime.db(), village_id, rid)
        lines = returns.returnable(runtime.db(), village_id, rid)
    except DomainError as e:
        say("error", e)
        return
    st.text(f"退货　凭证号 {r.receipt_no}：{r.door_no} {r.head_name}，{r.total} 分")
    st.caption("填写每种商品这次退回的数量（不退的填 0）；最多可退的是兑换数量减去以前已退的。")
    qty: dict[int, int] = {}
    valid = True  # a quantity outside 0…left says so under its box and keeps 确认退货 disabled
    for ln in lines:
        label = f"{ln.name}（兑换 {ln.bought}{ln.unit}，已退 {ln.returned}，每{ln.unit} {ln.price} 分）"
        n = number_box(label, min_value=0, max_value=ln.left, value=0, step=1, disabled=ln.left == 0,
                       key=f"redemptions_return_qty_{ln.line_id}")
        qty[ln.line_id] = 0 if n is None else int(n)
        valid = valid and n is not None
    points = sum(ln.price * qty[ln.line_id] for ln in lines) if valid else 0
    confirm.question(f"退货后退回 {points} 积分，商品回到库存。退货会记入积分流水和操作日志，不能撤回。")
    reason = st.text_input("退货原因（必填）", max_chars=500, key="redemptions_return_reason")
    # The return carries its idempotency key: the core takes it once however often 确认 is clicked.
    if confirm.answer("redemptions_return", confirm="确认退货", back="取消", disabled=points == 0):
        key = st.session_state.setdefault(state.REDEMPTION_RETURN_KEY, uuid.uuid4().hex)
        done = run_action(lambda: returns.return_items(runtime.db(), actor, rid, qty, reason, key),
                          success=f"已退货，退回 {points} 分。")
        if done:
            st.session_state[state.REDEMPTION_RETURNED] = done
            st.session_state.pop(state.REDEMPTION_RETURN_KEY, None)
            confirm.close()
            st.rerun()


def _return_receipt(village_id: int) -> None:
    ret_id = st.session_state.get(state.REDEMPTION_RETURNED)
    if not ret_id:
        return
    try:
        r = returns.return_receipt(runtime.db(), village_id, ret_id)
    except DomainError:
        return
    with st.container(border=True):
        say("success", f"退货凭证 {r.receipt_no}（原兑换 {r.redemption_receipt_no}）：退回 {r.total} 分。")
        st.caption(f"{md_escape(r.door_no)} {md_escape(r.head_name)} · "
                   + "、".join(f"{md_escape(name)}×{q}" for name, _, q, _ in r.lines))
        pdf_download("打印退货凭证（PDF）", lambda: returns.return_receipt_pdf(r), f"退货凭证_{r.receipt_no}.pdf",
                     f"redemptions_return_pdf_{ret_id}",
                     text_of(r.village, r.door_no, r.head_name, r.cashier, r.reason, *(n + u for n, u, _, _ in r.lines)))


def _list(actor, village_id: int) -> None:
    today = dt.date.today()
    c1, c2 = st.columns(2)
    since = c1.date_input("从", value=today - dt.timedelta(days=30), max_value=today, key="redemptions_since",
                          format="YYYY-MM-DD")
    until = c2.date_input("到", value=today, key="redemptions_until", format="YYYY-MM-DD")
    if since > until:
        st.error("开始日期不能晚于结束日期。")
        return
    rows = receipts.redemptions(runtime.db(), village_id, since, until)
    if not rows:
        st.info("这段时间没有兑换记录。")
        return
    kept = [r for r in rows if r.status != RedemptionStatus.VOIDED]
    m = st.columns(4)
    m[0].metric("兑换笔数", len(kept))
    m[1].metric("使用积分（扣除退货）", sum(r.total - r.returned_points for r in kept))
    m[2].metric("退货积分", sum(r.returned_points for r in kept))
    m[3].metric("已撤销", len(rows) - len(kept))
    table(rows, REDEMPTIONS, key="redemptions", download=f"兑换记录_{since:%Y%m%d}-{until:%Y%m%d}")

    st.subheader("退货或撤销一笔兑换")
    st.caption("退货：退回一笔兑换中任意商品的任意数量，可分几次退；撤销：退回这笔兑换剩下的全部（已退的不再退）。"
               "兑换当天收银员可以办理；之后由谁办理见系统设置“当天之后的退货和撤销”。")
    _return_receipt(village_id)
    options = {r.id: f"{r.receipt_no}　{r.door_no} {r.head_name}　{r.items}（{r.total} 分）"
               for r in rows if r.returnable}
    cols = st.columns([4, 1, 1], vertical_alignment="bottom")
    rid = cols[0].selectbox("选择兑换", list(options), format_func=options.get, index=None,
                            placeholder="选择要退货或撤销的兑换", key="redemptions_void_pick")
    if cols[1].button("退货…", disabled=rid is None, key="redemptions_return_open", width="stretch"):
        st.session_state.pop(state.REDEMPTION_RETURN_KEY, None)  # a new return, with a key of its own
        confirm.open_question("redemptions_return", rid)
    if cols[2].button("撤销…", disabled=rid is None, key="redemptions_void_open", width="stretch"):
        confirm.open_question("redemptions_void", rid)
    # One question at a time (ui.confirm): opening the return closes the void, and the other way round.
    if confirm.token("redemptions_return") is not None:
        _return_question(actor, village_id, confirm.token("redemptions_return"))
    elif confirm.token("redemptions_void") is not None:
        _void_question(actor, village_id, confirm.token("redemptions_void"))


def _deliveries(actor, village_id: int) -> None:
    waiting = receipts.deliveries(runtime.db(), village_id)
    if not waiting:
        st.info("没有待送货的兑换。")
    else:
        table(waiting, DELIVERIES, key="redemptions_delivery", download="待送货名单")
        options = {r.id: f"{r.receipt_no}　{r.door_no} {r.head_name}　{r.items}" for r in waiting}
        with st.form("redemptions_delivered"):
            rid = st.selectbox("已送达的兑换", list(options), format_func=options.get, index=None,
                               placeholder="选择已送到村民家的兑换")
            confirmed = st.form_submit_button("确认已送达", type="primary") and rid is not None
        if confirmed and run_action(lambda: shop.mark_delivered(runtime.db(), actor, rid) or True,
                                    success="已确认送达。"):
            st.rerun()
    with st.expander("已送达记录"):
        done = [r for r in receipts.deliveries(runtime.db(), village_id, include_delivered=True)
                if r.delivery == Delivery.DELIVERED]
        table(done, DELIVERIES, key="redemptions_delivered_list")


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
