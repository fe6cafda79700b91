"""Shared fixtures.

``db`` runs a test twice: on a fresh SQLite file and on PostgreSQL. The PostgreSQL URL
comes from JIFEN_TEST_DATABASE_URL (a server where we may create databases); each test
process creates its own database, and tables are emptied between tests.
"""

from __future__ import annotations

import os
import uuid
from pathlib import Path

import pytest
from sqlalchemy import create_engine, text

from db.engine import Database
from db.models import Base

PG_URL = os.environ.get("JIFEN_TEST_DATABASE_URL", "")


def pytest_collection_modifyitems(items):
    """Mark every test that runs on PostgreSQL (the ``postgresql`` side of ``db``, or a direct user
    of ``pg_database_url``) so the developer loop can leave them out: ``-m "not postgresql"``."""
    for item in items:
        spec = getattr(item, "callspec", None)
        on_pg = spec is not None and any(v == "postgresql" for v in spec.params.values() if isinstance(v, str))
        if on_pg or "pg_database_url" in getattr(item, "fixturenames", ()):
            item.add_marker(pytest.mark.postgresql)


def _replace_db(url: str, name: str) -> str:
    base, _, _ = url.rpartition("/")
    return f"{base}/{name}"


@pytest.fixture(scope="session")
def pg_database_url():
    if not PG_URL:
        if os.environ.get("JIFEN_REQUIRE_POSTGRES") == "1":
            pytest.fail("JIFEN_REQUIRE_POSTGRES=1 but no PostgreSQL server was found (JIFEN_TEST_DATABASE_URL)")
        pytest.skip("PostgreSQL tests need JIFEN_TEST_DATABASE_URL (e.g. postgresql+psycopg://postgres@127.0.0.1:5432/test)")
    name = f"jifen_test_{uuid.uuid4().hex[:10]}"
    admin = create_engine(PG_URL, isolation_level="AUTOCOMMIT")
    with admin.connect() as conn:
        conn.execute(text(f'CREATE DATABASE "{name}"'))
    url = _replace_db(PG_URL, name)
    engine = create_engine(url)
    Base.metadata.create_all(engine)
    engine.dispose()
    yield url
    with admin.connect() as conn:
        conn.execute(text(f'DROP DATABASE IF EXISTS "{name}" WITH (FORCE)'))
    admin.dispose()


def _truncate_all(database: Database) -> None:
    names = ", ".join(f'"{t.name}"' for t in Base.metadata.sorted_tables)
    with database.engine.begin() as conn:
        conn.execute(text(f"TRUNCATE {names} RESTART IDENTITY CASCADE"))


@pytest.fixture(params=["sqlite", "postgresql"])
def db(request, tmp_path):
    from core.public.resident_page import forget_rules

    forget_rules()  # a process-wide cache keyed by URL and village id: the PostgreSQL database is reused
    if request.param == "sqlite":
        database = Database.from_url(f"sqlite:///{tmp_path / 'test.db'}")
        Base.metadata.create_all(database.engine)
    else:
        url = request.getfixturevalue("pg_database_url")
        database = Database.from_url(url, pool_size=5, max_overflow=5)
        _truncate_all(database)
    yield database
    database.dispose()


@pytest.fixture
def sqlite_db(tmp_path):
    database = Database.from_url(f"sqlite:///{tmp_path / 'test.db'}")
    Base.metadata.create_all(database.engine)
    yield database
    database.dispose()


@pytest.fixture
def village(db):
    from tests.factories import make_village

    return make_village(db)


@pytest.fixture(scope="session")
def browser():
    """One headless Chromium per test process (Playwright's sync API allows one instance per thread)."""
    from tests.e2e.conftest import CHROMIUM, CHROMIUM_ARGS

    if not Path(CHROMIUM).exists():
        pytest.fail(f"Chromium not found at {CHROMIUM}: install Debian's chromium (scripts/test.sh does)")
    from playwright.sync_api import sync_playwright

    with sync_playwright() as p:
        b = p.chromium.launch(executable_path=CHROMIUM, args=CHROMIUM_ARGS)
        yield b
        b.close()


@pytest.fixture(scope="session")
def demo_dir(tmp_path_factory):
    """A data dir with the demo village, built once per test process (AppTest page tests copy it)."""
    from tests.app_helpers import db_for_env, use_data_dir

    d = tmp_path_factory.mktemp("demo-src") / "data"
    mp = pytest.MonkeyPatch()
    use_data_dir(mp, d, demo=True)
    db_for_env().dispose()
    mp.undo()
    return d


@pytest.fixture
def demo_db(demo_dir, tmp_path, monkeypatch):
    """A private copy of the demo data dir, the app pointed at it; its Database."""
    from tests.app_helpers import copy_data_dir, db_for_env, use_data_dir

    use_data_dir(monkeypatch, copy_data_dir(demo_dir, tmp_path / "data"), demo=True)
    db = db_for_env()
    yield db
    db.dispose()
