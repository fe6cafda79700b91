"""The pages people use every day, read in the browser: no English from Streamlit's own widgets.

Latin words that are names, codes or units (PDF, CSV, MB, HJ01, Excel, https …) are allowed; any
other word of three letters or more in the visible text fails the test with the page it was on.
"""

from __future__ import annotations

import re

from tests.e2e.conftest import login, wait_idle
from tests.e2e.test_journeys import WAIT

PAGES = ["home", "checkout", "redemptions", "products", "cards", "review", "publicity", "households",
         "proposal_new", "roster", "settings", "staff", "overview"]
ALLOWED = {"Excel", "excel", "http", "https", "localhost", "demo", "Noto", "Sans", "CJK", "Alt", "Enter", "Ctrl"}
WORD = re.compile(r"[A-Za-z]{3,}")


def _english(text: str) -> list[str]:
    words = []
    for w in WORD.findall(text):
        if w.isupper() or w in ALLOWED:
            continue  # codes and units: PDF, CSV, XLSX, GBK, UTF …
        words.append(w)
    return words


def test_the_main_pages_show_no_english_from_streamlit(page_factory, server):
    page = page_factory()
    login(page, server.url, "admin")
    found = {}
    for name in PAGES:
        page.goto(f"{server.url}/{name}")
        page.locator("h1").first.wait_for(timeout=WAIT)
        wait_idle(page)
        # the hints Streamlit shows while typing in a form's box
        boxes = page.locator('[data-testid="stTextInput"] input:visible')
        if boxes.count():
            boxes.first.click()
            page.keyboard.type("1")
            page.wait_for_timeout(300)
        text = page.locator("body").inner_text()
        words = _english(text)
        if words:
            found[name] = sorted(set(words))[:10]
        if boxes.count():
            page.keyboard.press("Backspace")
    assert not found, f"English on screen: {found}"
