"""Helpers for AppTest tests: a demo database built once, and logged-in app runs."""

from __future__ import annotations

import html
import os
import re
import shutil
from pathlib import Path

from sqlalchemy import select
from streamlit.testing.v1 import AppTest

from core.platform import config as config_mod
from db.models import StaffUser
from ui import state

ROOT = Path(__file__).resolve().parent.parent
DEMO_ROLES = {
    "admin": "admin",
    "committee": "pingyi1",
    "grid_worker": "wangge1",
    "cashier": "shouyin",
    "volunteer_lead": "zhiyuan",
    "field_lead": "yitian",
    "township_viewer": "zhenjie",
    "township_admin": "zhenguan",
    "county_admin": "quguan",
}


def use_data_dir(monkeypatch, data_dir: Path, demo: bool = True) -> None:
    monkeypatch.setenv("JIFEN_DATA_DIR", str(data_dir))
    monkeypatch.delenv("JIFEN_DATABASE_URL", raising=False)
    monkeypatch.setenv("JIFEN_NO_DEMO", "0" if demo else "1")


def copy_data_dir(src: Path, dst: Path) -> Path:
    shutil.copytree(src, dst)
    return dst


def db_for_env():
    from startup.prepare import prepare

    return prepare(config_mod.load(), create_demo=os.environ.get("JIFEN_NO_DEMO") != "1")


def user_id(db, username: str) -> int:
    with db.read() as s:
        return s.execute(select(StaffUser.id).where(StaffUser.username == username)).scalar_one()


def log_in(at: AppTest, user: int) -> AppTest:
    """Give the tab a real login session of this user, as the login form does (every rerun
    checks it in the database)."""
    from core.platform.auth import start_session
    from db.engine import Database

    database = Database.from_url(config_mod.load().database_url)
    try:
        sid, _code = start_session(database, user)
    finally:
        database.dispose()
    at.session_state[state.USER_ID] = user
    at.session_state[state.SESSION_ID] = sid
    return at


def app(user: int | None = None, timeout: float = 60) -> AppTest:
    at = AppTest.from_file(str(ROOT / "app.py"), default_timeout=timeout)
    if user is not None:
        log_in(at, user)
    return at


def shown(markdown: str) -> str:
    """What a Markdown element's source looks like on screen, as far as escaping goes: user text
    is escaped for Markdown (ui.widgets.md_escape), so ``6\\.0`` and ``&lt;`` read ``6.0`` and ``<``
    (and the invisible word joiners that keep addresses from becoming links are not seen)."""
    return html.unescape(_ESCAPED.sub(r"\1", markdown)).replace("\u2060", "")


_ESCAPED = re.compile(r"\\([\\`*_{}\[\]()#+\-.!|~$:@])")


def texts(at: AppTest) -> str:
    """Everything the page wrote, as one string, for 'the user sees X' assertions."""
    parts = []
    for kind in ("title", "header", "subheader", "markdown", "caption", "info", "success", "warning", "error",
                 "metric", "text"):
        for el in getattr(at, kind):
            parts.append(shown(str(getattr(el, "value", ""))) + " " + shown(str(getattr(el, "label", ""))))
    return "\n".join(parts)
