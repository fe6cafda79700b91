"""The till with a USB scanner: a scanner types wherever the focus is and presses Enter.

After any click on the checkout page, the next scan — keystrokes sent to the page, nobody
clicks back into the box first — must land in the scan box and act.
"""

from __future__ import annotations

import re

from playwright.sync_api import expect

from tests.e2e.conftest import login, shot, wait_idle
from tests.e2e.test_journeys import WAIT, metric_value, no_exception, number, pick, q

_CARDS = ("select c.token, h.door_no || ' ' || h.head_name, a.balance from card c "
          "join household h on h.id = c.household_id join account a on a.household_id = c.household_id "
          "where c.status = 'active' and h.active = 1 order by a.balance desc limit ?")
_GOODS = ("select name, barcode, price from product where kind = 'goods' and active = 1 and stock > 20 "
          "and barcode is not null and barcode != '' order by price limit 2")


def scanner(page, text: str) -> None:
    """What the USB scanner does: keystrokes to whatever has focus, then Enter. No click."""
    page.keyboard.type(text, delay=5)
    page.keyboard.press("Enter")


def _read(page, head: str) -> None:
    page.get_by_text(f"已读卡：{head}").first.wait_for(timeout=WAIT)
    wait_idle(page)


def test_every_button_of_the_till_leaves_the_next_scan_to_the_scan_box(page_factory, server):
    (tok_a, head_a, _), (tok_b, head_b, _) = q(server, _CARDS, 2)
    (name1, code1, _), (name2, code2, _) = q(server, _GOODS)
    page = page_factory()
    login(page, server.url, "shouyin")
    page.goto(server.url + "/checkout")
    page.locator(".st-key-checkout_scan_input input").wait_for(timeout=WAIT)
    wait_idle(page)
    scanner(page, tok_a)  # the page has just loaded: nobody clicked into the box
    _read(page, head_a)
    cards = [(tok_b, head_b), (tok_a, head_a)]
    turn = 0

    def scan_card_next(after: str) -> None:
        nonlocal turn
        tok, head = cards[turn % 2]
        turn += 1
        scanner(page, tok)
        try:
            _read(page, head)
        except Exception as e:
            shot(page, f"till-lost-scan-after-{after}")
            raise AssertionError(f"the scan after {after} was lost") from e
        no_exception(page)

    def fill_cart() -> None:
        scanner(page, code1)
        page.get_by_text(f"已加入：{name1} ×1").first.wait_for(timeout=WAIT)
        wait_idle(page)

    # 加入 (the hand-picked product form)
    pick(page, "checkout_add_product", name2)
    page.locator(".st-key-checkout_add button, [data-testid=stFormSubmitButton] button").filter(
        has_text="加入").first.click()
    wait_idle(page)
    expect(page.get_by_text(re.compile(f"^{re.escape(name2)}（"))).to_have_count(1, timeout=WAIT)
    scan_card_next("加入")

    # the cart's + and −, 移除, 清空购物车
    fill_cart()
    page.locator('[data-testid="stNumberInputStepUp"]').last.click()
    wait_idle(page)
    expect(page.get_by_text("小计").first).to_be_visible()
    scan_card_next("+")
    fill_cart()
    fill_cart()
    page.locator('[data-testid="stNumberInputStepDown"]').last.click()
    wait_idle(page)
    scan_card_next("−")
    fill_cart()
    page.get_by_role("button", name=re.compile("移除")).first.click()
    wait_idle(page)
    scan_card_next("移除")
    fill_cart()
    page.get_by_role("button", name="清空购物车").click()
    wait_idle(page)
    scan_card_next("清空购物车")

    # 送货上门 checkbox, the household-search expander
    fill_cart()
    page.get_by_text("送货上门").first.click()
    wait_idle(page)
    scan_card_next("送货上门")
    page.get_by_text(re.compile("村民忘带卡")).first.click()
    wait_idle(page)
    scan_card_next("查找展开")

    # 确认兑换: the receipt shows, then the next card is read
    fill_cart()
    done = "select count(*) from redemption r join card c on c.household_id = r.household_id where c.token = ?"
    tok_here = cards[(turn + 1) % 2][0]
    n = q(server, done, tok_here)[0][0]
    page.locator(".st-key-checkout_confirm button").click()
    page.get_by_text("兑换成功").first.wait_for(timeout=WAIT)
    wait_idle(page)
    assert q(server, done, tok_here)[0][0] == n + 1
    scan_card_next("确认兑换")
    # 确认兑换 and the next card scanned at once, while the page still runs: one charge, card read
    fill_cart()
    tok_here = cards[(turn + 1) % 2][0]
    n = q(server, done, tok_here)[0][0]
    page.locator(".st-key-checkout_confirm button").click()
    scan_card_next("确认兑换（立即扫码）")
    assert q(server, done, tok_here)[0][0] == n + 1

    # 完成，接待下一位
    page.get_by_role("button", name=re.compile("接待下一位")).click()
    wait_idle(page)
    scan_card_next("接待下一位")
    shot(page, "till-every-button")


def test_the_losing_till_shows_the_balance_another_till_left_and_cannot_confirm(page_factory, server):
    ((token, head, balance),) = q(server, _CARDS, 1)
    product, price = q(server, "select id, price from product where kind = 'goods' and active = 1 and stock > 0 "
                               "and price > 0 order by price desc limit 1")[0]
    one = page_factory()
    two = page_factory()
    for page in (one, two):
        login(page, server.url, "shouyin")
        page.goto(server.url + "/checkout")
        page.locator(".st-key-checkout_scan_input input").wait_for(timeout=WAIT)
        wait_idle(page)
        scanner(page, token)
        _read(page, head)
    spendable = number(metric_value(two, "可兑换积分").first.inner_text())
    name = q(server, "select name from product where id = ?", product)[0][0]
    qty = max(1, min(spendable // price, 50))
    # Both tills build the same cart; till one confirms first.
    for page in (one, two):
        pick(page, "checkout_add_product", name)
        page.locator(".st-key-checkout_add_qty input").fill(str(qty))
        page.locator("[data-testid=stFormSubmitButton] button").filter(has_text="加入").first.click()
        wait_idle(page)
    one.locator(".st-key-checkout_confirm button").click()
    one.get_by_text("兑换成功").first.wait_for(timeout=WAIT)
    wait_idle(one)
    left = q(server, "select a.balance from account a join card c on c.household_id = a.household_id "
                     "where c.token = ?", token)[0][0]
    # Till two, with the old figures still on screen, confirms too: refused.
    two.locator(".st-key-checkout_confirm button").click()
    two.get_by_text("未兑换").first.wait_for(timeout=WAIT)  # the refusal, not the page before the click
    wait_idle(two)
    shot(two, "till-losing")
    # What the till shows now is the balance left, and it cannot confirm.
    spend_now = number(metric_value(two, "可兑换积分").first.inner_text())
    assert spend_now <= left < spendable
    for m in two.locator('[data-testid="stMetric"]').filter(has_text="可兑换积分").all():
        assert number(m.locator('[data-testid="stMetricValue"]').inner_text()) == spend_now
    expect(two.locator(".st-key-checkout_confirm button")).to_be_disabled()
    no_exception(two)


def test_a_checkout_is_done_with_the_scanner_alone(page_factory, server):
    from core.supermarket.shop import CONFIRM_CODE

    ((token, head, _),) = q(server, _CARDS, 1)
    (name, code, price), _ = q(server, _GOODS)
    done = "select count(*), coalesce(sum(r.total), 0) from redemption r join card c on c.household_id = r.household_id where c.token = ?"
    n, spent = q(server, done, token)[0]
    page = page_factory()
    login(page, server.url, "shouyin")
    page.goto(server.url + "/checkout")
    page.locator(".st-key-checkout_scan_input input").wait_for(timeout=WAIT)
    wait_idle(page)
    scanner(page, token)
    _read(page, head)
    before = number(metric_value(page, "可兑换积分").first.inner_text())
    for _ in range(2):
        scanner(page, code)
        wait_idle(page)
    expect(page.get_by_text(f"小计 {2 * price} 分")).to_have_count(1, timeout=WAIT)
    # An Enter on the empty box confirms nothing unless the village allows it (off by default).
    page.keyboard.press("Enter")
    wait_idle(page)
    assert q(server, done, token)[0] == (n, spent)
    scanner(page, CONFIRM_CODE)
    page.get_by_text("兑换成功").first.wait_for(timeout=WAIT)
    wait_idle(page)
    assert q(server, done, token)[0] == (n + 1, spent + 2 * price)
    expect(metric_value(page, "可兑换积分").first).to_have_text(str(before - 2 * price), timeout=WAIT)
    expect(page.get_by_text("购物车是空的")).to_have_count(1)
    shot(page, "till-scanner-only")
    # the same code again: the cart is empty, nothing is charged
    scanner(page, CONFIRM_CODE)
    wait_idle(page)
    assert q(server, done, token)[0] == (n + 1, spent + 2 * price)
    no_exception(page)


def test_a_scan_typed_while_the_till_page_is_still_loading_is_not_lost(page_factory, server):
    """The cashier opens the till and scans at once: the keystrokes arrive before the page has
    drawn its scan box (a full load of the address, then a click in the sidebar from another
    page). Both scans must be read; nobody clicks into the box."""
    (tok_a, head_a, _), (tok_b, head_b, _) = q(server, _CARDS, 2)
    page = page_factory()
    login(page, server.url, "shouyin")
    page.goto(server.url + "/checkout", wait_until="commit")  # the address is opened; nothing drawn yet
    page.wait_for_function("() => document.body")  # its first bytes are in: a blank page, no scan box yet
    assert page.locator(".st-key-checkout_scan_input").count() == 0
    scanner(page, tok_a)
    _read(page, head_a)

    page.get_by_role("link", name="工作台").first.click()
    page.locator("h1", has_text="工作台").wait_for(timeout=WAIT)
    wait_idle(page)
    page.get_by_role("link", name="收银台").first.click()
    scanner(page, tok_b)  # at once, while the till page is being drawn
    _read(page, head_b)
    no_exception(page)
