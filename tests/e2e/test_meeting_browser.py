"""The committee's meeting screen in a real browser: the list at 1366×768, the projector mode at
1024×768 and 1920×1080, and closing the session where the button was pressed."""

from __future__ import annotations

import re

from playwright.sync_api import expect

from tests.e2e.conftest import login, shot, wait_idle
from tests.e2e.test_journeys import WAIT, no_exception, open_review_session


def test_the_meeting_screen_fits_the_projector_and_closes_where_asked(page_factory, server):
    page = page_factory()
    login(page, server.url, "admin")
    open_review_session(page, server)
    # 标记 (why an item is not ticked) sits next to the tick: seen in this screenshot at 1366×768
    # (the table is drawn on a canvas; its headers are not in the page's text).
    page.locator('[data-testid="stDataFrame"]').first.wait_for(timeout=WAIT)
    shot(page, "meeting-list-1366")

    page.get_by_text(re.compile("^投影模式")).click()
    wait_idle(page)
    expect(page.locator('section[data-testid="stSidebar"]')).to_be_hidden()
    expect(page.get_by_text(re.compile(r"第 1 项，共 \d+ 项待议"))).to_be_visible()
    for w, h in ((1024, 768), (1920, 1080)):
        page.set_viewport_size({"width": w, "height": h})
        wait_idle(page)
        shot(page, f"meeting-projector-{w}x{h}")
    page.get_by_role("button", name="下一项").click()
    wait_idle(page)
    expect(page.get_by_text(re.compile(r"第 2 项，共 \d+ 项待议"))).to_be_visible()
    page.set_viewport_size({"width": 1366, "height": 768})
    page.get_by_text(re.compile("^投影模式")).click()
    wait_idle(page)
    expect(page.locator('section[data-testid="stSidebar"]')).to_be_visible()

    # 结束评议会 from its tab: the question is shown in the same tab, which stays open.
    page.get_by_role("tab", name="纪要与结束").click()
    wait_idle(page)
    page.get_by_role("button", name="结束评议会").click()
    wait_idle(page)
    expect(page.get_by_role("tab", name="纪要与结束")).to_have_attribute("aria-selected", "true")
    expect(page.get_by_role("button", name="确认结束")).to_be_visible(timeout=WAIT)
    shot(page, "meeting-close-question")
    page.get_by_role("button", name="确认结束").click()
    page.get_by_text("评议会已结束").first.wait_for(timeout=WAIT)
    no_exception(page)
