"""Every page each role may open, at desktop (1366×768) and phone (390×844) size: no
Streamlit exception box anywhere, and a screenshot of each in artifacts/screenshots/ to look at."""

from __future__ import annotations

import pytest

from tests.e2e.conftest import DESKTOP, PHONE, login, shot, wait_idle
from ui.nav import pages_for

USERS = {  # demo users (startup/demo.py) and the role each one holds
    "admin": "admin",
    "pingyi1": "committee",
    "wangge1": "grid_worker",
    "shouyin": "cashier",
    "zhiyuan": "volunteer_lead",
    "yitian": "field_lead",
}


@pytest.mark.parametrize("username", list(USERS))
def test_every_page_of_a_role_renders_without_an_exception_at_both_sizes(page_factory, server, username):
    page = page_factory(viewport=DESKTOP)
    login(page, server.url, username)
    broken = []
    for spec in pages_for(frozenset({USERS[username]})):
        page.set_viewport_size(DESKTOP)
        page.goto(f"{server.url}/{spec.module}")
        wait_idle(page, timeout=60_000)
        page.get_by_role("heading").first.wait_for(timeout=60_000)
        if page.locator('[data-testid="stException"]').count():
            broken.append(f"{spec.module} (desktop)")
        shot(page, f"desktop-{USERS[username]}-{spec.module}")
        page.set_viewport_size(PHONE)
        wait_idle(page, timeout=60_000)
        if page.locator('[data-testid="stException"]').count():
            broken.append(f"{spec.module} (phone)")
        shot(page, f"phone-{USERS[username]}-{spec.module}")
    assert not broken, f"Streamlit exception on: {broken}"
