"""Returns of part of a redemption (退货), on SQLite and PostgreSQL: points and goods come back by
the void's rules, nothing is returned twice — across returns, a void after them, two tills at
once, and a random walk of returns and voids."""

from __future__ import annotations

import datetime as dt
import threading
import uuid

import pytest
from hypothesis import HealthCheck
from hypothesis import settings as hsettings
from hypothesis import strategies as st
from hypothesis.stateful import RuleBasedStateMachine, invariant, rule, run_state_machine_as_test
from sqlalchemy import select

from core.maintenance.verify import verify
from core.platform import settings
from core.platform.errors import AlreadyDone, InvalidInput, NotAllowed
from core.supermarket import returns, shop, stock
from core.supermarket.stock import ProductInput
from db.models import Account, LedgerEntry, Product, Redemption, RedemptionReturn, StockMove
from tests.factories import give_points, make_village


def _product(db, v, name="大米", price=10, qty=20, kind="goods", limit=None) -> int:
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


def _buy(db, v, hid, cart, **kw) -> int:
    return shop.checkout(db, v.actors["cashier"], household_id=hid, card_id=None, cart=cart,
                         cart_key=uuid.uuid4().hex, **kw)


def _lines(db, v, rid) -> dict[str, returns.ReturnableLine]:
    return {ln.name: ln for ln in returns.returnable(db, v.id, rid)}


def _return(db, actor, rid, qty, reason="顾客退回", key=None) -> int:
    return returns.return_items(db, actor, rid, qty, reason, key or uuid.uuid4().hex)


def test_returning_one_of_three_items_gives_back_its_points_and_puts_it_on_the_shelf(db, village):
    hid = village.household_ids[0]
    give_points(db, hid, 100, "a")
    rice = _product(db, village, "大米", price=20, qty=5)
    oil = _product(db, village, "食用油", price=15, qty=5)
    rid = _buy(db, village, hid, {rice: 2, oil: 1})
    assert _balance(db, hid) == 45
    line = _lines(db, village, rid)["大米"]
    ret = _return(db, village.actors["cashier"], rid, {line.line_id: 1})
    assert _balance(db, hid) == 65 and _stock(db, rice) == 4 and _stock(db, oil) == 4
    with db.read() as s:
        red = s.get(Redemption, rid)
        entry = s.execute(select(LedgerEntry).where(LedgerEntry.source_type == "redemption_return")).scalar_one()
        assert entry.kind == "redeem_return" and entry.delta_balance == 20 and entry.delta_earned == 0
        assert entry.source_id == str(ret) and red.receipt_no in entry.reason  # names the original
        move = s.execute(select(StockMove).where(StockMove.ref_type == "redemption_return")).scalar_one()
        assert (move.kind, move.qty, move.product_id) == ("return", 1, rice)
        assert red.status == "done" and s.get(Account, hid).earned_total == 100
    receipt = returns.return_receipt(db, village.id, ret)
    assert receipt.receipt_no == f"TH{receipt.redemption_receipt_no.removeprefix('DH')}-1"
    assert receipt.total == 20 and receipt.lines == [("大米", "袋", 1, 20)]
    assert returns.return_receipt_pdf(receipt)[:4] == b"%PDF"
    assert verify(db) == []


def test_nothing_is_returned_twice_across_returns_and_a_void_after_them(db, village):
    hid = village.household_ids[0]
    give_points(db, hid, 200, "a")
    rice = _product(db, village, "大米", price=10, qty=10)
    soap = _product(db, village, "肥皂", price=3, qty=10)
    haircut = _product(db, village, "理发", price=8, kind="service")
    rid = _buy(db, village, hid, {rice: 3, soap: 4, haircut: 1})
    assert _balance(db, hid) == 200 - 30 - 12 - 8
    lines = _lines(db, village, rid)
    cashier = village.actors["cashier"]
    _return(db, cashier, rid, {lines["大米"].line_id: 2, lines["理发"].line_id: 1})
    _return(db, cashier, rid, {lines["大米"].line_id: 1, lines["肥皂"].line_id: 1})
    with pytest.raises(InvalidInput, match="“大米”最多还能退 0 件"):
        _return(db, cashier, rid, {lines["大米"].line_id: 1})
    with pytest.raises(InvalidInput, match="“肥皂”最多还能退 3 件"):
        _return(db, cashier, rid, {lines["肥皂"].line_id: 4})
    assert {n: ln.left for n, ln in _lines(db, village, rid).items()} == {"大米": 0, "肥皂": 3, "理发": 0}
    assert _balance(db, hid) == 200 - 9  # three soaps still out
    shop.void(db, cashier, rid, "其余也退回")
    assert _balance(db, hid) == 200 and _stock(db, rice) == 10 and _stock(db, soap) == 10
    with db.read() as s:
        void_entry = s.execute(select(LedgerEntry).where(LedgerEntry.source_type == "redemption_void")).scalar_one()
        assert void_entry.delta_balance == 9 and "已退货" in void_entry.reason
    with pytest.raises(AlreadyDone, match="撤销"):
        _return(db, cashier, rid, {lines["肥皂"].line_id: 1})
    assert verify(db) == []


def test_a_fully_returned_redemption_cannot_be_voided_or_returned_again(db, village):
    hid = village.household_ids[0]
    give_points(db, hid, 50, "a")
    rice = _product(db, village, price=10)
    rid = _buy(db, village, hid, {rice: 2})
    line = _lines(db, village, rid)["大米"]
    _return(db, village.actors["cashier"], rid, {line.line_id: 2})
    with pytest.raises(AlreadyDone, match="全部退回"):
        _return(db, village.actors["cashier"], rid, {line.line_id: 1})
    with pytest.raises(AlreadyDone, match="全部退回"):
        shop.void(db, village.actors["cashier"], rid, "再撤")
    assert _balance(db, hid) == 50 and verify(db) == []


def test_the_same_return_key_twice_returns_once(db, village):
    hid = village.household_ids[0]
    give_points(db, hid, 50, "a")
    rice = _product(db, village, price=10)
    rid = _buy(db, village, hid, {rice: 3})
    line = _lines(db, village, rid)["大米"]
    first = _return(db, village.actors["cashier"], rid, {line.line_id: 1}, key="k1")
    again = _return(db, village.actors["cashier"], rid, {line.line_id: 1}, key="k1")
    assert first == again and _balance(db, hid) == 30


@pytest.mark.parametrize("qty", [{}, {"x": 1}, None, {0: -1}, {0: 1.5}, {0: True}])
def test_a_return_of_nothing_or_nonsense_is_refused_in_chinese(db, village, qty):
    hid = village.household_ids[0]
    give_points(db, hid, 50, "a")
    rid = _buy(db, village, hid, {_product(db, village, price=10): 1})
    with pytest.raises((InvalidInput, Exception)) as e:
        _return(db, village.actors["cashier"], rid, qty)
    assert any("\u4e00" <= ch <= "\u9fff" for ch in str(e.value))
    with pytest.raises(InvalidInput, match="原因"):
        _return(db, village.actors["cashier"], rid, {_lines(db, village, rid)["大米"].line_id: 1}, reason=" ")
    assert _balance(db, hid) == 40


def test_who_may_return_after_the_day_is_the_villages_setting(db, village):
    hid = village.household_ids[0]
    give_points(db, hid, 100, "a")
    rice = _product(db, village, price=10)
    rid = _buy(db, village, hid, {rice: 3}, at=dt.datetime.now() - dt.timedelta(days=3))
    line = _lines(db, village, rid)["大米"].line_id
    cashier = village.actors["cashier"]
    with pytest.raises(NotAllowed, match="当天"):
        _return(db, cashier, rid, {line: 1})
    with pytest.raises(NotAllowed, match="当天"):
        shop.void(db, cashier, rid, "退回")
    _return(db, village.admin, rid, {line: 1})
    settings.change(db, village.admin, village.id, "late_returns_by", "cashier")
    _return(db, cashier, rid, {line: 1})
    shop.void(db, cashier, rid, "其余退回")
    assert _balance(db, hid) == 100
    with pytest.raises(NotAllowed):
        _return(db, village.actors["committee"], rid, {line: 1})


def test_a_returned_item_no_longer_counts_against_the_monthly_limit(db, village):
    hid = village.household_ids[0]
    give_points(db, hid, 100, "a")
    eggs = _product(db, village, "鸡蛋", price=5, limit=2)
    rid = _buy(db, village, hid, {eggs: 2})
    _return(db, village.actors["cashier"], rid, {_lines(db, village, rid)["鸡蛋"].line_id: 1})
    with db.read() as s:
        assert shop.month_used(s, hid, s.get(Redemption, rid).month, [eggs]) == {eggs: 1}
    _buy(db, village, hid, {eggs: 1})  # the returned egg's place in the limit is free again


def test_two_tills_returning_the_same_items_at_once_return_them_once(db, village):
    """Two returns of the last two bags at the same moment (threads, separate connections):
    one gets them, the other is told what is left; points and stock come back once."""
    hid = village.household_ids[0]
    give_points(db, hid, 100, "a")
    rice = _product(db, village, price=10, qty=5)
    rid = _buy(db, village, hid, {rice: 3})
    line = _lines(db, village, rid)["大米"].line_id
    start = threading.Barrier(4)
    results: list[object] = []

    def go(actor, action) -> None:
        start.wait()
        try:
            results.append(action(actor))
        except Exception as e:  # collected and checked below
            results.append(e)

    actions = [lambda a: _return(db, a, rid, {line: 2}), lambda a: _return(db, a, rid, {line: 2}),
               lambda a: _return(db, a, rid, {line: 1}), lambda a: shop.void(db, a, rid, "撤销")]
    threads = [threading.Thread(target=go, args=(village.actors["cashier"] if i % 2 else village.admin, act))
               for i, act in enumerate(actions)]
    for t in threads:
        t.start()
    for t in threads:
        t.join()
    errors = [r for r in results if isinstance(r, Exception)]
    assert all(isinstance(e, (InvalidInput, AlreadyDone)) for e in errors), errors
    assert _balance(db, hid) <= 100 and _stock(db, rice) <= 5
    with db.read() as s:
        back = sum(r.total for r in s.execute(select(RedemptionReturn)).scalars())
        voided = s.execute(select(LedgerEntry.delta_balance).where(LedgerEntry.source_type == "redemption_void")
                           ).scalar() or 0
    assert back + voided <= 30
    assert _balance(db, hid) == 70 + back + voided and _stock(db, rice) == 2 + (back + voided) // 10
    assert verify(db) == []


class ReturnsMachine(RuleBasedStateMachine):
    """Random returns (some asking too much) and voids of a few redemptions, against a model."""

    db = None

    def __init__(self):
        super().__init__()
        code = f"R{uuid.uuid4().hex[:6]}"
        self.v = make_village(self.db, name=f"退货村{code}", code=code, households=1)
        self.hid = self.v.household_ids[0]
        give_points(self.db, self.hid, 500, f"start-{code}")
        self.pids = [_product(self.db, self.v, f"品{i}", price=p, qty=30) for i, p in enumerate((3, 7))]
        self.reds: list[int] = []
        self.left: dict[int, dict[int, int]] = {}  # redemption → line → qty left
        self.price: dict[int, int] = {}  # line → price
        self.voided: set[int] = set()
        self.balance, self.stock = 500, [30, 30]

    @rule(a=st.integers(1, 3), b=st.integers(0, 3))
    def buy(self, a, b):
        cart = {self.pids[0]: a} | ({self.pids[1]: b} if b else {})
        rid = _buy(self.db, self.v, self.hid, cart)
        self.reds.append(rid)
        lines = returns.returnable(self.db, self.v.id, rid)
        self.left[rid] = {ln.line_id: ln.bought for ln in lines}
        self.price.update({ln.line_id: ln.price for ln in lines})
        self.balance -= 3 * a + 7 * b
        self.stock[0] -= a
        self.stock[1] -= b

    @rule(pick=st.integers(0, 10), qty=st.integers(0, 4), which=st.integers(0, 1))
    def give_back(self, pick, qty, which):
        if not self.reds:
            return
        rid = self.reds[pick % len(self.reds)]
        line = sorted(self.left[rid])[which % len(self.left[rid])]
        try:
            _return(self.db, self.v.actors["cashier"], rid, {line: qty})
        except (InvalidInput, AlreadyDone):
            assert qty == 0 or qty > self.left[rid][line] or rid in self.voided \
                or not any(self.left[rid].values())
            return
        assert 0 < qty <= self.left[rid][line] and rid not in self.voided
        self.left[rid][line] -= qty
        self.balance += qty * self.price[line]
        self.stock[sorted(self.left[rid]).index(line) if len(self.left[rid]) > 1 else 0] += qty

    @rule(pick=st.integers(0, 10))
    def void(self, pick):
        if not self.reds:
            return
        rid = self.reds[pick % len(self.reds)]
        try:
            shop.void(self.db, self.v.admin, rid, "撤销")
        except AlreadyDone:
            assert rid in self.voided or not any(self.left[rid].values())
            return
        self.voided.add(rid)
        for i, (line, n) in enumerate(sorted(self.left[rid].items())):
            self.balance += n * self.price[line]
            self.stock[i] += n
            self.left[rid][line] = 0

    @invariant()
    def matches_the_model(self):
        assert _balance(self.db, self.hid) == self.balance
        assert [_stock(self.db, p) for p in self.pids] == self.stock


def test_random_returns_and_voids_never_give_back_more_than_was_bought(db):
    ReturnsMachine.db = db
    run_state_machine_as_test(ReturnsMachine, settings=hsettings(
        max_examples=8, stateful_step_count=12, deadline=None,
        suppress_health_check=[HealthCheck.function_scoped_fixture, HealthCheck.too_slow]))
    assert verify(db) == []


def test_verify_names_a_return_whose_points_did_not_come_back(sqlite_db):
    """The invariant check: a return row without its ledger entry (written around core) is reported."""
    from db.models import RedemptionReturn

    v = make_village(sqlite_db, households=1)
    hid = v.household_ids[0]
    give_points(sqlite_db, hid, 50, "a")
    rid = _buy(sqlite_db, v, hid, {_product(sqlite_db, v, price=10): 2})
    _return(sqlite_db, v.actors["cashier"], rid, {_lines(sqlite_db, v, rid)["大米"].line_id: 1})
    assert verify(sqlite_db) == []
    with sqlite_db.write() as s:
        s.add(RedemptionReturn(village_id=v.id, redemption_id=rid, household_id=hid, receipt_no="TH-forged",
                               return_key="forged", total=10, reason="绕过系统写入"))
    assert any("TH-forged" in p and "缺失" in p for p in verify(sqlite_db))
