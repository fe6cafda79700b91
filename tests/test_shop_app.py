"""The counter and the resident link in the running app (AppTest)."""

from __future__ import annotations

import pytest
from sqlalchemy import select

from core.supermarket import stock
from core.supermarket.stock import ProductInput
from core.village import cards
from db.models import Account, Product, Redemption
from tests.app_helpers import app, db_for_env, texts, use_data_dir
from tests.factories import give_points, make_village


@pytest.fixture
def shop_app(tmp_path, monkeypatch):
    use_data_dir(monkeypatch, tmp_path / "data", demo=False)
    db = db_for_env()
    v = make_village(db, name="文祖北村", code="T100", households=3)
    hid = v.household_ids[0]
    give_points(db, hid, 100, "start")
    give_points(db, v.household_ids[1], 777, "other")
    pid = stock.save_product(db, v.admin, v.id, ProductInput(name="挂面", price=10, unit="把", barcode="6900001"))
    stock.receive_stock(db, v.admin, pid, 20)
    token = cards.issue_card(db, v.admin, hid)
    other_token = cards.issue_card(db, v.admin, v.household_ids[1])
    yield db, v, hid, pid, token, other_token
    db.dispose()


def _scan(at, text):
    at.text_input(key="checkout_scan_input").input(text)
    next(b for b in at.button if b.label == "确定").click()
    return at.run()


def _balance(db, hid):
    with db.read() as s:
        return s.get(Account, hid).balance


def test_scanning_a_card_fills_the_checkout_and_a_barcode_fills_the_cart(shop_app):
    db, v, hid, pid, token, _ = shop_app
    at = app(v.actors["cashier"].user_id)
    at.switch_page("pages/checkout.py").run()
    at = _scan(at, cards.format_token(token))
    assert not at.exception
    shown = texts(at)
    assert "户主1" in shown and "已读卡" in shown
    assert [m.value for m in at.metric][:2] == ["100", "100"]
    at = _scan(at, "6900001")
    at = _scan(at, "6900001")
    assert "已加入：挂面" in texts(at)
    confirm = next(b for b in at.button if b.label.startswith("确认兑换"))
    assert confirm.label == "确认兑换（20 分）"
    confirm.click().run()
    assert not at.exception
    assert "兑换成功" in texts(at)
    assert _balance(db, hid) == 80
    # the scanner's next Enter (a new card scan) does not confirm anything again
    at = _scan(at, token)
    at.run()
    assert _balance(db, hid) == 80
    with db.read() as s:
        assert len(s.execute(select(Redemption)).all()) == 1
        assert s.get(Product, pid).stock == 18


def test_a_quantity_box_drawn_before_a_scan_changed_the_line_does_not_set_it(shop_app):
    """A box drawn for the line at 1 whose callback arrives after a second scan made it 2 (the browser
    sends the old box with the next scan while the page is still redrawing) leaves the line at 2."""
    from ui import state

    _, v, _, pid, token, _ = shop_app
    at = app(v.actors["cashier"].user_id)
    at.switch_page("pages/checkout.py").run()
    at = _scan(at, cards.format_token(token))
    at = _scan(at, "6900001")
    old_box = at.number_input(key=f"checkout_qty_{pid}_1")
    at.session_state[state.CHECKOUT_CART] = {pid: 2}  # the second scan, handled meanwhile
    old_box.set_value(3).run()
    assert not at.exception
    assert at.session_state[state.CHECKOUT_CART] == {pid: 2}
    assert "小计 20 分" in texts(at)


def test_a_quantity_box_of_a_cart_already_sold_does_not_bring_the_goods_back(shop_app):
    """The box of a line sold by 确认兑换 arrives after the confirm (with a card scanned at once): the
    cart stays empty, so nothing is on screen to be confirmed a second time."""
    from ui import state

    _, v, _, pid, token, _ = shop_app
    at = app(v.actors["cashier"].user_id)
    at.switch_page("pages/checkout.py").run()
    at = _scan(at, cards.format_token(token))
    at = _scan(at, "6900001")
    old_box = at.number_input(key=f"checkout_qty_{pid}_1")
    at.session_state[state.CHECKOUT_CART] = {}  # what the confirm's callback leaves: an empty cart, a new key
    at.session_state[state.CHECKOUT_CART_KEY] = "after-the-confirm"
    old_box.set_value(2).run()
    assert not at.exception
    assert at.session_state[state.CHECKOUT_CART] == {}
    assert not any(b.label.startswith("确认兑换") for b in at.button)


def test_a_confirm_replayed_with_the_same_cart_key_charges_once(shop_app):
    from core.supermarket import shop
    from ui import state

    db, v, hid, pid, token, _ = shop_app
    at = app(v.actors["cashier"].user_id)
    at.switch_page("pages/checkout.py").run()
    at = _scan(at, token)
    at = _scan(at, "6900001")
    key = at.session_state[state.CHECKOUT_CART_KEY]
    next(b for b in at.button if b.label.startswith("确认兑换")).click().run()
    # the same cart arriving again (a second tab of this session, a replayed click)
    again = shop.checkout(db, v.actors["cashier"], household_id=hid, card_id=None, cart={pid: 1}, cart_key=key)
    assert again == at.session_state[state.CHECKOUT_LAST_RECEIPT]
    assert _balance(db, hid) == 90
    assert at.session_state[state.CHECKOUT_CART_KEY] != key


def test_an_unknown_code_is_explained_at_the_counter(shop_app):
    db, v, *_ = shop_app
    at = app(v.actors["cashier"].user_id)
    at.switch_page("pages/checkout.py").run()
    at = _scan(at, "123")
    assert any("未识别" in e.value for e in at.error)


@pytest.mark.parametrize("module", ["checkout", "redemptions", "products", "cards", "transparency"])
def test_the_shop_pages_render_for_a_cashier_with_history(shop_app, module):
    db, v, hid, pid, token, _ = shop_app
    from core.supermarket import shop

    rid = shop.checkout(db, v.actors["cashier"], household_id=hid, card_id=None, cart={pid: 1}, cart_key="k1",
                        delivery=True)
    assert rid
    at = app(v.actors["cashier"].user_id)
    at.switch_page(f"pages/{module}.py").run()
    assert not at.exception, at.exception
    assert not at.error


def test_voiding_from_the_list_asks_for_a_reason_and_confirmation(shop_app):
    from core.supermarket import shop

    db, v, hid, pid, token, _ = shop_app
    rid = shop.checkout(db, v.actors["cashier"], household_id=hid, card_id=None, cart={pid: 2}, cart_key="k2")
    at = app(v.actors["cashier"].user_id)
    at.switch_page("pages/redemptions.py").run()
    at.selectbox(key="redemptions_void_pick").set_value(rid).run()
    at.button(key="redemptions_void_open").click().run()
    assert _balance(db, hid) == 80  # nothing yet: the question is only open
    at.button(key="redemptions_void_do").click().run()
    assert any("原因" in e.value for e in at.error)
    at.text_input(key="redemptions_void_reason").input("村民退回")
    at.button(key="redemptions_void_do").click().run()
    assert not at.exception
    assert _balance(db, hid) == 100
    with db.read() as s:
        assert s.get(Redemption, rid).status == "voided"
        assert s.get(Product, pid).stock == 20


def test_revoking_a_card_needs_the_confirm_step(shop_app):
    db, v, hid, pid, token, _ = shop_app
    at = app(v.actors["admin"].user_id)
    at.switch_page("pages/cards.py").run()
    at.selectbox[0].set_value(hid)
    at.segmented_control[0].set_value("revoke")
    at.text_input[0].input("遗失")
    next(b for b in at.button if b.label == "下一步").click().run()
    with db.read() as s:
        assert cards.resolve(s, v.id, token)  # still active until confirmed
    at.button(key="cards_do").click().run()
    assert not at.exception
    with db.read() as s, pytest.raises(Exception, match="挂失"):
        cards.resolve(s, v.id, token)


def test_returning_part_of_a_redemption_from_the_list_asks_for_quantities_a_reason_and_confirmation(shop_app):
    from core.supermarket import shop

    db, v, hid, pid, token, _ = shop_app
    rid = shop.checkout(db, v.actors["cashier"], household_id=hid, card_id=None, cart={pid: 3}, cart_key="k3")
    at = app(v.actors["cashier"].user_id)
    at.switch_page("pages/redemptions.py").run()
    at.selectbox(key="redemptions_void_pick").set_value(rid).run()
    at.button(key="redemptions_return_open").click().run()
    assert _balance(db, hid) == 70  # the question is only open
    qty = next(n for n in at.number_input if n.key.startswith("redemptions_return_qty_"))
    assert qty.value == 0 and "兑换 3" in qty.label  # nothing is assumed: the cashier types what comes back
    qty.set_value(4).run()  # more than was bought: said in Chinese under the box, nothing to confirm
    assert any("不能大于" in e.value or "之间" in e.value for e in at.error)
    assert at.button(key="redemptions_return_do").disabled
    qty = next(n for n in at.number_input if n.key.startswith("redemptions_return_qty_"))
    qty.set_value(2).run()
    at.button(key="redemptions_return_do").click().run()
    assert any("原因" in e.value for e in at.error) and _balance(db, hid) == 70
    at.text_input(key="redemptions_return_reason").input("两把受潮")
    at.button(key="redemptions_return_do").click().run()
    assert not at.exception
    assert _balance(db, hid) == 90
    assert any("退货凭证 TH" in s.value for s in at.success)
    listed = at.dataframe[0].value
    assert (listed.loc[0, "state"], listed.loc[0, "returned_points"]) == ("部分退货", 20)
    assert listed.loc[0, "returns"].startswith("挂面×2（TH")
    assert [m.value for m in at.metric][:3] == ["1", "10", "20"]  # redemptions, points used net of returns, returned
    with db.read() as s:
        assert s.get(Redemption, rid).status == "done" and s.get(Product, pid).stock == 19
    # the rest by a void: only the one bag left comes back
    at.selectbox(key="redemptions_void_pick").set_value(rid).run()
    at.button(key="redemptions_void_open").click().run()
    at.text_input(key="redemptions_void_reason").input("其余也退")
    at.button(key="redemptions_void_do").click().run()
    assert _balance(db, hid) == 100
    with db.read() as s:
        assert s.get(Product, pid).stock == 20
    assert at.dataframe[0].value.loc[0, "state"] == "已撤销"
    assert at.selectbox(key="redemptions_void_pick").options == []  # nothing left to return or void


def test_the_redemption_and_delivery_lists_show_their_rows_in_words(shop_app):
    from core.supermarket import shop

    db, v, hid, pid, token, _ = shop_app
    cashier = v.actors["cashier"]
    rid = shop.checkout(db, cashier, household_id=hid, card_id=None, cart={pid: 2}, cart_key="k4", delivery=True)
    voided = shop.checkout(db, cashier, household_id=hid, card_id=None, cart={pid: 1}, cart_key="k5")
    shop.void(db, cashier, voided, "拿错")
    at = app(cashier.user_id)
    at.switch_page("pages/redemptions.py").run()
    assert not at.exception, at.exception
    listed, waiting, delivered = (df.value for df in at.dataframe)
    assert list(listed.columns) == ["id", "receipt_no", "created_at", "door_no", "head_name", "items", "total",
                                    "returned_points", "state", "returns", "delivery", "void_reason"]
    assert listed[["id", "state", "delivery", "void_reason"]].values.tolist() == [
        [voided, "已撤销", "自提", "拿错"], [rid, "已兑换", "待送货", ""]]
    assert [m.value for m in at.metric] == ["1", "20", "0", "1"]
    assert (waiting.loc[0, "id"], waiting.loc[0, "items"], waiting.loc[0, "delivery"]) == (rid, "挂面×2", "待送货")
    assert delivered.empty and list(delivered.columns)[-1] == "delivered_at"
    next(s for s in at.selectbox if s.label == "已送达的兑换").set_value(rid)
    next(b for b in at.button if b.label == "确认已送达").click().run()
    assert not at.exception, at.exception
    listed, delivered = (df.value for df in at.dataframe)
    assert listed.loc[1, "delivery"] == "已送达"
    assert delivered.loc[0, "delivery"] == "已送达" and delivered.loc[0, "delivered_at"] is not None


def test_the_transparency_page_shows_the_months_stock_prices_redemptions_and_counts_in_words(shop_app):
    from core.supermarket import shop

    db, v, hid, pid, token, _ = shop_app
    stock.receive_stock(db, v.admin, pid, 5, "donation", donor="张三", funding="个人捐赠")
    shop.checkout(db, v.actors["cashier"], household_id=hid, card_id=None, cart={pid: 2}, cart_key="k6")
    stock.count_stock(db, v.admin, pid, 22, "两把受潮")
    at = app(v.actors["cashier"].user_id)
    at.switch_page("pages/transparency.py").run()
    assert not at.exception, at.exception
    received, prices, redeemed, counts, money = (df.value for df in at.dataframe)  # no money moved: no 资金明细
    assert received[["kind", "qty", "donor"]].values.tolist() == [["采购入库", "20把", ""], ["捐赠入库", "5把", "张三"]]
    assert prices.loc[0, "kind"] == "实物" and prices.loc[0, "monthly_limit"] == "不限" and prices.loc[0, "stock"] == "22"
    assert redeemed.to_dict("records") == [{"product": "挂面", "qty": "2把", "points": 20, "households": 1}]
    assert counts[["expected", "counted", "diff", "reason"]].values.tolist() == [[23, 22, -1, "两把受潮"]]
    assert money["amount_fen"].tolist()[-1] == "0.00" and "本月无记录。" in [c.value for c in at.caption]
