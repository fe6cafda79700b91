"""The pages people use every day, read in the browser: no English from Streamlit's own widgets.

Latin words that are names, codes or units (PDF, CSV, MB, HJ01, Excel, https …) are allowed; any
other word of three letters or more in the visible text fails the test with the page it was on.
"""

from __future__ import annotations

import re

from tests.e2e.conftest import login, wait_idle
from tests.e2e.test_journeys import WAIT

PAGES = ["", "checkout", "redemptions", "products", "cards", "review", "publicity", "households",
         "proposal_new", "roster", "settings", "staff", "overview"]
ALLOWED = {"Excel", "excel", "http", "https", "localhost", "demo", "Noto", "Sans", "CJK", "Alt", "Enter", "Ctrl",
           "xlsx", "csv", "jpg", "jpeg", "png", "pdf"}  # names, keys and file types
WORD = re.compile(r"[A-Za-z]{3,}")
# The text a person sees: not icon ligatures (aria-hidden), not text clipped away for screen readers.
VISIBLE_TEXT = """() => {
  const out = [];
  const walker = document.createTreeWalker(document.body, NodeFilter.SHOW_TEXT);
  while (walker.nextNode()) {
    const node = walker.currentNode, el = node.parentElement;
    if (!el || !node.textContent.trim() || el.closest('[aria-hidden="true"], script, style, noscript')) continue;
    const style = getComputedStyle(el), box = el.getBoundingClientRect();
    if (style.visibility === 'hidden' || style.display === 'none' || box.width < 2 || box.height < 2) continue;
    if (!el.checkVisibility || !el.checkVisibility({ opacityProperty: true })) continue;
    out.push(node.textContent);
  }
  return out.join(' ');
}"""


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
        text = page.evaluate(VISIBLE_TEXT)
        words = _english(text)
        if words:
            found[name or "home"] = sorted(set(words))[:10]
        if boxes.count():
            page.keyboard.press("Backspace")
    assert not found, f"English on screen: {found}"
