"""Base score once per period; year-end clearing and carry-over (both databases)."""

from __future__ import annotations

import datetime as dt

import pytest
from sqlalchemy import func, select

from core.maintenance.verify import verify
from core.platform import settings
from core.platform.errors import InvalidInput, NotAllowed
from core.points import balances, cycles, posting
from db.models import Account, HouseholdMonth, LedgerEntry
from tests.factories import give_points, make_village


def _balances(db, village_id):
    with db.read() as s:
        return dict(s.execute(select(Account.household_id, Account.balance)
                              .where(Account.village_id == village_id)).all())


def _earned(db, village_id):
    with db.read() as s:
        return dict(s.execute(select(Account.household_id, Account.earned_total)
                              .where(Account.village_id == village_id)).all())


def _entries(db):
    with db.read() as s:
        return s.execute(select(func.count()).select_from(LedgerEntry)).scalar_one()


def test_periods_parse_to_their_first_and_last_day():
    assert cycles.parse_period("2026").start == dt.date(2026, 1, 1)
    q = cycles.parse_period("2026-q4")
    assert (q.key, q.start, q.end) == ("2026-Q4", dt.date(2026, 10, 1), dt.date(2026, 12, 31))
    assert cycles.parse_period("2024-02").end == dt.date(2024, 2, 29)
    for bad in ("", "26", "2026-Q5", "2026-13", "1999", "2026:1", "2026%"):
        with pytest.raises(InvalidInput):
            cycles.parse_period(bad)


def test_the_base_score_is_granted_once_per_period(db, village):
    settings.change(db, village.admin, village.id, "base_score", 20)
    settings.change(db, village.admin, village.id, "base_score_spendable", True)
    assert cycles.grant_base(db, village.admin, village.id, "2026-Q1") == len(village.household_ids)
    assert cycles.grant_base(db, village.admin, village.id, "2026-Q1") == 0
    assert set(_balances(db, village.id).values()) == {20}
    assert cycles.grant_base(db, village.admin, village.id, "2026-Q2") == len(village.household_ids)
    assert set(_balances(db, village.id).values()) == {40}
    status = cycles.base_status(db, village.id, "2026-Q1")
    assert (status.granted, status.households) == (4, 4)
    assert verify(db) == []


def test_a_locked_base_score_raises_the_earned_total_but_not_the_spendable_balance(db, village):
    settings.change(db, village.admin, village.id, "base_score", 30)
    assert settings.SPECS["base_score_spendable"].default is False
    cycles.grant_base(db, village.admin, village.id, "2026")
    assert set(_balances(db, village.id).values()) == {0}
    assert set(_earned(db, village.id).values()) == {30}
    with db.read() as s:
        kinds = set(s.execute(select(LedgerEntry.kind).where(LedgerEntry.source_type == "base")).scalars())
    assert kinds == {"base_locked"}
    assert verify(db) == []


def test_no_base_score_is_granted_when_the_setting_is_zero(db, village):
    with pytest.raises(InvalidInput, match="底分"):
        cycles.grant_base(db, village.admin, village.id, "2026")
    assert _entries(db) == 0


def test_a_base_score_for_a_future_period_is_refused(db, village):
    settings.change(db, village.admin, village.id, "base_score", 10)
    with pytest.raises(InvalidInput, match="还没有开始"):
        cycles.grant_base(db, village.admin, village.id, str(dt.date.today().year + 1))


def test_only_the_villages_admin_may_grant_base_scores(db, village):
    settings.change(db, village.admin, village.id, "base_score", 10)
    other = make_village(db, name="别村", code="T002")
    with pytest.raises(NotAllowed):
        cycles.grant_base(db, other.admin, village.id, "2026")
    with pytest.raises(NotAllowed):
        cycles.grant_base(db, village.actors["committee"], village.id, "2026")
    assert _entries(db) == 0


def test_year_end_policy_is_the_villages_setting(db, village):
    assert cycles.year_end_policy(db, village.id) == "carry_over"
    settings.change(db, village.admin, village.id, "year_end_policy", "clear")
    assert cycles.year_end_policy(db, village.id) == "clear"


def test_clearing_leaves_every_account_at_zero_and_the_ledger_verified(db, village):
    settings.change(db, village.admin, village.id, "year_end_policy", "clear")
    for i, hid in enumerate(village.household_ids[:3]):
        give_points(db, hid, 10 * (i + 1), f"c{hid}")
    preview = cycles.year_end_preview(db, village.id, 2026)
    assert sum(r.to_clear for r in preview) == 60
    assert {r.after for r in preview} == {0}
    assert {r.action for r in preview} == {"clear", "empty"}
    earned_before = _earned(db, village.id)
    with db.read() as s:
        months_before = sorted(s.execute(select(HouseholdMonth.household_id, HouseholdMonth.month,
                                                HouseholdMonth.earned, HouseholdMonth.deducted)).all())
    seen = []
    result = cycles.run_year_end(db, village.admin, village.id, 2026, "2026", progress=lambda d, t: seen.append(d))
    assert (result.households, result.points) == (3, 60)
    assert seen[-1] == len(village.household_ids)
    assert set(_balances(db, village.id).values()) == {0}
    assert _earned(db, village.id) == earned_before  # stars survive clearing
    with db.read() as s:
        months_after = sorted(s.execute(select(HouseholdMonth.household_id, HouseholdMonth.month,
                                               HouseholdMonth.earned, HouseholdMonth.deducted)).all())
    assert months_after == months_before
    assert verify(db) == []


def test_clearing_twice_for_the_same_year_clears_once(db, village):
    settings.change(db, village.admin, village.id, "year_end_policy", "clear")
    hid = village.household_ids[0]
    give_points(db, hid, 15, "a")
    cycles.run_year_end(db, village.admin, village.id, 2026, "2026")
    give_points(db, hid, 5, "b")  # earned after the clearing ran
    again = cycles.run_year_end(db, village.admin, village.id, 2026, "2026")
    assert again.households == 0
    assert _balances(db, village.id)[hid] == 5
    with db.read() as s:
        n = s.execute(select(func.count()).select_from(LedgerEntry).where(LedgerEntry.kind == "clearing")).scalar_one()
    assert n == 1
    assert verify(db) == []


def test_carry_over_changes_nothing(db, village):
    for hid in village.household_ids:
        give_points(db, hid, 7, f"k{hid}")
    before, n = _balances(db, village.id), _entries(db)
    preview = cycles.year_end_preview(db, village.id, 2026)
    assert sum(r.to_clear for r in preview) == 0 and {r.action for r in preview} == {"carry"}
    result = cycles.run_year_end(db, village.admin, village.id, 2026, "2026")
    assert result.policy == "carry_over" and result.households == 0
    assert _balances(db, village.id) == before and _entries(db) == n


def test_the_year_end_run_needs_the_typed_year(db, village):
    settings.change(db, village.admin, village.id, "year_end_policy", "clear")
    give_points(db, village.household_ids[0], 9, "x")
    with pytest.raises(InvalidInput, match="2026"):
        cycles.run_year_end(db, village.admin, village.id, 2026, "确认")
    assert _balances(db, village.id)[village.household_ids[0]] == 9


def test_clearing_runs_in_batches_for_many_households(db, monkeypatch):
    v = make_village(db, households=7)
    settings.change(db, v.admin, v.id, "year_end_policy", "clear")
    for hid in v.household_ids:
        give_points(db, hid, 3, f"m{hid}")
    monkeypatch.setattr(cycles, "BATCH", 3)
    steps = []
    result = cycles.run_year_end(db, v.admin, v.id, 2026, "2026", progress=lambda d, t: steps.append((d, t)))
    assert steps == [(3, 7), (6, 7), (7, 7)]
    assert result.households == 7 and set(_balances(db, v.id).values()) == {0}
    assert verify(db) == []


def test_a_spendable_base_score_can_be_cleared_but_its_earned_total_stays(db, village):
    settings.change(db, village.admin, village.id, "base_score", 12)
    settings.change(db, village.admin, village.id, "base_score_spendable", True)
    settings.change(db, village.admin, village.id, "year_end_policy", "clear")
    cycles.grant_base(db, village.admin, village.id, "2026")
    cycles.run_year_end(db, village.admin, village.id, 2026, "2026")
    assert set(_balances(db, village.id).values()) == {0}
    assert set(_earned(db, village.id).values()) == {12}
    rows = cycles.earned_by_year(db, village.id, 2026)
    assert {(r.earned, r.deducted, r.net) for r in rows} == {(12, 0, 12)}
    with db.read() as s:
        assert balances.balance(s, village.household_ids[0]).balance == 0


def test_last_years_star_households_are_unchanged_by_clearing(db, village):
    from core.reporting import rankings

    settings.change(db, village.admin, village.id, "year_end_policy", "clear")
    settings.change(db, village.admin, village.id, "star_household_thresholds", [10, 20, 30, 40, 50])
    last = dt.date.today().year - 1
    for i, hid in enumerate(village.household_ids):
        with db.write() as s:
            posting.post(s, household_id=hid, kind="earned", points=15 * (i + 1), source_type="test",
                         source_id=f"ly{hid}", occurred_on=dt.date(last, 6, 1))
    with db.read() as s:
        stars_before = rankings.graded_households(s, village.id, last)
    assert len(stars_before) == 4
    cycles.run_year_end(db, village.admin, village.id, last, str(last))
    assert set(_balances(db, village.id).values()) == {0}
    with db.read() as s:
        stars_after = rankings.graded_households(s, village.id, last)
    assert stars_after == stars_before
    assert verify(db) == []


def test_two_admins_granting_the_same_base_score_at_once_grant_it_once(db, village):
    import threading

    from core.platform.errors import AlreadyDone

    settings.change(db, village.admin, village.id, "base_score", 5)
    barrier = threading.Barrier(2)
    outcomes = []

    def run():
        barrier.wait()
        try:
            outcomes.append(cycles.grant_base(db, village.admin, village.id, "2026-03"))
        except AlreadyDone:
            outcomes.append("retry")

    threads = [threading.Thread(target=run) for _ in range(2)]
    for t in threads:
        t.start()
    for t in threads:
        t.join()
    assert 4 in outcomes
    assert set(_earned(db, village.id).values()) == {5}
    assert verify(db) == []


def test_two_year_end_runs_at_once_clear_each_account_once(db, village):
    import threading

    from core.platform.errors import AlreadyDone

    settings.change(db, village.admin, village.id, "year_end_policy", "clear")
    for hid in village.household_ids:
        give_points(db, hid, 9, f"t{hid}")
    barrier = threading.Barrier(2)
    outcomes = []

    def run():
        barrier.wait()
        try:
            outcomes.append(cycles.run_year_end(db, village.admin, village.id, 2026, "2026").households)
        except AlreadyDone:
            outcomes.append("retry")

    threads = [threading.Thread(target=run) for _ in range(2)]
    for t in threads:
        t.start()
    for t in threads:
        t.join()
    with db.read() as s:
        n = s.execute(select(func.count()).select_from(LedgerEntry).where(LedgerEntry.kind == "clearing")).scalar_one()
    assert n == 4 and set(_balances(db, village.id).values()) == {0}
    assert verify(db) == []
