"""Bring a database to the current schema, and fill an empty one with the demo village."""

from __future__ import annotations

import ast
from pathlib import Path
from typing import TYPE_CHECKING

from sqlalchemy import func, inspect, select, text

from core.config import Config
from db.engine import Database
from db.models import Village

if TYPE_CHECKING:
    from alembic.config import Config as AlembicConfig

ROOT = Path(__file__).resolve().parent.parent
VERSIONS = ROOT / "db" / "migrations" / "versions"


def alembic_config() -> AlembicConfig:
    from alembic.config import Config as AlembicConfig

    cfg = AlembicConfig(str(ROOT / "alembic.ini"))
    cfg.set_main_option("script_location", str(ROOT / "db" / "migrations"))
    return cfg


def _revision_graph() -> dict[str, tuple[str, ...]]:
    """revision → its down revisions, read from each file's ``revision`` and ``down_revision``
    assignments without importing Alembic."""
    graph: dict[str, tuple[str, ...]] = {}
    for path in VERSIONS.glob("*.py"):
        found: dict[str, object] = {}
        for node in ast.parse(path.read_text(encoding="utf-8")).body:
            target = node.target if isinstance(node, ast.AnnAssign) else (
                node.targets[0] if isinstance(node, ast.Assign) and len(node.targets) == 1 else None)
            if isinstance(target, ast.Name) and target.id in ("revision", "down_revision") and node.value:
                found[target.id] = ast.literal_eval(node.value)
        if "revision" not in found:
            continue
        down = found.get("down_revision")
        graph[str(found["revision"])] = (down,) if isinstance(down, str) else tuple(down or ())
    return graph


def head_revisions() -> set[str]:
    """The head revision(s) of ``db/migrations/versions``, without importing Alembic: an app
    process whose database is already current never loads it (about 14 MB it would keep for the
    process's life)."""
    graph = _revision_graph()
    parents = {p for downs in graph.values() for p in downs}
    return set(graph) - parents


def all_revisions() -> set[str]:
    """Every revision this program knows (a backup from any of them can be upgraded to head)."""
    return set(_revision_graph())


def current_revisions(db: Database) -> set[str]:
    """The revision(s) recorded in the database (empty for a new database)."""
    with db.engine.connect() as conn:
        if not inspect(conn).has_table("alembic_version"):
            return set()
        return set(conn.execute(text("SELECT version_num FROM alembic_version")).scalars())


def upgrade(db: Database, revision: str = "head") -> None:
    """Upgrade the schema in one transaction (PostgreSQL) or as far as SQLite allows."""
    from alembic import command

    cfg = alembic_config()
    with db.engine.begin() as conn:
        cfg.attributes["connection"] = conn
        command.upgrade(cfg, revision)


def prepare(cfg: Config, create_demo: bool = True, history_in_background: bool = False) -> Database:
    """Schema to head, crashed photo writes recovered, and on an empty database the demo village
    (``history_in_background``: the app's first start — accounts now, history in a thread)."""
    cfg.data_dir.mkdir(parents=True, exist_ok=True)
    cfg.photo_dir.mkdir(parents=True, exist_ok=True)
    cfg.secret_key()
    db = Database.from_url(cfg.database_url)
    if current_revisions(db) != head_revisions():
        upgrade(db)
    from core.photos import recover

    recover(db, cfg.data_dir)  # finish or drop photo writes a crash interrupted
    # "删除示范数据" leaves a marker: the demo must not come back on the next start.
    if create_demo and not (cfg.data_dir / "demo-removed").exists():
        with db.read() as s:
            empty = s.execute(select(func.count()).select_from(Village)).scalar_one() == 0
        if empty and history_in_background:
            from db.demo import start_demo

            start_demo(db, cfg.data_dir)
        elif empty:
            from db.demo import build_demo

            build_demo(db)
    return db
