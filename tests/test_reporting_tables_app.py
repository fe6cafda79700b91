"""The statistics pages show core's typed rows through ui.tables: the 村情总览 tabs, the 排行 tabs
and the balance list's download keep their Chinese headers and words, built from English fields
(AppTest: the screen's frame is keyed by field, its cells already in words)."""

from __future__ import annotations

import datetime as dt

import pytest

from core.reporting import periods, township
from pages.households import BALANCES
from tests.app_helpers import app, db_for_env, use_data_dir
from tests.factories import give_points, make_village
from tests.test_reports_helpers import populate
from ui import state
from ui.tables import labelled

TODAY = dt.date.today()


@pytest.fixture
def busy(tmp_path, monkeypatch):
    """A village with a month of entries in two grids, a volunteer activity and a new star volunteer."""
    from db.models import StarLevelEvent, VolunteerTotal

    use_data_dir(monkeypatch, tmp_path / "data", demo=False)
    db = db_for_env()
    v = make_village(db)
    populate(db, v, TODAY)
    give_points(db, v.household_ids[0], 120, "star")  # 户主1: 二星 this year at the default thresholds
    with db.write() as s:
        s.add(StarLevelEvent(resident_id=v.resident_ids[0], level=1, reached_on=TODAY, minutes_at=6000))
        s.add(VolunteerTotal(resident_id=v.resident_ids[0], village_id=v.id, minutes=6030, star_level=1))
    yield db, v
    db.dispose()


def _tab(v, page: str, key: str, tab: str):
    at = app(v.actors["admin"].user_id).switch_page(page)
    at.session_state[key] = tab
    at.run()
    assert not at.exception, at.exception
    return [df.value for df in at.dataframe]


def test_the_overview_tabs_show_the_trend_categories_grids_and_feed_in_words(busy):
    db, v = busy
    (trend,) = _tab(v, "pages/overview.py", state.OVERVIEW_TAB, "月度走势")
    assert list(trend.columns) == ["month", "earned", "deducted", "redeemed"]
    assert len(trend) == 12 and trend["month"].iloc[-1] == periods.month_label(periods.period_of("month", TODAY).last_month)
    assert (trend["earned"].iloc[-1], trend["deducted"].iloc[-1]) == (17 + 120, 2)  # the known month, and the star gift
    (cats,) = _tab(v, "pages/overview.py", state.OVERVIEW_TAB, "分类积分")
    assert list(cats.columns) == ["category", "points", "entries"] and list(cats["category"]) == ["环境卫生"]
    (grids,) = _tab(v, "pages/overview.py", state.OVERVIEW_TAB, "网格对比")
    assert list(grids.columns) == ["grid", "households", "earned", "deducted", "net", "redeemed",
                                   "households_taking_part", "participation_pct"]
    assert list(grids["grid"]) == ["第一网格", "第二网格"] and list(grids["households"]) == [2, 2]
    assert list(grids["net"]) == list(grids["earned"] - grids["deducted"])
    (feed,) = _tab(v, "pages/overview.py", state.OVERVIEW_TAB, "最近动态")
    assert list(feed.columns) == ["at", "kind", "what", "points"]
    assert {"加分", "志愿活动"} <= set(feed["kind"])  # ledger kinds and activities, in words
    acts = feed[feed["kind"] == "志愿活动"]
    assert f"清扫村道（{TODAY:%m月%d日}）" in list(acts["what"]) and acts["points"].isna().all()
    assert "1-001 户主1：环境卫生" in list(feed["what"])  # the household, then the category


def test_the_rankings_tabs_show_ranks_stars_and_the_honour_list_in_words(busy):
    db, v = busy
    (hh,) = _tab(v, "pages/rankings.py", state.RANKINGS_TAB, "户排行")
    assert list(hh.columns) == ["rank", "door_no", "head_name", "grid", "points", "earned", "deducted"]
    assert list(hh["head_name"][:3]) == ["户主1", "户主4", "户主3"] and list(hh["rank"][:3]) == [1, 2, 3]
    assert list(hh["grid"][:2]) == ["第一网格", "第二网格"] and hh["points"].iloc[0] == 130
    (res,) = _tab(v, "pages/rankings.py", state.RANKINGS_TAB, "村民排行")
    assert list(res.columns) == ["rank", "name", "door_no", "points", "entries"] and res["name"].iloc[0] == "户主1"
    (grids,) = _tab(v, "pages/rankings.py", state.RANKINGS_TAB, "网格排行")
    assert list(grids.columns) == ["rank", "grid", "households", "points", "per_household"]
    assert grids["per_household"].iloc[0] == grids["points"].iloc[0] / 2
    (stars,) = _tab(v, "pages/rankings.py", state.RANKINGS_TAB, "星级文明户")
    assert list(stars.columns) == ["level", "door_no", "head_name", "grid", "points"]
    assert (stars["level"].iloc[0], stars["head_name"].iloc[0]) == ("二星", "户主1")
    top_households, top_residents, volunteers = _tab(v, "pages/rankings.py", state.RANKINGS_TAB, "光荣榜")
    assert list(top_households["head_name"][:2]) == ["户主1", "户主4"] and (top_households["points"] > 0).all()
    assert top_residents["name"].iloc[0] == "户主1"
    assert list(volunteers.columns) == ["name", "door_no", "level", "reached_on", "minutes"]
    assert (volunteers["level"].iloc[0], volunteers["minutes"].iloc[0]) == ("一星志愿者", 100.5)


def test_the_balance_list_download_has_the_township_workbooks_headers(busy):
    db, v = busy
    rows = township.balance_rows(db, v.id)
    sheet = labelled(rows, BALANCES)
    assert list(sheet.columns) == township.BALANCE_COLUMNS
    mine = sheet[sheet["门牌号"] == "1-001"].iloc[0]
    (row,) = [r for r in rows if r.door_no == "1-001"]
    assert (mine["可用积分"], mine["可兑换积分"], mine["累计积分"]) == (row.balance, row.spendable, row.earned_total)
