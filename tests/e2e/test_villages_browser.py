"""Villages from the UI, in a real browser: the demo's county admin logs in, creates a second
village on 村庄管理 (confirming first, the initial password shown once), and finds it in the
comparison at village and township level."""

from __future__ import annotations

import sqlite3

from tests.e2e.conftest import login, shot, wait_idle


def test_a_county_admin_creates_a_second_village_and_sees_it_in_the_comparison(page_factory, server):
    page = page_factory()
    login(page, server.url, "quguan")
    page.goto(server.url + "/villages")
    page.locator("h1", has_text="村庄管理").wait_for()
    wait_idle(page)
    page.get_by_role("tab", name="新建村").click()
    page.get_by_label("村名", exact=True).fill("文祖南村")
    page.get_by_label("首位村管理员用户名", exact=True).fill("wznc_admin")
    page.get_by_label("村管理员姓名", exact=True).fill("赵村长")
    page.get_by_role("button", name="新建村…").click()
    page.get_by_text("确认在文祖街道新建“文祖南村”").wait_for()
    wait_idle(page)
    page.get_by_role("button", name="确认", exact=True).click()
    page.get_by_text("初始密码只显示这一次").wait_for()
    wait_idle(page)
    shot(page, "villages_created")
    password = page.locator('[data-testid="stCode"] code').inner_text().strip()
    assert len(password) >= 8

    db = sqlite3.connect(server.data_dir / "jifen.db")
    try:
        row = db.execute("select v.township, v.county, u.must_change_password from village v "
                         "join staff_user u on u.village_id = v.id where v.name = '文祖南村' "
                         "and u.username = 'wznc_admin'").fetchone()
    finally:
        db.close()
    assert row == ("文祖街道", "章丘区", 1)

    page.goto(server.url + "/compare")
    page.locator("h1", has_text="村际比较").wait_for()
    wait_idle(page)
    page.get_by_text("共 2 个村").wait_for()
    page.locator('[data-testid="stDataFrame"]').wait_for()
    page.locator('[data-testid="stVegaLiteChart"]').wait_for()
    wait_idle(page)
    shot(page, "villages_compare_village")
    page.locator('[data-testid="stButtonGroup"]').first.get_by_text("镇（街道）", exact=True).click()
    wait_idle(page)
    page.get_by_text("共 1 个镇（街道）、2 个村").wait_for()
    page.locator('[data-testid="stVegaLiteChart"]').wait_for()
    wait_idle(page)
    shot(page, "villages_compare_township")
