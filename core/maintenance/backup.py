"""Backups and restores (数据备份与恢复).

A backup is one zip file, ``<data>/backups/jifen-YYYYmmdd-HHMMSS.zip``:

- ``manifest.json``: that it is a backup of this app, its format, the database kind, the schema
  revision, when it was made, row counts and the photos it holds;
- ``database.db`` (SQLite, a consistent copy made by SQLite's online backup API while the app
  keeps running) or ``database.dump`` (PostgreSQL, ``pg_dump --format=custom``);
- ``photos/…``: every evidence and weighing photo of the data dir, as stored.

:func:`check` tells whether a file is a backup that can be restored, without touching the live
database: the format (a zip with our manifest, or a bare ``.db`` / ``.dump`` made by earlier
versions), every file's checksum, the schema revision (one this program knows), and then the data
itself — restored into a scratch copy (a temporary file; on PostgreSQL a temporary database),
upgraded to the current schema, and run through ``core.maintenance.verify``: a backup whose balances
contradict its ledger is refused like a damaged one.

:func:`restore` does the same checks first, then saves the live database as a ``before-restore``
backup (both kinds), puts back the photos that are missing, and replaces the database with the
checked copy: on SQLite one locked page copy through the backup API (other connections see it
at once; replacing the file would corrupt a database in WAL mode open elsewhere), on PostgreSQL
one ``pg_restore --single-transaction``. Anything refused is refused with a Chinese reason
before the live data is touched.
"""

from __future__ import annotations

import datetime as dt
import json
import os
import shutil
import sqlite3
import tempfile
import zipfile
from dataclasses import dataclass, field
from pathlib import Path

from sqlalchemy import func, select, text
from sqlalchemy.engine import make_url

from core.maintenance import backup_pg
from core.platform.errors import BackupError

__all__ = ["BackupError", "Report", "RestoreResult", "backup", "check", "restore"]

APP = "jifen"
FORMAT = 1
MANIFEST = "manifest.json"
REQUIRED_TABLES = {"village", "household", "account", "ledger_entry", "staff_user", "alembic_version"}
COUNTED = ("village", "household", "resident", "ledger_entry", "redemption", "proposal", "staff_user")
NOT_A_BACKUP = "这不是本系统的备份文件（应为 manage.py backup 生成的 .zip 文件，或旧版本生成的 .db / .dump 文件）。"


@dataclass
class Report:
    """What a checked backup holds."""

    dialect: str
    revision: str
    made_at: str
    counts: dict[str, int]
    photos: int
    warnings: list[str] = field(default_factory=list)


@dataclass
class RestoreResult:
    report: Report
    safety: Path | None  # the live data as it was before, itself a backup
    photos_restored: int


def _stamp() -> str:
    return dt.datetime.now().strftime("%Y%m%d-%H%M%S")


def _unique(path: Path) -> Path:
    n, out = 1, path
    while out.exists():
        out = path.with_name(f"{path.stem}-{n}{path.suffix}")
        n += 1
    return out


def _dialect(database_url: str) -> str:
    if database_url.startswith("sqlite"):
        return "sqlite"
    if database_url.startswith("postgresql"):
        return "postgresql"
    raise BackupError("不支持的数据库类型。")


def sqlite_path(url: str) -> Path:
    u = make_url(url)
    if not u.drivername.startswith("sqlite") or not u.database or u.database == ":memory:":
        raise BackupError("只能备份文件形式的 SQLite 数据库。")
    return Path(u.database)


def _photo_files(data_dir: Path) -> list[tuple[str, Path]]:
    root = data_dir / "photos"
    if not root.is_dir():
        return []
    return sorted((p.relative_to(data_dir).as_posix(), p) for p in root.rglob("*")
                  if p.is_file() and not p.name.endswith(".part"))


def _describe(database_url: str) -> tuple[str, dict[str, int]]:
    """(schema revision, row counts) of a database."""
    from db.engine import Database

    db = Database.from_url(database_url)
    try:
        with db.engine.connect() as conn:
            revision = conn.execute(text("SELECT version_num FROM alembic_version")).scalar() or ""
            counts = {t: conn.execute(select(func.count()).select_from(text(t))).scalar_one() for t in COUNTED}
        return revision, counts
    finally:
        db.dispose()


# ---------------------------------------------------------------- making a backup


def backup(database_url: str, backup_dir: Path, prefix: str = "jifen", data_dir: Path | None = None,
           photos: bool = True) -> Path:
    """Write a backup archive of the database (and the photos of ``data_dir``) into ``backup_dir``."""
    dialect = _dialect(database_url)
    backup_dir = Path(backup_dir)
    backup_dir.mkdir(parents=True, exist_ok=True)
    if data_dir is None:
        from core.platform.config import load

        data_dir = load().data_dir
    target = _unique(backup_dir / f"{prefix}-{_stamp()}.zip")
    work = Path(tempfile.mkdtemp(prefix=".backup-", dir=backup_dir))
    try:
        if dialect == "sqlite":
            db_file = work / "database.db"
            _sqlite_copy(sqlite_path(database_url), db_file)
            revision, counts = _describe(f"sqlite:///{db_file}")
        else:
            backup_pg.tool("pg_dump")  # a clear error before anything else when the tools are missing
            db_file = work / "database.dump"
            revision, counts = _describe(database_url)
            backup_pg.dump(database_url, db_file)
        files = _photo_files(Path(data_dir)) if photos else []
        manifest = {"app": APP, "format": FORMAT, "dialect": dialect, "revision": revision,
                    "made_at": dt.datetime.now().isoformat(timespec="seconds"), "counts": counts,
                    "database": db_file.name, "photos": [rel for rel, _ in files], "photos_included": photos}
        part = target.with_suffix(".part")
        with zipfile.ZipFile(part, "w", allowZip64=True) as z:
            z.writestr(MANIFEST, json.dumps(manifest, ensure_ascii=False, indent=1))
            z.write(db_file, db_file.name,
                    compress_type=zipfile.ZIP_DEFLATED if dialect == "sqlite" else zipfile.ZIP_STORED)
            for rel, path in files:  # JPEG, PNG and WebP are compressed already
                z.write(path, rel, compress_type=zipfile.ZIP_STORED)
        os.replace(part, target)  # a half-written backup never carries the final name
        return target
    finally:
        shutil.rmtree(work, ignore_errors=True)


def _sqlite_copy(src_path: Path, target: Path) -> None:
    if not src_path.exists():
        raise BackupError(f"找不到数据库文件：{src_path}")
    src = sqlite3.connect(str(src_path), timeout=30)
    dst = sqlite3.connect(str(target))
    try:
        src.backup(dst)
    finally:
        dst.close()
        src.close()


# ---------------------------------------------------------------- checking


@dataclass
class _Opened:
    dialect: str
    database: Path  # a scratch copy of the backup's database, ours to change
    manifest: dict | None  # None: a bare .db / .dump of an earlier version
    archive: Path | None
    photos: list[str]


def _open(file: Path, work: Path) -> _Opened:
    file = Path(file)
    if not file.is_file():
        raise BackupError(f"找不到备份文件：{file}")
    if file.stat().st_size == 0:
        raise BackupError("备份文件是空的。")
    with open(file, "rb") as f:
        head = f.read(16)
    if head.startswith(b"PK\x03\x04"):
        return _open_zip(file, work)
    if head == b"SQLite format 3\x00":
        copy = work / "database.db"
        shutil.copyfile(file, copy)
        return _Opened("sqlite", copy, None, None, [])
    if head.startswith(b"PGDMP"):
        return _Opened("postgresql", file, None, None, [])
    raise BackupError(NOT_A_BACKUP)


def _open_zip(file: Path, work: Path) -> _Opened:
    try:
        with zipfile.ZipFile(file) as z:
            try:
                manifest = json.loads(z.read(MANIFEST).decode("utf-8"))
            except (KeyError, ValueError, UnicodeDecodeError):
                raise BackupError(NOT_A_BACKUP) from None
            if not isinstance(manifest, dict) or manifest.get("app") != APP:
                raise BackupError(NOT_A_BACKUP)
            if manifest.get("format") != FORMAT:
                raise BackupError(f"备份格式 {manifest.get('format')!r} 不认识：它可能来自更新版本的程序，请先升级程序。")
            bad = z.testzip()  # reads every file against its checksum
            if bad is not None:
                raise BackupError(f"备份文件已损坏：{bad} 校验不符。")
            name = manifest.get("database")
            if name not in ("database.db", "database.dump") or name not in z.namelist():
                raise BackupError("备份文件不完整：缺少数据库。")
            z.extract(name, work)
            photos = [n for n in z.namelist() if n.startswith("photos/") and not n.endswith("/")]
    except zipfile.BadZipFile:
        raise BackupError(NOT_A_BACKUP) from None
    except OSError as e:
        raise BackupError(f"备份文件读不出来：{e}") from None
    dialect = "sqlite" if name == "database.db" else "postgresql"
    if manifest.get("dialect") not in (None, dialect):
        raise BackupError("备份文件前后矛盾：说明与其中的数据库类型不符。")
    return _Opened(dialect, work / name, manifest, file, photos)


def _check_revision(revision: str) -> None:
    from db.migrate import all_revisions

    if not revision:
        raise BackupError("备份中缺少数据库版本信息，不是完整的本系统数据库。")
    if revision not in all_revisions():
        raise BackupError(f"备份的数据库版本“{revision[:20]}”不是本程序认识的版本：它可能来自更新版本的程序，请先升级程序。")


def _verified(scratch_url: str) -> tuple[str, dict[str, int]]:
    """Bring a scratch copy to the current schema and check it; (revision it had, counts)."""
    from core.maintenance.verify import verify
    from db.engine import Database
    from db.migrate import upgrade

    revision, _ = _describe(scratch_url)
    _check_revision(revision)
    db = Database.from_url(scratch_url)
    try:
        try:
            upgrade(db)
        except Exception as e:  # any failure: this copy cannot be brought up to date
            raise BackupError(f"备份的数据库无法升级到当前版本：{str(e)[:200]}") from None
        problems = verify(db)
    finally:
        db.dispose()
    if problems:
        shown = "；".join(problems[:3])
        raise BackupError(f"备份中的数据不一致，不能恢复（共 {len(problems)} 处，例如：{shown}）。")
    return revision, _describe(scratch_url)[1]


def _check_sqlite(database: Path) -> tuple[str, dict[str, int]]:
    try:
        conn = sqlite3.connect(f"file:{database}?mode=ro", uri=True)
        try:
            ok = conn.execute("PRAGMA quick_check").fetchone()[0]
            tables = {r[0] for r in conn.execute("SELECT name FROM sqlite_master WHERE type='table'")}
            missing = REQUIRED_TABLES - tables
            if missing:
                raise BackupError(f"这不是本系统的数据库（缺少表：{'、'.join(sorted(missing))}）。")
            if conn.execute("SELECT count(*) FROM alembic_version").fetchone()[0] != 1:
                raise BackupError("备份中缺少数据库版本信息，不是完整的本系统数据库。")
        finally:
            conn.close()
    except sqlite3.DatabaseError as e:
        raise BackupError(f"备份文件已损坏：{e}") from None
    if ok != "ok":
        raise BackupError(f"备份文件已损坏：{ok}")
    return _verified(f"sqlite:///{database}")


def _check_postgresql(database_url: str, dump_file: Path, work: Path) -> tuple[str, dict[str, int], Path]:
    """Check a dump in a scratch database; returns (revision, counts, a dump of the checked and
    upgraded copy — what will be restored)."""
    missing = REQUIRED_TABLES - backup_pg.tables_in(dump_file)
    if missing:
        raise BackupError(f"这不是本系统的数据库备份（缺少表：{'、'.join(sorted(missing))}）。")
    with backup_pg.scratch_database(database_url) as scratch:
        backup_pg.load(scratch, dump_file)
        revision, counts = _verified(scratch)
        checked = work / "checked.dump"
        backup_pg.dump(scratch, checked)
    return revision, counts, checked


def _prepare(database_url: str, file: Path, work: Path) -> tuple[Report, _Opened, Path]:
    dialect = _dialect(database_url)
    opened = _open(file, work)
    if opened.dialect != dialect:
        names = {"sqlite": "SQLite", "postgresql": "PostgreSQL"}
        raise BackupError(f"这是 {names[opened.dialect]} 数据库的备份，当前使用的是 {names[dialect]}，不能直接恢复。")
    if dialect == "sqlite":
        revision, counts = _check_sqlite(opened.database)
        checked = opened.database
    else:
        revision, counts, checked = _check_postgresql(database_url, opened.database, work)
    warnings = []
    if opened.manifest is None:
        warnings.append("这是旧版本的备份（只有数据库）：不含照片，恢复时照片目录不变。")
    elif not opened.manifest.get("photos_included", True):
        warnings.append("这份备份不含照片（恢复前的安全副本只保存数据库，照片恢复时从不删除）。")
    made_at = (opened.manifest or {}).get("made_at", "")
    return Report(dialect, revision, made_at, counts, len(opened.photos), warnings), opened, checked


def check(database_url: str, file: Path, backup_dir: Path) -> Report:
    """Everything :func:`restore` checks, without restoring: raises BackupError in Chinese, or says
    what the backup holds. Needs the database URL for its kind (and, on PostgreSQL, its server)."""
    work = Path(tempfile.mkdtemp(prefix=".check-", dir=_work_root(backup_dir)))
    try:
        return _prepare(database_url, Path(file), work)[0]
    finally:
        shutil.rmtree(work, ignore_errors=True)


def _work_root(backup_dir: Path) -> Path:
    Path(backup_dir).mkdir(parents=True, exist_ok=True)
    return Path(backup_dir)


# ---------------------------------------------------------------- restoring


def restore(database_url: str, file: Path, backup_dir: Path, data_dir: Path | None = None) -> RestoreResult:
    """Replace the database's content with a checked backup; put back its missing photos.

    The live database is saved first (``before-restore-….zip``, without photos: a restore never
    deletes a photo), so a mistaken restore can itself be undone."""
    if data_dir is None:
        from core.platform.config import load

        data_dir = load().data_dir
    data_dir = Path(data_dir)
    work = Path(tempfile.mkdtemp(prefix=".restore-", dir=_work_root(backup_dir)))
    try:
        report, opened, checked = _prepare(database_url, Path(file), work)
        safety = None
        if report.dialect == "postgresql" or sqlite_path(database_url).exists():
            safety = backup(database_url, backup_dir, prefix="before-restore", data_dir=data_dir, photos=False)
        restored = _restore_photos(opened, data_dir)
        if report.dialect == "sqlite":
            src = sqlite3.connect(f"file:{checked}?mode=ro", uri=True)
            dst = sqlite3.connect(str(sqlite_path(database_url)), timeout=30)
            try:
                src.backup(dst)
            finally:
                dst.close()
                src.close()
        else:
            backup_pg.load(database_url, checked)
        return RestoreResult(report, safety, restored)
    finally:
        shutil.rmtree(work, ignore_errors=True)


def _restore_photos(opened: _Opened, data_dir: Path) -> int:
    """Write the backup's photos that the data dir lacks (each as .part, then renamed)."""
    if opened.archive is None or not opened.photos:
        return 0
    root = (data_dir / "photos").resolve()
    done = 0
    with zipfile.ZipFile(opened.archive) as z:
        for name in opened.photos:
            target = (data_dir / name).resolve()
            if root not in target.parents or target.exists():
                continue  # outside the photo folder (a crafted name), or already there
            target.parent.mkdir(parents=True, exist_ok=True)
            part = target.with_name(target.name + ".part")
            with z.open(name) as src, open(part, "wb") as dst:
                shutil.copyfileobj(src, dst)
            os.replace(part, target)
            done += 1
    return done
