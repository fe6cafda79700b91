"""Starting the app on a data dir: folders, the secret, the schema brought to head, interrupted photo
writes finished, and the demo village on an empty database (unless it was removed on purpose)."""

from __future__ import annotations

from sqlalchemy import func, select

from core.committee.photos import recover
from core.platform.config import Config
from db.engine import Database
from db.migrate import current_revisions, head_revisions, upgrade
from db.models import Village


def prepare(cfg: Config, create_demo: bool = True, history_in_background: bool = False) -> Database:
    """Schema to head, crashed photo writes recovered, and on an empty database the demo village
    (``history_in_background``: the app's first start — accounts now, history in a thread)."""
    cfg.data_dir.mkdir(parents=True, exist_ok=True)
    cfg.photo_dir.mkdir(parents=True, exist_ok=True)
    cfg.secret_key()
    db = Database.from_url(cfg.database_url)
    if current_revisions(db) != head_revisions():
        upgrade(db)
    recover(db, cfg.data_dir)  # finish or drop photo writes a crash interrupted
    # "删除示范数据" leaves a marker: the demo must not come back on the next start.
    if create_demo and not (cfg.data_dir / "demo-removed").exists():
        with db.read() as s:
            empty = s.execute(select(func.count()).select_from(Village)).scalar_one() == 0
        if empty and history_in_background:
            from startup.demo import start_demo

            start_demo(db, cfg.data_dir)
        elif empty:
            from startup.demo import build_demo

            build_demo(db)
    return db
