"""Rankings are by earned points (never the spendable balance), star households follow the
village thresholds, and switching rankings off hides every ranking."""

from __future__ import annotations

import datetime as dt

import pytest

from core.platform import settings
from core.reporting import periods, rankings
from core.reporting.rankings import RankingsDisabled
from tests.factories import give_points
from tests.test_reports_helpers import populate, recompute

TODAY = dt.date.today()
YEAR = periods.period_of("year", TODAY)


def test_competition_ranks_share_a_place_on_ties():
    assert rankings.competition_ranks([9, 7, 7, 3]) == [1, 2, 2, 4]
    assert rankings.competition_ranks([]) == []


def test_star_level_counts_the_thresholds_reached():
    t = [50, 100, 150, 200, 300]
    assert [rankings.star_level(p, t) for p in (0, 49, 50, 199, 300, 5000, -10)] == [0, 0, 1, 3, 5, 5, 0]


def test_redeeming_does_not_push_a_household_down(db, village):
    from core.points import posting

    a, b = village.household_ids[:2]
    give_points(db, a, 10, "a")
    give_points(db, b, 9, "b")
    with db.write() as s:
        posting.post(s, household_id=a, kind="redeemed", points=-8, source_type="t", source_id="spend")
    with db.read() as s:
        ranked = rankings.households(s, village.id, YEAR)
        assert rankings.household_rank(s, village.id, a, YEAR) == 1
        assert rankings.household_rank(s, village.id, b, YEAR) == 2
    assert [(h.rank, h.head_name, h.points) for h in ranked[:2]] == [(1, "户主1", 10), (2, "户主2", 9)]


def test_household_resident_and_grid_rankings_match_the_ledger(db, village):
    populate(db, village, TODAY)
    expected = recompute(db, village.id, YEAR.first_month, YEAR.last_month)
    with db.read() as s:
        hh = rankings.households(s, village.id, YEAR)
        res = rankings.residents(s, village.id, YEAR)
        grids = rankings.grids(s, village.id, YEAR)
    heads = {hid: f"户主{i + 1}" for i, hid in enumerate(village.household_ids)}
    assert {h.head_name: h.points for h in hh} == {heads[h]: p for h, p in expected["household"].items()}
    assert [h.points for h in hh] == sorted((h.points for h in hh), reverse=True)
    assert all(h.points == h.earned - h.deducted for h in hh)
    names = {rid: f"户主{i + 1}" for i, rid in enumerate(village.resident_ids)}
    want = {names[r]: p for r, p in expected["resident"].items() if p}
    assert {r.name: r.points for r in res} == want
    assert {g.grid for g in grids} == {"第一网格", "第二网格"}
    assert sum(g.points for g in grids) == sum(expected["household"].values())
    assert [g.rank for g in grids] in ([1, 2], [1, 1])
    assert [g.per_household for g in grids] == sorted((g.per_household for g in grids), reverse=True)


def test_star_households_follow_the_village_thresholds(db, village):
    h1, h2, h3, _ = village.household_ids
    give_points(db, h1, 120, "a")
    give_points(db, h2, 60, "b")
    give_points(db, h3, 10, "c")
    with db.read() as s:
        stars = rankings.graded_households(s, village.id, TODAY.year)
    assert [(h.head_name, h.level) for h in stars] == [("户主1", 2), ("户主2", 1)]
    settings.change(db, village.admin, village.id, "star_household_thresholds", [5, 10, 20, 40, 100])
    with db.read() as s:
        stars = rankings.graded_households(s, village.id, TODAY.year)
        counts = rankings.star_counts(s, village.id, TODAY.year)
        last_year = rankings.graded_households(s, village.id, TODAY.year - 1)
    assert [h.level for h in stars] == [5, 4, 2]
    assert counts == {"五星": 1, "四星": 1, "三星": 0, "二星": 1, "一星": 0}
    assert last_year == []


def test_the_star_year_carries_the_table_the_counts_and_the_thresholds_it_was_graded_by(db, village):
    give_points(db, village.household_ids[0], 120, "a")
    settings.change(db, village.admin, village.id, "star_household_thresholds", [5, 10, 20, 40, 100])
    year = rankings.star_year(db, village.id, TODAY.year)
    assert [(h.level, h.points) for h in year.households] == [(5, 120)]
    assert year.counts == {"五星": 1, "四星": 0, "三星": 0, "二星": 0, "一星": 0}
    assert year.thresholds == [5, 10, 20, 40, 100]


def test_the_display_switches_follow_their_two_settings(db, village):
    assert rankings.switches(db, village.id) == rankings.Switches(rankings=True, stars=True)
    settings.change(db, village.admin, village.id, "rankings_enabled", False)
    assert rankings.switches(db, village.id) == rankings.Switches(rankings=False, stars=True)
    settings.change(db, village.admin, village.id, "star_households_enabled", False)
    assert rankings.switches(db, village.id) == rankings.Switches(rankings=False, stars=False)


def test_the_honour_list_names_top_households_residents_and_new_star_volunteers(db, village):
    from db.models import StarLevelEvent, VolunteerTotal

    populate(db, village, TODAY)
    with db.write() as s:
        s.add(StarLevelEvent(resident_id=village.resident_ids[0], level=1, reached_on=TODAY, minutes_at=6000))
        s.add(VolunteerTotal(resident_id=village.resident_ids[0], village_id=village.id, minutes=6030, star_level=1))
    with db.read() as s:
        h = rankings.honours(s, village.id, periods.period_of("month", TODAY), top=2)
    assert [r.head_name for r in h.households] == ["户主1", "户主4"]  # 10 and 4 this month; h3 has 1
    assert all(r.points > 0 for r in h.households)
    assert [r.name for r in h.residents] == ["户主1", "户主4"]
    assert [(v.level, v.reached_on, v.minutes) for v in h.volunteers] == [(1, TODAY, 6030)]


def test_switching_rankings_off_hides_every_ranking(db, village):
    populate(db, village, TODAY)
    settings.change(db, village.admin, village.id, "rankings_enabled", False)
    with db.read() as s:
        assert rankings.rankings_enabled(s, village.id) is False
        for fn in (lambda: rankings.households(s, village.id, YEAR), lambda: rankings.residents(s, village.id, YEAR),
                   lambda: rankings.grids(s, village.id, YEAR), lambda: rankings.honours(s, village.id, YEAR)):
            with pytest.raises(RankingsDisabled, match="关闭排名"):
                fn()
        assert rankings.household_rank(s, village.id, village.household_ids[0], YEAR) is None
    settings.change(db, village.admin, village.id, "rankings_enabled", True)
    with db.read() as s:
        assert rankings.household_rank(s, village.id, village.household_ids[0], YEAR) is not None


def test_a_household_without_points_has_no_rank(db, village):
    give_points(db, village.household_ids[0], 5, "a")
    with db.read() as s:
        assert rankings.household_rank(s, village.id, village.household_ids[1], YEAR) is None


def test_star_households_are_graded_with_rankings_off_and_follow_their_own_setting(db, village):
    populate(db, village, TODAY)
    give_points(db, village.household_ids[0], 120, "star")  # this year: 二星 at the default thresholds
    with db.read() as s:
        before = rankings.graded_households(s, village.id, TODAY.year)
        counts_before = rankings.star_counts(s, village.id, TODAY.year)
    assert before
    settings.change(db, village.admin, village.id, "rankings_enabled", False)
    with db.read() as s:
        assert rankings.graded_households(s, village.id, TODAY.year) == before
        assert rankings.star_counts(s, village.id, TODAY.year) == counts_before
    settings.change(db, village.admin, village.id, "star_households_enabled", False)
    settings.change(db, village.admin, village.id, "rankings_enabled", True)
    with db.read() as s:
        assert rankings.households(s, village.id, YEAR)  # rankings are back, stars are not
        for fn in (lambda: rankings.graded_households(s, village.id, TODAY.year),
                   lambda: rankings.star_counts(s, village.id, TODAY.year)):
            with pytest.raises(rankings.StarsDisabled, match="星级文明户"):
                fn()
