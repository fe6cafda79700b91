"""The app's first start: the demo's accounts at once, its history in the background."""

from __future__ import annotations

from sqlalchemy import func, select

from core.platform import auth
from db.models import Household, Proposal
from startup import demo


def test_the_first_start_can_log_in_before_the_demo_history_is_written(sqlite_db, tmp_path):
    demo.start_demo(sqlite_db, tmp_path, steps=["startup.demo_review"])
    # The accounts and households exist as soon as start_demo returns, history or not.
    user = auth.authenticate(sqlite_db, "shouyin", demo.DEMO_PASSWORD)
    assert user.username == "shouyin"
    with sqlite_db.read() as s:
        assert s.execute(select(func.count()).select_from(Household)).scalar_one() == 300
    assert (tmp_path / demo.BUILDING_MARKER).exists()
    demo.wait_for_demo(600)
    assert demo.demo_state(tmp_path) == ""
    with sqlite_db.read() as s:
        assert s.execute(select(func.count()).select_from(Proposal)).scalar_one() > 1000


def test_a_history_left_unfinished_by_a_stopped_process_is_reported(sqlite_db, tmp_path):
    (tmp_path / demo.BUILDING_MARKER).write_text("1", encoding="utf-8")
    assert demo.demo_state(tmp_path) == "incomplete"


def test_the_demo_neighbours_give_the_comparison_three_villages(sqlite_db, tmp_path):
    import datetime as dt

    from core.reporting import comparison, periods

    demo.build_demo(sqlite_db, households=30, days=40, steps=[])
    demo.add_neighbours(sqlite_db, dt.date.today(), steps=["startup.demo_review"], days=40)
    county = auth.actor_for(auth.authenticate(sqlite_db, "quguan", demo.DEMO_PASSWORD))
    township = auth.actor_for(auth.authenticate(sqlite_db, "zhenguan", demo.DEMO_PASSWORD))
    period = periods.last_complete("month", dt.date.today())
    with sqlite_db.read() as s:
        rows = comparison.compare(s, county, period)
        assert [(r.name, r.households) for r in rows] == [("文祖北村", 30), ("文祖南村", 180), ("三德范村", 120)]
        assert all(r.earned > 0 and r.households_taking_part > 0 for r in rows[1:])
        assert [r.name for r in comparison.compare(s, township, period, "township")] == ["文祖街道"]
