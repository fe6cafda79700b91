"""A restore touches the live database only with a file that is a backup of this app and holds
together: its format, its schema revision and `verify` on a scratch copy are checked first, a
safety copy of the live data is kept on both databases, and anything else is refused with a
Chinese reason and the live data untouched. Backups carry the photos and can be checked without
restoring."""

from __future__ import annotations

import os
import shutil
import sqlite3
import subprocess
import sys
import uuid
from pathlib import Path

import pytest
from sqlalchemy import create_engine, text

from core.maintenance import backup
from core.maintenance.verify import verify
from db.engine import Database
from db.migrate import upgrade
from db.models import Account
from tests.conftest import PG_URL, _replace_db
from tests.factories import give_points, make_village

ROOT = Path(__file__).resolve().parent.parent


def _balance(database, hid):
    with database.read() as s:
        return s.get(Account, hid).balance


@pytest.fixture
def live_sqlite(tmp_path):
    data = tmp_path / "data"
    data.mkdir()
    database = Database.from_url(f"sqlite:///{data / 'jifen.db'}")
    upgrade(database)
    v = make_village(database)
    give_points(database, v.household_ids[0], 10, "before")
    yield database, f"sqlite:///{data / 'jifen.db'}", v, data
    database.dispose()


def _database_file(archive: Path, into: Path) -> Path:
    """The database inside a backup (the file itself for an old bare .db backup)."""
    if archive.suffix == ".db":
        return archive
    import zipfile

    with zipfile.ZipFile(archive) as z:
        name = next(n for n in z.namelist() if n.startswith("database."))
        z.extract(name, into)
    return into / name


def _repack(archive: Path, db_file: Path) -> Path:
    """The archive with its database replaced by ``db_file`` (as an attacker or a bad disk would)."""
    if archive.suffix == ".db":
        return db_file
    import zipfile

    out = archive.with_name("tampered-" + archive.name)
    with zipfile.ZipFile(archive) as src, zipfile.ZipFile(out, "w") as dst:
        for item in src.infolist():
            data = db_file.read_bytes() if item.filename.startswith("database.") else src.read(item.filename)
            dst.writestr(item, data)
    return out


def test_a_sqlite_backup_whose_balances_contradict_its_ledger_is_refused(live_sqlite, tmp_path):
    database, url, v, data = live_sqlite
    good = backup.backup(url, data / "backups")
    inner = _database_file(good, tmp_path / "x")
    con = sqlite3.connect(inner)
    con.execute("UPDATE account SET balance = balance + 100 WHERE household_id = ?", (v.household_ids[0],))
    con.commit()
    con.close()
    bad = _repack(good, inner)
    give_points(database, v.household_ids[0], 5, "after")
    with pytest.raises(backup.BackupError, match="不一致"):
        backup.restore(url, bad, data / "backups")
    assert _balance(database, v.household_ids[0]) == 15  # live data untouched


def test_a_sqlite_backup_from_an_unknown_schema_revision_is_refused(live_sqlite, tmp_path):
    database, url, v, data = live_sqlite
    good = backup.backup(url, data / "backups")
    inner = _database_file(good, tmp_path / "x")
    con = sqlite3.connect(inner)
    con.execute("UPDATE alembic_version SET version_num = '9999'")
    con.commit()
    con.close()
    with pytest.raises(backup.BackupError, match="版本"):
        backup.restore(url, _repack(good, inner), data / "backups")
    assert _balance(database, v.household_ids[0]) == 10


def test_random_bytes_and_an_empty_file_are_refused_in_chinese(live_sqlite, tmp_path):
    database, url, v, data = live_sqlite
    (tmp_path / "random.zip").write_bytes(os.urandom(4096))
    (tmp_path / "random.db").write_bytes(os.urandom(4096))
    (tmp_path / "empty.zip").write_bytes(b"")
    for bad in ("random.zip", "random.db", "empty.zip"):
        with pytest.raises(backup.BackupError):
            backup.restore(url, tmp_path / bad, data / "backups")
    assert _balance(database, v.household_ids[0]) == 10


def _photo(data_dir: Path) -> Path:
    from core.committee import photos as photos_mod

    path = data_dir / "photos" / "1" / f"{uuid.uuid4().hex}.jpg"
    path.parent.mkdir(parents=True, exist_ok=True)
    import io

    from PIL import Image

    buf = io.BytesIO()
    Image.new("RGB", (32, 24), "green").save(buf, "JPEG")
    path.write_bytes(buf.getvalue())
    assert photos_mod.check_image(path.read_bytes())
    return path


def test_a_backup_carries_the_photos_and_can_be_checked_without_restoring(live_sqlite, tmp_path):
    database, url, v, data = live_sqlite
    photo = _photo(data)
    archive = backup.backup(url, data / "backups", data_dir=data)
    report = backup.check(url, archive, data / "backups")
    assert report.revision and report.photos == 1 and report.warnings == []
    assert report.counts["household"] == 4
    photo.unlink()
    give_points(database, v.household_ids[0], 5, "after")
    assert _balance(database, v.household_ids[0]) == 15  # checking restored nothing
    result = backup.restore(url, archive, data / "backups", data_dir=data)
    assert _balance(database, v.household_ids[0]) == 10
    assert photo.exists() and result.photos_restored == 1
    assert result.safety.exists()
    assert backup.check(url, result.safety, data / "backups").counts["ledger_entry"] == 2  # the undo is whole


def test_manage_py_checks_a_backup_without_restoring(live_sqlite, tmp_path):
    database, url, v, data = live_sqlite
    env = {**os.environ, "JIFEN_DATA_DIR": str(data), "JIFEN_NO_DEMO": "1"}
    env.pop("JIFEN_DATABASE_URL", None)
    out = subprocess.run([sys.executable, "manage.py", "backup"], cwd=ROOT, env=env, capture_output=True, text=True)
    assert out.returncode == 0, out.stderr
    made = max((data / "backups").iterdir(), key=lambda p: p.stat().st_mtime)
    out = subprocess.run([sys.executable, "manage.py", "check-backup", str(made)], cwd=ROOT, env=env,
                         capture_output=True, text=True)
    assert out.returncode == 0, out.stderr
    assert "核对一致" in out.stdout
    (tmp_path / "noise.zip").write_bytes(os.urandom(2000))
    out = subprocess.run([sys.executable, "manage.py", "check-backup", str(tmp_path / "noise.zip")], cwd=ROOT,
                         env=env, capture_output=True, text=True)
    assert out.returncode != 0 and "Traceback" not in out.stderr and "错误" in out.stderr


# ---------------------------------------------------------------- PostgreSQL


@pytest.fixture
def live_pg(tmp_path):
    if not PG_URL:
        pytest.skip("PostgreSQL tests need JIFEN_TEST_DATABASE_URL")
    if shutil.which("pg_dump") is None:
        pytest.skip("pg_dump not on PATH")
    name = f"jifen_rs_{uuid.uuid4().hex[:8]}"
    admin = create_engine(PG_URL, isolation_level="AUTOCOMMIT")
    with admin.connect() as c:
        c.execute(text(f'CREATE DATABASE "{name}"'))
    url = _replace_db(PG_URL, name)
    database = Database.from_url(url)
    upgrade(database)
    v = make_village(database)
    give_points(database, v.household_ids[0], 10, "before")
    yield database, url, v
    database.dispose()
    with admin.connect() as c:
        c.execute(text(f'DROP DATABASE IF EXISTS "{name}" WITH (FORCE)'))
        for (leftover,) in c.execute(text("SELECT datname FROM pg_database WHERE datname LIKE :n"),
                                     {"n": f"{name}%"}):
            c.execute(text(f'DROP DATABASE IF EXISTS "{leftover}" WITH (FORCE)'))
    admin.dispose()


def test_a_postgresql_restore_keeps_a_safety_copy(live_pg, tmp_path):
    database, url, v = live_pg
    archive = backup.backup(url, tmp_path)
    give_points(database, v.household_ids[0], 5, "after")
    result = backup.restore(url, archive, tmp_path)
    safety = getattr(result, "safety", result)
    assert safety is not None and Path(safety).exists()
    assert _balance(database, v.household_ids[0]) == 10
    assert verify(database) == []


def test_postgresql_refuses_sql_scripts_empty_files_and_noise_and_changes_nothing(live_pg, tmp_path):
    database, url, v = live_pg
    (tmp_path / "drop.sql").write_text("DROP TABLE household CASCADE;\n")
    (tmp_path / "empty.dump").write_bytes(b"")
    (tmp_path / "noise.dump").write_bytes(os.urandom(3000))
    for bad in ("drop.sql", "empty.dump", "noise.dump"):
        with pytest.raises(backup.BackupError):
            backup.restore(url, tmp_path / bad, tmp_path)
    assert _balance(database, v.household_ids[0]) == 10
    assert verify(database) == []


def test_a_postgresql_backup_whose_balances_contradict_its_ledger_is_refused(live_pg, tmp_path):
    database, url, v = live_pg
    hid = v.household_ids[0]
    with database.write() as s:
        s.execute(text("UPDATE account SET balance = balance + 100 WHERE household_id = :h"), {"h": hid})
    bad = backup.backup(url, tmp_path)
    with database.write() as s:
        s.execute(text("UPDATE account SET balance = balance - 100 WHERE household_id = :h"), {"h": hid})
    with pytest.raises(backup.BackupError, match="不一致"):
        backup.restore(url, bad, tmp_path)
    assert _balance(database, hid) == 10
