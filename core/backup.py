"""Backups and restores (数据备份与恢复).

SQLite: :func:`backup` uses SQLite's online backup API, so the app may keep running while
it copies a consistent snapshot to ``<data>/backups/jifen-YYYYmmdd-HHMMSS.db``.
:func:`restore` first checks that the file really is a jifen database (SQLite header,
integrity check, our tables, an Alembic revision), saves the current database as a
``before-restore`` backup, then copies the file into the live database with the same
backup API: one locked, all-or-nothing page copy that other connections see atomically
(replacing the file on disk would corrupt a database in WAL mode that is open elsewhere).

PostgreSQL: pg_dump (custom format) and pg_restore --clean, when they are on PATH; a
clear error otherwise.
"""

from __future__ import annotations

import datetime as dt
import os
import shutil
import sqlite3
import subprocess
from pathlib import Path

from sqlalchemy.engine import make_url

from core.errors import InvalidInput

REQUIRED_TABLES = {"village", "household", "account", "ledger_entry", "staff_user", "alembic_version"}


class BackupError(InvalidInput):
    pass


def _stamp() -> str:
    return dt.datetime.now().strftime("%Y%m%d-%H%M%S")


def _unique(path: Path) -> Path:
    n, out = 1, path
    while out.exists():
        out = path.with_name(f"{path.stem}-{n}{path.suffix}")
        n += 1
    return out


def sqlite_path(url: str) -> Path:
    u = make_url(url)
    if not u.drivername.startswith("sqlite") or not u.database or u.database == ":memory:":
        raise BackupError("只能备份文件形式的 SQLite 数据库。")
    return Path(u.database)


def backup(database_url: str, backup_dir: Path, prefix: str = "jifen") -> Path:
    """Write a consistent copy of the database into ``backup_dir``; return its path."""
    backup_dir = Path(backup_dir)
    backup_dir.mkdir(parents=True, exist_ok=True)
    if database_url.startswith("sqlite"):
        src_path = sqlite_path(database_url)
        if not src_path.exists():
            raise BackupError(f"找不到数据库文件：{src_path}")
        target = _unique(backup_dir / f"{prefix}-{_stamp()}.db")
        tmp = target.with_suffix(".part")
        src = sqlite3.connect(str(src_path), timeout=30)
        dst = sqlite3.connect(str(tmp))
        try:
            src.backup(dst)
        finally:
            dst.close()
            src.close()
        os.replace(tmp, target)  # a half-written backup never carries the final name
        return target
    if database_url.startswith("postgresql"):
        tool = _tool("pg_dump")
        target = _unique(backup_dir / f"{prefix}-{_stamp()}.dump")
        tmp = target.with_suffix(".part")
        url, env = _pg_args(database_url)
        proc = subprocess.run([tool, "--format=custom", "--no-owner", f"--file={tmp}", f"--dbname={url}"],
                              env=env, capture_output=True, text=True)
        if proc.returncode != 0:
            tmp.unlink(missing_ok=True)
            raise BackupError(f"pg_dump 失败：{proc.stderr.strip()[:500]}")
        os.replace(tmp, target)
        return target
    raise BackupError("不支持的数据库类型。")


def _tool(name: str) -> str:
    path = shutil.which(name)
    if path is None:
        raise BackupError(f"找不到 {name} 命令：请安装 PostgreSQL 客户端工具（Debian：apt install postgresql-client），"
                          "并确保它在 PATH 中。")
    return path


def _pg_args(database_url: str) -> tuple[str, dict]:
    """A libpq URL for the tools (no SQLAlchemy driver suffix); the password goes through
    PGPASSWORD so it never shows in the process list."""
    u = make_url(database_url)
    env = dict(os.environ)
    if u.password:
        env["PGPASSWORD"] = str(u.password)
    u = u.set(drivername="postgresql", password=None)
    return u.render_as_string(hide_password=False), env


def check_sqlite_file(path: Path) -> None:
    """Raise BackupError unless ``path`` is an intact jifen SQLite database."""
    path = Path(path)
    if not path.is_file():
        raise BackupError(f"找不到备份文件：{path}")
    with open(path, "rb") as f:
        if f.read(16) != b"SQLite format 3\x00":
            raise BackupError("这不是 SQLite 数据库文件。")
    try:
        conn = sqlite3.connect(f"file:{path}?mode=ro", uri=True)
        try:
            ok = conn.execute("PRAGMA quick_check").fetchone()[0]
            tables = {r[0] for r in conn.execute("SELECT name FROM sqlite_master WHERE type='table'")}
            missing = REQUIRED_TABLES - tables
            if missing:
                raise BackupError(f"这不是本系统的数据库（缺少表：{'、'.join(sorted(missing))}）。")
            if conn.execute("SELECT count(*) FROM alembic_version").fetchone()[0] != 1:
                raise BackupError("备份文件缺少数据库版本信息。")
        finally:
            conn.close()
    except sqlite3.DatabaseError as e:
        raise BackupError(f"备份文件已损坏：{e}") from None
    if ok != "ok":
        raise BackupError(f"备份文件已损坏：{ok}")


def restore(database_url: str, file: Path, backup_dir: Path) -> Path | None:
    """Replace the database's content with ``file``. Returns the safety copy made of the
    current database first (SQLite), so a mistaken restore can itself be undone."""
    file = Path(file)
    if database_url.startswith("sqlite"):
        check_sqlite_file(file)
        live = sqlite_path(database_url)
        safety = backup(database_url, backup_dir, prefix="before-restore") if live.exists() else None
        src = sqlite3.connect(f"file:{file}?mode=ro", uri=True)
        dst = sqlite3.connect(str(live), timeout=30)
        try:
            src.backup(dst)
        finally:
            dst.close()
            src.close()
        return safety
    if database_url.startswith("postgresql"):
        if not file.is_file():
            raise BackupError(f"找不到备份文件：{file}")
        with open(file, "rb") as f:
            head = f.read(5)
        url, env = _pg_args(database_url)
        if head == b"PGDMP":
            cmd = [_tool("pg_restore"), "--clean", "--if-exists", "--no-owner", "--single-transaction",
                   f"--dbname={url}", str(file)]
        else:
            cmd = [_tool("psql"), "--set=ON_ERROR_STOP=1", "--single-transaction", "--quiet", f"--dbname={url}",
                   f"--file={file}"]
        proc = subprocess.run(cmd, env=env, capture_output=True, text=True)
        if proc.returncode != 0:
            raise BackupError(f"恢复失败（数据库没有改变）：{proc.stderr.strip()[:500]}")
        return None
    raise BackupError("不支持的数据库类型。")
