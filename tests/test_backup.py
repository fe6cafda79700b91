"""Backup and restore round trips, on SQLite (online backup API) and PostgreSQL (pg_dump)."""

from __future__ import annotations

import os
import shutil
import sqlite3
import subprocess
import sys
import uuid
from pathlib import Path

import pytest
from sqlalchemy import create_engine, func, select, text

from core.maintenance import backup
from core.maintenance.verify import verify
from db.engine import Database
from db.migrate import upgrade
from db.models import Account, Household
from tests.conftest import PG_URL, _replace_db
from tests.factories import give_points, make_village

ROOT = Path(__file__).resolve().parent.parent


def _migrated_sqlite(path: Path) -> Database:
    database = Database.from_url(f"sqlite:///{path}")
    upgrade(database)
    return database


def _balance(database, hid):
    with database.read() as s:
        return s.get(Account, hid).balance


def test_a_sqlite_backup_restores_the_data_as_it_was(tmp_path):
    database = _migrated_sqlite(tmp_path / "jifen.db")
    v = make_village(database)
    hid = v.household_ids[0]
    give_points(database, hid, 10, "before")
    url = f"sqlite:///{tmp_path / 'jifen.db'}"
    target = backup.backup(url, tmp_path / "backups", data_dir=tmp_path)
    assert target.name.startswith("jifen-") and target.suffix == ".zip"
    give_points(database, hid, 5, "after")  # the app keeps working after the backup
    assert _balance(database, hid) == 15
    safety = backup.restore(url, target, tmp_path / "backups", data_dir=tmp_path).safety
    assert safety is not None and safety.exists()
    assert _balance(database, hid) == 10  # the open engine sees the restored data
    assert verify(database) == []
    database.dispose()


def test_restore_refuses_a_file_that_is_not_a_jifen_database(tmp_path):
    database = _migrated_sqlite(tmp_path / "jifen.db")
    make_village(database)
    url = f"sqlite:///{tmp_path / 'jifen.db'}"
    (tmp_path / "notes.txt").write_text("hello")
    other = tmp_path / "other.db"
    sqlite3.connect(other).execute("CREATE TABLE x (a)").connection.commit()
    truncated = tmp_path / "cut.db"
    good = backup.backup(url, tmp_path / "backups", data_dir=tmp_path)
    truncated.write_bytes(good.read_bytes()[:3000])
    for bad in (tmp_path / "notes.txt", other, truncated, tmp_path / "missing.db"):
        with pytest.raises(backup.BackupError):
            backup.restore(url, bad, tmp_path / "backups")
    with database.read() as s:
        assert s.execute(select(func.count()).select_from(Household)).scalar_one() == 4
    database.dispose()


def test_manage_py_backup_and_restore_round_trip(tmp_path):
    env = {**os.environ, "JIFEN_DATA_DIR": str(tmp_path / "data"), "JIFEN_NO_DEMO": "1"}
    env.pop("JIFEN_DATABASE_URL", None)
    database = _migrated_sqlite_dir(tmp_path / "data")
    v = make_village(database)
    give_points(database, v.household_ids[1], 7, "x")
    out = subprocess.run([sys.executable, "manage.py", "backup"], cwd=ROOT, env=env, capture_output=True, text=True)
    assert out.returncode == 0, out.stderr
    files = list((tmp_path / "data" / "backups").glob("jifen-*.zip"))
    assert len(files) == 1
    give_points(database, v.household_ids[1], 3, "y")
    out = subprocess.run([sys.executable, "manage.py", "restore", str(files[0]), "--yes"], cwd=ROOT, env=env,
                         capture_output=True, text=True)
    assert out.returncode == 0, out.stderr
    assert _balance(database, v.household_ids[1]) == 7
    out = subprocess.run([sys.executable, "manage.py", "verify"], cwd=ROOT, env=env, capture_output=True, text=True)
    assert out.returncode == 0, out.stdout
    database.dispose()


def test_a_bare_database_file_from_an_earlier_version_still_restores(tmp_path):
    database = _migrated_sqlite(tmp_path / "jifen.db")
    v = make_village(database)
    give_points(database, v.household_ids[0], 10, "before")
    url = f"sqlite:///{tmp_path / 'jifen.db'}"
    old = tmp_path / "jifen-20250101-020000.db"  # what `manage.py backup` wrote before archives
    src, dst = sqlite3.connect(tmp_path / "jifen.db"), sqlite3.connect(old)
    src.backup(dst)
    src.close()
    dst.close()
    give_points(database, v.household_ids[0], 5, "after")
    result = backup.restore(url, old, tmp_path / "backups", data_dir=tmp_path)
    assert _balance(database, v.household_ids[0]) == 10
    assert result.photos_restored == 0 and "不含照片" in result.report.warnings[0]
    database.dispose()


def _migrated_sqlite_dir(data_dir: Path) -> Database:
    data_dir.mkdir(parents=True)
    return _migrated_sqlite(data_dir / "jifen.db")


@pytest.fixture
def pg_url():
    if not PG_URL:
        pytest.skip("PostgreSQL tests need JIFEN_TEST_DATABASE_URL")
    if shutil.which("pg_dump") is None:
        pytest.skip("pg_dump not on PATH")
    name = f"jifen_bk_{uuid.uuid4().hex[:8]}"
    admin = create_engine(PG_URL, isolation_level="AUTOCOMMIT")
    with admin.connect() as c:
        c.execute(text(f'CREATE DATABASE "{name}"'))
    yield _replace_db(PG_URL, name)
    with admin.connect() as c:
        c.execute(text(f'DROP DATABASE IF EXISTS "{name}" WITH (FORCE)'))
    admin.dispose()


def test_a_postgresql_backup_restores_the_data_as_it_was(pg_url, tmp_path):
    database = Database.from_url(pg_url)
    upgrade(database)
    v = make_village(database)
    hid = v.household_ids[0]
    give_points(database, hid, 10, "before")
    target = backup.backup(pg_url, tmp_path, data_dir=tmp_path)
    import zipfile

    with zipfile.ZipFile(target) as z:
        assert target.suffix == ".zip" and z.read("database.dump")[:5] == b"PGDMP"
    give_points(database, hid, 5, "after")
    database.dispose()
    backup.restore(pg_url, target, tmp_path, data_dir=tmp_path)
    database = Database.from_url(pg_url)
    assert _balance(database, hid) == 10
    assert verify(database) == []
    give_points(database, hid, 1, "after-restore")  # triggers and sequences came back too
    database.dispose()


def test_a_missing_pg_dump_gives_a_clear_error(monkeypatch, tmp_path):
    monkeypatch.setattr(backup.shutil, "which", lambda name: None)
    with pytest.raises(backup.BackupError, match="找不到 pg_dump"):
        backup.backup("postgresql+psycopg://u:secret@127.0.0.1/x", tmp_path)
