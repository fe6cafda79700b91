"""收银台: scan the card, scan or pick goods, confirm once, print the receipt.

The USB scanner types into the scan box and presses Enter. The box is a form that clears
on submit and takes the cursor back after every run, and keystrokes typed anywhere else on
the page are moved into it (ui.scan), so a scan after any click acts and the scanner's
Enter never presses the button clicked last. A checkout can be done from the scanner alone:
card, goods, then the printed 结算 code (or, where the village allows it, Enter on an empty box).

Every button acts in its callback, before the page is drawn: one click is one run of the
page, and what the run shows (balance, limits, the confirm button) is read after the action,
so a till that lost a race to another till shows the balance left, not the old one.
The cart's idempotency key lives in session_state and is replaced only after a successful
commit: a double click or rerun confirms the same cart, which core.supermarket.shop.checkout commits once.
"""

from __future__ import annotations

import hashlib
import uuid

import pandas as pd
import streamlit as st

from core.platform.errors import DomainError
from core.supermarket import receipts, shop
from core.supermarket import stock as stock_mod
from core.village import cards, households, villages
from ui import runtime, state
from ui.guard import page_guard
from ui.scan import scan_box
from ui.widgets import md_escape, pdf_download, say, text_of


def _reset(household_id: int | None = None, card_id: int | None = None) -> None:
    st.session_state[state.CHECKOUT_HOUSEHOLD] = household_id
    st.session_state[state.CHECKOUT_CARD] = card_id
    st.session_state[state.CHECKOUT_CART] = {}
    st.session_state[state.CHECKOUT_CART_KEY] = uuid.uuid4().hex


def _notice(level: str, text: str) -> None:
    st.session_state[state.CHECKOUT_NOTICE] = (level, text)


def _cart() -> dict[int, int]:
    return st.session_state.setdefault(state.CHECKOUT_CART, {})


def _next_customer() -> None:
    _reset()
    st.session_state[state.CHECKOUT_LAST_RECEIPT] = None


def _confirm(actor) -> None:
    """Commit the cart on screen (button callback, the 结算 code or an empty Enter)."""
    household_id = st.session_state.get(state.CHECKOUT_HOUSEHOLD)
    cart = dict(_cart())
    if household_id is None:
        _notice("warning", "请先扫描村民的积分卡。")
        return
    if not cart:
        _notice("warning", "购物车是空的：请先扫描商品。")
        return
    delivery = st.session_state.get(f"checkout_delivery_{household_id}")
    if delivery is None:  # the box was never drawn (scanner-only checkout): the household's own need
        try:
            delivery = shop.counter_view(runtime.db(), actor.village_id, household_id).needs_delivery
        except DomainError:
            delivery = False
    try:
        rid = shop.checkout(runtime.db(), actor, household_id=household_id,
                            card_id=st.session_state.get(state.CHECKOUT_CARD), cart=cart,
                            cart_key=st.session_state[state.CHECKOUT_CART_KEY], delivery=bool(delivery))
    except DomainError as e:
        _notice("error", f"未兑换：{e}")
        return
    st.session_state[state.CHECKOUT_LAST_RECEIPT] = rid
    # A new key only now: a rerun or second click of this cart finds the same redemption.
    st.session_state[state.CHECKOUT_CART] = {}
    st.session_state[state.CHECKOUT_CART_KEY] = uuid.uuid4().hex


def _handle_scan(actor, village_id: int, text: str) -> None:
    if text == "":
        if shop.enter_confirms(runtime.db(), village_id) and _cart():
            _confirm(actor)
        return
    if shop.is_confirm_code(text):
        _confirm(actor)
        return
    try:
        scan = shop.interpret_scan(runtime.db(), village_id, text)
    except DomainError as e:
        _notice("error", str(e))
        return
    if scan.kind == "card":
        if scan.household_id != st.session_state.get(state.CHECKOUT_HOUSEHOLD):
            _reset(scan.household_id, scan.card_id)
            st.session_state[state.CHECKOUT_LAST_RECEIPT] = None
        else:
            st.session_state[state.CHECKOUT_CARD] = scan.card_id
        _notice("success", f"已读卡：{scan.name}")
        return
    if st.session_state.get(state.CHECKOUT_HOUSEHOLD) is None:
        _notice("warning", f"扫到商品“{scan.name}”，请先扫描村民的积分卡。")
        return
    cart = _cart()
    cart[scan.product_id] = cart.get(scan.product_id, 0) + 1
    _notice("success", f"已加入：{scan.name} ×1")


def _camera(actor, village_id: int) -> None:
    # A toggle, not an expander: a camera widget inside a collapsed expander would still ask
    # for camera permission on every page load.
    if not st.toggle("没有扫码枪？用摄像头扫码", key="checkout_camera_on"):
        return
    with st.container(border=True):
        st.caption("摄像头只在 https 网址或本机 (localhost) 打开时可用；把二维码或条码对准镜头后拍照。")
        photo = st.camera_input("拍摄积分卡二维码或商品条码", key="checkout_camera")
        if photo is None:
            return
        data = photo.getvalue()
        digest = hashlib.sha256(data).hexdigest()
        if st.session_state.get(state.CHECKOUT_CAMERA_LAST) == digest:
            return  # this photo was already read; the widget keeps it across reruns
        st.session_state[state.CHECKOUT_CAMERA_LAST] = digest
        try:
            found = cards.decode_image(data)
        except DomainError as e:  # e.g. a photo declaring too many pixels
            _notice("error", str(e))
            st.rerun()
        if not found:
            _notice("warning", "照片里没有识别到二维码或条码，请靠近一些、保持光线充足后重拍。")
        else:
            _handle_scan(actor, village_id, found[0])
        st.rerun()


def _household_search(village_id: int) -> None:
    with st.expander("村民忘带卡？按门牌号或户主查找", icon=":material/search:"):
        text = st.text_input("门牌号或户主姓名", key="checkout_find", max_chars=30)
        # A text search, not the household picker's drop-down: the till reruns on every scan, and a
        # drop-down would send every household's label each time; the search sends up to ten buttons.
        # It reads the picker's own search (door number, head or member name), active households only.
        try:
            hits = households.find_choices(runtime.db(), village_id, text, limit=10)
        except DomainError as e:  # a card number typed here: a revoked card is said in Chinese
            say("error", e)
            hits = []
        if text and not hits:
            st.caption("没有找到。")
        for h in hits:
            st.button(f"{md_escape(h.door_no)}　{md_escape(h.head_name)}", key=f"checkout_pick_{h.id}",
                      on_click=_pick_household, args=(h.id, h.door_no, h.head_name))


def _pick_household(hid: int, door: str, head: str) -> None:
    _reset(hid, None)
    st.session_state[state.CHECKOUT_LAST_RECEIPT] = None
    _notice("info", f"已选择：{door} {head}（未刷卡，请核对身份）")


def _household_panel(village_id: int, household_id: int) -> shop.Counter | None:
    try:
        c = shop.counter_view(runtime.db(), village_id, household_id)
    except DomainError as e:
        say("error", e)
        _reset()
        return None
    with st.container(border=True):
        top = st.columns([3, 1, 1])
        top[0].subheader(f"{md_escape(c.door_no)}　{md_escape(c.head_name)}")
        top[0].text("家庭成员：" + "、".join(c.members) if c.members else "家庭成员：（无登记）")
        top[1].metric("可兑换积分", c.spendable)
        top[2].metric("累计积分", c.earned_total)
        if c.held:
            st.warning(f"余额 {c.balance} 分，其中 {min(c.held, c.balance)} 分因公示中的扣分（共 {c.held} 分）暂不能兑换。",
                       icon=":material/lock_clock:")
        if c.outstanding:
            st.warning(f"该户有待扣积分 {c.outstanding} 分（扣分时余额不足），以后得到的积分先用于抵扣。",
                       icon=":material/pending:")
        if st.session_state.get(state.CHECKOUT_CARD) is None:
            st.caption("未刷卡：按门牌号选择的户，请核对身份。")
        for problem in c.eligibility:
            say("warning", problem, icon=":material/block:")
        if c.recent:
            say("info", f"该户 {shop.RECENT_MINUTES} 分钟内已兑换：" + "；".join(c.recent) + "。请勿重复兑换。",
                    icon=":material/history:")
        if c.limits:
            st.caption(md_escape("本月限兑商品：" + "；".join(
                f"{lim.name} 已兑 {lim.used}/{lim.limit}{lim.unit}" for lim in c.limits)))
    return c


def _add_by_hand(village_id: int) -> None:
    items = stock_mod.products(runtime.db(), village_id, active_only=True)
    if not items:
        st.info("还没有在售商品，请先在“商品与库存”中添加。")
        return
    with st.form("checkout_add", clear_on_submit=True, border=False):
        cols = st.columns([4, 1, 1], vertical_alignment="bottom")
        labels = {p.id: f"{p.name}（{p.price} 分/{p.unit}" + (f"，库存 {p.stock}）" if p.kind == "goods" else "）")
                  for p in items}
        pid = cols[0].selectbox("选择商品（无条码的商品、服务）", list(labels), format_func=labels.get,
                                index=None, placeholder="输入商品名称搜索", key="checkout_add_product")
        # No min/max on the box: Streamlit would answer a typed 150 with an English tooltip; the page says it.
        qty = cols[1].number_input("数量", value=1, step=1, key="checkout_add_qty")
        if cols[2].form_submit_button("加入", width="stretch") and pid is not None:
            if not 1 <= qty <= shop.MAX_LINE_QTY:
                st.error(f"数量请填 1 到 {shop.MAX_LINE_QTY}。", icon=":material/error:")
            else:
                cart = _cart()
                cart[pid] = cart.get(pid, 0) + int(qty)


def _cart_panel(actor, village_id: int, household_id: int, counter: shop.Counter) -> None:
    cart = _cart()
    if not cart:
        st.info("购物车是空的：扫描商品条码，或从上面选择商品。", icon=":material/shopping_cart:")
        return
    try:
        check = shop.check_cart(runtime.db(), village_id, household_id, cart)
    except DomainError as e:
        say("error", e)
        _cart().clear()
        return
    st.markdown("**购物车**")
    for ln in check.lines:
        cols = st.columns([4, 2, 2, 1], vertical_alignment="center")
        cols[0].text(f"{ln.name}（{ln.price} 分/{ln.unit}）")
        qkey = f"checkout_qty_{ln.product_id}_{ln.qty}"
        cols[1].number_input("数量", value=ln.qty, step=1, key=qkey, label_visibility="collapsed",
                             on_change=_set_qty, args=(ln.product_id, qkey, st.session_state[state.CHECKOUT_CART_KEY], ln.qty))
        cols[2].text(f"小计 {ln.amount} 分")
        cols[3].button("移除", key=f"checkout_remove_{ln.product_id}", icon=":material/delete:",
                       on_click=_remove, args=(ln.product_id, st.session_state[state.CHECKOUT_CART_KEY]))
    m = st.columns(3)
    m[0].metric("本次合计", f"{check.total} 分")
    m[1].metric("可兑换积分", f"{check.spendable} 分")
    m[2].metric("兑换后余额", f"{check.balance_after} 分")
    for problem in check.problems:
        say("error", problem, icon=":material/error:")
    st.checkbox("送货上门（老人、残疾人等）", value=counter.needs_delivery, key=f"checkout_delivery_{household_id}")
    cols = st.columns([2, 1])
    cols[0].button(f"确认兑换（{check.total} 分）", type="primary", disabled=not check.ok, width="stretch",
                   key="checkout_confirm", icon=":material/check_circle:", on_click=_confirm, args=(actor,))
    cols[1].button("清空购物车", width="stretch", key="checkout_clear", on_click=lambda: _cart().clear())


def _stale(cart_key: str, product_id: int, drawn_qty: int | None = None) -> bool:
    """A cart line's box or button drawn for an earlier cart, or for the line as it was before a scan
    changed it: a scan typed while the page is still redrawing sends the old boxes' values back with it,
    and Streamlit takes a box it has forgotten for a changed one. Acting on it would put the sold goods
    back into the cart after a confirm, or set a line scanned twice back to one."""
    if cart_key != st.session_state.get(state.CHECKOUT_CART_KEY) or product_id not in _cart():
        return True
    return drawn_qty is not None and _cart()[product_id] != drawn_qty


def _set_qty(product_id: int, widget_key: str, cart_key: str, drawn_qty: int) -> None:
    qty = st.session_state.get(widget_key)
    if qty is None or _stale(cart_key, product_id, drawn_qty):
        return
    if 1 <= qty <= shop.MAX_LINE_QTY:
        _cart()[product_id] = int(qty)
        return
    _notice("error", "数量不能少于 1；不要这件商品请点“移除”。" if qty < 1
            else f"每种商品一次最多兑换 {shop.MAX_LINE_QTY} 件。")
    st.session_state[widget_key] = _cart().get(product_id, 1)  # the box shows the cart again


def _remove(product_id: int, cart_key: str) -> None:
    if not _stale(cart_key, product_id):
        _cart().pop(product_id, None)


def _receipt_panel(village_id: int, rid: int) -> None:
    try:
        r = receipts.receipt(runtime.db(), village_id, rid)
    except DomainError:
        return
    with st.container(border=True):
        st.success(f"兑换成功：凭证号 {r.receipt_no}，共 {r.total} 分。", icon=":material/task_alt:")
        st.dataframe(pd.DataFrame([{"商品": ln.name, "数量": f"{ln.qty}{ln.unit}", "单价": ln.price, "小计": ln.amount}
                                   for ln in r.lines]), hide_index=True, width="stretch")
        st.caption(f"{md_escape(r.door_no)} {md_escape(r.head_name)} · {r.created_at:%Y-%m-%d %H:%M} · 收银员 {md_escape(r.cashier)} · "
                   f"{receipts.DELIVERY_NAMES.get(r.delivery, '')}")
        # drawn only when clicked: the next scan at the till must not wait for a PDF
        printed = text_of(r.village, r.door_no, r.head_name, r.cashier, r.void_reason,
                          *(f"{ln.name}{ln.unit}" for ln in r.lines))
        with st.container(horizontal=True):
            pdf_download("打印兑换凭证（A4）", lambda: receipts.receipt_pdf(r), f"兑换凭证_{r.receipt_no}.pdf",
                         f"checkout_receipt_{rid}", printed)
            for w in receipts.SLIP_WIDTHS:
                pdf_download(f"小票 {w} mm", lambda w=w: receipts.receipt_slip_pdf(r, w),
                             f"兑换小票_{w}mm_{r.receipt_no}.pdf", f"checkout_slip{w}_{rid}", printed)


def _confirm_code_help(village_id: int) -> None:
    with st.expander("只用扫码枪结账：打印结算码", icon=":material/qr_code_2:"):
        st.caption("扫积分卡 → 扫商品（同一商品扫几次就是几件）→ 扫“结算码”即确认兑换，凭证随即显示，"
                   "可以接着扫下一位的卡。把结算码打印出来贴在扫码枪旁。系统设置里可以让扫码框空回车也确认兑换。")
        pdf_download("打印结算码（PDF）", lambda: receipts.confirm_code_pdf(_village_name(village_id)),
                     "收银台结算码.pdf", "checkout_confirm_code", _village_name(village_id))


def _village_name(village_id: int) -> str:
    return villages.village_name(runtime.db(), village_id)


def render() -> None:
    actor = page_guard("checkout")
    st.title("收银台")
    village_id = actor.village_id
    if village_id is None:
        st.info("当前账号不属于任何村。")
        return
    if state.CHECKOUT_CART_KEY not in st.session_state:
        _reset()

    scanned = scan_box("checkout_scan", label="扫描积分卡或商品条码",
                       placeholder="光标在这里时，用扫码枪扫卡或扫商品；也可输入卡号后回车")
    if scanned is not None:
        _handle_scan(actor, village_id, scanned)
    notice = st.session_state.pop(state.CHECKOUT_NOTICE, None)
    if notice:
        say(notice[0], notice[1])
    _camera(actor, village_id)
    _household_search(village_id)

    last = st.session_state.get(state.CHECKOUT_LAST_RECEIPT)
    if last:
        _receipt_panel(village_id, last)

    household_id = st.session_state.get(state.CHECKOUT_HOUSEHOLD)
    if household_id is None:
        st.info("请扫描村民的积分卡开始兑换。", icon=":material/qr_code_scanner:")
        _confirm_code_help(village_id)
        return
    counter = _household_panel(village_id, household_id)
    if counter is None:
        return
    _add_by_hand(village_id)
    _cart_panel(actor, village_id, household_id, counter)
    st.button("完成，接待下一位", key="checkout_next", icon=":material/person_add:", on_click=_next_customer)


if __name__ == "__main__":  # opened by URL on a fresh server, outside st.navigation
    from ui.frame import run

    run()
