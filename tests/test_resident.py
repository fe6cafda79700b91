"""The resident's card view: own household only, friendly refusals, guessing slowed down."""

from __future__ import annotations

import datetime as dt
import uuid

import pytest

from core.platform import ratelimit, settings
from core.platform.errors import InvalidInput, NotFound
from core.public import resident
from core.supermarket import shop, stock
from core.supermarket.stock import ProductInput
from core.village import cards
from db.models import Activity
from tests.factories import give_points


def _setup(db, v):
    a, b = v.household_ids[:2]
    give_points(db, a, 120, "a1")
    give_points(db, b, 999, "b1")
    cheap = stock.save_product(db, v.admin, v.id, ProductInput(name="肥皂", price=5, unit="块"))
    stock.receive_stock(db, v.admin, cheap, 10)
    dear = stock.save_product(db, v.admin, v.id, ProductInput(name="电饭煲", price=300, unit="台"))
    stock.receive_stock(db, v.admin, dear, 3)
    empty = stock.save_product(db, v.admin, v.id, ProductInput(name="毛巾", price=8, unit="条"))
    shop.checkout(db, v.actors["cashier"], household_id=a, card_id=None, cart={cheap: 2}, cart_key=uuid.uuid4().hex)
    with db.write() as s:
        s.add(Activity(village_id=v.id, title="清扫村道", date=dt.date.today() + dt.timedelta(days=3), place="村委会"))
        s.add(Activity(village_id=v.id, title="去年的活动", date=dt.date.today() - dt.timedelta(days=3)))
    return cards.issue_card(db, v.admin, a), cards.issue_card(db, v.admin, b), empty


def test_the_card_link_shows_that_household_only(db, village):
    token_a, _, _ = _setup(db, village)
    view = resident.view(db, f"http://localhost:8501/me?card={token_a}", client="1.2.3.4")
    assert view.household_id == village.household_ids[0]
    assert (view.balance, view.earned_total) == (110, 120)
    assert view.members == ["户主1（户主）"]
    assert [h.kind for h in view.history] == ["兑换", "加分"]
    assert "肥皂" in view.history[0].reason
    assert [p.name for p in view.affordable] == ["肥皂"]  # not the 300-point cooker, not out-of-stock towels
    assert [a.title for a in view.activities] == ["清扫村道"]
    # as on the rankings page: this year's points, among the households with entries this year
    assert view.rank == 2 and view.households_ranked == 2 and view.year_points == 120


def test_rank_is_hidden_when_the_village_switches_rankings_off(db, village):
    token_a, _, _ = _setup(db, village)
    settings.change(db, village.admin, village.id, "rankings_enabled", False)
    view = resident.view(db, token_a, client="1.2.3.4")
    assert view.rank is None and view.households_ranked is None


def test_unknown_revoked_and_malformed_tokens_get_a_friendly_message(db, village):
    token_a, _, _ = _setup(db, village)
    with pytest.raises(InvalidInput, match="链接不完整"):
        resident.view(db, "12345", client="c")
    with pytest.raises(NotFound, match="没有找到"):
        resident.view(db, cards.new_token(), client="c")
    cards.revoke_card(db, village.admin, village.household_ids[0], "遗失")
    with pytest.raises(NotFound, match="没有找到"):
        resident.view(db, token_a, client="c")


def test_guessing_is_refused_after_twenty_failures_per_client(db, village):
    token_a, _, _ = _setup(db, village)
    for _ in range(ratelimit.CARD_LOOKUP_LIMIT):
        with pytest.raises(NotFound):
            resident.view(db, cards.new_token(), client="10.0.0.9")
    with pytest.raises(ratelimit.TooManyAttempts):
        resident.view(db, token_a, client="10.0.0.9")  # even a right token, while blocked
    assert resident.view(db, token_a, client="10.0.0.10").household_id == village.household_ids[0]


def test_a_rate_limit_window_ends_and_starts_again(db):
    key = ratelimit.client_key("test", "1.1.1.1")
    t0 = dt.datetime(2026, 1, 1, 8, 0, 1)
    for i in range(3):
        ratelimit.hit(db, key, 600, now=t0 + dt.timedelta(seconds=i))
    assert ratelimit.count(db, key, 600, now=t0 + dt.timedelta(seconds=10)) == 3
    assert ratelimit.is_blocked(db, key, 3, 600, now=t0 + dt.timedelta(seconds=10))
    later = t0 + dt.timedelta(seconds=601)
    assert ratelimit.count(db, key, 600, now=later) == 0
    ratelimit.hit(db, key, 600, now=later)
    assert ratelimit.count(db, key, 600, now=later) == 1


def test_a_self_report_from_the_card_page_goes_to_the_committee_and_is_capped_per_day(db, village):
    from sqlalchemy import func, select

    from db.models import Proposal

    token_a, _, _ = _setup(db, village)
    items = dict(resident.self_report_items(db, village.id))
    assert village.rule_ids["HJ01"] in items and village.rule_ids["HJ06"] not in items  # no deductions
    me = village.resident_ids[0]
    with pytest.raises(InvalidInput):
        resident.self_report(db, token_a, "c", rule_item_id=village.rule_ids["HJ01"], act_date=dt.date.today(),
                             note="x", resident_id=village.resident_ids[1])  # another household's member
    for i in range(resident.SELF_REPORTS_PER_DAY):
        resident.self_report(db, token_a, "c", rule_item_id=village.rule_ids["HJ01"], act_date=dt.date.today(),
                             note=f"打扫院子 {i}", resident_id=me)
    with pytest.raises(ratelimit.TooManyAttempts):
        resident.self_report(db, token_a, "c", rule_item_id=village.rule_ids["HJ01"], act_date=dt.date.today(),
                             note="再报一条", resident_id=me)
    with db.read() as s:
        n, source, status = s.execute(select(func.count(), func.min(Proposal.source), func.min(Proposal.status))
                                      .where(Proposal.household_id == village.household_ids[0])).one()
    assert (n, source, status) == (resident.SELF_REPORTS_PER_DAY, "self", "submitted")
