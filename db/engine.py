"""Engine and transactions.

Every write goes through :meth:`Database.write`, one transaction per call. On SQLite
it opens with ``BEGIN IMMEDIATE`` so that two writers serialise at the start instead of
one failing half-way on a lock upgrade; WAL lets readers continue meanwhile.
On PostgreSQL rows that are checked-then-changed are locked with ``FOR UPDATE`` or
changed by conditional UPDATEs in core.
"""

from __future__ import annotations

from collections.abc import Iterator
from contextlib import contextmanager

from sqlalchemy import create_engine, event
from sqlalchemy.engine import Engine
from sqlalchemy.orm import Session, sessionmaker


def upsert_insert(s: Session):
    """``insert`` of the session's database dialect, the one with ``on_conflict_do_update`` /
    ``on_conflict_do_nothing`` (SQLite and PostgreSQL spell ON CONFLICT alike)."""
    if s.get_bind().dialect.name == "postgresql":
        from sqlalchemy.dialects.postgresql import insert
    else:
        from sqlalchemy.dialects.sqlite import insert
    return insert


def make_engine(url: str, **kw) -> Engine:
    if url.startswith("sqlite"):
        engine = create_engine(url, connect_args={"timeout": 30, "check_same_thread": False}, **kw)
        _configure_sqlite(engine)
    else:
        kw.setdefault("pool_size", 10)
        kw.setdefault("max_overflow", 20)
        kw.setdefault("pool_pre_ping", True)
        engine = create_engine(url, **kw)
    return engine


def _configure_sqlite(engine: Engine) -> None:
    @event.listens_for(engine, "connect")
    def _on_connect(dbapi_conn, _record):
        # Take over transaction control from the driver so BEGIN IMMEDIATE is ours.
        dbapi_conn.isolation_level = None
        cur = dbapi_conn.cursor()
        cur.execute("PRAGMA journal_mode=WAL")
        cur.execute("PRAGMA foreign_keys=ON")
        cur.execute("PRAGMA busy_timeout=30000")
        cur.execute("PRAGMA synchronous=NORMAL")
        cur.close()

    @event.listens_for(engine, "begin")
    def _on_begin(conn):
        mode = conn.get_execution_options().get("sqlite_begin", "DEFERRED")
        conn.exec_driver_sql(f"BEGIN {mode}")


class Database:
    """Engine + session factory. Core functions receive this and open their own transaction."""

    def __init__(self, engine: Engine):
        self.engine = engine
        self.is_sqlite = engine.dialect.name == "sqlite"
        self._sessions = sessionmaker(engine, expire_on_commit=False, autoflush=True)
        write_engine = engine.execution_options(sqlite_begin="IMMEDIATE") if self.is_sqlite else engine
        self._write_sessions = sessionmaker(write_engine, expire_on_commit=False, autoflush=True)

    @classmethod
    def from_url(cls, url: str, **kw) -> Database:
        return cls(make_engine(url, **kw))

    @contextmanager
    def write(self) -> Iterator[Session]:
        """One write transaction: commits at the end, rolls back on any exception."""
        with self._write_sessions() as session:
            try:
                yield session
                session.commit()
            except BaseException:
                session.rollback()
                raise

    @contextmanager
    def read(self) -> Iterator[Session]:
        """A read-only unit; objects stay readable (detached) after it closes."""
        with self._sessions() as session:
            yield session

    def dispose(self) -> None:
        self.engine.dispose()
