"""The volunteering pages show core's typed rows through ui.tables (AppTest): each table's frame is
keyed by the rows' English fields and shows stored codes and minutes in the words and hours the
pages always showed (状态 in Chinese, hours to one decimal, blank cells for times not yet known)."""

from __future__ import annotations

import datetime as dt

import pytest

from core.charity import field
from core.volunteering import outsiders as out
from core.volunteering import service_hours
from core.volunteering import volunteer as vol
from tests.app_helpers import app, db_for_env, use_data_dir
from tests.factories import make_village
from tests.test_volunteer import add_zy01
from ui import state

TODAY = dt.date.today()
NOW = dt.datetime.combine(TODAY, dt.time(9, 5))


@pytest.fixture
def volunteering(tmp_path, monkeypatch):
    """A done activity (a resident's 90 minutes and an outsider's 120, confirmed; a correction asked
    for), an open one (both signed up, checked in, not out yet)."""
    use_data_dir(monkeypatch, tmp_path / "data", demo=False)
    db = db_for_env()
    v = make_village(db, name="文祖北村", code="T300", households=2)
    add_zy01(db, v)
    lead = v.actors["volunteer_lead"]
    r0, r1 = v.resident_ids[:2]
    done = vol.create_activity(db, lead, title="河道清理", date=TODAY, points_per_hour=2,
                               start_time=dt.time(8), end_time=dt.time(11))
    att = service_hours.set_minutes(db, lead, done, r0, 90)
    oid = out.add(db, lead, name="王建国", unit="镇财政所", phone="13812345678", party_member=True)
    out.set_minutes(db, lead, done, oid, 120)
    service_hours.confirm(db, lead, done)
    vol.set_status(db, lead, done, "done")
    service_hours.request_correction(db, lead, att, 150, "漏记半小时")
    upcoming = vol.create_activity(db, lead, title="敬老探访", date=TODAY, capacity=5, points_per_hour=2,
                                   start_time=dt.time(9))
    vol.sign_up(db, lead, upcoming, r0)
    vol.sign_up(db, lead, upcoming, r1)
    out.sign_up(db, lead, upcoming, oid)
    service_hours.check_in(db, lead, upcoming, r1, at=NOW)
    out.check_in(db, lead, upcoming, oid, at=NOW)
    yield db, v, done, upcoming
    db.dispose()


def _frames(at) -> dict[str, object]:
    """The page's tables by their first columns (which say which table it is)."""
    assert not at.exception, at.exception
    return {",".join(d.value.columns[:3]): d.value for d in at.dataframe}


def _open(db, v, page: str, **session):
    at = app(v.actors["volunteer_lead"].user_id)
    for k, val in session.items():
        at.session_state[k] = val
    at.switch_page(page).run()
    return at


def test_the_activities_page_lists_activities_sign_ups_and_outsiders_from_rows(volunteering):
    db, v, done, upcoming = volunteering
    at = _open(db, v, "pages/activities.py", **{state.ACTIVITY_SELECTED: upcoming})
    at.segmented_control(key="activities_filter").set_value("全部").run()
    frames = _frames(at)
    acts = frames["date,title,category"]
    assert list(acts.columns) == ["date", "title", "category", "organiser", "place", "start_time", "capacity",
                                  "signed", "waiting", "came", "confirmed_minutes", "points_per_hour",
                                  "cap_minutes", "status", "plot_id"]
    by_title = acts.set_index("title")
    assert by_title.loc["河道清理", "status"] == "已结束" and by_title.loc["敬老探访", "status"] == "报名中"
    assert by_title.loc["河道清理", "start_time"] == "08:00–11:00" and by_title.loc["敬老探访", "start_time"] == "09:00"
    assert by_title.loc["河道清理", "confirmed_minutes"] == 3.5  # 90 + 120 minutes, in hours
    assert by_title.loc["敬老探访", "signed"] == 3 and not by_title.loc["敬老探访", "plot_id"]

    signups = frames["name,door_no,status"]
    assert list(signups.columns) == ["name", "door_no", "status", "created_at"]
    assert list(signups["status"]) == ["已报名", "已报名"]

    register = frames["name,unit,phone"]
    assert register.loc[0, "party_member"] == "是" and register.loc[0, "active"] == "在册"
    assert register.loc[0, "minutes"] == 2.0 and register.loc[0, "card_no"] == ""

    outsider_signups = frames["name,unit,status"]
    assert outsider_signups[["name", "status"]].values.tolist() == [["王建国", "已报名"]]

    units = frames["unit,people,party_members"]
    assert list(units.columns) == ["unit", "people", "party_members", "times", "minutes", "hours"]
    assert units.values.tolist() == [["镇财政所", 1, 1, 1, 120, 2.0]]


def test_the_check_in_page_shows_who_came_with_blank_cells_for_what_is_not_known(volunteering):
    db, v, done, upcoming = volunteering
    at = _open(db, v, "pages/checkin.py", **{state.CHECKIN_ACTIVITY: upcoming})
    frames = _frames(at)
    residents = frames["name,door_no,check_in"]
    assert list(residents.columns) == ["name", "door_no", "check_in", "check_out", "on_site", "minutes",
                                       "credited", "points", "confirmed"]
    assert residents.loc[0, ["check_in", "check_out", "on_site", "minutes", "points"]].tolist() == [
        "09:05", "", "", "", ""]
    assert not residents.loc[0, "confirmed"]
    outsiders = frames["name,unit,check_in"]
    assert outsiders[["name", "check_in", "minutes"]].values.tolist() == [["王建国", "09:05", ""]]

    at = _open(db, v, "pages/checkin.py", **{state.CHECKIN_ACTIVITY: done})
    residents = _frames(at)["name,door_no,check_in"]
    assert residents.loc[0, ["minutes", "credited", "points"]].tolist() == [90, 90, 3]
    assert residents.loc[0, "confirmed"]


def test_the_volunteers_page_shows_totals_board_corrections_and_exports_from_rows(volunteering):
    db, v, done, upcoming = volunteering
    at = _open(db, v, "pages/volunteers.py")
    frames = _frames(at)
    totals = frames["name,door_no,minutes"]
    assert list(totals.columns) == ["name", "door_no", "minutes", "star_level", "reached_on"]
    assert totals[["minutes", "star_level", "reached_on"]].values.tolist() == [[1.5, "—", ""]]
    assert list(frames["name,door_no,level"].columns) == ["name", "door_no", "level", "reached_on", "minutes_at"]

    at.session_state[state.VOLUNTEERS_TAB] = "排行榜"
    at.run()
    board = _frames(at)["rank,name,door_no"]
    assert board[["rank", "minutes", "star_level"]].values.tolist() == [[1, 1.5, "—"]]

    at.session_state[state.VOLUNTEERS_TAB] = "时长更正"
    at.run()
    _frames(at)
    pending, history = (d.value for d in at.dataframe)
    assert list(pending.columns) == ["name", "activity_date", "old_minutes", "new_minutes", "requested_by",
                                     "reason", "created_at"]
    assert pending.loc[0, "activity_date"] == f"{TODAY:%Y-%m-%d} 河道清理"
    assert pending.loc[0, ["old_minutes", "new_minutes", "reason"]].tolist() == [90, 150, "漏记半小时"]
    assert history.loc[0, "status"] == "待处理" and list(history.columns)[-3:] == ["status", "decision_note",
                                                                                  "decided_at"]

    at.session_state[state.VOLUNTEERS_TAB] = "统计导出"
    at.run()
    frames = _frames(at)
    by_month = frames["name,door_no,month"]
    assert by_month[["month", "times", "minutes"]].values.tolist() == [[f"{TODAY:%Y-%m}", 1, 1.5]]
    by_activity = frames["date,title,category"]
    assert by_activity[["title", "people", "minutes"]].values.tolist() == [["河道清理", 2, 3.5]]  # with the outsider


def test_the_field_page_lists_a_work_days_attendance_from_rows(volunteering):
    db, v, done, upcoming = volunteering
    lead = v.actors["field_lead"]
    pid = field.save_plot(db, lead, name="老义田", area_mu="3")
    aid = field.create_work_day(db, lead, plot_id=pid, date=TODAY, tasks="除草")
    field.add_work_hours(db, lead, aid, v.resident_ids[:1], 180)
    at = app(lead.user_id)
    at.session_state[state.FIELD_TAB] = "义务劳动"
    at.session_state[state.FIELD_WORKDAY] = aid
    at.switch_page("pages/field.py").run()
    attendance = _frames(at)["name,door_no,check_in"]
    assert list(attendance.columns) == ["name", "door_no", "check_in", "check_out", "on_site", "minutes",
                                        "credited", "points", "confirmed"]
    assert attendance.loc[0, ["check_in", "minutes"]].tolist() == ["", 180]
    assert not attendance.loc[0, "confirmed"]
