"""Bad input at every core entry point that takes an amount or a card, on SQLite and
PostgreSQL: zero, negative, fractional, huge, NaN, infinite, text, booleans and None are
refused with a domain error (a Chinese message the page shows), never a crash, and
nothing is written. Malformed, revoked and other villages' card tokens open nothing."""

from __future__ import annotations

import datetime as dt
import itertools
from collections.abc import Callable

from core.charity import distribution, produce
from core.charity import field as field_mod
from core.committee import proposals, review
from core.platform import settings
from core.platform.errors import DomainError, NotAllowed
from core.points import corrections
from core.supermarket import shop, stock
from core.village import cards
from core.volunteering import service_hours
from tests.factories import all_agree
from tests.load import figures
from tests.test_authz_matrix import TODAY, World, _fingerprint, build_world

BAD_NUMBERS = [0, -1, -7, 0.5, 2.5, -0.25, 10**7, 10**12, 10**19, float("nan"), float("inf"), float("-inf"),
               "abc", "", "1e9", "１０", None, True, False, [3], {"x": 1}]
# Ids come from pick lists, not typing; still, unknown or odd ones must be refused plainly.
BAD_IDS = [0, -1, 999_999, 1.5, "abc", "", None]
BAD_KG = [0, "0", -1, "-1", "abc", "", "1e9", "nan", "inf", 10**9, "0.00001", None, True, [1]]
_keys = itertools.count()

# (label, role, call(world, value), zero_allowed, values)
Case = tuple[str, str, Callable[[World, object], object], bool, list]
CASES: list[Case] = [
    ("corrections.adjust points", "admin", lambda W, x: corrections.adjust(  # negative: a deduction, valid
        W.db, W.v.admin, W.v.household_ids[0], x, "调整"), False,
     [b for b in BAD_NUMBERS if not (isinstance(b, int) and not isinstance(b, bool) and -100_000 <= b < 0)]),
    ("stock.receive_stock qty", "admin", lambda W, x: stock.receive_stock(
        W.db, W.v.admin, W.ids["product"], x), False, BAD_NUMBERS),
    ("stock.count_stock counted", "admin", lambda W, x: stock.count_stock(
        W.db, W.v.admin, W.ids["product"], x, "盘点"), True, BAD_NUMBERS),
    ("stock.save_product price", "admin", lambda W, x: stock.save_product(
        W.db, W.v.admin, W.v.id, stock.ProductInput(name="试价商品", price=x)), False, BAD_NUMBERS),
    ("stock.save_product monthly_limit", "admin", lambda W, x: stock.save_product(
        W.db, W.v.admin, W.v.id, stock.ProductInput(name="限兑商品", price=5, monthly_limit=x)), True,
     [b for b in BAD_NUMBERS if b is not None]),  # None (and 0): no limit
    ("shop.checkout quantity", "cashier", lambda W, x: shop.checkout(
        W.db, W.v.actors["cashier"], household_id=W.v.household_ids[1], card_id=None, cart={W.ids["product"]: x},
        cart_key=f"bad-{next(_keys)}"), False, BAD_NUMBERS),
    ("shop.checkout product id", "cashier", lambda W, x: shop.checkout(
        W.db, W.v.actors["cashier"], household_id=W.v.household_ids[1], card_id=None, cart={x: 1},
        cart_key=f"bad-{next(_keys)}"), False, [b for b in BAD_IDS if b is not None]),
    ("shop.checkout household id", "cashier", lambda W, x: shop.checkout(
        W.db, W.v.actors["cashier"], household_id=x, card_id=None, cart={W.ids["product"]: 1},
        cart_key=f"bad-{next(_keys)}"), False, BAD_IDS),
    ("service_hours.set_minutes minutes", "volunteer_lead", lambda W, x: service_hours.set_minutes(
        W.db, W.v.actors["volunteer_lead"], W.ids["activity"], W.v.resident_ids[2], x), True, BAD_NUMBERS),
    ("service_hours.request_correction minutes", "volunteer_lead", lambda W, x: service_hours.request_correction(
        W.db, W.v.actors["volunteer_lead"], W.ids["attendance"], x, "更正"), True, BAD_NUMBERS),
    ("proposals.submit points", "grid_worker", lambda W, x: proposals.submit(
        W.db, W.v.actors["grid_worker"], household_id=W.v.household_ids[0], rule_item_id=W.v.rule_ids["HJ01"],
        act_date=TODAY, points=x, note="x"), False, [b for b in BAD_NUMBERS if b is not None]),
    ("review.decide points", "committee", lambda W, x: review.decide(
        W.db, W.v.actors["committee"], W.ids["session"], W.ids["proposal"], "approved", points=x,
        votes=all_agree(W.db, W.ids["session"])),
     # The score box is text: full-width digits from an input method read as the number shown (１０ is 10).
     False, [b for b in BAD_NUMBERS if b is not None and b != "１０"]),
    ("settings.change publicity_days", "admin", lambda W, x: settings.change(
        W.db, W.v.admin, W.v.id, "publicity_days", x), True, BAD_NUMBERS),
    ("settings.change min_balance_to_redeem", "admin", lambda W, x: settings.change(
        W.db, W.v.admin, W.v.id, "min_balance_to_redeem", x), True, BAD_NUMBERS),
    ("produce.record_harvest kg", "field_lead", lambda W, x: produce.record_harvest(
        W.db, W.v.actors["field_lead"], season_id=W.ids["season"], date=TODAY, kg=x), False, BAD_KG),
    ("produce.record_loss kg", "field_lead", lambda W, x: produce.record_loss(
        W.db, W.v.actors["field_lead"], crop="小麦", kg=x, reason="损耗"), False, BAD_KG),
    ("produce.transfer_to_shop kg", "field_lead", lambda W, x: produce.transfer_to_shop(
        W.db, W.v.actors["field_lead"], crop="小麦", kg=x, product_id=W.ids["product"], qty=1), False, BAD_KG),
    ("produce.transfer_to_shop qty", "field_lead", lambda W, x: produce.transfer_to_shop(
        W.db, W.v.actors["field_lead"], crop="小麦", kg="1", product_id=W.ids["product"], qty=x), False, BAD_NUMBERS),
    ("produce.sell_surplus amount", "field_lead", lambda W, x: produce.sell_surplus(
        W.db, W.v.actors["field_lead"], crop="小麦", kg="1", amount_yuan=x, date=TODAY), True, BAD_KG),
    ("field.save_plot area", "field_lead", lambda W, x: field_mod.save_plot(
        W.db, W.v.actors["field_lead"], name="试验地", area_mu=x), False, BAD_KG),
    ("distribution.create_round total", "field_lead", lambda W, x: distribution.create_round(
        W.db, W.v.actors["field_lead"], title="试分配", crop="小麦", total_kg=x, rule="household"), False, BAD_KG),
]


def test_bad_amounts_are_refused_with_a_message_and_write_nothing(db, tmp_path):
    world = build_world(db, tmp_path / "files")
    tried = 0
    failures: list[str] = []
    for label, _role, call, zero_ok, values in CASES:
        for value in values:
            if zero_ok and isinstance(value, int | str) and value in (0, "0"):
                continue  # zero is a valid amount here (False == 0 too)
            tried += 1
            before = _fingerprint(db)
            try:
                call(world, value)
                failures.append(f"{label} = {value!r}: accepted")
            except NotAllowed as e:
                failures.append(f"{label} = {value!r}: NotAllowed ({e}) — the case itself is wrong")
            except DomainError as e:
                if not str(e).strip():
                    failures.append(f"{label} = {value!r}: {type(e).__name__} without a message")
            except Exception as e:  # a crash the user would see as a traceback
                failures.append(f"{label} = {value!r}: {type(e).__name__}: {str(e)[:150]}")
            if _fingerprint(db) != before:
                failures.append(f"{label} = {value!r}: wrote to the database")
    assert failures == [], "\n".join(failures)
    figures.record("bad_amounts", db.engine.dialect.name, {"entry_points": len(CASES), "bad_values_tried": tried,
                                                          "accepted_or_crashed": 0})


BAD_TOKENS = ["", " ", "abc", "123", "1" * 25, "1" * 26, "0" * 26, "1" * 27, "9" * 500, "<script>alert(1)</script>",
              "' OR 1=1 --", "http://evil.example/me?card=", "/me?card=abc", "１２３４５６７８９０", "\x00" * 26,
              "1234 5678 9012 3456 7890 123"]


def test_bad_revoked_and_foreign_tokens_open_nothing_at_any_scan_box(db, tmp_path):
    world = build_world(db, tmp_path / "files")
    w = world.v
    revoked_token = cards.issue_card(db, w.actors["cashier"], w.household_ids[2])
    cards.revoke_card(db, w.actors["cashier"], w.household_ids[2], "遗失")
    foreign = cards.issue_card(db, world.w.actors["cashier"], world.w.household_ids[0])
    tokens = [*BAD_TOKENS, revoked_token, foreign, revoked_token[:-1] + str((int(revoked_token[-1]) + 1) % 10)]
    scans: list[tuple[str, Callable[[str], object]]] = [
        ("cards.resolve", lambda t: _resolve(db, w.id, t)),
        ("service_hours.check_in_by_card", lambda t: service_hours.check_in_by_card(db, w.actors["volunteer_lead"],
                                                                            world.ids["activity"], t)),
        ("service_hours.check_out_by_card", lambda t: service_hours.check_out_by_card(db, w.actors["volunteer_lead"],
                                                                              world.ids["activity"], t)),
        ("distribution.deliver_by_card", lambda t: distribution.deliver_by_card(db, w.actors["field_lead"],
                                                                          world.ids["round"], t)),
    ]
    failures, tried = [], 0
    for (name, scan), token in itertools.product(scans, tokens):
        tried += 1
        before = _fingerprint(db)
        try:
            scan(token)
            failures.append(f"{name}({token!r}): accepted")
        except NotAllowed as e:
            failures.append(f"{name}({token!r}): NotAllowed {e}")
        except DomainError:
            pass
        except Exception as e:
            failures.append(f"{name}({token!r}): {type(e).__name__}: {e}")
        if _fingerprint(db) != before:
            failures.append(f"{name}({token!r}): wrote to the database")
    assert failures == [], "\n".join(failures)
    figures.record("bad_tokens", db.engine.dialect.name, {"scan_boxes": len(scans), "bad_tokens_tried": tried,
                                                         "opened_anything": 0})


def _resolve(db, village_id, token):
    with db.read() as s:
        return cards.resolve(s, village_id, token)


def test_a_date_far_in_the_future_or_past_is_refused(db, tmp_path):
    world = build_world(db, tmp_path / "files")
    w = world.v
    for day in (dt.date(1900, 1, 1), TODAY + dt.timedelta(days=400), "2026-01-01", None):
        before = _fingerprint(db)
        try:
            proposals.submit(db, w.actors["grid_worker"], household_id=w.household_ids[0],
                             rule_item_id=w.rule_ids["HJ01"], act_date=day, note="x")
            raise AssertionError(f"act_date {day!r} accepted")
        except DomainError:
            pass
        assert _fingerprint(db) == before
