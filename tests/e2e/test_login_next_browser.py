"""A staff page's address opened while logged out: the login is shown there, and after it the
page asked for — not 工作台. Logout is a button in the sidebar of every page."""

from __future__ import annotations

from playwright.sync_api import expect

from tests.e2e.conftest import wait_idle
from tests.e2e.test_journeys import WAIT, no_exception


def test_a_deep_link_survives_the_login_and_the_sidebar_logs_out(page_factory, server):
    page = page_factory()
    page.goto(server.url + "/checkout")
    page.get_by_label("用户名").fill("shouyin")
    page.get_by_label("密码").fill("demo12345")
    page.get_by_role("button", name="登录", exact=True).last.click()
    page.locator(".st-key-checkout_scan_input input").wait_for(timeout=WAIT)
    wait_idle(page)
    expect(page.get_by_role("heading", name="收银台")).to_be_visible()
    assert page.url.rstrip("/").endswith("/checkout")
    # a reload keeps the login (the cookie) and the page
    page.reload()
    page.locator(".st-key-checkout_scan_input input").wait_for(timeout=WAIT)

    page.goto(server.url + "/redemptions")
    wait_idle(page)
    page.locator('section[data-testid="stSidebar"]').get_by_role("button", name="退出登录").click()
    page.get_by_label("用户名").wait_for(timeout=WAIT)
    page.goto(server.url + "/checkout")
    page.get_by_label("用户名").wait_for(timeout=WAIT)
    assert page.locator(".st-key-checkout_scan_input").count() == 0
    no_exception(page)
