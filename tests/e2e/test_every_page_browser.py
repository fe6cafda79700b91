"""Every page of every role, and every tab on it, read in the browser: no English words.

One browser; each demo role logs in once (its own browser context) and opens each page the
navigation gives it, then each tab of the page. Latin words that are names, codes or units are
allowed (tests/e2e/test_chinese_browser.py's list plus the few below); anything else of three
letters or more fails the test, listed by role, page and tab. A page outside the role and an
address no page has show Chinese too (无权访问 / 页面不存在), never Streamlit's "Page not found".
"""

from __future__ import annotations

from tests.app_helpers import DEMO_ROLES
from tests.e2e.conftest import login, shot, wait_idle
from tests.e2e.test_chinese_browser import ALLOWED, VISIBLE_TEXT, WORD
from tests.e2e.test_journeys import WAIT
from ui.nav import PAGES

# A command shown for the admin to type (`python manage.py backup`) is a code: text inside <code> is skipped.
VISIBLE_TEXT_NO_CODE = VISIBLE_TEXT.replace("script, style, noscript", "script, style, noscript, code, pre")
assert VISIBLE_TEXT_NO_CODE != VISIBLE_TEXT

# Names, codes and units that may appear in the demo data or in help text.
MORE_ALLOWED = {"Damm", "Luhn", "kiosk", "Chromium", "Chrome", "Edge", "Firefox", "Windows"}


def _latin(text: str) -> list[str]:
    return sorted({w for w in WORD.findall(text) if not w.isupper() and w not in ALLOWED | MORE_ALLOWED})


def _read(page, where: str, found: dict) -> None:
    words = _latin(page.evaluate(VISIBLE_TEXT_NO_CODE))
    if words:
        found[where] = words[:12]


def test_every_page_and_tab_of_every_role_shows_no_english(page_factory, server):
    found: dict[str, list[str]] = {}
    for role, username in DEMO_ROLES.items():
        page = page_factory()
        login(page, server.url, username)
        for spec in PAGES:
            if role not in spec.roles:
                continue
            page.goto(f"{server.url}/{spec.module}")
            page.locator("h1").first.wait_for(timeout=WAIT)
            wait_idle(page)
            _read(page, f"{role}/{spec.module}", found)
            tabs = page.get_by_role("tab")
            for i in range(1, tabs.count()):
                tab = tabs.nth(i)
                if not tab.is_visible():
                    continue
                name = tab.inner_text().strip()
                tab.click()
                wait_idle(page)
                _read(page, f"{role}/{spec.module}/{name}", found)
        page.context.close()
    assert not found, f"English on screen: {found}"


def test_a_page_outside_the_role_and_an_unknown_address_say_so_in_chinese(page_factory, server):
    page = page_factory()
    login(page, server.url, "shouyin")  # the cashier
    page.goto(f"{server.url}/settings")
    page.get_by_text("无权访问").first.wait_for(timeout=WAIT)
    wait_idle(page)
    text = page.evaluate(VISIBLE_TEXT)
    assert "系统管理员" in text or "管理员" in text
    assert "Page not found" not in text and not _latin(text)
    shot(page, "no_access_settings_as_cashier")
    page.goto(f"{server.url}/no-such-page")
    page.get_by_text("页面不存在").first.wait_for(timeout=WAIT)
    wait_idle(page)
    text = page.evaluate(VISIBLE_TEXT)
    assert "Page not found" not in text and not _latin(text), text[:300]
    shot(page, "page_not_found")
    page.get_by_role("link", name="回到首页").click()
    page.locator("h1", has_text="工作台").wait_for(timeout=WAIT)
