"""Databases for tests that need one with no tables at all (migrations, start-up probes)."""

from __future__ import annotations

import os
import uuid
from contextlib import contextmanager

import pytest
from sqlalchemy import create_engine, text

from db.engine import Database

PG_URL = os.environ.get("JIFEN_TEST_DATABASE_URL", "")


@contextmanager
def empty_database(kind: str, tmp_path):
    """A database with no tables at all."""
    if kind == "sqlite":
        database = Database.from_url(f"sqlite:///{tmp_path / 'upgrade.db'}")
        yield database
        database.dispose()
        return
    if not PG_URL:
        if os.environ.get("JIFEN_REQUIRE_POSTGRES") == "1":
            pytest.fail("JIFEN_REQUIRE_POSTGRES=1 but JIFEN_TEST_DATABASE_URL is not set")
        pytest.skip("PostgreSQL tests need JIFEN_TEST_DATABASE_URL")
    name = f"jifen_mig_{uuid.uuid4().hex[:10]}"
    admin = create_engine(PG_URL, isolation_level="AUTOCOMMIT")
    with admin.connect() as conn:
        conn.execute(text(f'CREATE DATABASE "{name}"'))
    database = Database.from_url(PG_URL.rsplit("/", 1)[0] + f"/{name}")
    try:
        yield database
    finally:
        database.dispose()
        with admin.connect() as conn:
            conn.execute(text(f'DROP DATABASE IF EXISTS "{name}" WITH (FORCE)'))
        admin.dispose()
