"""PostgreSQL side of backups: pg_dump, pg_restore and a scratch database to check a dump in.

Only custom-format dumps (``pg_dump --format=custom``, starting with ``PGDMP``) are accepted:
a plain SQL file would be run as it is, whatever it contains. A dump is checked by restoring it
into a scratch database on the same server (the account needs CREATEDB), never into the live one.
"""

from __future__ import annotations

import os
import re
import secrets
import shutil
import subprocess
from collections.abc import Iterator
from contextlib import contextmanager
from pathlib import Path

from sqlalchemy import create_engine, text
from sqlalchemy.engine import make_url
from sqlalchemy.exc import SQLAlchemyError

from core.platform.errors import BackupError


def tool(name: str) -> str:
    path = shutil.which(name)
    if path is None:
        raise BackupError(f"找不到 {name} 命令：请安装 PostgreSQL 客户端工具（Debian：apt install postgresql-client），"
                          "并确保它在 PATH 中。")
    return path


def libpq_args(database_url: str) -> tuple[str, dict]:
    """A libpq URL for the tools (no SQLAlchemy driver suffix); the password goes through
    PGPASSWORD so it never shows in the process list."""
    u = make_url(database_url)
    env = dict(os.environ)
    if u.password:
        env["PGPASSWORD"] = str(u.password)
    u = u.set(drivername="postgresql", password=None)
    return u.render_as_string(hide_password=False), env


def _run(cmd: list[str], env: dict) -> subprocess.CompletedProcess:
    return subprocess.run(cmd, env=env, capture_output=True, text=True, errors="replace")


def dump(database_url: str, target: Path) -> None:
    url, env = libpq_args(database_url)
    proc = _run([tool("pg_dump"), "--format=custom", "--no-owner", f"--file={target}", f"--dbname={url}"], env)
    if proc.returncode != 0:
        Path(target).unlink(missing_ok=True)
        raise BackupError(f"pg_dump 失败：{proc.stderr.strip()[:500]}")


def tables_in(file: Path) -> set[str]:
    """Tables whose data the dump holds (its table of contents, read without a database)."""
    proc = _run([tool("pg_restore"), "--list", str(file)], dict(os.environ))
    if proc.returncode != 0:
        raise BackupError("备份文件已损坏，或不是 PostgreSQL 的备份文件（.dump）。")
    return set(re.findall(r"TABLE DATA \S+ (\S+) ", proc.stdout))


def load(database_url: str, file: Path) -> None:
    """Replace what ``file`` holds in the database, all or nothing (one transaction)."""
    url, env = libpq_args(database_url)
    proc = _run([tool("pg_restore"), "--clean", "--if-exists", "--no-owner", "--single-transaction",
                 "--exit-on-error", f"--dbname={url}", str(file)], env)
    if proc.returncode != 0:
        raise BackupError(f"恢复失败（数据库没有改变）：{proc.stderr.strip()[:500]}")


@contextmanager
def scratch_database(database_url: str) -> Iterator[str]:
    """A new, empty database beside the live one, dropped afterwards; yields its URL."""
    u = make_url(database_url)
    name = f"{(u.database or 'jifen')[:40]}_check_{secrets.token_hex(4)}"
    admin = create_engine(u, isolation_level="AUTOCOMMIT")
    try:
        try:
            with admin.connect() as conn:
                conn.execute(text(f'CREATE DATABASE "{name}"'))
        except SQLAlchemyError as e:
            raise BackupError("检查备份要在同一台数据库服务器上临时建一个数据库，当前账号不能建库（需要 CREATEDB 权限）："
                              f"{str(e.orig if hasattr(e, 'orig') else e).strip()[:200]}") from None
        try:
            yield u.set(database=name).render_as_string(hide_password=False)
        finally:
            with admin.connect() as conn:
                try:
                    conn.execute(text(f'DROP DATABASE IF EXISTS "{name}" WITH (FORCE)'))
                except SQLAlchemyError:  # servers before 13 have no FORCE
                    conn.execute(text(f'DROP DATABASE IF EXISTS "{name}"'))
    finally:
        admin.dispose()
