"""Process-wide resources for the Streamlit app: the database, migrated and seeded once."""

from __future__ import annotations

import streamlit as st

from core.platform import config as config_mod
from db.engine import Database


@st.cache_resource(show_spinner="正在准备数据库…")
def _database(url: str, data_dir: str, create_demo: bool) -> Database:
    from startup.prepare import prepare

    # On an empty database the demo's accounts are created now and its history in the background:
    # the login page is usable within seconds of the first start (ui.frame says when it is not complete).
    return prepare(config_mod.load(), create_demo=create_demo, history_in_background=True)


def demo_state() -> str:
    """'building' / 'incomplete' while the demo village's history is missing, else ''."""
    cfg = config_mod.load()
    if not (cfg.data_dir / "demo-building").exists():
        return ""
    from startup.demo import demo_state as state_of

    return state_of(cfg.data_dir)


def config() -> config_mod.Config:
    return config_mod.load()


def db() -> Database:
    cfg = config_mod.load()
    return _database(cfg.database_url, str(cfg.data_dir), cfg.create_demo)
