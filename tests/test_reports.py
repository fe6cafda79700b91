"""Village overview, trends, categories, grids and the township comparison match the ledger."""

from __future__ import annotations

import datetime as dt

import pytest

from core.platform.errors import InvalidInput, NotAllowed
from core.reporting import comparison, periods, reports
from db.models import RuleCategory
from tests.factories import give_points, make_village
from tests.test_reports_helpers import months_ago, populate, recompute

TODAY = dt.date.today()


def test_periods_cover_the_right_months():
    q = periods.Period("quarter", 2026, 4)
    assert (q.first_month, q.last_month, q.start, q.end) == (202610, 202612, dt.date(2026, 10, 1), dt.date(2027, 1, 1))
    assert periods.period_of("quarter", dt.date(2026, 5, 31)).label == "2026年第2季度"
    assert periods.period_of("year", dt.date(2026, 5, 31)).months()[-1] == 202612
    assert [p.label for p in periods.recent_periods("month", dt.date(2026, 2, 10), 3)] == [
        "2026年2月", "2026年1月", "2025年12月"]
    assert periods.months_back(202602, 3) == [202512, 202601, 202602]
    with pytest.raises(InvalidInput):
        periods.period_of("week", TODAY)


@pytest.mark.parametrize("kind", ["month", "quarter", "year"])
def test_the_overview_matches_an_independent_recomputation_from_the_ledger(db, village, kind):
    populate(db, village, TODAY)
    period = periods.period_of(kind, TODAY)
    expected = recompute(db, village.id, period.first_month, period.last_month)
    with db.read() as s:
        ov = reports.overview(s, village.id, period)
    assert (ov.earned, ov.deducted, ov.redeemed) == (expected["earned"], expected["deducted"], expected["redeemed"])
    taking_part = {h for h, p in expected["earned_by_household"].items() if p > 0}
    assert ov.households_taking_part == len(taking_part)
    assert ov.households == 4
    assert ov.participation_pct == round(100 * len(taking_part) / 4, 1)


def test_this_months_overview_has_the_known_numbers(db, village):
    populate(db, village, TODAY)
    with db.read() as s:
        ov = reports.overview(s, village.id, periods.period_of("month", TODAY))
    # h1 +10, h3 +3 adjustment, h4 +7 reversed, +4 volunteer; h3 −2 adjustment; h1 redeemed 8, 3 voided
    assert (ov.earned, ov.deducted, ov.redeemed, ov.net) == (17, 2, 5, 15)
    assert ov.households_taking_part == 3  # h1, h3, h4 (h4's reversed entry does not count, its volunteer does)
    assert ov.volunteer_minutes == 120 and ov.volunteers == 2  # unconfirmed and last year's left out
    assert ov.produce_grams == 4000 and ov.produce_kg == 4.0  # undelivered left out
    assert ov.redemptions == 1  # the voided one left out


def test_a_grid_filter_counts_only_that_grids_households(db, village):
    grids = populate(db, village, TODAY)
    period = periods.period_of("year", TODAY)
    for gid in (grids["grid1"], grids["grid2"]):
        expected = recompute(db, village.id, period.first_month, period.last_month, gid)
        with db.read() as s:
            ov = reports.overview(s, village.id, period, gid)
            cats = reports.by_category(s, village.id, period, gid)
        assert (ov.earned, ov.deducted, ov.redeemed) == (expected["earned"], expected["deducted"],
                                                         expected["redeemed"])
        assert ov.households == 2
        net = sum(expected["category"].values())
        # a category whose entries cancel out (an entry and its reversal) is left out
        assert {c.category: c.points for c in cats} == ({"环境卫生": net} if net else {})
    with db.read() as s:
        ov2 = reports.overview(s, village.id, periods.period_of("month", TODAY), grids["grid2"])
    assert ov2.volunteer_minutes == 30 and ov2.produce_grams == 1500 and ov2.redemptions == 0


def test_points_by_category_and_by_grid_and_the_trend_match_the_ledger(db, village):
    grids = populate(db, village, TODAY)
    period = periods.period_of("year", TODAY)
    expected = recompute(db, village.id, period.first_month, period.last_month)
    with db.read() as s:
        cats = reports.by_category(s, village.id, period)
        names = dict(s.query(RuleCategory.id, RuleCategory.name).all())
        by_grid = reports.by_grid(s, village.id, period)
        trend = reports.monthly_trend(s, village.id, period.last_month, 12)
    assert {c.category: c.points for c in cats} == {names[c]: p for c, p in expected["category"].items() if p}
    assert [c.points for c in cats] == sorted((c.points for c in cats), reverse=True)
    for gid, name in ((grids["grid1"], "第一网格"), (grids["grid2"], "第二网格")):
        e = recompute(db, village.id, period.first_month, period.last_month, gid)
        (row,) = [g for g in by_grid if g.grid == name]
        assert (row.grid_id, row.earned, row.deducted, row.redeemed, row.households) == (
            gid, e["earned"], e["deducted"], e["redeemed"], 2)
        assert row.net == row.earned - row.deducted
        assert row.participation_pct == round(100 * row.households_taking_part / 2, 1)
    assert sum(m.earned for m in trend) == expected["earned"] and sum(m.deducted for m in trend) == expected["deducted"]
    assert [m.month for m in trend] == periods.months_back(period.last_month, 12)


def test_the_grid_comparison_says_whether_any_grid_has_points_and_whether_the_village_ranks(db, village):
    from core.platform import settings
    from core.reporting import village_overview

    period = periods.period_of("month", TODAY)
    quiet = village_overview.grid_comparison(db, village.id, period)
    assert [g.grid for g in quiet.grids] == ["第一网格"] and not quiet.any_points and quiet.ranked
    give_points(db, village.household_ids[0], 5, "g")
    settings.change(db, village.admin, village.id, "rankings_enabled", False)
    busy = village_overview.grid_comparison(db, village.id, period)
    assert busy.any_points and not busy.ranked
    assert sum(g.earned for g in busy.grids) == 5


def test_the_trend_shows_last_years_months_when_asked(db, village):
    populate(db, village, TODAY)
    last_year = periods.Period("year", TODAY.year - 1, 1)
    with db.read() as s:
        trend = reports.monthly_trend(s, village.id, last_year.last_month, 12)
    assert sum(m.earned for m in trend) == 20


def test_recent_activity_lists_newest_entries_with_chinese_kinds(db, village):
    populate(db, village, TODAY)
    with db.read() as s:
        feed = reports.recent_activity(s, village.id, 5)
    assert len(feed) == 5
    assert [f.at for f in feed] == sorted((f.at for f in feed), reverse=True)
    assert {f.kind for f in feed} <= set(reports.FEED_KIND_NAMES)
    for f in feed:  # an entry names its household, an activity its date
        assert (f.door_no is None) == (f.kind == "activity") == (f.activity_date is not None)
        assert (f.points is None) == (f.kind == "activity")


def test_an_empty_village_has_zero_everything(db, village):
    with db.read() as s:
        ov = reports.overview(s, village.id, periods.period_of("month", TODAY))
        assert reports.by_category(s, village.id, periods.period_of("month", TODAY)) == []
        assert reports.recent_activity(s, village.id) == []
    assert (ov.earned, ov.participation_pct, ov.volunteer_hours, ov.produce_kg) == (0, 0.0, 0.0, 0.0)


def test_a_township_viewer_compares_only_the_villages_of_its_township(db, village):
    other_same = make_village(db, name="同镇村", code="T002", township=village.township)
    other_far = make_village(db, name="外镇村", code="T003", township="别的镇")
    populate(db, village, TODAY)
    give_points(db, other_same.household_ids[0], 12, "x1")
    give_points(db, other_far.household_ids[0], 99, "x2")
    period = periods.period_of("year", TODAY)
    with db.read() as s:
        rows = comparison.compare(s, village.actors["township_viewer"], period)
        far = comparison.compare(s, other_far.actors["township_viewer"], period)
        as_admin = comparison.compare(s, village.admin, period)
    assert [r.name for r in rows] == ["测试村", "同镇村"]
    assert [r.name for r in far] == ["外镇村"]
    assert [r.name for r in as_admin] == ["测试村", "同镇村"]
    expected = recompute(db, village.id, period.first_month, period.last_month)
    mine = rows[0]
    assert mine.net == expected["earned"] - expected["deducted"]
    assert mine.points_per_household == round((expected["earned"] - expected["deducted"]) / 4, 1)
    assert mine.environment == sum(expected["category"].values())
    assert mine.redeemed == expected["redeemed"]
    assert mine.volunteer_hours == 2.0 and mine.hours_per_person == 0.5
    assert rows[1].net == 12


def test_a_township_viewer_without_a_township_sees_no_village(db, village):
    from dataclasses import replace

    viewer = replace(village.actors["township_viewer"], township=None)
    with db.read() as s:
        assert comparison.compare(s, viewer, periods.period_of("month", TODAY)) == []
        assert reports.today_summary(s, viewer, TODAY)[0].value == "0 个"


def test_other_roles_cannot_compare_villages(db, village):
    with db.read() as s, pytest.raises(NotAllowed):
        comparison.compare(s, village.actors["cashier"], periods.period_of("month", TODAY))


def test_the_workbench_summary_is_role_aware(db, village):
    populate(db, village, TODAY)
    with db.read() as s:
        cashier = reports.today_summary(s, village.actors["cashier"], TODAY)
        committee = reports.today_summary(s, village.actors["committee"], TODAY)
        township = reports.today_summary(s, village.actors["township_viewer"], TODAY)
        field = reports.today_summary(s, village.actors["field_lead"], TODAY)
    assert {i.page for i in cashier} >= {"products", "redemptions"} and "review" not in {i.page for i in cashier}
    assert {i.label for i in committee} >= {"待评议申报", "公示中事项", "本月净积分"}
    assert township[0].label == "本镇村庄" and township[0].value == "1 个"
    assert any(i.label == "今日志愿活动" and i.value == "1 场" for i in field)



def test_the_workbench_names_the_village_of_village_staff_only(db, village):
    populate(db, village, TODAY)
    committee = reports.workbench(db, village.actors["committee"], TODAY)
    assert committee.village == "测试村" and {i.label for i in committee.items} >= {"待评议申报", "公示中事项"}
    area = village.actors["township_admin"]  # belongs to no village: the page names the township instead
    bench = reports.workbench(db, area, TODAY)
    with db.read() as s:
        assert bench.village == "" and bench.items == reports.today_summary(s, area, TODAY)


def test_the_month_before_is_counted_in_its_own_month(db, village):
    populate(db, village, TODAY)
    prev = periods.period_of("month", months_ago(TODAY, 1))
    with db.read() as s:
        ov = reports.overview(s, village.id, prev)
    assert (ov.earned, ov.deducted) == (15, 5)  # h2 +9 −5, h3 +6
