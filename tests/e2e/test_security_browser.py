"""Security in a real browser, on a demo village with markup and formulas in every field people type
(tests/payload.py):

- no page turns that text into a link, an image, bold text, a coloured span or formula
  rendering, and no page asks for anything outside this server;
- every Excel and CSV file offered on the pages opens without a live formula;
- logging out in one tab ends the login in the other tab at its next click.
"""

from __future__ import annotations

import csv
import io
import shutil
import sqlite3
from pathlib import Path

import pytest
from openpyxl import load_workbook

from core.platform.exports import is_formula_like
from tests import payload
from tests.e2e.conftest import DESKTOP, PHONE, Server, Watch, login, shot, wait_idle
from ui.nav import PAGES

WAIT = 60_000
# Elements the payload would create if it were rendered as Markdown or HTML.
LIVE_MARKUP = """() => {
  const out = [];
  const add = (what, el) => out.push(what + ': ' + (el.outerHTML || '').slice(0, 120));
  // (a heading's own "#slug" anchor is a link within the page, not to the text's address)
  document.querySelectorAll('a[href*="evil"]:not([href^="#"])').forEach(el => add('link', el));
  document.querySelectorAll('img[src*="evil"], source[src*="evil"]').forEach(el => add('image', el));
  document.querySelectorAll('b, strong, em').forEach(el => {
    if (['粗', '五', '点我'].includes(el.textContent.trim())) add('emphasis', el);
  });
  document.querySelectorAll('.katex, math').forEach(el => add('formula', el));
  document.querySelectorAll('span[style*="color"], [class*="ColoredText"]').forEach(el => {
    if (el.textContent.trim() === '红') add('directive', el);
  });
  return out;
}"""


@pytest.fixture(scope="module")
def payload_server(demo_data_dir, tmp_path_factory):
    data = tmp_path_factory.mktemp("payload-e2e") / "data"
    shutil.copytree(demo_data_dir, data)
    mp = pytest.MonkeyPatch()
    mp.setenv("JIFEN_DATA_DIR", str(data))
    mp.delenv("JIFEN_DATABASE_URL", raising=False)
    mp.setenv("JIFEN_NO_DEMO", "0")
    from core.platform.config import load
    from startup.prepare import prepare

    db = prepare(load())
    ids = payload.seed(db)
    db.dispose()
    mp.undo()
    srv = Server(data)
    try:
        srv.wait()
        srv.ids = ids
        yield srv
    finally:
        srv.stop()


@pytest.fixture
def tab(browser, payload_server):
    contexts, watches = [], []

    def make(viewport=DESKTOP):
        ctx = browser.new_context(viewport=viewport, locale="zh-CN", accept_downloads=True)
        contexts.append(ctx)
        page = ctx.new_page()
        page.set_default_timeout(30_000)
        w = Watch(payload_server.url)
        page.on("request", w)
        watches.append(w)
        return page

    yield make
    for ctx in contexts:
        ctx.close()
    outside = [u for w in watches for u in w.outside]
    assert not outside, f"pages asked for outside URLs: {outside[:5]}"


def _check(page, label: str, problems: list[str]) -> None:
    wait_idle(page)
    page.wait_for_timeout(500)
    problems += [f"{label}: {p}" for p in page.evaluate(LIVE_MARKUP)]
    if page.locator('[data-testid="stException"]').count():
        problems.append(f"{label}: an exception is shown")


def test_markup_typed_into_any_field_stays_text_on_every_page_in_the_browser(tab, payload_server):
    srv, problems = payload_server, []
    page = tab()
    login(page, srv.url, "admin")
    _check(page, "home", problems)
    shown = page.inner_text("body")
    for spec in PAGES:
        page.goto(f"{srv.url}/{spec.module}")
        _check(page, spec.module, problems)
        shown += page.inner_text("body")
    page.goto(f"{srv.url}/checkout")
    wait_idle(page)
    box = page.locator(".st-key-checkout_scan_input input")
    box.fill(srv.ids["token"])
    box.press("Enter")
    page.get_by_text("已读卡").first.wait_for(timeout=WAIT)
    _check(page, "checkout (card scanned)", problems)
    shot(page, "security-checkout-payload")
    shown += page.inner_text("body")
    page.goto(f"{srv.url}/proposal_new")
    wait_idle(page)
    search = page.locator(".st-key-pn_search input")
    search.fill("王")
    search.press("Enter")
    page.get_by_text("选择户").first.wait_for(timeout=WAIT)
    _check(page, "proposal_new (households found)", problems)
    shown += page.inner_text("body")
    phone = tab(PHONE)
    phone.goto(f"{srv.url}/me?card={srv.ids['token']}")
    phone.get_by_text("家的积分").first.wait_for(timeout=WAIT)
    # the light card page (web/) is no Streamlit app: nothing to wait for once it is there
    problems += [f"me (card link): {p}" for p in phone.evaluate(LIVE_MARKUP)]
    shot(phone, "security-me-payload")
    shown += phone.inner_text("body")
    board = tab()
    board.goto(f"{srv.url}/board")
    _check(board, "board", problems)
    assert problems == [], "\n".join(problems)
    assert "**五**" in shown and "[点我](http" in shown  # the text itself is on screen, as typed


def _files_on(page, tmp_path: Path, label: str) -> list[tuple[str, bytes]]:
    out = []
    buttons = page.locator('[data-testid="stDownloadButton"] button')
    for i in range(buttons.count()):
        button = buttons.nth(i)
        if not button.is_visible() or not button.is_enabled():
            continue
        with page.expect_download(timeout=WAIT) as download:
            button.click()
        name = download.value.suggested_filename
        if name.endswith((".xlsx", ".csv")):
            path = tmp_path / f"{label}-{i}-{name}"
            download.value.save_as(path)
            out.append((f"{label.split('-')[0]}/{name}", path.read_bytes()))
    return out


def formulas_in(name: str, data: bytes) -> list[str]:
    if name.endswith(".xlsx"):
        wb = load_workbook(io.BytesIO(data))
        return [f"{ws.title}!{c.coordinate}" for ws in wb.worksheets for row in ws.iter_rows() for c in row
                if c.data_type == "f"]
    rows = csv.reader(io.StringIO(data.decode("utf-8-sig"), newline=""))
    return [cell for row in rows for cell in row if is_formula_like(cell)]


def test_every_spreadsheet_offered_on_the_pages_opens_without_a_live_formula(tab, payload_server, tmp_path):
    srv = payload_server
    page = tab()
    login(page, srv.url, "admin")
    files: dict[str, bytes] = {}
    for spec in PAGES:
        page.goto(f"{srv.url}/{spec.module}")
        page.locator("h1").filter(has_text=spec.title).first.wait_for(timeout=WAIT)
        wait_idle(page)
        files.update(_files_on(page, tmp_path, spec.module))
        tabs = page.locator('[data-baseweb="tab-list"] [role="tab"]')
        for i in range(1, tabs.count()):  # the first tab is open already
            tabs.nth(i).click()
            wait_idle(page)
            files.update(_files_on(page, tmp_path, f"{spec.module}-{i}"))
    files = list(files.items())
    bad = {name: found for name, data in files if (found := formulas_in(name, data))}
    assert bad == {}
    assert len(files) >= 20, [n for n, _ in files]
    carrying = [n for n, data in files if b"HYPERLINK" in data or "HYPERLINK".encode("utf-16-le") in data
                or _has_text(n, data, "HYPERLINK")]
    assert carrying, "no file carried the formula text: the test would prove nothing"
    print(f"\n{len(files)} spreadsheets downloaded, {len(carrying)} carrying the formula text, 0 live formulas")


def _has_text(name: str, data: bytes, needle: str) -> bool:
    if not name.endswith(".xlsx"):
        return needle in data.decode("utf-8-sig", "replace")
    wb = load_workbook(io.BytesIO(data))
    return any(needle in str(c.value) for ws in wb.worksheets for row in ws.iter_rows() for c in row)


def test_logging_out_in_one_tab_ends_the_login_in_the_other_at_its_next_click(browser, payload_server):
    srv = payload_server
    ctx = browser.new_context(viewport=DESKTOP, locale="zh-CN")
    try:
        first = ctx.new_page()
        first.set_default_timeout(30_000)
        login(first, srv.url, "shouyin")
        second = ctx.new_page()  # same browser: the login cookie logs it in
        second.goto(f"{srv.url}/account")
        second.get_by_role("button", name="退出登录").last.wait_for(timeout=WAIT)
        second.get_by_role("button", name="退出登录").last.click()  # the sidebar has one too
        second.get_by_label("密码", exact=True).wait_for(state="visible", timeout=WAIT)
        # the first tab was left open on the workbench; its next click is to open the counter
        first.get_by_role("link", name="收银台").first.click()
        first.get_by_label("密码", exact=True).wait_for(state="visible", timeout=WAIT)
        wait_idle(first)
        assert "扫描积分卡" not in first.inner_text("body")
        shot(first, "security-logged-out-elsewhere")
    finally:
        ctx.close()
    con = sqlite3.connect(Path(srv.data_dir) / "jifen.db")
    try:
        live = con.execute("SELECT count(*) FROM auth_session s JOIN staff_user u ON u.id = s.user_id "
                           "WHERE u.username = 'shouyin' AND s.revoked_at IS NULL").fetchone()[0]
    finally:
        con.close()
    assert live == 0
