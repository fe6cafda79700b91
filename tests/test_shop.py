"""The points supermarket's counter, on SQLite and PostgreSQL."""

from __future__ import annotations

import datetime as dt
import threading
import uuid

import pytest
from sqlalchemy import select

from core.maintenance.verify import verify
from core.platform import settings
from core.platform.errors import AlreadyDone, InsufficientPoints, InvalidInput, NotAllowed, NotFound, OutOfStock
from core.supermarket import shop, stock
from core.supermarket.stock import ProductInput
from core.village import cards
from db.engine import Database
from db.models import Account, LedgerEntry, Product, Redemption
from tests.factories import give_points


def _product(db, v, name="大米", price=10, qty=20, limit=None, kind="goods") -> int:
    pid = stock.save_product(db, v.admin, v.id, ProductInput(name=name, price=price, kind=kind, unit="袋",
                                                              monthly_limit=limit))
    if kind == "goods" and qty:
        stock.receive_stock(db, v.admin, pid, qty, "purchase", funding="村集体")
    return pid


def _balance(db, hid) -> int:
    with db.read() as s:
        return s.get(Account, hid).balance


def _stock(db, pid) -> int:
    with db.read() as s:
        return s.get(Product, pid).stock


def _key() -> str:
    return uuid.uuid4().hex


def _buy(db, v, hid, cart, key=None, card_id=None, actor=None, **kw):
    return shop.checkout(db, actor or v.actors["cashier"], household_id=hid, card_id=card_id, cart=cart,
                         cart_key=key or _key(), **kw)


def test_a_checkout_charges_points_and_takes_stock_in_one_go(db, village):
    hid = village.household_ids[0]
    give_points(db, hid, 100, "a")
    pid = _product(db, village, price=30, qty=5)
    rid = _buy(db, village, hid, {pid: 2})
    assert _balance(db, hid) == 40
    assert _stock(db, pid) == 3
    with db.read() as s:
        red = s.get(Redemption, rid)
        assert red.total == 60 and red.receipt_no.startswith("DH")
        entry = s.execute(select(LedgerEntry).where(LedgerEntry.source_type == "redemption")).scalar_one()
        assert entry.kind == "redeemed" and entry.delta_balance == -60 and entry.delta_earned == 0
    assert verify(db) == []


def test_a_checkout_reads_the_account_the_products_and_the_shop_settings_once_each(db, village):
    from sqlalchemy import event

    hid = village.household_ids[0]
    give_points(db, hid, 100, "once")
    pids = [_product(db, village, name=n, price=5) for n in ("盐", "醋")]
    statements: list[str] = []

    def count(conn, cursor, statement, *args):
        statements.append(" ".join(statement.split()))

    event.listen(db.engine, "before_cursor_execute", count)
    try:
        _buy(db, village, hid, {pids[0]: 1, pids[1]: 2})
    finally:
        event.remove(db.engine, "before_cursor_execute", count)
    selects = [st for st in statements if st.upper().startswith("SELECT")]

    def reads(table: str) -> int:
        return sum(f" FROM {table} " in st + " " for st in selects)

    # the account is locked once (the ledger does not ask again), the products are read once,
    # the two shop settings in one query, the household once
    assert (reads("account"), reads("product"), reads("setting"), reads("household")) == (1, 1, 1, 1), selects
    assert _balance(db, hid) == 85


def test_a_double_confirm_charges_once(db, village):
    hid = village.household_ids[0]
    give_points(db, hid, 100, "a")
    pid = _product(db, village, price=10)
    key = _key()
    first = _buy(db, village, hid, {pid: 1}, key=key)
    second = _buy(db, village, hid, {pid: 1}, key=key)
    assert first == second
    assert _balance(db, hid) == 90
    assert _stock(db, pid) == 19
    assert verify(db) == []


def test_a_cart_key_reused_for_another_household_is_refused(db, village):
    a, b = village.household_ids[:2]
    give_points(db, a, 50, "a")
    give_points(db, b, 50, "b")
    pid = _product(db, village)
    key = _key()
    _buy(db, village, a, {pid: 1}, key=key)
    with pytest.raises(InvalidInput):
        _buy(db, village, b, {pid: 1}, key=key)
    assert _balance(db, b) == 50


def test_an_overdraft_is_refused_and_nothing_changes(db, village):
    hid = village.household_ids[0]
    give_points(db, hid, 25, "a")
    pid = _product(db, village, price=10)
    with pytest.raises(InsufficientPoints):
        _buy(db, village, hid, {pid: 3})
    assert _balance(db, hid) == 25 and _stock(db, pid) == 20
    with db.read() as s:
        assert s.execute(select(Redemption)).first() is None


def test_more_than_the_stock_is_refused(db, village):
    hid = village.household_ids[0]
    give_points(db, hid, 1000, "a")
    pid = _product(db, village, price=10, qty=2)
    with pytest.raises(OutOfStock):
        _buy(db, village, hid, {pid: 3})
    assert _stock(db, pid) == 2 and _balance(db, hid) == 1000


def test_the_monthly_limit_counts_earlier_redemptions_this_month(db, village):
    hid = village.household_ids[0]
    give_points(db, hid, 1000, "a")
    pid = _product(db, village, price=10, limit=2)
    _buy(db, village, hid, {pid: 1})
    _buy(db, village, hid, {pid: 1})
    with pytest.raises(InvalidInput, match="每户每月限兑"):
        _buy(db, village, hid, {pid: 1})
    last_month = dt.datetime.now() - dt.timedelta(days=40)
    other = village.household_ids[1]
    give_points(db, other, 1000, "b")
    _buy(db, village, other, {pid: 2}, at=last_month)
    _buy(db, village, other, {pid: 2})  # last month's do not count


def test_a_balance_below_the_minimum_cannot_redeem(db, village):
    hid = village.household_ids[0]
    give_points(db, hid, 40, "a")
    pid = _product(db, village, price=10)
    settings.change(db, village.admin, village.id, "min_balance_to_redeem", 50)
    with pytest.raises(InsufficientPoints, match="最低积分"):
        _buy(db, village, hid, {pid: 1})


def test_nothing_is_redeemed_while_the_window_is_closed(db, village):
    hid = village.household_ids[0]
    give_points(db, hid, 40, "a")
    pid = _product(db, village, price=10)
    settings.change(db, village.admin, village.id, "redemption_open", False)
    with pytest.raises(NotAllowed, match="未开放"):
        _buy(db, village, hid, {pid: 1})
    assert _balance(db, hid) == 40


def test_a_revoked_card_cannot_redeem(db, village):
    hid = village.household_ids[0]
    give_points(db, hid, 40, "a")
    pid = _product(db, village, price=10)
    cards.issue_card(db, village.admin, hid)
    with db.read() as s:
        from db.models import Card

        card_id = s.execute(select(Card.id).where(Card.household_id == hid)).scalar_one()
    cards.revoke_card(db, village.admin, hid, "遗失")
    with pytest.raises(NotFound, match="挂失"):
        _buy(db, village, hid, {pid: 1}, card_id=card_id)


def test_an_inactive_product_or_another_village_product_is_refused(db, village):
    from tests.factories import make_village

    hid = village.household_ids[0]
    give_points(db, hid, 100, "a")
    pid = _product(db, village, price=10)
    stock.save_product(db, village.admin, village.id, ProductInput(name="大米", price=10, unit="袋", active=False),
                       product_id=pid)
    with pytest.raises(InvalidInput, match="下架"):
        _buy(db, village, hid, {pid: 1})
    other = make_village(db, name="邻村", code="T002")
    foreign = _product(db, other, price=1)
    with pytest.raises(NotFound):
        _buy(db, village, hid, {foreign: 1})


def test_a_cashier_of_another_village_cannot_check_out_here(db, village):
    from tests.factories import make_village

    hid = village.household_ids[0]
    give_points(db, hid, 100, "a")
    pid = _product(db, village, price=10)
    other = make_village(db, name="邻村", code="T002")
    with pytest.raises(NotAllowed):
        _buy(db, village, hid, {pid: 1}, actor=other.actors["cashier"])
    with pytest.raises(NotAllowed):
        _buy(db, village, hid, {pid: 1}, actor=village.actors["grid_worker"])


@pytest.mark.parametrize("cart", [{}, {1: 0}, {1: -1}, {1: 1.5}, {"1": 1}, {1: 1000}, None])
def test_a_malformed_cart_is_refused(cart):
    with pytest.raises(InvalidInput):
        shop.clean_cart(cart)


def test_a_service_needs_no_stock(db, village):
    hid = village.household_ids[0]
    give_points(db, hid, 100, "a")
    pid = _product(db, village, name="理发", price=20, kind="service")
    _buy(db, village, hid, {pid: 1})
    assert _balance(db, hid) == 80 and _stock(db, pid) == 0
    assert verify(db) == []


def test_void_restores_balance_and_stock(db, village):
    hid = village.household_ids[0]
    give_points(db, hid, 100, "a")
    pid = _product(db, village, price=30, qty=5)
    rid = _buy(db, village, hid, {pid: 2})
    shop.void(db, village.actors["cashier"], rid, "顾客退回")
    assert _balance(db, hid) == 100 and _stock(db, pid) == 5
    with pytest.raises(AlreadyDone):
        shop.void(db, village.admin, rid, "再撤一次")
    with db.read() as s:
        assert s.get(Redemption, rid).status == "voided"
        assert s.get(Account, hid).earned_total == 100
    assert verify(db) == []


def test_a_cashier_cannot_void_an_older_redemption_but_an_admin_can(db, village):
    hid = village.household_ids[0]
    give_points(db, hid, 100, "a")
    pid = _product(db, village, price=10)
    rid = _buy(db, village, hid, {pid: 1}, at=dt.datetime.now() - dt.timedelta(days=2))
    with pytest.raises(NotAllowed, match="当天"):
        shop.void(db, village.actors["cashier"], rid, "退回")
    with pytest.raises(InvalidInput):
        shop.void(db, village.admin, rid, "  ")
    shop.void(db, village.admin, rid, "发错货")
    assert _balance(db, hid) == 100


def test_a_delivery_is_listed_until_confirmed_once(db, village):
    from core.supermarket import receipts

    hid = village.household_ids[0]
    give_points(db, hid, 100, "a")
    pid = _product(db, village, price=10)
    rid = _buy(db, village, hid, {pid: 1}, delivery=True)
    assert [(d.id, d.delivery) for d in receipts.deliveries(db, village.id)] == [(rid, "pending")]
    shop.mark_delivered(db, village.actors["cashier"], rid)
    assert receipts.deliveries(db, village.id) == []
    assert [(d.id, d.delivery) for d in receipts.deliveries(db, village.id, include_delivered=True)] == [
        (rid, "delivered")]
    with pytest.raises(AlreadyDone):
        shop.mark_delivered(db, village.actors["cashier"], rid)


def test_the_receipt_lists_items_and_prints(db, village):
    from core.supermarket import receipts

    hid = village.household_ids[0]
    give_points(db, hid, 100, "a")
    pid = _product(db, village, name="食用油", price=30)
    rid = _buy(db, village, hid, {pid: 2})
    r = receipts.receipt(db, village.id, rid)
    assert [(ln.name, ln.qty, ln.amount) for ln in r.lines] == [("食用油", 2, 60)] and r.total == 60
    assert receipts.receipt_pdf(r).startswith(b"%PDF")
    with pytest.raises(NotFound):
        receipts.receipt(db, village.id + 1, rid)


def _race(db: Database, n: int, fn) -> list:
    """Run fn(i) in n threads started together; return results or exceptions."""
    barrier = threading.Barrier(n)
    out: list = [None] * n

    def run(i):
        barrier.wait()
        try:
            out[i] = fn(i)
        except Exception as e:  # collected for the assertion
            out[i] = e

    threads = [threading.Thread(target=run, args=(i,)) for i in range(n)]
    for t in threads:
        t.start()
    for t in threads:
        t.join(60)
    return out


def test_two_concurrent_redemptions_that_together_exceed_the_balance_exactly_one_succeeds(db, village):
    hid = village.household_ids[0]
    give_points(db, hid, 100, "a")
    pid = _product(db, village, price=60, qty=10)
    # separate Database objects: separate connection pools, like two app instances
    url = db.engine.url.render_as_string(hide_password=False)
    dbs = [Database.from_url(url) for _ in range(2)]
    try:
        results = _race(db, 2, lambda i: _buy(dbs[i], village, hid, {pid: 1}))
    finally:
        for d in dbs:
            d.dispose()
    ok = [r for r in results if isinstance(r, int)]
    failed = [r for r in results if isinstance(r, Exception)]
    assert len(ok) == 1, results
    assert len(failed) == 1 and isinstance(failed[0], InsufficientPoints), results
    assert _balance(db, hid) == 40 and _stock(db, pid) == 9
    assert verify(db) == []


def test_the_same_cart_confirmed_from_two_tabs_at_once_charges_once(db, village):
    hid = village.household_ids[0]
    give_points(db, hid, 100, "a")
    pid = _product(db, village, price=10)
    url = db.engine.url.render_as_string(hide_password=False)
    dbs = [Database.from_url(url) for _ in range(2)]
    key = _key()
    try:
        results = _race(db, 2, lambda i: _buy(dbs[i], village, hid, {pid: 1}, key=key))
    finally:
        for d in dbs:
            d.dispose()
    assert all(isinstance(r, int) for r in results), results
    assert results[0] == results[1]
    assert _balance(db, hid) == 90


def test_two_counters_selling_the_last_item_at_once_sell_it_once(db, village):
    a, b = village.household_ids[:2]
    give_points(db, a, 100, "a")
    give_points(db, b, 100, "b")
    pid = _product(db, village, price=10, qty=1)
    url = db.engine.url.render_as_string(hide_password=False)
    dbs = [Database.from_url(url) for _ in range(2)]
    try:
        results = _race(db, 2, lambda i: _buy(dbs[i], village, (a, b)[i], {pid: 1}))
    finally:
        for d in dbs:
            d.dispose()
    assert sum(isinstance(r, int) for r in results) == 1, results
    assert [type(r) for r in results if isinstance(r, Exception)] == [OutOfStock]
    assert _stock(db, pid) == 0
    assert _balance(db, a) + _balance(db, b) == 190
    assert verify(db) == []


def test_the_counter_shows_balance_limits_used_and_a_recent_redemption(db, village):
    hid = village.household_ids[0]
    give_points(db, hid, 100, "a")
    pid = _product(db, village, name="食用油", price=10, limit=2)
    settings.change(db, village.admin, village.id, "min_balance_to_redeem", 95)
    c = shop.counter_view(db, village.id, hid)
    assert (c.balance, c.eligibility, c.recent) == (100, [], [])
    _buy(db, village, hid, {pid: 1})
    c = shop.counter_view(db, village.id, hid)
    assert [(lim.name, lim.used, lim.limit) for lim in c.limits] == [("食用油", 1, 2)]
    assert len(c.recent) == 1 and "10 分" in c.recent[0]
    assert c.eligibility == ["可兑换积分低于兑换最低积分 95 分。"]
    check = shop.check_cart(db, village.id, hid, {pid: 2})
    assert not check.ok and any("每户每月限兑" in p for p in check.problems)
