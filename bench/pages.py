"""Each page's full render through AppTest (app.py with navigation and frame) vs an empty
Streamlit page. The environment must already point at the benchmark database."""

from __future__ import annotations

import statistics
import time
from pathlib import Path

from bench.timing import Result, p95

ROOT = Path(__file__).resolve().parent.parent
EMPTY_APP = "import streamlit as st\nst.title('空白页')\n"


class _Statements:
    """Counts SQL statements of every engine in the process (the app's engine lives in
    Streamlit's resource cache): a page with hundreds is doing N+1 queries."""

    def __init__(self):
        self.n = 0

    def __enter__(self):
        from sqlalchemy import event
        from sqlalchemy.engine import Engine

        event.listen(Engine, "before_cursor_execute", self._count)
        return self

    def _count(self, *args):
        self.n += 1

    def __exit__(self, *exc):
        from sqlalchemy import event
        from sqlalchemy.engine import Engine

        event.remove(Engine, "before_cursor_execute", self._count)


def _times(fn, n: int) -> list[float]:
    out = []
    for _ in range(n):
        t = time.perf_counter()
        fn()
        out.append(time.perf_counter() - t)
    return out


def empty_page(n: int) -> Result:
    from streamlit.testing.v1 import AppTest

    at = AppTest.from_string(EMPTY_APP, default_timeout=60)
    at.run()
    times = _times(at.run, n)
    return Result("empty Streamlit page (AppTest)", n, statistics.median(times) * 1000, p95(times) * 1000)


def _switch(at, module: str) -> None:
    """Open a page registered by st.navigation as a callable: after the first run
    AppTest.switch_page only matches script paths, so select it by its url_path."""
    for page_hash, info in at._registered_pages.items():
        if info.get("url_pathname") == module:
            at._page_hash = page_hash
            return
    raise ValueError(f"page {module} is not in the navigation")


def page_renders(user_id: int, modules: list[str], n: int, token: str | None = None) -> list[Result]:
    """Render every page ``n`` times (after one warm-up) as the given user."""
    from streamlit.testing.v1 import AppTest

    from core.platform import config
    from core.platform.auth import start_session
    from db.engine import Database
    from ui import state

    database = Database.from_url(config.load().database_url)
    try:
        sid, _code = start_session(database, user_id)  # a real login session, checked on every run
    finally:
        database.dispose()
    results = []
    at = AppTest.from_file(str(ROOT / "app.py"), default_timeout=120)
    at.session_state[state.USER_ID] = user_id
    at.session_state[state.SESSION_ID] = sid
    at.run()
    # the default page (home) first: it has no switchable path of its own
    ordered = sorted(modules, key=lambda m: m != "home")
    for module in ordered:
        if module != "home":
            _switch(at, module)
        at.run()
        errors = [str(e.value)[:120] for e in at.exception]

        def again(at=at, module=module):
            if module != "home":
                _switch(at, module)
            at.run()
        with _Statements() as counted:
            again()
        times = _times(again, n)
        r = Result(f"page {module}", n, statistics.median(times) * 1000, p95(times) * 1000,
                   note=("EXCEPTION: " + "; ".join(errors)) if errors else "")
        r.extra["statements"] = counted.n
        results.append(r)
    if token:
        results.append(card_page(token, n))
    return results


def card_page(token: str, n: int) -> Result:
    """The resident's light card page (web/, no Streamlit) rendered in this process through
    Starlette's test client: the server's share of a card scan, without the network."""
    from starlette.testclient import TestClient

    from web.app import build

    with TestClient(build(), base_url="http://127.0.0.1") as client:
        def get() -> None:
            r = client.get(f"/me?card={token}")
            assert r.status_code == 200 and "可用积分" in r.text, r.status_code

        get()
        with _Statements() as counted:
            get()
        times = _times(get, n)
    r = Result("page me (card link, light HTML page)", n, statistics.median(times) * 1000, p95(times) * 1000)
    r.extra["statements"] = counted.n
    return r
