"""Accessibility audited in the browser: axe-core 4 (the engine behind the common browser audits),
from its npm package (tests/e2e/axe, installed by scripts/test.sh), injected into every page a user
can reach after it settles. A serious or critical violation fails the test and names the rule and
the element. What Streamlit's own markup does wrong and the app cannot fix is in ALLOWED, with the
reason; keep it short.

Also here: the large-text mode at both screen sizes (screenshots for docs/ACCESSIBILITY.md), and
that the counter announces its scan results to a screen reader.
"""

from __future__ import annotations

import shutil
import sqlite3
from pathlib import Path

import pytest
from playwright.sync_api import TimeoutError as PlaywrightTimeout

from tests.e2e.conftest import DESKTOP, PHONE, ROOT, Server, login, shot, wait_idle
from ui.nav import PAGES

AXE = ROOT / "tests" / "e2e" / "axe" / "node_modules" / "axe-core" / "axe.min.js"
DOCS = ROOT / "docs" / "screenshots"
WAIT = 60_000

# rule id -> (CSS selector the violating element must match, why it is allowed)
ALLOWED: dict[str, tuple[str, str]] = {}

ROLE_USERS = ["admin", "pingyi1", "wangge1", "shouyin", "zhiyuan", "yitian", "zhenjie"]


def audit(page) -> list[str]:
    """Serious and critical violations on the page as it is now, one line per element."""
    if not AXE.exists():
        pytest.fail("axe-core is missing: run scripts/test.sh (it installs tests/e2e/axe)")
    # Under load Streamlit may still be drawing: skeletons pulse and elements fade in or out (CSS
    # animations); measured mid-fade, grey caption text fails the contrast rule though the settled
    # page passes. A settled page has no running animation; if one never ends, audit anyway.
    try:
        page.wait_for_function(
            """() => !document.querySelector('[data-testid="stSkeleton"]')
                     && !document.getAnimations().some(a => a.playState === 'running')""",
            timeout=15_000)
    except PlaywrightTimeout:
        pass
    page.add_script_tag(path=str(AXE))
    found = page.evaluate(
        """async (allowed) => {
            const r = await axe.run(document, {resultTypes: ['violations']});
            const out = [];
            for (const v of r.violations) {
                if (!['serious', 'critical'].includes(v.impact)) continue;
                for (const n of v.nodes) {
                    const a = allowed[v.id];
                    const el = document.querySelector(n.target[0]);
                    if (a && el && el.closest(a)) continue;
                    out.push(`${v.id} (${v.impact}): ${v.help} — ${n.target.join(' ')} — ${n.html.slice(0, 200)}`);
                }
            }
            return out;
        }""",
        {k: sel for k, (sel, _why) in ALLOWED.items()},
    )
    return found


def _settle(page, url: str) -> None:
    page.goto(url)
    wait_idle(page, WAIT)
    page.wait_for_timeout(800)  # fragments and lazily drawn tables
    # elements left over from the previous page are drawn faded until the run replaces them
    page.wait_for_function("() => !document.querySelector('[data-stale=\"true\"]')", timeout=WAIT)


@pytest.fixture(scope="module")
def a11y_server(tmp_path_factory, demo_data_dir):
    data = tmp_path_factory.mktemp("a11y") / "data"
    shutil.copytree(demo_data_dir, data)
    srv = Server(data)
    try:
        srv.wait()
        yield srv
    finally:
        srv.stop()


def _card(srv) -> str:
    con = sqlite3.connect(Path(srv.data_dir) / "jifen.db")
    try:
        return con.execute("SELECT c.token FROM card c JOIN account a ON a.household_id = c.household_id "
                           "WHERE c.revoked_at IS NULL ORDER BY a.balance DESC LIMIT 1").fetchone()[0]
    finally:
        con.close()


def test_every_staff_page_has_no_serious_accessibility_violation(browser, a11y_server):
    ctx = browser.new_context(viewport=DESKTOP, locale="zh-CN")
    problems: dict[str, list[str]] = {}
    try:
        page = ctx.new_page()
        page.set_default_timeout(WAIT)
        _settle(page, a11y_server.url + "/")
        problems["login"] = audit(page)
        login(page, a11y_server.url, "admin")
        for spec in PAGES:
            _settle(page, f"{a11y_server.url}/{spec.module}")
            problems[spec.module] = audit(page)
        _settle(page, f"{a11y_server.url}/account")
        problems["account"] = audit(page)
    finally:
        ctx.close()
    problems = {k: v for k, v in problems.items() if v}
    assert problems == {}, "\n".join(f"{k}: {line}" for k, v in problems.items() for line in v)


@pytest.mark.parametrize("username", ROLE_USERS[1:])
def test_each_role_sees_its_workbench_without_serious_violations(browser, a11y_server, username):
    ctx = browser.new_context(viewport=DESKTOP, locale="zh-CN")
    try:
        page = ctx.new_page()
        page.set_default_timeout(WAIT)
        login(page, a11y_server.url, username)
        page.wait_for_timeout(800)
        assert audit(page) == []
    finally:
        ctx.close()


def test_the_public_pages_and_the_phone_sizes_have_no_serious_violations(browser, a11y_server):
    problems = {}
    for name, viewport, path in [("board", DESKTOP, "/board"), ("card page", PHONE, f"/me?card={_card(a11y_server)}"),
                                 ("login on a phone", PHONE, "/")]:
        # the card page's Content-Security-Policy forbids any script: let the audit's own through
        ctx = browser.new_context(viewport=viewport, locale="zh-CN", bypass_csp=True)
        try:
            page = ctx.new_page()
            page.set_default_timeout(WAIT)
            if path.startswith("/me"):  # the light card page: plain HTML, no Streamlit to wait for
                page.goto(a11y_server.url + path, wait_until="load")
                page.get_by_text("可用积分").first.wait_for()
            else:
                _settle(page, a11y_server.url + path)
            problems[name] = audit(page)
        finally:
            ctx.close()
    problems = {k: v for k, v in problems.items() if v}
    assert problems == {}, problems


def test_the_first_run_set_up_page_has_no_serious_violations(browser, tmp_path):
    data = tmp_path / "data"
    data.mkdir()
    srv = Server(data, demo=False)
    try:
        srv.wait()
        ctx = browser.new_context(viewport=DESKTOP, locale="zh-CN")
        try:
            page = ctx.new_page()
            page.set_default_timeout(WAIT)
            page.goto(srv.url + "/")
            page.locator("h1").filter(has_text="首次设置").wait_for(timeout=180_000)  # after the schema is made
            wait_idle(page, WAIT)
            assert audit(page) == []
        finally:
            ctx.close()
    finally:
        srv.stop()


def test_the_counter_announces_a_scan_to_a_screen_reader_and_stays_clean(browser, a11y_server):
    ctx = browser.new_context(viewport=DESKTOP, locale="zh-CN")
    try:
        page = ctx.new_page()
        page.set_default_timeout(WAIT)
        login(page, a11y_server.url, "shouyin")
        _settle(page, a11y_server.url + "/checkout")
        box = page.locator(".st-key-checkout_scan_input input")
        box.focus()
        page.keyboard.type("12345678", delay=5)  # not a card: the refusal must be announced
        page.keyboard.press("Enter")
        wait_idle(page, WAIT)
        alert = page.locator('[role="alert"], [aria-live="assertive"], [aria-live="polite"]').filter(has_text="卡")
        alert.first.wait_for(state="attached", timeout=WAIT)
        box = page.locator(".st-key-checkout_scan_input input")
        box.focus()
        page.keyboard.type(_card(a11y_server), delay=5)
        page.keyboard.press("Enter")
        wait_idle(page, WAIT)
        page.wait_for_timeout(800)
        assert audit(page) == []
    finally:
        ctx.close()


def _large_text_on(page, on: bool) -> None:
    switch = page.locator(".st-key-large_text_switch")
    if switch.locator("input").is_checked() != on:
        switch.locator("label").click()
        wait_idle(page, WAIT)
        page.wait_for_function("(on) => (parseFloat(getComputedStyle(document.documentElement).fontSize) >= 20) === on", arg=on)


@pytest.mark.parametrize("viewport,name", [(DESKTOP, "desktop"), (PHONE, "phone")])
def test_large_text_mode_raises_text_and_figures_and_still_fits(browser, a11y_server, viewport, name):
    ctx = browser.new_context(viewport=viewport, locale="zh-CN")
    try:
        page = ctx.new_page()
        page.set_default_timeout(WAIT)
        login(page, a11y_server.url, "admin")
        _settle(page, a11y_server.url + "/overview")
        if name == "phone":  # the sidebar starts collapsed on a phone: open it to reach the switch
            page.locator('[data-testid="stExpandSidebarButton"], [data-testid="stSidebarCollapsedControl"] button').first.click()
        _large_text_on(page, True)
        if name == "phone":
            page.keyboard.press("Escape")
            page.locator('[data-testid="stSidebarCollapseButton"] button, [data-testid="stSidebarHeader"] button').first.click()
            wait_idle(page, WAIT)
        body = page.evaluate("() => parseFloat(getComputedStyle(document.querySelector('.stMarkdown p, [data-testid=\"stCaptionContainer\"] p')).fontSize)")
        figure = page.evaluate("() => parseFloat(getComputedStyle(document.querySelector('[data-testid=\"stMetricValue\"] div, [data-testid=\"stMetricValue\"]')).fontSize)")
        overflow = page.evaluate("() => document.querySelector('[data-testid=\"stMain\"]').scrollWidth - document.querySelector('[data-testid=\"stMain\"]').clientWidth")
        DOCS.mkdir(parents=True, exist_ok=True)
        page.screenshot(path=str(DOCS / f"large-text-{name}.png"))
        shot(page, f"large-text-{name}")
        assert body >= 20 and figure >= 40, (body, figure)
        assert overflow <= 0, f"the page scrolls sideways by {overflow} px"
        # remembered with the account: a new browser (another computer) opens in large text too
        ctx2 = browser.new_context(viewport=viewport, locale="zh-CN")
        try:
            other = ctx2.new_page()
            other.set_default_timeout(WAIT)
            login(other, a11y_server.url, "admin")
            size = other.evaluate("() => parseFloat(getComputedStyle(document.documentElement).fontSize)")
            assert size >= 20
        finally:
            ctx2.close()
        if name == "phone":
            page.locator('[data-testid="stExpandSidebarButton"], [data-testid="stSidebarCollapsedControl"] button').first.click()
        _large_text_on(page, False)
        assert page.evaluate("() => parseFloat(getComputedStyle(document.documentElement).fontSize)") < 20
    finally:
        ctx.close()
