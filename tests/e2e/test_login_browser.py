"""Login in a real browser: the cookie keeps a session across a reload; logout ends it;
and on a freshly started server every page's URL shows the login page and no data."""

from __future__ import annotations

import pytest

from tests.e2e.conftest import login, shot, wait_idle
from ui.nav import PAGES


def test_a_login_survives_a_reload_and_logout_ends_it(page_factory, server):
    page = page_factory()
    login(page, server.url, "admin")
    cookies = {c["name"]: c for c in page.context.cookies()}
    assert cookies["jifen_session"]["httpOnly"] is True
    assert cookies["jifen_session"]["sameSite"] == "Lax"
    page.reload()
    wait_idle(page)
    page.get_by_text("工作台").first.wait_for(state="visible", timeout=60_000)
    assert page.get_by_label("密码").count() == 0
    shot(page, "desktop-home-admin")
    page.goto(server.url + "/account")
    wait_idle(page)
    page.get_by_role("button", name="退出登录").last.click()  # the sidebar has one too
    page.wait_for_selector("text=登录", timeout=30_000)
    wait_idle(page)
    page.reload()
    wait_idle(page)
    page.get_by_label("密码").wait_for(state="visible", timeout=60_000)


def test_a_wrong_password_shows_a_chinese_error_in_the_browser(page_factory, server):
    page = page_factory()
    page.goto(server.url + "/")
    page.get_by_label("用户名").fill("admin")
    page.get_by_label("密码").fill("not-the-password")
    page.get_by_role("button", name="登录", exact=True).last.click()
    page.wait_for_selector("text=用户名或密码不正确", timeout=30_000)
    shot(page, "desktop-login-error")


@pytest.mark.parametrize("module", [p.module for p in PAGES])
def test_on_a_fresh_server_every_page_url_shows_the_login_and_no_data(browser, demo_data_dir, tmp_path, module):
    import shutil

    from tests.e2e.conftest import DESKTOP, Server

    data = tmp_path / "data"
    shutil.copytree(demo_data_dir, data)
    srv = Server(data)
    try:
        srv.wait()
        ctx = browser.new_context(viewport=DESKTOP)
        page = ctx.new_page()
        page.goto(f"{srv.url}/{module}")  # the very first request this server sees
        page.wait_for_selector("text=村级积分制管理系统", timeout=60_000)
        wait_idle(page)
        page.get_by_label("密码").wait_for(state="visible", timeout=60_000)
        body = page.inner_text("body")
        assert "可用积分" not in body and "户主" not in body
        ctx.close()
    finally:
        srv.stop()
