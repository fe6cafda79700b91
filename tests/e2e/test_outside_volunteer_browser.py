"""In a real browser: the volunteer lead records an outside volunteer (a 双报到 party member from a
town unit), signs them up, checks them in by name at the activity, enters and confirms their time,
and sees the hours on the unit totals — with no household's points moved."""

from __future__ import annotations

import datetime as dt
import re

from playwright.sync_api import expect

from tests.e2e.conftest import login, shot, wait_idle
from tests.e2e.test_journeys import WAIT, no_exception, pick, q


def _tab(page, name: str) -> None:
    page.get_by_role("tab", name=name, exact=True).click()
    wait_idle(page)


def _alert(page, text: str) -> None:
    page.locator('[data-testid="stAlert"]').filter(has_text=text).first.wait_for(timeout=WAIT)
    wait_idle(page)


def test_a_lead_records_an_outside_volunteer_checks_them_in_by_name_and_sees_the_hours(page_factory, server):
    aid, title = q(server, "select id, title from activity where status = 'open' and plot_id is null "
                           "order by date, id limit 1")[0]
    entries_before = q(server, "select count(*), coalesce(sum(delta_balance), 0) from ledger_entry")[0]
    page = page_factory()
    login(page, server.url, "zhiyuan")

    # 1. record them on 志愿活动 → 外来志愿者
    page.goto(server.url + "/activities")
    wait_idle(page)
    _tab(page, "外来志愿者")
    page.get_by_text("登记外来志愿者").click()
    page.locator(".st-key-outsider_new_name input").fill("王建国")
    page.locator(".st-key-outsider_new_unit input").fill("镇财政所")
    page.locator(".st-key-outsider_new_phone input").fill("13812345678")
    page.locator(".st-key-outsider_new_party").get_by_text("是", exact=True).click()
    page.get_by_role("button", name="登记", exact=True).click()
    _alert(page, "已登记外来志愿者 王建国")
    no_exception(page)
    (oid,) = q(server, "select id from outside_volunteer where name = '王建国' and unit = '镇财政所' "
                       "and party_member = 1")[0]

    # 2. sign them up
    _tab(page, "报名")
    pick(page, "outsider_signup_activity", title)
    page.locator(".st-key-outsider_signup_query input").fill("王建国")
    page.keyboard.press("Enter")
    wait_idle(page)
    page.get_by_role("button", name="报名", exact=True).click()
    _alert(page, "王建国（镇财政所） 已报名")
    assert q(server, "select status from signup where activity_id = ? and outsider_id = ?", aid, oid) == [("signed",)]
    shot(page, "outside-volunteer-signup")

    # 3. check them in by name on 扫码签到, enter their time, confirm
    page.goto(server.url + "/checkin")
    wait_idle(page)
    pick(page, "checkin_activity_pick", title)
    page.get_by_text("外来志愿者签到（按姓名或卡号）").click()
    page.locator(".st-key-checkin_outsider_query input").fill("王建国")
    page.keyboard.press("Enter")
    wait_idle(page)
    page.locator(".st-key-checkin_outsider_in button").click()
    _alert(page, "王建国（镇财政所）签到成功")
    no_exception(page)
    shot(page, "outside-volunteer-checkin")
    page.locator(".st-key-checkin_outsider_hours input").fill("2")
    page.locator(".st-key-checkin_outsider_minutes input").fill("30")
    page.locator('[data-testid="stForm"]').filter(has=page.locator(".st-key-checkin_outsider_hours")).get_by_role(
        "button", name="保存时长").click()
    _alert(page, "已记录 王建国 服务 2 小时 30 分钟")
    _tab(page, "确认时长")
    expect(page.get_by_text(re.compile("另有外来志愿者 1 人"))).to_be_visible(timeout=WAIT)
    page.locator(".st-key-checkin_confirm_start button").click()
    wait_idle(page)
    page.locator(".st-key-checkin_confirm_do button").click()
    _alert(page, "已确认")
    assert q(server, "select minutes, household_id, confirmed_at is not null from attendance "
                     "where activity_id = ? and outsider_id = ?", aid, oid) == [(150, None, 1)]

    # 4. see the hours for the unit; no household gained a point
    page.goto(server.url + "/activities")
    wait_idle(page)
    _tab(page, "外来志愿者")
    _tab(page, "单位服务时长")
    today = dt.date.today()
    (minutes,) = q(server, "select sum(t.minutes) from attendance t join activity a on a.id = t.activity_id "
                           "where t.outsider_id is not null and t.confirmed_at is not null "
                           "and a.date between ? and ?", str(today.replace(month=1, day=1)), str(today))[0]
    assert minutes >= 150  # the demo's outside volunteers' hours and this one's
    total = page.locator('[data-testid="stMetric"]').filter(has_text="合计时长（小时）")
    expect(total.locator('[data-testid="stMetricValue"]')).to_have_text(f"{minutes / 60:.1f}", timeout=WAIT)
    no_exception(page)
    shot(page, "outside-volunteer-unit-totals")
    assert q(server, "select count(*), coalesce(sum(delta_balance), 0) from ledger_entry")[0] == entries_before
