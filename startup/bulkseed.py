"""Bulk seeding (``manage.py seed-demo --bulk``): :func:`bulk_seed` generates villages
(:mod:`startup.bulk_village`, planned by :mod:`startup.bulk_plan`) and writes their rows in big
batches, appending to what is there (new villages get the next BULK codes and fresh ids):

- SQLite: ``executemany`` on the raw sqlite3 connection, ``PRAGMA synchronous=OFF`` and
  foreign-key checks off during seeding only (restored when the connection closes);
- PostgreSQL: ``COPY ... FROM STDIN`` through psycopg's ``cursor.copy``, with
  ``synchronous_commit=off`` and replica mode (no FK triggers) for the session; the
  id sequences are moved past the new rows at the end, then VACUUM (ANALYZE).

:func:`raw_insert_rate` is the rate to compare with: the plainest bulk insert of ledger-shaped rows
this database offers, with the same session settings.

Public: :func:`bulk_seed` and its :class:`Stats`, :func:`raw_insert_rate`, :func:`fmt_rate`.
"""

from __future__ import annotations

import datetime as dt
import sys
import time
from collections.abc import Callable, Iterator
from dataclasses import dataclass, field

from sqlalchemy import text

from db.engine import Database
from db.models import Base
from startup.bulk_plan import COLUMNS, TABLE_ORDER, Bases, Plan, entries_per_household
from startup.bulk_village import generate_village


@dataclass
class Stats:
    rows: dict[str, int] = field(default_factory=dict)
    seconds: float = 0.0
    generate_seconds: float = 0.0
    write_seconds: float = 0.0
    finish_seconds: float = 0.0

    @property
    def total_rows(self) -> int:
        return sum(self.rows.values())

    @property
    def rows_per_second(self) -> float:
        return self.total_rows / self.seconds if self.seconds else 0.0


# ---------------------------------------------------------------- writing


def _extra_defaults(table_name: str, columns: tuple[str, ...]) -> tuple[tuple[str, ...], tuple]:
    """NOT NULL columns not in ``columns`` that have a Python default: names and values."""
    table = Base.metadata.tables[table_name]
    names, values = [], []
    stamp = dt.datetime.now().replace(microsecond=0)
    for col in table.columns:
        if col.name in columns or col.nullable:
            continue
        default = col.default
        if default is None:
            if col.server_default is not None:
                continue
            raise RuntimeError(f"bulk seeder: {table_name}.{col.name} is NOT NULL without a default")
        arg = default.arg
        if callable(arg):
            try:
                arg = arg()
            except TypeError:
                arg = arg(None)
        if isinstance(arg, dt.datetime):
            arg = f"{arg:%Y-%m-%d %H:%M:%S}.000000"
        elif isinstance(arg, bool):
            arg = int(arg)
        names.append(col.name)
        values.append(arg if arg is not None else stamp)
    return tuple(names), tuple(values)


class Writer:
    dialect = ""

    def __init__(self, db: Database):
        self.db = db
        self.columns: dict[str, tuple[str, ...]] = {}
        self.extras: dict[str, tuple] = {}
        for t, cols in COLUMNS.items():
            names, values = _extra_defaults(t, cols)
            self.columns[t] = cols + names
            self.extras[t] = values

    def rows(self, table: str, rows: list[tuple]) -> list[tuple]:
        extra = self.extras[table]
        return [r + extra for r in rows] if extra else rows

    def write(self, table: str, rows: list[tuple]) -> None:
        raise NotImplementedError

    def commit(self) -> None:
        raise NotImplementedError

    def close(self) -> None:
        raise NotImplementedError


class SqliteWriter(Writer):
    dialect = "sqlite"

    def __init__(self, db: Database):
        super().__init__(db)
        self.raw = db.engine.raw_connection()
        self.conn = self.raw.driver_connection
        c = self.conn
        c.execute("PRAGMA synchronous=OFF")
        c.execute("PRAGMA foreign_keys=OFF")
        c.execute("PRAGMA cache_size=-500000")  # 500 MB page cache while seeding
        c.execute("PRAGMA temp_store=MEMORY")
        c.execute("BEGIN")
        self.sql = {t: f"INSERT INTO {t} ({', '.join(cols)}) VALUES ({', '.join('?' * len(cols))})"
                    for t, cols in self.columns.items()}

    def write(self, table: str, rows: list[tuple]) -> None:
        if rows:
            self.conn.executemany(self.sql[table], self.rows(table, rows))

    def commit(self) -> None:
        self.conn.execute("COMMIT")
        self.conn.execute("BEGIN")

    def close(self) -> None:
        self.conn.execute("COMMIT")
        self.conn.execute("PRAGMA synchronous=NORMAL")
        self.conn.execute("PRAGMA foreign_keys=ON")
        self.conn.execute("PRAGMA cache_size=-2000")
        self.conn.execute("ANALYZE")
        self.conn.execute("PRAGMA wal_checkpoint(TRUNCATE)")  # the app's first write should not pay for it
        self.raw.close()


class PgWriter(Writer):
    dialect = "postgresql"

    def __init__(self, db: Database):
        super().__init__(db)
        self.raw = db.engine.raw_connection()
        self.conn = self.raw.driver_connection
        self.conn.autocommit = False
        cur = self.conn.cursor()
        cur.execute("SET synchronous_commit = off")
        try:
            cur.execute("SAVEPOINT r")
            cur.execute("SET session_replication_role = replica")  # no FK triggers while seeding (superuser)
        except Exception:
            cur.execute("ROLLBACK TO SAVEPOINT r")
        self.cur = cur

    def write(self, table: str, rows: list[tuple]) -> None:
        if not rows:
            return
        with self.cur.copy(f"COPY {table} ({', '.join(self.columns[table])}) FROM STDIN") as cp:
            extra = self.extras[table]
            if extra:
                for r in rows:
                    cp.write_row(r + extra)
            else:
                for r in rows:
                    cp.write_row(r)

    def commit(self) -> None:
        self.conn.commit()

    def close(self) -> None:
        cur = self.cur
        cur.execute("SET session_replication_role = DEFAULT")
        for t in TABLE_ORDER:
            if "id" in COLUMNS[t] and COLUMNS[t][0] == "id":
                cur.execute(f"SELECT setval(pg_get_serial_sequence('{t}', 'id'), "
                            f"(SELECT COALESCE(MAX(id), 0) + 1 FROM {t}), false)")
        self.conn.commit()
        self.conn.autocommit = True
        for t in TABLE_ORDER:  # settle the new rows now, not by autovacuum in the middle of the app's work
            cur.execute(f"VACUUM (ANALYZE) {t}")
        self.conn.autocommit = False
        self.raw.close()


def make_writer(db: Database) -> Writer:
    return SqliteWriter(db) if db.is_sqlite else PgWriter(db)


class Progress:
    """A one-line progress bar on stderr (no dependency)."""

    def __init__(self, total: int, label: str, stream=None, enabled: bool = True):
        self.total, self.label, self.stream, self.enabled = max(1, total), label, stream or sys.stderr, enabled
        self.t0 = time.perf_counter()
        self.last = 0.0

    def update(self, done: int, rows: int, force: bool = False) -> None:
        if not self.enabled:
            return
        now = time.perf_counter()
        if not force and now - self.last < 0.5:
            return
        self.last = now
        frac = min(1.0, done / self.total)
        el = now - self.t0
        eta = el / frac - el if frac > 0 else 0
        bar = "#" * int(frac * 30)
        self.stream.write(f"\r{self.label} [{bar:<30}] {done}/{self.total} 村  {rows / 1e6:.2f}M 行  "
                          f"{rows / el / 1000 if el else 0:.0f}k 行/秒  剩余 {eta:.0f} 秒 ")
        self.stream.flush()

    def close(self) -> None:
        if self.enabled:
            self.stream.write("\n")
            self.stream.flush()


def _first_ids(db: Database) -> dict[str, int]:
    out = {}
    with db.engine.connect() as conn:
        for t in TABLE_ORDER:
            if COLUMNS[t][0] == "id":
                out[t] = (conn.execute(text(f"SELECT COALESCE(MAX(id), 0) FROM {t}")).scalar_one() or 0) + 1
    return out


def _existing(db: Database) -> tuple[int, frozenset[str]]:
    with db.engine.connect() as conn:
        n = conn.execute(text("SELECT COUNT(*) FROM village WHERE code LIKE 'BULK%'")).scalar_one()
        names = frozenset(conn.execute(text("SELECT username FROM staff_user")).scalars())
    return n, names


def _bounded(pool, jobs, ahead: int) -> Iterator[dict]:
    """Results in order, with at most ``ahead`` villages generated but not yet written
    (imap would queue all of them in memory when generating outpaces writing)."""
    from collections import deque

    pending: deque = deque()
    for job in jobs:
        pending.append(pool.apply_async(_gen_job, (job,)))
        if len(pending) > ahead:
            yield pending.popleft().get()
    while pending:
        yield pending.popleft().get()


def _gen_job(args):
    plan, bases, vi, pw, taken = args
    return generate_village(plan, bases, vi, pw, taken)


def bulk_seed(db: Database, *, villages: int, households: int, days: int = 365, entries: int | None = None,
              seed: int = 42, today: dt.date | None = None, workers: int = 1, progress: bool = True,
              commit_rows: int = 1_000_000, log: Callable[[str], None] | None = None) -> Stats:
    """Write ``villages`` × ``households`` households with a year of history. Appends to
    what is there (new villages get the next BULK codes and fresh ids)."""
    from core.platform.auth import hash_password
    from startup.demo import DEMO_PASSWORD

    if villages < 1 or households < 1 or days < 7:
        raise ValueError("villages and households must be at least 1, days at least 7")
    existing, taken = _existing(db)
    plan = Plan(villages=villages, households=households, days=days,
                entries=entries if entries is not None else entries_per_household(days), seed=seed,
                today=today or dt.date.today(), first_village_no=existing + 1)
    bases = Bases(_first_ids(db))
    pw = hash_password(DEMO_PASSWORD)
    stats = Stats(rows={t: 0 for t in TABLE_ORDER})
    t0 = time.perf_counter()
    writer = make_writer(db)
    bar = Progress(villages, "批量生成", enabled=progress)
    jobs = ((plan, bases, vi, pw, taken) for vi in range(villages))
    pending = 0
    pool = None
    try:
        if workers > 1 and villages > 1:  # a second process helps only while there is a next village to make
            import multiprocessing as mp

            pool = mp.get_context("fork").Pool(workers - 1)
            results: Iterator = _bounded(pool, jobs, ahead=2 * (workers - 1))
        else:
            results = map(_gen_job, jobs)
        done = 0
        while True:
            g0 = time.perf_counter()
            try:
                rows = next(results)
            except StopIteration:
                break
            g1 = time.perf_counter()
            stats.generate_seconds += g1 - g0
            for t in TABLE_ORDER:
                writer.write(t, rows[t])
                stats.rows[t] += len(rows[t])
                pending += len(rows[t])
            if pending >= commit_rows:
                writer.commit()
                pending = 0
            stats.write_seconds += time.perf_counter() - g1
            done += 1
            bar.update(done, stats.total_rows)
        bar.update(done, stats.total_rows, force=True)
        f0 = time.perf_counter()
        writer.close()
        stats.finish_seconds = time.perf_counter() - f0
    finally:
        if pool is not None:
            pool.close()
            pool.join()
        bar.close()
    stats.seconds = time.perf_counter() - t0
    if log:
        log(f"共写入 {stats.total_rows:,} 行（流水 {stats.rows['ledger_entry']:,} 条），用时 {stats.seconds:.1f} 秒，"
            f"{stats.rows_per_second / 1000:.0f}k 行/秒")
    return stats


# ---------------------------------------------------------------- the raw rate to compare with


def raw_insert_rate(db: Database, rows: int = 200_000) -> float:
    """Rows per second of the plainest bulk insert this database offers for ledger-shaped
    rows: pre-built tuples, one executemany (SQLite) or executemany and COPY (PostgreSQL,
    the faster counts), into a scratch copy of ledger_entry with the same columns and
    indexes, with the same session settings as the seeder. The scratch table is dropped."""
    from sqlalchemy import Column, Index, MetaData, Table, UniqueConstraint

    md = MetaData()
    src = Base.metadata.tables["ledger_entry"]
    # Same columns and indexes; no foreign keys (the seeder does not check them either).
    scratch = Table("zz_bench_raw_ledger", md,
                    *[Column(c.name, c.type, primary_key=c.primary_key, nullable=c.nullable) for c in src.columns],
                    UniqueConstraint("source_type", "source_id", name="zz_raw_cause"))
    for ix in src.indexes:
        Index(f"zz_{ix.name}", *[scratch.c[c.name] for c in ix.columns], unique=ix.unique,
              **{k: v for k, v in ix.kwargs.items() if k.endswith("_where")})
    md.drop_all(db.engine, tables=[scratch], checkfirst=True)
    md.create_all(db.engine, tables=[scratch])
    cols = COLUMNS["ledger_entry"]
    day = "2026-01-15"
    data = [(i + 1, 1, 1 + i % 500, None, "earned", 5, 5, 0, "proposal", str(i + 1), 1, 1, day, 202601, "", 1,
             "2026-01-15 09:00:00.000000") for i in range(rows)]
    try:
        raw = db.engine.raw_connection()
        conn = raw.driver_connection
        if db.is_sqlite:
            conn.execute("PRAGMA synchronous=OFF")
            conn.execute("PRAGMA foreign_keys=OFF")
            conn.execute("PRAGMA cache_size=-500000")
            conn.execute("BEGIN")
            t = time.perf_counter()
            conn.executemany(f"INSERT INTO zz_bench_raw_ledger ({', '.join(cols)}) VALUES ({', '.join('?' * len(cols))})",
                             data)
            conn.execute("COMMIT")
            rate = rows / (time.perf_counter() - t)
            conn.execute("PRAGMA synchronous=NORMAL")
            conn.execute("PRAGMA foreign_keys=ON")
        else:
            cur = conn.cursor()
            cur.execute("SET synchronous_commit = off")
            t = time.perf_counter()
            cur.executemany(f"INSERT INTO zz_bench_raw_ledger ({', '.join(cols)}) VALUES "
                            f"({', '.join(['%s'] * len(cols))})", data)
            conn.commit()
            rate_many = rows / (time.perf_counter() - t)
            cur.execute("TRUNCATE zz_bench_raw_ledger")
            conn.commit()
            t = time.perf_counter()
            with cur.copy(f"COPY zz_bench_raw_ledger ({', '.join(cols)}) FROM STDIN") as cp:
                for r in data:
                    cp.write_row(r)
            conn.commit()
            rate_copy = rows / (time.perf_counter() - t)
            rate = max(rate_many, rate_copy)
            raw_insert_rate.details = {"executemany": rate_many, "copy": rate_copy}  # type: ignore[attr-defined]
        raw.close()
    finally:
        md.drop_all(db.engine, tables=[scratch], checkfirst=True)
    return rate


def fmt_rate(r: float) -> str:
    return f"{r / 1000:.0f}k/s" if r < 1e6 else f"{r / 1e6:.2f}M/s"


__all__ = ["bulk_seed", "raw_insert_rate", "Stats"]
