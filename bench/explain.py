"""Find slow statements and table scans: record every SQL statement a callable runs, with
its time, then show the query plan of the slowest ones.

    python -m bench.explain --url sqlite:////tmp/bench-county-sqlite/jifen.db [--only checkout,overview]
    python -m bench.explain --url postgresql+psycopg://postgres@127.0.0.1:5432/bench_township --analyze

On PostgreSQL a sequential scan is listed when the planner expects at least ``--min-rows`` rows
(default 1000: a scan of a village's five grids is no problem, one of the county's residents is);
``--analyze`` runs EXPLAIN (ANALYZE) instead and adds each statement's execution time on the server.
"""

from __future__ import annotations

import argparse
import re
import time
from collections import defaultdict
from contextlib import contextmanager

from sqlalchemy import event, text

from db.engine import Database


@contextmanager
def recording(db: Database):
    """Yields a dict: statement -> [count, total seconds, last parameters]."""
    stats: dict[str, list] = defaultdict(lambda: [0, 0.0, None])

    def before(conn, cursor, statement, parameters, context, executemany):
        conn.info.setdefault("_bench_t", []).append(time.perf_counter())

    def after(conn, cursor, statement, parameters, context, executemany):
        t = conn.info["_bench_t"].pop()
        row = stats[statement]
        row[0] += 1
        row[1] += time.perf_counter() - t
        row[2] = parameters

    event.listen(db.engine, "before_cursor_execute", before)
    event.listen(db.engine, "after_cursor_execute", after)
    try:
        yield stats
    finally:
        event.remove(db.engine, "before_cursor_execute", before)
        event.remove(db.engine, "after_cursor_execute", after)


def plan(db: Database, statement: str, parameters, analyze: bool = False) -> list[str]:
    if not statement.lstrip().upper().startswith(("SELECT", "WITH", "UPDATE", "INSERT", "DELETE")):
        return []
    raw = db.engine.raw_connection()
    try:
        cur = raw.cursor()
        if db.is_sqlite:
            cur.execute("EXPLAIN QUERY PLAN " + statement, parameters or ())
            return [r[-1] for r in cur.fetchall()]
        cur.execute(("EXPLAIN (ANALYZE) " if analyze else "EXPLAIN ") + statement, parameters or None)
        return [r[0] for r in cur.fetchall()]
    except Exception as e:  # a statement that cannot be explained out of its context
        return [f"(no plan: {type(e).__name__})"]
    finally:
        raw.rollback()
        raw.close()


def scans(lines: list[str], sqlite: bool, min_rows: int = 0) -> list[str]:
    """Table scans of a plan: SQLite ``SCAN`` lines (not of a covering index or a constant row);
    PostgreSQL ``Seq Scan`` nodes the planner expects to return at least ``min_rows`` rows."""
    if sqlite:
        return [ln for ln in lines if ln.startswith("SCAN") and "COVERING INDEX" not in ln
                and "CONSTANT ROW" not in ln]
    out = []
    for ln in lines:
        if "Seq Scan" not in ln:
            continue
        m = re.search(r"\brows=(\d+)", ln)
        if m is None or int(m.group(1)) >= min_rows:
            out.append(ln.strip())
    return out


def report(db: Database, stats: dict, top: int = 12, min_rows: int = 0, analyze: bool = False) -> str:
    rows = sorted(stats.items(), key=lambda kv: -kv[1][1])[:top]
    out = []
    for stmt, (n, total, params) in rows:
        lines = plan(db, stmt, params, analyze=analyze and not db.is_sqlite)
        bad = scans(lines, db.is_sqlite, min_rows)
        server = next((ln.strip() for ln in lines if ln.startswith("Execution Time")), "")
        out.append(f"{total * 1000:8.1f} ms  ×{n:<5} {' '.join(stmt.split())[:160]}"
                   + (f"  [{server}]" if server else ""))
        for ln in bad:
            out.append(f"          SCAN → {ln}")
    return "\n".join(out)


def main(argv=None) -> int:
    from bench import ops
    from bench.data import sample

    p = argparse.ArgumentParser()
    p.add_argument("--url", required=True)
    p.add_argument("--only", default="card,balance,checkout,decide,overview,rankings,resident,volunteer,compare")
    p.add_argument("--n", type=int, default=3)
    p.add_argument("--top", type=int, default=12, help="how many of the slowest statements to show")
    p.add_argument("--min-rows", type=int, default=1000,
                   help="PostgreSQL: list a Seq Scan only when the planner expects at least this many rows")
    p.add_argument("--analyze", action="store_true", help="PostgreSQL: EXPLAIN (ANALYZE) with server times")
    args = p.parse_args(argv)
    db = Database.from_url(args.url)
    sm = sample(db)
    funcs = {"card": ops.card_lookup, "balance": ops.balance_read, "checkout": ops.checkout_commit,
             "decide": lambda d, s, n: ops.decide_and_post(d, s, 1), "overview": ops.overview_queries,
             "rankings": ops.rankings_queries, "resident": ops.resident_view, "volunteer": ops.volunteer_overview,
             "compare": ops.county_compare}
    for key in args.only.split(","):
        with recording(db) as stats:
            res = funcs[key](db, sm, args.n)
        first = res[0] if isinstance(res, tuple) else res
        print(f"== {key}: median {first.median_ms:.1f} ms")
        print(report(db, stats, args.top, args.min_rows, args.analyze))
    with db.engine.connect() as c:
        c.execute(text("SELECT 1"))
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
