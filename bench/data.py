"""Benchmark databases: create (SQLite file or PostgreSQL database), seed in bulk, describe."""

from __future__ import annotations

import datetime as dt
import os
import shutil
from dataclasses import dataclass, field
from pathlib import Path

from sqlalchemy import create_engine, select, text

from core.platform.access import Actor
from core.platform.auth import actor_for
from db.engine import Database
from db.models import Base, Card, Household, Product, StaffUser, Village

SCALES = {
    # name: villages, households per village, ledger entries per household (a year)
    "tiny": (1, 20, 30),
    "village": (1, 200, 100),  # 20k entries: the design's one village
    "township": (30, 670, 100),  # 2M
    "county": (400, 500, 100),  # 200k households, 20M entries
}
DEFAULT_PG = "postgresql+psycopg://postgres@127.0.0.1:5432/postgres"


@dataclass
class BenchDb:
    url: str
    data_dir: Path
    db: Database
    kind: str  # sqlite / postgresql
    cleanup: list = field(default_factory=list)

    def drop(self) -> None:
        """Delete what this harness created (the county databases are large)."""
        self.db.dispose()
        for fn in self.cleanup:
            fn()


def _stamp(database: Database) -> None:
    """Create the schema from the models (indexes included) and mark it as current, so
    the app's start-up migration has nothing to do."""
    import importlib

    from alembic import command

    from db.migrate import alembic_config

    importlib.import_module("db.models")  # the history guards are created with the tables
    Base.metadata.create_all(database.engine)
    cfg = alembic_config()
    with database.engine.begin() as conn:
        cfg.attributes["connection"] = conn
        command.stamp(cfg, "head")


def open_bench_db(kind: str, name: str, base_dir: Path, *, fresh: bool, pg_url: str = DEFAULT_PG) -> BenchDb:
    data_dir = base_dir / f"bench-{name}-{kind}"
    if fresh and data_dir.exists():
        shutil.rmtree(data_dir)
    data_dir.mkdir(parents=True, exist_ok=True)
    if kind == "sqlite":
        url = f"sqlite:///{data_dir / 'jifen.db'}"
        exists = (data_dir / "jifen.db").exists() and not fresh
        bdb = BenchDb(url, data_dir, Database.from_url(url), kind,
                      cleanup=[lambda: shutil.rmtree(data_dir, ignore_errors=True)])
    else:
        dbname = f"bench_{name}".replace("-", "_")
        admin = create_engine(pg_url, isolation_level="AUTOCOMMIT")
        with admin.connect() as conn:
            present = conn.execute(text("SELECT 1 FROM pg_database WHERE datname = :n"), {"n": dbname}).first()
            if fresh and present:
                conn.execute(text(f'DROP DATABASE "{dbname}" WITH (FORCE)'))
                present = None
            if not present:
                conn.execute(text(f'CREATE DATABASE "{dbname}"'))
        admin.dispose()
        exists = bool(present)
        url = pg_url.rsplit("/", 1)[0] + "/" + dbname

        def _drop(dbname=dbname):
            eng = create_engine(pg_url, isolation_level="AUTOCOMMIT")
            with eng.connect() as c:
                c.execute(text(f'DROP DATABASE IF EXISTS "{dbname}" WITH (FORCE)'))
            eng.dispose()
            shutil.rmtree(data_dir, ignore_errors=True)

        bdb = BenchDb(url, data_dir, Database.from_url(url, pool_size=5, max_overflow=5), kind, cleanup=[_drop])
    if not exists:
        _stamp(bdb.db)
    return bdb


def sizes(db: Database) -> dict[str, int]:
    out = {}
    with db.engine.connect() as conn:
        for t in ("village", "household", "resident", "ledger_entry", "proposal", "redemption", "attendance",
                  "household_month"):
            out[t] = conn.execute(text(f"SELECT COUNT(*) FROM {t}")).scalar_one()
    if db.is_sqlite:
        path = db.engine.url.database
        out["db_bytes"] = sum(os.path.getsize(p) for p in (path, path + "-wal") if os.path.exists(p))
    else:
        with db.engine.connect() as conn:
            out["db_bytes"] = conn.execute(text("SELECT pg_database_size(current_database())")).scalar_one()
    return out


@dataclass
class Sample:
    """One village of the benchmark database and what the measurements need from it."""

    village_id: int
    township: str
    actors: dict[str, Actor]
    usernames: dict[str, str]
    tokens: list[str]  # card tokens of households with a balance
    households: list[int]
    cards: dict[int, int]  # household -> card id
    product_id: int  # a cheap, well-stocked product without a monthly limit
    today: dt.date


def sample(db: Database, n: int = 200) -> Sample:
    with db.read() as s:
        v = s.execute(select(Village).order_by(Village.id).limit(1)).scalar_one()
        users = list(s.execute(select(StaffUser).where(StaffUser.village_id == v.id)).scalars())
        actors, names = {}, {}
        for u in users:
            for role in u.roles.split(","):
                actors.setdefault(role, actor_for(u))
                names.setdefault(role, u.username)
        from db.models import Account

        rows = s.execute(
            select(Household.id, Card.id, Card.token).join(Card, (Card.household_id == Household.id)
                                                           & (Card.status == "active"))
            .join(Account, Account.household_id == Household.id)
            .where(Household.village_id == v.id, Account.balance >= 50).order_by(Household.id).limit(n)
        ).all()
        prod = s.execute(select(Product.id).where(Product.village_id == v.id, Product.kind == "goods",
                                                  Product.monthly_limit.is_(None), Product.active)
                         .order_by(Product.price, Product.stock.desc()).limit(1)).scalar_one()
        # restock generously so a long benchmark never runs out (through the real stock function)
        stock = s.execute(select(Product.stock).where(Product.id == prod)).scalar_one()
        today = dt.date.today()
    if stock < 5000:
        from core.supermarket.stock import receive_stock

        receive_stock(db, actors["admin"], prod, 5000, "purchase", reason="基准测试补货")
    return Sample(village_id=v.id, township=v.township, actors=actors, usernames=names,
                  tokens=[r[2] for r in rows], households=[r[0] for r in rows], cards={r[0]: r[1] for r in rows},
                  product_id=prod, today=today)
