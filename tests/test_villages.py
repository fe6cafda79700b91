"""Villages, townships and counties from the UI (issue 22): county and township admins create,
rename and move villages within their area only; the comparison adds up the same measures per
village, township and county, over the last complete month by default."""

from __future__ import annotations

import datetime as dt

import pytest
from sqlalchemy import func, select

from core.platform.access import Actor
from core.platform.auth import authenticate
from core.platform.errors import AlreadyDone, InvalidInput, NotAllowed, NotFound
from core.reporting import comparison, periods
from core.village import villages
from db.models import AuditLog, StaffUser, Village
from tests.factories import give_points, make_village


def _county(db):
    """Two townships of 测试县 and one village of another county."""
    a = make_village(db, name="甲村", code="T001", households=2, township="文祖街道")
    b = make_village(db, name="乙村", code="T002", households=3, township="文祖街道")
    c = make_village(db, name="丙村", code="T003", households=1, township="埠村街道")
    with db.write() as s:
        d = Village(name="外县村", township="文祖街道", county="别的县", code="T004")
        s.add(d)
        s.flush()
        far = d.id
    return a, b, c, far


def _audits(db, action: str) -> int:
    with db.read() as s:
        return s.execute(select(func.count()).select_from(AuditLog).where(AuditLog.action == action)).scalar_one()


def test_a_township_admin_manages_only_the_villages_of_their_township(db):
    a, b, c, far = _county(db)
    admin = a.actors["township_admin"]  # 文祖街道, 测试县
    assert [r.name for r in villages.managed_villages(db, admin)] == ["甲村", "乙村"]
    assert [r.households for r in villages.managed_villages(db, admin)] == [2, 3]
    villages.rename_village(db, admin, b.id, "乙村新")
    for other in (c.id, far):  # another township; the same township's name in another county
        with pytest.raises(NotAllowed, match="不在您管辖"):
            villages.rename_village(db, admin, other, "改不了")
    with pytest.raises(NotAllowed, match="只能在自己管辖"):
        villages.create_village(db, admin, name="新村", township="埠村街道", admin_username="xincun_admin")
    with pytest.raises(NotAllowed, match="县级管理员"):  # moving a village out is the county's
        villages.move_village(db, admin, a.id, "埠村街道")
    with db.read() as s:
        assert [s.get(Village, i).name for i in (b.id, c.id, far)] == ["乙村新", "丙村", "外县村"]
    assert _audits(db, "village.rename") == 1


def test_a_county_admin_creates_renames_and_moves_villages_of_their_county(db):
    a, b, c, far = _county(db)
    county = a.actors["county_admin"]  # 测试县
    assert [r.name for r in villages.managed_villages(db, county)] == ["丙村", "甲村", "乙村"]  # 埠村 < 文祖
    assert villages.townships(db, county) == ["埠村街道", "文祖街道"]
    new = villages.create_village(db, county, name="文祖南村", township="文祖街道", admin_username="wznc_admin",
                                  admin_name="赵村长")
    with db.read() as s:
        v = s.get(Village, new.village_id)
        assert (v.name, v.township, v.county) == ("文祖南村", "文祖街道", "测试县")
        user = s.execute(select(StaffUser).where(StaffUser.username == "wznc_admin")).scalar_one()
        assert (user.village_id, user.roles, user.must_change_password) == (v.id, "admin,committee", True)
    # the initial password shown once really logs the new admin in
    assert authenticate(db, "wznc_admin", new.initial_password).id == user.id
    assert len(new.initial_password) >= 8

    with pytest.raises(AlreadyDone, match="已经有名为“文祖南村”的村"):
        villages.create_village(db, county, name="文祖南村", township="文祖街道", admin_username="another_one")
    with pytest.raises(InvalidInput, match="请填写村名"):
        villages.create_village(db, county, name="  ", township="文祖街道", admin_username="another_two")
    with pytest.raises(AlreadyDone, match="已经有名为“甲村”的村"):
        villages.rename_village(db, county, new.village_id, "甲村")
    with pytest.raises(InvalidInput, match="请填写要调整到的镇"):
        villages.move_village(db, county, new.village_id, " ")
    # the same name in another township is allowed: moving there is too
    villages.move_village(db, county, new.village_id, "埠村街道")
    with pytest.raises(AlreadyDone, match="已经有名为“丙村”的村"):
        villages.rename_village(db, county, new.village_id, "丙村")
    with pytest.raises(NotAllowed):
        villages.rename_village(db, county, far, "外县")
    with pytest.raises(NotFound):
        villages.rename_village(db, county, 99999, "无")
    with db.read() as s:
        assert s.get(Village, new.village_id).township == "埠村街道"
    assert (_audits(db, "village.create"), _audits(db, "village.move")) == (1, 1)
    # the township admin of 埠村街道 now manages the moved village
    assert "文祖南村" in [r.name for r in villages.managed_villages(db, c.actors["township_admin"])]


def test_village_staff_and_accounts_without_an_area_cannot_manage_villages(db):
    a, *_ = _county(db)
    for role in ("admin", "committee", "township_viewer"):
        with pytest.raises(NotAllowed):
            villages.managed_villages(db, a.actors[role])
        with pytest.raises(NotAllowed):
            villages.create_village(db, a.actors[role], name="新村", township="文祖街道", admin_username="x_admin")
    lost = Actor(user_id=None, name="未设置", roles=frozenset({"county_admin"}))
    with pytest.raises(NotAllowed, match="没有设置所管辖"):
        villages.managed_villages(db, lost)
    with pytest.raises(NotAllowed):
        villages.rename_village(db, lost, a.id, "改")


# ---------------------------------------------------------------- comparison


def test_the_comparison_adds_up_the_same_measures_at_each_level(db):
    a, b, c, far = _county(db)
    day = dt.date.today().replace(day=1) - dt.timedelta(days=3)  # in the last complete month
    period = periods.last_complete("month", dt.date.today())
    assert period.first_month == day.year * 100 + day.month
    give_points(db, a.household_ids[0], 10, "a1")  # this month: outside the period
    from core.points import posting

    def post(hid, kind, pts, cause):
        with db.write() as s:
            posting.post(s, household_id=hid, kind=kind, points=pts, source_type="t", source_id=cause, occurred_on=day)

    post(a.household_ids[0], "earned", 12, "a2")
    post(a.household_ids[1], "deducted", -4, "a3")
    post(b.household_ids[0], "earned", 6, "b1")
    post(b.household_ids[1], "earned", 9, "b2")
    post(c.household_ids[0], "earned", 3, "c1")
    county = a.actors["county_admin"]
    with db.read() as s:
        v = {r.name: r for r in comparison.compare(s, county, period, "village")}
        t = {r.name: r for r in comparison.compare(s, county, period, "township")}
        k = comparison.compare(s, county, period, "county")
    assert set(v) == {"甲村", "乙村", "丙村"}  # not the other county's village
    # by hand: 甲村 2 households, +12 −4, one taking part; 乙村 3 households, +6 +9, two taking part
    assert (v["甲村"].earned, v["甲村"].deducted, v["甲村"].net, v["甲村"].households_taking_part) == (12, 4, 8, 1)
    assert (v["甲村"].points_per_household, v["甲村"].participation_pct) == (4.0, 50.0)
    assert (v["乙村"].net, v["乙村"].points_per_household, v["乙村"].participation_pct) == (15, 5.0, 66.7)
    wz = t["文祖街道"]
    assert (wz.villages, wz.households, wz.net, wz.deducted, wz.households_taking_part) == (2, 5, 23, 4, 3)
    assert (wz.points_per_household, wz.participation_pct) == (4.6, 60.0)  # 23 / 5, 3 / 5: not mean of villages
    assert (t["埠村街道"].net, t["埠村街道"].participation_pct) == (3, 100.0)
    assert [(r.name, r.villages, r.households, r.net, r.households_taking_part) for r in k] == [("测试县", 3, 6, 26, 4)]


def test_who_compares_what(db):
    a, b, c, far = _county(db)
    period = periods.last_complete("month", dt.date.today())
    with db.read() as s:
        assert [r.name for r in comparison.compare(s, a.actors["township_admin"], period)] == ["甲村", "乙村"]
        assert [r.name for r in comparison.compare(s, a.actors["township_admin"], period, "township")] == ["文祖街道"]
        with pytest.raises(NotAllowed, match="按县"):
            comparison.compare(s, a.actors["township_admin"], period, "county")
        with pytest.raises(InvalidInput):
            comparison.compare(s, a.actors["county_admin"], period, "province")
        with pytest.raises(NotAllowed):
            comparison.compare(s, a.actors["cashier"], period)


def test_the_default_period_is_the_last_complete_one():
    assert periods.last_complete("month", dt.date(2026, 3, 2)).label == "2026年2月"
    assert periods.last_complete("month", dt.date(2026, 1, 31)).label == "2025年12月"
    assert periods.last_complete("quarter", dt.date(2026, 4, 1)).label == "2026年第1季度"
    assert periods.last_complete("year", dt.date(2026, 6, 1)).label == "2025年"


def test_the_village_name_is_read_by_id(db):
    a, _b, _c, far = _county(db)
    assert villages.village_name(db, a.id) == "甲村"
    assert villages.village_name(db, far) == "外县村"
    assert villages.village_name(db, far + 100) == ""
