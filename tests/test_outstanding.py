"""Deductions are never lost: outstanding points (待扣) and points held during 公示 (冻结).

A deduction larger than the balance takes what is there; the rest stays outstanding and the
household's next points settle it first, by entries that say so. A deduction approved but still
in 公示 holds its points: the counter shows them and cannot spend them.
"""

from __future__ import annotations

import datetime as dt
import itertools

import pytest
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st
from sqlalchemy import select

from core.committee import proposals, publicity, review, sessions
from core.maintenance.verify import verify
from core.platform.errors import InsufficientPoints
from core.points import corrections, posting
from core.supermarket import shop, stock
from core.village.households import balances
from db.models import Account, LedgerEntry
from tests.factories import all_agree, give_points, make_village
from tests.test_review_flow import add_committee

TODAY = dt.date.today()


@pytest.fixture
def v(db):
    return make_village(db)


def account(db, hid) -> tuple[int, int, int]:
    with db.read() as s:
        a = s.get(Account, hid)
        return a.balance, a.earned_total, a.outstanding


def deduct(db, hid, points: int, cause: str) -> None:
    with db.write() as s:
        posting.post(s, household_id=hid, kind="deducted", points=-points, source_type="test", source_id=cause)


def entries(db, hid) -> list[tuple[str, int, int, int]]:
    with db.read() as s:
        return [tuple(r) for r in s.execute(
            select(LedgerEntry.kind, LedgerEntry.delta_balance, LedgerEntry.delta_earned, LedgerEntry.delta_outstanding)
            .where(LedgerEntry.household_id == hid).order_by(LedgerEntry.id)).all()]


def test_a_deduction_larger_than_the_balance_keeps_the_rest_outstanding(db, v):
    hid = v.household_ids[0]
    give_points(db, hid, 4, "a")
    deduct(db, hid, 10, "d")
    assert account(db, hid) == (0, -6, 6)  # 4 taken, 6 outstanding, earned down by the full 10
    assert entries(db, hid)[-1] == ("deducted", -4, -10, 6)
    assert verify(db) == []


def test_the_next_points_settle_the_outstanding_first_then_a_redemption_spends_only_the_rest(db, v):
    hid = v.household_ids[0]
    deduct(db, hid, 10, "d")  # nothing to take: all 10 outstanding
    give_points(db, hid, 6, "e1")
    assert account(db, hid) == (0, -4, 4)
    assert entries(db, hid)[-2:] == [("earned", 6, 6, 0), ("settlement", -6, 0, -6)]
    give_points(db, hid, 9, "e2")
    assert account(db, hid) == (5, 5, 0)
    with db.read() as s:
        last = s.execute(select(LedgerEntry).where(LedgerEntry.household_id == hid)
                         .order_by(LedgerEntry.id.desc()).limit(1)).scalar_one()
    assert last.kind == "settlement" and last.reason == "以新得积分抵扣待扣 4 分，待扣已清"
    with pytest.raises(InsufficientPoints), db.write() as s:
        posting.post(s, household_id=hid, kind="redeemed", points=-6, source_type="t", source_id="r1")
    with db.write() as s:
        posting.post(s, household_id=hid, kind="redeemed", points=-5, source_type="t", source_id="r2")
    assert account(db, hid) == (0, 5, 0)
    assert verify(db) == []


def test_a_batch_posts_and_settles_like_single_posts(db, v):
    a, b = v.household_ids[:2]
    deduct(db, a, 7, "da")
    with db.write() as s:
        posting.post_many(s, [posting.Posting(a, "earned", 5, "t", "1"), posting.Posting(b, "deducted", -3, "t", "2"),
                             posting.Posting(a, "earned", 5, "t", "3")])
    assert account(db, a) == (3, 3, 0)
    assert account(db, b) == (0, -3, 3)
    assert [k for k, *_ in entries(db, a)] == ["deducted", "earned", "settlement", "earned", "settlement"]
    assert verify(db) == []


def test_reversing_a_deduction_returns_what_it_took_and_cancels_what_is_still_outstanding(db, v):
    hid = v.household_ids[0]
    give_points(db, hid, 4, "a")
    deduct(db, hid, 10, "d")  # took 4, 6 outstanding
    give_points(db, hid, 5, "e")  # settles 5: 1 outstanding
    with db.read() as s:
        did = s.execute(select(LedgerEntry.id).where(LedgerEntry.source_id == "d")).scalar_one()
    corrections.reverse(db, v.admin, did, "扣错了")
    assert account(db, hid) == (9, 9, 0)  # 4 + 5 paid back, 1 cancelled
    assert verify(db) == []


def test_settlements_cannot_be_reversed_on_their_own(db, v):
    hid = v.household_ids[0]
    deduct(db, hid, 3, "d")
    give_points(db, hid, 5, "e")
    with db.read() as s:
        sid = s.execute(select(LedgerEntry.id).where(LedgerEntry.kind == "settlement")).scalar_one()
    with pytest.raises(Exception, match="待扣抵扣"):
        corrections.reverse(db, v.admin, sid, "试试")


_codes = itertools.count(1)


@settings(max_examples=60, deadline=None, suppress_health_check=[HealthCheck.function_scoped_fixture])
@given(st.lists(st.tuples(st.sampled_from(["earned", "deducted", "redeemed"]), st.integers(1, 30)), max_size=25))
def test_whatever_happens_nothing_is_lost_and_the_balance_never_goes_below_zero(sqlite_db, steps):
    """Net points (balance − outstanding) always equal everything earned minus everything deducted and spent."""
    db = sqlite_db
    vv = make_village(db, code=f"H{next(_codes)}", households=1)
    hid = vv.household_ids[0]
    expected = 0
    for n, (kind, pts) in enumerate(steps):
        with db.write() as s:
            if kind == "redeemed":
                bal = s.get(Account, hid).balance
                if bal < pts:
                    continue
                expected -= pts
                posting.post(s, household_id=hid, kind=kind, points=-pts, source_type="h", source_id=f"{vv.id}:{n}")
            else:
                expected += pts if kind == "earned" else -pts
                posting.post(s, household_id=hid, kind=kind, points=pts if kind == "earned" else -pts,
                             source_type="h", source_id=f"{vv.id}:{n}")
        bal, _, owed = account(db, hid)
        assert bal >= 0 and owed >= 0 and (bal == 0 or owed == 0)
        assert bal - owed == expected
    assert verify(db) == []


# ---------------------------------------------------------------- held during 公示


def _deduction_in_publicity(db, v, hid: int) -> int:
    members = [v.actors["committee"].user_id] + add_committee(db, v, 2)
    pid = proposals.submit(db, v.actors["grid_worker"], household_id=hid, rule_item_id=v.rule_ids["HJ06"],
                           act_date=TODAY - dt.timedelta(days=1), note="门口乱倒垃圾")
    sid = sessions.open_session(db, v.actors["committee"], v.id, held_on=TODAY, attendee_ids=members)
    assert review.decide(db, v.actors["committee"], sid, pid, "approved", points=-8,
                         votes=all_agree(db, sid)).status == "publicity"
    return pid


def test_a_deduction_in_publicity_holds_its_points_at_the_counter(db, v):
    hid = v.household_ids[0]
    give_points(db, hid, 20, "a")
    _deduction_in_publicity(db, v, hid)
    pid = stock.save_product(db, v.admin, v.id, stock.ProductInput(name="香皂", price=15, unit="块"))
    stock.receive_stock(db, v.admin, pid, 5, kind="purchase", funding="村集体")
    counter = shop.counter_view(db, v.id, hid)
    assert (counter.balance, counter.held, counter.spendable) == (20, 8, 12)
    check = shop.check_cart(db, v.id, hid, {pid: 1})
    assert not check.ok and "其中 8 分因公示中的扣分暂不能使用" in check.problems[0]
    with pytest.raises(InsufficientPoints, match="可兑换 12 分"):
        shop.checkout(db, v.actors["cashier"], household_id=hid, card_id=None, cart={pid: 1}, cart_key="k1")
    assert account(db, hid)[0] == 20
    with db.read() as s:
        row = next(r for r in balances(s, v.id) if r.household_id == hid)
    assert (row.balance, row.held, row.spendable, row.outstanding) == (20, 8, 12, 0)
    # when the window has ended, the deduction posts and nothing is held any more
    assert publicity.post_due(db, today=TODAY + dt.timedelta(days=30)) == 1
    counter = shop.counter_view(db, v.id, hid)
    assert (counter.balance, counter.held, counter.spendable) == (12, 0, 12)
    assert verify(db) == []


def test_a_held_deduction_larger_than_the_balance_posts_in_full_as_outstanding(db, v):
    hid = v.household_ids[0]
    give_points(db, hid, 5, "a")
    _deduction_in_publicity(db, v, hid)
    assert shop.counter_view(db, v.id, hid).spendable == 0
    publicity.post_due(db, today=TODAY + dt.timedelta(days=30))
    assert account(db, hid) == (0, -3, 3)
    assert verify(db) == []
