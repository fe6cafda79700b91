"""Bring a database to the current schema, and fill an empty one with the demo village."""

from __future__ import annotations

from pathlib import Path

from alembic import command
from alembic.config import Config as AlembicConfig
from sqlalchemy import func, select

from core.config import Config
from db.engine import Database
from db.models import Village

ROOT = Path(__file__).resolve().parent.parent


def alembic_config() -> AlembicConfig:
    cfg = AlembicConfig(str(ROOT / "alembic.ini"))
    cfg.set_main_option("script_location", str(ROOT / "db" / "migrations"))
    return cfg


def upgrade(db: Database, revision: str = "head") -> None:
    """Upgrade the schema in one transaction (PostgreSQL) or as far as SQLite allows."""
    cfg = alembic_config()
    with db.engine.begin() as conn:
        cfg.attributes["connection"] = conn
        command.upgrade(cfg, revision)


def prepare(cfg: Config, create_demo: bool = True) -> Database:
    cfg.data_dir.mkdir(parents=True, exist_ok=True)
    cfg.photo_dir.mkdir(parents=True, exist_ok=True)
    cfg.secret_key()
    db = Database.from_url(cfg.database_url)
    upgrade(db)
    from core.photos import recover

    recover(db, cfg.data_dir)  # finish or drop photo writes a crash interrupted
    # "删除示范数据" leaves a marker: the demo must not come back on the next start.
    if create_demo and not (cfg.data_dir / "demo-removed").exists():
        with db.read() as s:
            empty = s.execute(select(func.count()).select_from(Village)).scalar_one() == 0
        if empty:
            from db.demo import build_demo

            build_demo(db)
    return db
