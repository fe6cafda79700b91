"""A real village comes in and keeps running, in a real browser: the admin of a 300-household
village carries its Excel points book over (balances and history rows), confirms, downloads the
reconciliation sheet; then merges one household into another and splits a third, each through
the confirmation naming both sides; the closed household still shows its history."""

from __future__ import annotations

import datetime as dt
import io
import os
import sqlite3
import subprocess
import sys
from pathlib import Path

import pytest
from openpyxl import Workbook, load_workbook

from tests.e2e.conftest import DESKTOP, ROOT, Server, shot, wait_idle

HOUSEHOLDS = 300
SETUP = f"""
from core.platform.access import SYSTEM
from core.platform.auth import actor_for
from core.platform.config import load
from core.village.roster import commit
from core.village.setup import create_village
from startup.prepare import prepare
from db.models import StaffUser
from sqlalchemy import select

db = prepare(load(), create_demo=False)
create_village(db, SYSTEM, name="文祖北村", township="文祖街道", county="章丘区", grids=["第一网格", "第二网格"],
               admin_username="boss", admin_name="村主任", admin_password="boss-pass-1", first_run=True)
with db.read() as s:
    actor = actor_for(s.execute(select(StaffUser).where(StaffUser.username == "boss")).scalar_one())
rows = ["门牌号,网格,姓名,与户主关系"]
for i in range(1, {HOUSEHOLDS} + 1):
    rows.append(f"1-{{i:03d}},{{'第一网格' if i % 2 else '第二网格'}},户主{{i}},户主")
rows.append("1-003,第一网格,户主3之子,儿子")
rows.append("1-003,第一网格,户主3儿媳,儿媳")
commit(db, actor, actor.village_id, "r.csv", "\\n".join(rows).encode())
db.dispose()
"""


def _book(path: Path) -> int:
    wb = Workbook()
    wb.active.title = "说明"
    wb.active.append(["文祖北村积分台账（2025 年）"])
    b = wb.create_sheet("期初余额")
    b.append(["门牌号", "户主", "期初积分", "累计积分"])
    total = 0
    for i in range(1, HOUSEHOLDS + 1):
        balance = (i * 7) % 90
        total += balance
        b.append([f"1-{i:03d}", f"户主{i}", balance, balance + 10])
    h = wb.create_sheet("历史明细")
    h.append(["门牌号", "日期", "事项", "积分"])
    for i in range(1, HOUSEHOLDS + 1, 3):
        h.append([f"1-{i:03d}", dt.date(2025, 5, 1 + i % 28), "参加义务劳动", 5])
    wb.save(path)
    return total


@pytest.fixture
def village_server(tmp_path):
    data = tmp_path / "data"
    data.mkdir()
    env = {**os.environ, "JIFEN_DATA_DIR": str(data), "JIFEN_NO_DEMO": "1"}
    env.pop("JIFEN_DATABASE_URL", None)
    subprocess.run([sys.executable, "-c", SETUP], cwd=ROOT, env=env, check=True)
    srv = Server(data, demo=False)
    try:
        srv.wait()
        yield srv
    finally:
        srv.stop()


def q(server, sql: str, *args):
    con = sqlite3.connect(Path(server.data_dir) / "jifen.db")
    try:
        return con.execute(sql, args).fetchall()
    finally:
        con.close()


def _login(page, base):
    page.goto(base + "/")
    page.get_by_label("用户名").fill("boss")
    page.get_by_label("密码").fill("boss-pass-1")
    page.get_by_role("button", name="登录", exact=True).last.click()
    page.wait_for_selector("text=工作台", timeout=60_000)
    wait_idle(page)


def _open_household(page, base, door: str, head: str) -> None:
    page.goto(base + "/households")
    wait_idle(page)
    page.get_by_placeholder("例如：王建国、2-105，或扫描积分卡").fill(door)
    page.keyboard.press("Enter")
    page.get_by_role("heading", name=head).wait_for()
    wait_idle(page)


def _choose(page, key: str, typed: str) -> None:
    page.locator(f".st-key-{key} input").first.click()
    page.keyboard.type(typed)
    page.get_by_role("option").filter(has_text=typed).first.click()


def test_a_village_brings_its_points_book_in_and_its_households_change(browser, village_server, tmp_path):
    base = village_server.url
    book = tmp_path / "积分台账.xlsx"
    total = _book(book)
    ctx = browser.new_context(viewport=DESKTOP, locale="zh-CN", accept_downloads=True)
    page = ctx.new_page()
    page.set_default_timeout(60_000)
    try:
        _login(page, base)
        page.goto(base + "/roster")
        wait_idle(page)
        page.get_by_role("tab", name="导入期初积分").click()
        page.locator(".st-key-opening_file input[type=file]").set_input_files(str(book))
        page.get_by_role("button", name=f"导入 {HOUSEHOLDS} 户的期初积分…").click()
        wait_idle(page)
        assert q(village_server, "select count(*) from ledger_entry") == [(0,)]  # nothing before 确认
        page.get_by_role("tab", name="导入期初积分").click()
        page.get_by_text("确认把 300 户").wait_for()
        shot(page, "desktop-opening-confirm")
        page.get_by_role("button", name="确认记入期初积分").click()
        page.wait_for_selector("text=期初积分导入完成")
        wait_idle(page)
        assert q(village_server, "select sum(balance), count(*) from account") == [(total, HOUSEHOLDS)]
        assert q(village_server, "select count(*) from ledger_entry where kind = 'carryover_record'") == [(100,)]
        page.get_by_role("tab", name="导入期初积分").click()
        page.get_by_text("账本里的每一户都已导入过期初积分").wait_for()  # the same file again: nothing to do
        shot(page, "desktop-opening-imported")
        with page.expect_download() as download:
            page.get_by_role("button", name="下载对账表（Excel）").click()
        wb = load_workbook(io.BytesIO(Path(download.value.path()).read_bytes()))
        summary = {r[0]: r[1] for r in wb["对账汇总"].iter_rows(min_row=2, values_only=True)}
        assert summary["账本期初积分合计"] == str(total) and summary["差额"] == "0"

        # 1-002 moves in with 1-001: merged, through the confirmation
        _open_household(page, base, "1-002", "1-002 户主2")
        page.get_by_role("tab", name="办理户籍变动").click()
        page.locator(".st-key-hh_lc_action").get_by_text("并入另一户", exact=True).click()
        wait_idle(page)
        _choose(page, "hh_lc_into", "1-001 户主1")
        page.get_by_role("button", name="下一步…").click()
        page.get_by_text("1-002 户主2 并入 1-001 户主1").wait_for()  # the question stands in place of the forms
        shot(page, "desktop-household-merge-confirm")
        page.locator(".st-key-hh_lc_do button").click()
        page.get_by_text("已合户").wait_for()
        wait_idle(page)
        assert q(village_server, "select active from household where door_no = '1-002'") == [(0,)]
        assert q(village_server, "select balance from account a join household h on h.id = a.household_id "
                                 "where h.door_no in ('1-001', '1-002') order by h.door_no") == [(7 + 14,), (0,)]
        page.get_by_text("注销（并入他户）").first.wait_for()
        page.get_by_role("tab", name="户籍变动", exact=True).click()
        wait_idle(page)
        shot(page, "desktop-household-closed-history")
        assert q(village_server, "select e.kind, o.door_no, e.points from household_event e join household o "
                                 "on o.id = e.other_household_id order by e.id") == [("merge_out", "1-001", 14),
                                                                                     ("merge_in", "1-002", 14)]

        # 1-003's son marries and sets up his own household with 10 of its points
        _open_household(page, base, "1-003", "1-003 户主3")
        page.get_by_role("tab", name="办理户籍变动").click()
        page.locator(".st-key-hh_lc_action").get_by_text("分户", exact=True).click()
        wait_idle(page)
        _choose(page, "hh_lc_movers", "户主3之子")
        page.keyboard.press("Escape")
        _choose(page, "hh_lc_movers", "户主3儿媳")
        page.keyboard.press("Escape")
        page.locator(".st-key-hh_lc_door input").fill("1-301")
        page.get_by_label("分给新户的可用积分").fill("10")
        page.get_by_role("button", name="下一步…").click()
        page.get_by_text("新户：门牌号 1-301").wait_for()
        page.locator(".st-key-hh_lc_do button").click()
        page.get_by_text("已分户").wait_for()
        assert q(village_server, "select h.head_name, a.balance from household h join account a "
                                 "on a.household_id = h.id where h.door_no = '1-301'") == [("户主3之子", 10)]
        shot(page, "desktop-household-split-done")
    finally:
        ctx.close()
    env = {**os.environ, "JIFEN_DATA_DIR": str(village_server.data_dir), "JIFEN_NO_DEMO": "1"}
    env.pop("JIFEN_DATABASE_URL", None)
    done = subprocess.run([sys.executable, "manage.py", "verify"], cwd=ROOT, capture_output=True, text=True, env=env)
    assert "全部一致" in done.stdout, done.stdout + done.stderr
