"""Process-wide resources for the Streamlit app: the database, migrated and seeded once."""

from __future__ import annotations

import streamlit as st

from core.platform import config as config_mod
from db.engine import Database


@st.cache_resource(show_spinner="正在准备数据库（首次启动会生成示范村数据，约需半分钟）…")
def _database(url: str, data_dir: str, create_demo: bool) -> Database:
    from startup.prepare import prepare

    return prepare(config_mod.load(), create_demo=create_demo)


def config() -> config_mod.Config:
    return config_mod.load()


def db() -> Database:
    cfg = config_mod.load()
    return _database(cfg.database_url, str(cfg.data_dir), cfg.create_demo)
