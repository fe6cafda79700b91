"""村集体资金 in a real browser: the admin records a cash donation, confirms it when asked, and
sees the balance and the entry; the 五公开 page shows the month's money."""

from __future__ import annotations

from tests.e2e.conftest import login, shot, wait_idle


def test_an_admin_records_a_donation_and_the_month_shows_it(page_factory, server):
    page = page_factory()
    login(page, server.url, "admin")
    page.goto(server.url + "/fund")
    wait_idle(page)
    before = page.get_by_test_id("stMetricValue").first.inner_text()
    page.get_by_label("类型", exact=True).click()
    page.get_by_role("option", name="现金捐赠").click()
    wait_idle(page)
    page.get_by_label("金额（元）").fill("888.80")
    page.get_by_label("捐赠人（必填）").fill("王大爷")
    page.get_by_role("button", name="登记…").click()
    page.get_by_text("对方：王大爷").wait_for()  # the question (ui.confirm) under the form
    shot(page, "fund_confirm")
    page.get_by_role("button", name="确认登记").click()
    wait_idle(page)
    page.get_by_text("已登记现金捐赠 888.80 元").wait_for()
    after = page.get_by_test_id("stMetricValue").first.inner_text()
    assert round(float(after.replace(",", "")) - float(before.replace(",", "")), 2) == 888.8
    shot(page, "fund_page")
    page.goto(server.url + "/transparency")
    wait_idle(page)
    page.get_by_text("五、资金收支").wait_for()
    shot(page, "fund_transparency")
