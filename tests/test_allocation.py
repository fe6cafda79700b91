"""The allocation of a round (pure): exact totals, bounds, weights, eligibility."""

from __future__ import annotations

import datetime as dt

import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from core.charity.allocation import Claim, Register, allocate, eligible_households, validate_adjusted
from core.platform.errors import InvalidInput

WEIGHTS = {"elderly": 1.0, "dibao": 1.5, "wubao": 2.0, "disabled": 1.5, "hardship": 1.0}


def claims(n, persons=1, cats=("elderly",)):
    return [Claim(i + 1, persons, cats) for i in range(n)]


def test_an_awkward_total_split_equally_sums_exactly_and_differs_by_at_most_one_unit():
    out = allocate(1000, claims(3), "household")  # 100.0 kg among 3
    assert sum(out.values()) == 1000
    assert sorted(out.values()) == [333, 333, 334]


def test_leftover_units_go_to_the_largest_remainders():
    # per person: 10 units among persons 1, 2, 4 → 10/7, 20/7, 40/7 = 1.43, 2.86, 5.71
    out = allocate(10, [Claim(1, 1, ()), Claim(2, 2, ()), Claim(3, 4, ())], "person")
    assert out == {1: 1, 2: 3, 3: 6}


def test_weighted_by_category_follows_the_village_weights():
    cs = [Claim(1, 1, ("elderly",)), Claim(2, 1, ("wubao",)), Claim(3, 1, ("dibao",))]
    out = allocate(900, cs, "weighted", WEIGHTS)  # weights 1 : 2 : 1.5 → 200, 400, 300
    assert out == {1: 200, 2: 400, 3: 300}


def test_a_household_in_two_categories_counts_under_the_heavier_weight():
    out = allocate(300, [Claim(1, 1, ("elderly", "wubao")), Claim(2, 1, ("elderly",))], "weighted", WEIGHTS)
    assert out == {1: 200, 2: 100}


def test_the_minimum_lifts_small_shares_and_the_rest_is_shared_by_weight():
    cs = [Claim(1, 1, ()), Claim(2, 1, ()), Claim(3, 10, ())]
    out = allocate(120, cs, "person", min_units=30)
    assert out[1] == 30 and out[2] == 30 and out[3] == 60
    assert sum(out.values()) == 120


def test_the_maximum_caps_large_shares_and_passes_the_rest_on():
    cs = [Claim(1, 8, ()), Claim(2, 1, ()), Claim(3, 1, ())]
    out = allocate(100, cs, "person", max_units=50)
    assert out[1] == 50 and out[2] + out[3] == 50 and sum(out.values()) == 100


def test_too_little_for_everyones_minimum_is_refused_with_the_numbers():
    with pytest.raises(InvalidInput, match="总量不够.*3 户每户至少 5.0 公斤"):
        allocate(100, claims(3), "household", min_units=50)


def test_too_much_for_everyones_maximum_is_refused_with_the_numbers():
    with pytest.raises(InvalidInput, match="总量过多.*最多只能分 30.0 公斤"):
        allocate(1000, claims(3), "household", max_units=100)


def test_a_minimum_above_the_maximum_is_refused():
    with pytest.raises(InvalidInput, match="大于每户最多"):
        allocate(100, claims(3), "household", min_units=40, max_units=30)


def test_no_eligible_households_is_a_clear_error():
    with pytest.raises(InvalidInput, match="没有符合条件的受助对象"):
        allocate(100, [], "household")


def test_expired_unapproved_inactive_and_deregistered_households_are_not_eligible():
    on = dt.date(2026, 10, 1)
    rows = [
        Register(1, "elderly", True, True, dt.date(2026, 12, 31)),
        Register(2, "elderly", False, True, None),  # not approved
        Register(3, "dibao", True, True, dt.date(2026, 9, 30)),  # expired the day before
        Register(4, "wubao", True, False, None),  # taken off the register
        Register(5, "disabled", True, True, None, household_active=False),
        Register(6, "hardship", True, True, on),  # valid through the day itself
    ]
    assert eligible_households(rows, on) == {1: ("elderly",), 6: ("hardship",)}


def test_an_adjusted_table_must_still_sum_to_the_total():
    validate_adjusted(100, {1: 60, 2: 40})
    with pytest.raises(InvalidInput, match="还差 0.5 公斤"):
        validate_adjusted(100, {1: 55, 2: 40})
    with pytest.raises(InvalidInput, match="多了 0.1 公斤"):
        validate_adjusted(100, {1: 61, 2: 40})


def test_an_adjusted_table_must_respect_the_bounds_and_have_no_negatives():
    with pytest.raises(InvalidInput, match="不小于 0"):
        validate_adjusted(100, {1: 110, 2: -10})
    with pytest.raises(InvalidInput, match="少于每户最少量"):
        validate_adjusted(100, {1: 90, 2: 10}, min_units=20)
    with pytest.raises(InvalidInput, match="超过每户最多量"):
        validate_adjusted(100, {1: 90, 2: 10}, max_units=80)


# ---------------------------------------------------------------- properties

claim_lists = st.lists(
    st.tuples(st.integers(1, 8), st.sampled_from(list(WEIGHTS))), min_size=1, max_size=40,
).map(lambda xs: [Claim(i + 1, p, (c,)) for i, (p, c) in enumerate(xs)])


@settings(max_examples=300, deadline=None)
@given(claim_lists, st.integers(1, 200_000), st.sampled_from(["household", "person", "weighted"]),
       st.integers(0, 400), st.one_of(st.none(), st.integers(1, 5000)))
def test_property_any_feasible_allocation_sums_exactly_and_respects_the_bounds(cs, total, rule, lo, hi):
    n = len(cs)
    feasible = lo * n <= total and (hi is None or (lo <= hi and hi * n >= total))
    if not feasible:
        with pytest.raises(InvalidInput):
            allocate(total, cs, rule, WEIGHTS, lo, hi)
        return
    out = allocate(total, cs, rule, WEIGHTS, lo, hi)
    assert sum(out.values()) == total
    assert set(out) == {c.household_id for c in cs}
    assert all(lo <= u and (hi is None or u <= hi) for u in out.values())


@settings(max_examples=200, deadline=None)
@given(claim_lists, st.integers(1, 100_000), st.sampled_from(["household", "person", "weighted"]))
def test_property_without_bounds_each_share_is_its_exact_share_rounded_down_or_up(cs, total, rule):
    from core.charity.allocation import weight_of

    out = allocate(total, cs, rule, WEIGHTS)
    ws = [weight_of(c, rule, WEIGHTS) for c in cs]
    for c, w in zip(cs, ws, strict=True):
        exact = total * w / sum(ws)
        assert exact - 1 < out[c.household_id] < exact + 1


@settings(max_examples=200, deadline=None)
@given(claim_lists, st.integers(1, 100_000))
def test_property_a_heavier_weight_never_gets_less(cs, total):
    out = allocate(total, cs, "person")
    for a in cs:
        for b in cs:
            if a.persons > b.persons:
                assert out[a.household_id] >= out[b.household_id]
