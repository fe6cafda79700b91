"""Who may see what: a resident's card shows only their own household; a township viewer
sees only the villages of their own township; a revoked card or another village's card
opens nothing at a counter of this village."""

from __future__ import annotations

import datetime as dt

import pytest

from core.platform.access import Actor
from core.platform.errors import InvalidInput, NotAllowed, NotFound
from core.points import corrections
from core.public import resident
from core.reporting import comparison, periods
from core.supermarket import shop, stock
from core.village import cards
from tests.factories import give_points, make_village


def _household_with_history(db, v, i: int, secret: str) -> str:
    hid = v.household_ids[i]
    give_points(db, hid, 20 + i, f"scope:{hid}")
    corrections.adjust(db, v.admin, hid, 3, secret)  # a reason only this household's history may show
    return cards.issue_card(db, v.actors["cashier"], hid)


def test_a_residents_card_shows_only_their_own_household(db, village):
    tokens = [_household_with_history(db, village, i, f"仅限第{i}户的备注") for i in range(3)]
    for i, token in enumerate(tokens):
        view = resident.view(db, token, client=f"test-{i}")
        assert view.household_id == village.household_ids[i]
        assert view.head_name == f"户主{i + 1}"
        assert view.members == [f"户主{i + 1}（户主）"]
        assert {h.reason for h in view.history} >= {f"仅限第{i}户的备注"}
        shown = repr(view)
        for j in range(len(tokens)):
            if j != i:
                assert f"仅限第{j}户的备注" not in shown
                assert f"户主{j + 1}" not in shown
                assert f"1-{j + 1:03d}" not in shown  # door numbers of other households


def test_a_revoked_card_opens_nothing(db, village):
    token = _household_with_history(db, village, 0, "x")
    cards.revoke_card(db, village.actors["cashier"], village.household_ids[0], "遗失")
    with pytest.raises(NotFound):
        resident.view(db, token, client="revoked")


@pytest.mark.parametrize("scanned", ["", "123", "1234567890123456789012345", "0" * 26, "<script>alert(1)</script>",
                                     "https://evil.example/me?card=abc", "１２３４", "9" * 500])
def test_malformed_card_links_are_refused_plainly(db, village, scanned):
    with pytest.raises((InvalidInput, NotFound)):
        resident.view(db, scanned, client="malformed")


def test_another_villages_card_does_not_redeem_at_this_counter(db, village):
    other = make_village(db, name="邻村", code="T002", households=1)
    token = cards.issue_card(db, other.actors["cashier"], other.household_ids[0])
    with db.read() as s:
        with pytest.raises(NotFound, match="不属于本村"):
            cards.resolve(s, village.id, token)


def test_a_card_of_another_household_cannot_pay_for_this_one(db, village):
    give_points(db, village.household_ids[0], 50, "p0")
    pid = stock.save_product(db, village.admin, village.id, stock.ProductInput(name="盐", price=5))
    stock.receive_stock(db, village.admin, pid, 5)
    cards.issue_card(db, village.actors["cashier"], village.household_ids[1])
    with db.read() as s:
        from sqlalchemy import select

        from db.models import Card
        other_card = s.execute(select(Card.id).where(Card.household_id == village.household_ids[1])).scalar_one()
    with pytest.raises(NotFound):
        shop.checkout(db, village.actors["cashier"], household_id=village.household_ids[0], card_id=other_card,
                      cart={pid: 1}, cart_key="wrong-card")


def _three_villages(db):
    a = make_village(db, name="甲村", code="T001", households=1, township="文祖街道")
    b = make_village(db, name="乙村", code="T002", households=1, township="文祖街道")
    c = make_village(db, name="丙村", code="T003", households=1, township="别的街道")
    return a, b, c


def test_a_township_viewer_sees_only_the_villages_of_their_township(db):
    a, b, c = _three_villages(db)
    viewer = a.actors["township_viewer"]
    period = periods.period_of("month", dt.date.today())
    with db.read() as s:
        assert {v.name for v in comparison.villages_for(s, viewer)} == {"甲村", "乙村"}
        assert {r.name for r in comparison.compare(s, viewer, period)} == {"甲村", "乙村"}
        other = c.actors["township_viewer"]
        assert {v.name for v in comparison.villages_for(s, other)} == {"丙村"}
        assert {r.name for r in comparison.compare(s, other, period)} == {"丙村"}


def test_a_township_viewer_without_a_township_sees_no_village(db):
    a, _, _ = _three_villages(db)
    lost = Actor(user_id=a.actors["township_viewer"].user_id, name="未设置", roles=frozenset({"township_viewer"}))
    with db.read() as s:
        try:
            seen = comparison.villages_for(s, lost)
        except NotAllowed:
            seen = []
    assert seen == []


@pytest.mark.parametrize("role", ["committee", "grid_worker", "cashier", "volunteer_lead", "field_lead"])
def test_village_staff_cannot_compare_villages(db, role):
    a, _, _ = _three_villages(db)
    with db.read() as s, pytest.raises(NotAllowed):
        comparison.villages_for(s, a.actors[role])
