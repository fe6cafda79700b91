"""A random walk through the ledger and the supermarket's stock (hypothesis stateful
testing) on SQLite and PostgreSQL: earn, deduct, redeem, void, reverse, adjust, stock
in, stock count and repeated causes, each through core, checked step by step against
a plain-Python model of every balance, earned total and stock level.

Invariants after every step: the model equals the database, core.maintenance.verify is clean, no
overdraft, no negative stock, no cause posted twice, each redemption matched by its
charge, refund and goods."""

from __future__ import annotations

import itertools
import os
import uuid

import pytest
from hypothesis import HealthCheck, settings
from hypothesis import strategies as st
from hypothesis.stateful import (
    Bundle,
    RuleBasedStateMachine,
    consumes,
    invariant,
    multiple,
    rule,
    run_state_machine_as_test,
)
from sqlalchemy import select

from core.platform.errors import AlreadyDone, InsufficientPoints, InvalidInput, OutOfStock
from core.points import corrections, posting
from core.supermarket import shop, stock
from db.models import Account, LedgerEntry, Product
from tests.factories import make_village
from tests.load import figures, invariants

EXAMPLES = int(os.environ.get("JIFEN_STATEFUL_EXAMPLES", "50"))
STEPS = int(os.environ.get("JIFEN_STATEFUL_STEPS", "40"))
PRICES = (3, 7, 20)
HOUSEHOLDS = 3
_codes = itertools.count(1)

pytestmark = pytest.mark.slow

points = st.integers(1, 60)
hh_index = st.integers(0, HOUSEHOLDS - 1)
product_index = st.integers(0, len(PRICES) - 1)


class LedgerMachine(RuleBasedStateMachine):
    db = None  # set by the test before each run
    steps_run = 0
    refused = 0

    entries = Bundle("entries")  # (entry_id, household index, delta_balance, delta_earned)
    redemptions = Bundle("redemptions")  # (redemption_id, household index, {product index: qty}, total)
    causes = Bundle("causes")

    def __init__(self):
        super().__init__()
        code = f"S{next(_codes):05d}"
        self.v = make_village(self.db, name=f"随机村{code}", code=code, households=HOUSEHOLDS)
        self.admin, self.cashier = self.v.admin, self.v.actors["cashier"]
        self.bal = [0] * HOUSEHOLDS
        self.earned = [0] * HOUSEHOLDS
        self.owed = [0] * HOUSEHOLDS  # 待扣
        self.pids = [stock.save_product(self.db, self.admin, self.v.id, stock.ProductInput(name=f"品{i}", price=p))
                     for i, p in enumerate(PRICES)]
        self.stock = [0] * len(PRICES)
        self.reversed: set[int] = set()
        self.voided: set[int] = set()

    def hid(self, i: int) -> int:
        return self.v.household_ids[i]

    def _post(self, i: int, kind: str, pts: int, cause: str):
        with self.db.write() as s:
            e = posting.post(s, household_id=self.hid(i), kind=kind, points=pts, source_type="walk", source_id=cause,
                             actor=self.admin)
            return e.id, e.delta_balance, e.delta_earned, e.delta_outstanding

    # The model's rules: points in settle the outstanding first; points out take what the
    # balance holds and leave the rest outstanding.
    def _gain(self, i: int, pts: int) -> None:
        self.bal[i] += pts
        settle = min(self.bal[i], self.owed[i])
        self.bal[i] -= settle
        self.owed[i] -= settle

    def _take(self, i: int, pts: int) -> tuple[int, int]:
        taken = min(pts, self.bal[i])
        self.bal[i] -= taken
        self.owed[i] += pts - taken
        return taken, pts - taken

    def _step(self) -> None:
        type(self).steps_run += 1

    def _refused(self) -> None:
        type(self).refused += 1

    # ------------------------------------------------------------ points in and out
    @rule(target=entries, i=hh_index, pts=points)
    def earn(self, i, pts):
        self._step()
        cause = uuid.uuid4().hex
        eid, db_, de, do_ = self._post(i, "earned", pts, cause)
        assert (db_, de, do_) == (pts, pts, 0)
        self._gain(i, pts)
        self.earned[i] += pts
        return (eid, i, db_, de, do_)

    @rule(target=entries, i=hh_index, pts=points)
    def deduct(self, i, pts):
        self._step()
        eid, db_, de, do_ = self._post(i, "deducted", -pts, uuid.uuid4().hex)
        taken, left = self._take(i, pts)
        assert (db_, de, do_) == (-taken, -pts, left)
        self.earned[i] -= pts
        return (eid, i, db_, de, do_)

    @rule(target=entries, i=hh_index, pts=st.integers(-60, 60).filter(bool))
    def adjust(self, i, pts):
        self._step()
        e = corrections.adjust(self.db, self.admin, self.hid(i), pts, "随机调整")
        if pts > 0:
            assert (e.delta_balance, e.delta_earned, e.delta_outstanding) == (pts, pts, 0)
            self._gain(i, pts)
        else:
            taken, left = self._take(i, -pts)
            assert (e.delta_balance, e.delta_earned, e.delta_outstanding) == (-taken, pts, left)
        self.earned[i] += pts
        return (e.id, i, e.delta_balance, e.delta_earned, e.delta_outstanding)

    @rule(target=causes, i=hh_index, pts=points)
    def earn_with_a_named_cause(self, i, pts):
        self._step()
        cause = uuid.uuid4().hex
        self._post(i, "earned", pts, cause)
        self._gain(i, pts)
        self.earned[i] += pts
        return (cause, i)

    @rule(c=causes, pts=points)
    def the_same_cause_again_posts_nothing(self, c, pts):
        self._step()
        cause, i = c
        with pytest.raises(AlreadyDone):
            self._post(i, "earned", pts, cause)
        self._refused()

    @rule(target=entries, e=consumes(entries))
    def reverse(self, e):
        self._step()
        eid, i, db_, de, do_ = e
        r = corrections.reverse(self.db, self.admin, eid, "随机冲正")  # never refused for want of points
        net = -(db_ - do_)  # the points the reversal moves back
        if net < 0:
            taken, left = self._take(i, -net)
            assert (r.delta_balance, r.delta_outstanding) == (-taken, left)
        else:
            cancel = min(do_, self.owed[i])
            self.owed[i] -= cancel
            assert (r.delta_balance, r.delta_outstanding) == (net - cancel, -cancel)
            self._gain(i, net - cancel)
        assert r.delta_earned == -de
        self.earned[i] -= de
        self.reversed.add(eid)
        with pytest.raises(AlreadyDone):
            corrections.reverse(self.db, self.admin, eid, "再次冲正")
        with pytest.raises(InvalidInput):
            corrections.reverse(self.db, self.admin, r.id, "冲正的冲正")
        return multiple()

    # ------------------------------------------------------------ supermarket
    @rule(p=product_index, qty=st.integers(1, 30))
    def stock_in(self, p, qty):
        self._step()
        stock.receive_stock(self.db, self.admin, self.pids[p], qty, "purchase", reason="进货")
        self.stock[p] += qty

    @rule(p=product_index, delta=st.integers(-5, 5))
    def stock_count(self, p, delta):
        self._step()
        counted = max(self.stock[p] + delta, 0)
        diff = stock.count_stock(self.db, self.admin, self.pids[p], counted, "盘点" if counted != self.stock[p] else "")
        assert diff == counted - self.stock[p]
        self.stock[p] = counted

    @rule(target=redemptions, i=hh_index,
          cart=st.dictionaries(product_index, st.integers(1, 4), min_size=1, max_size=len(PRICES)))
    def redeem(self, i, cart):
        self._step()
        total = sum(PRICES[p] * q for p, q in cart.items())
        short_stock = any(q > self.stock[p] for p, q in cart.items())
        short_points = total > self.bal[i]
        key = uuid.uuid4().hex
        call = {"household_id": self.hid(i), "card_id": None, "cart": {self.pids[p]: q for p, q in cart.items()},
                "cart_key": key}
        if short_stock or short_points:
            with pytest.raises((OutOfStock, InsufficientPoints)) as err:
                shop.checkout(self.db, self.cashier, **call)
            assert err.type is (OutOfStock if short_stock else InsufficientPoints) or (short_stock and short_points)
            self._refused()
            return multiple()
        rid = shop.checkout(self.db, self.cashier, **call)
        assert shop.checkout(self.db, self.cashier, **call) == rid  # the double click charges once
        self.bal[i] -= total
        for p, q in cart.items():
            self.stock[p] -= q
        return (rid, i, cart, total)

    @rule(r=redemptions)
    def void(self, r):
        self._step()
        rid, i, cart, total = r
        if rid in self.voided:
            with pytest.raises(AlreadyDone):
                shop.void(self.db, self.cashier, rid, "重复撤销")
            self._refused()
            return
        shop.void(self.db, self.cashier, rid, "顾客退货")
        self.voided.add(rid)
        self._gain(i, total)
        for p, q in cart.items():
            self.stock[p] += q

    # ------------------------------------------------------------ invariants
    @invariant()
    def model_matches_the_database(self):
        with self.db.read() as s:
            rows = {h: (b, e, o) for h, b, e, o in s.execute(
                select(Account.household_id, Account.balance, Account.earned_total, Account.outstanding)
                .where(Account.village_id == self.v.id))}
            levels = dict(s.execute(select(Product.id, Product.stock).where(Product.village_id == self.v.id)).all())
        assert [rows[self.hid(i)] for i in range(HOUSEHOLDS)] == list(zip(self.bal, self.earned, self.owed,
                                                                          strict=True))
        assert all(b == 0 or o == 0 for b, o in zip(self.bal, self.owed, strict=True))  # 待扣 settled first
        assert [levels[p] for p in self.pids] == self.stock
        assert min(self.bal) >= 0 and min(self.stock) >= 0

    def teardown(self):
        assert invariants.ledger_and_stock(self.db) == []


def test_random_walks_through_ledger_and_stock_keep_every_invariant(db):
    LedgerMachine.db = db
    LedgerMachine.steps_run = LedgerMachine.refused = 0
    run_state_machine_as_test(LedgerMachine, settings=settings(
        max_examples=EXAMPLES, stateful_step_count=STEPS, deadline=None, database=None,
        suppress_health_check=list(HealthCheck)))
    with db.read() as s:
        entries = s.execute(select(LedgerEntry.id)).scalars().all()
    assert LedgerMachine.steps_run > EXAMPLES  # the walks really ran
    figures.record("stateful", db.engine.dialect.name, {
        "walks": EXAMPLES, "steps": LedgerMachine.steps_run, "refused_as_modelled": LedgerMachine.refused,
        "ledger_entries_checked": len(entries), "model_mismatches": 0})


def _redeem_once(db, v) -> tuple[int, int]:
    from tests.factories import give_points

    hid = v.household_ids[0]
    give_points(db, hid, 100, "seed")
    pid = stock.save_product(db, v.admin, v.id, stock.ProductInput(name="肥皂", price=30))
    stock.receive_stock(db, v.admin, pid, 5, "purchase")
    rid = shop.checkout(db, v.actors["cashier"], household_id=hid, card_id=None, cart={pid: 1}, cart_key="k1")
    with db.read() as s:
        eid = s.execute(select(LedgerEntry.id).where(LedgerEntry.source_type == "redemption",
                                                     LedgerEntry.source_id == str(rid))).scalar_one()
    return rid, eid


def test_a_redemption_is_refunded_at_most_once_whether_voided_or_reversed(db, village):
    """Reversing a redemption's charge and then voiding the redemption would refund twice."""
    rid, eid = _redeem_once(db, village)
    refunds = 0
    for attempt in (lambda: corrections.reverse(db, village.admin, eid, "冲正兑换"),
                    lambda: shop.void(db, village.actors["cashier"], rid, "退货")):
        try:
            attempt()
            refunds += 1
        except (AlreadyDone, InvalidInput):
            pass
    with db.read() as s:
        acc = s.get(Account, village.household_ids[0])
    assert refunds <= 1
    assert acc.balance == 100
    assert invariants.ledger_and_stock(db) == []


def test_a_voided_redemption_cannot_be_charged_again_by_reversing_its_refund(db, village):
    rid, _ = _redeem_once(db, village)
    shop.void(db, village.actors["cashier"], rid, "退货")
    with db.read() as s:
        refund = s.execute(select(LedgerEntry.id).where(LedgerEntry.source_type == "redemption_void",
                                                        LedgerEntry.source_id == str(rid))).scalar_one()
    with pytest.raises((AlreadyDone, InvalidInput)):
        corrections.reverse(db, village.admin, refund, "冲正退款")
    with db.read() as s:
        assert s.get(Account, village.household_ids[0]).balance == 100
