"""``python manage.py bench``: seed a benchmark database, measure, print a table, write JSON."""

from __future__ import annotations

import datetime as dt
import json
import os
import platform
import sqlite3
import sys
import time
from pathlib import Path

from bench import ops
from bench.data import SCALES, open_bench_db, sample, sizes
from bench.timing import Result

TARGETS_MS = {  # per-call targets from issue 9 that one run can check on its own
    "checkout_sqlite": 10.0,
    "checkout_postgresql": 15.0,
    "decide_post_200": 1000.0,
    "page_over_empty": 150.0,
    "compare": 1000.0,
}


def cpu_probe_ms() -> float:
    """How fast this machine runs Python right now: the median of 7 runs of a fixed loop.

    Shared virtual machines differ from day to day (the same code measured 3× apart); results
    of two runs compare only when their probes are close."""
    import statistics
    import time

    times = []
    for _ in range(7):
        t = time.perf_counter()
        sum(i * i for i in range(200_000))
        times.append((time.perf_counter() - t) * 1000)
    return round(statistics.median(times), 2)


def machine(db_kind: str, url: str) -> dict:
    info = {"nproc": os.cpu_count(), "python": platform.python_version(), "sqlite": sqlite3.sqlite_version,
            "load_avg_start": os.getloadavg(), "cpu_probe_ms_start": cpu_probe_ms()}
    try:
        with open("/proc/meminfo") as f:
            info["mem_total_gb"] = round(int(f.readline().split()[1]) / 1024 / 1024, 1)
        with open("/proc/cpuinfo") as f:
            info["cpu"] = next((ln.split(":", 1)[1].strip() for ln in f if ln.startswith("model name")), "")
    except OSError:
        pass
    if db_kind == "postgresql":
        from sqlalchemy import create_engine, text

        eng = create_engine(url)
        with eng.connect() as c:
            info["postgresql"] = c.execute(text("SHOW server_version")).scalar_one()
        eng.dispose()
    import streamlit

    info["streamlit"] = streamlit.__version__
    return info


def _fmt_table(results: list[Result]) -> str:
    if not results:
        return "（没有测量项）"
    w = max(len(r.name) for r in results) + 2
    lines = [f"{'测量项 (measurement)':<{w}}{'n':>5}{'median ms':>12}{'p95 ms':>10}  note", "-" * (w + 45)]
    for r in results:
        lines.append(f"{r.name:<{w}}{r.n:>5}{r.median_ms:>12.1f}{r.p95_ms:>10.1f}  {r.note}")
    return "\n".join(lines)


def log(message: str) -> None:
    print(message, file=sys.stderr)


def run(args) -> int:
    from ui.nav import PAGES

    scale = args.scale
    kind = args.db
    quick = args.quick
    base = Path(args.dir)
    t_all = time.perf_counter()
    fresh = not args.reuse
    bdb = open_bench_db(kind, scale + (args.tag or ""), base, fresh=fresh, pg_url=args.pg_url)
    report: dict = {"scale": scale, "db": kind, "quick": quick, "started": dt.datetime.now().isoformat(
        timespec="seconds"), "machine": machine(kind, bdb.url)}
    results: list[Result] = []
    try:
        db = bdb.db
        villages, households, entries = SCALES[scale]
        if args.villages:
            villages = args.villages
        if args.households:
            households = args.households
        with db.engine.connect() as c:
            from sqlalchemy import text

            seeded = c.execute(text("SELECT COUNT(*) FROM ledger_entry")).scalar_one() > 0
        if not seeded:
            from startup.bulkseed import bulk_seed, raw_insert_rate

            raw_rows = 20_000 if quick else 500_000
            log(f"测量原始批量插入速率（{raw_rows:,} 行）…")
            raw = raw_insert_rate(db, raw_rows)
            details = getattr(raw_insert_rate, "details", None)
            log(f"批量生成：{villages} 村 × {households} 户，每户约 {entries} 条流水 …")
            st = bulk_seed(db, villages=villages, households=households, days=365, entries=entries, seed=args.seed,
                           workers=args.workers, log=log)
            report["seed"] = {"rows": st.rows, "total_rows": st.total_rows, "seconds": round(st.seconds, 1),
                              "generate_seconds": round(st.generate_seconds, 1),
                              "write_seconds": round(st.write_seconds, 1), "finish_seconds": round(st.finish_seconds, 1),
                              "rows_per_second": round(st.rows_per_second), "raw_rows_per_second": round(raw),
                              "raw_details": details, "ratio_to_raw": round(st.rows_per_second / raw, 2),
                              "workers": args.workers}
            if args.verify:
                from core.maintenance.verify import verify

                t = time.perf_counter()
                problems = verify(db)
                report["seed"]["verify_seconds"] = round(time.perf_counter() - t, 1)
                report["seed"]["verify_problems"] = len(problems)
        report["sizes"] = sizes(db)
        log(f"数据规模：{report['sizes']}")
        sm = sample(db)
        n_fast = 30 if quick else 300
        n_write = 15 if quick else 100
        n_view = 5 if quick else 20
        n_batch = 2 if quick else 9
        steps = [
            ("card", lambda: ops.card_lookup(db, sm, n_fast)),
            ("balance", lambda: ops.balance_read(db, sm, n_fast)),
            ("checkout", lambda: ops.checkout_commit(db, sm, n_write)),
            ("decide", lambda: ops.decide_and_post(db, sm, n_batch)),
            ("direct", lambda: ops.decide_and_post_direct(db, sm, n_batch)),
            ("overview", lambda: ops.overview_queries(db, sm, n_view)),
            ("rankings", lambda: ops.rankings_queries(db, sm, n_view)),
            ("resident", lambda: ops.resident_view(db, sm, n_fast)),
            ("volunteer", lambda: ops.volunteer_overview(db, sm, n_view)),
            ("compare", lambda: ops.county_compare(db, sm, n_view)),
            ("county", lambda: ops.county_levels(db, sm, n_view)),
        ]
        for key, step in steps:
            if args.only and key not in args.only.split(","):
                continue
            log(f"测量：{key} …")
            try:
                out = step()
            except Exception as e:  # a missing or broken capability is reported, not fatal
                out = Result(key, 0, float("nan"), float("nan"), note=f"FAILED: {type(e).__name__}: {e}"[:200])
            results.extend(out if isinstance(out, tuple) else [out])
            if key == "direct" and "rate_vs_raw" not in out.extra:
                raw = next((r for r in results if r.name.startswith("the same 200")), None)
                if raw and out.median_ms:
                    out.extra["rate_vs_raw"] = round(raw.median_ms / out.median_ms, 2)
                    out.note = f"{out.extra['rate_vs_raw']:.2f}× the raw-SQL rate"

        ref_scale = args.growth_ref or ("village" if scale in ("township", "county") else None)
        if ref_scale and (not args.only or {"card", "balance", "checkout"} & set(args.only.split(","))):
            log(f"测量：查卡、余额、结账在 {ref_scale} 规模参照库与本库上交替进行 …")
            report["growth"] = growth_against(args, kind, base, ref_scale, db, sm, n_fast, n_write)
        env = {"JIFEN_DATABASE_URL": bdb.url, "JIFEN_DATA_DIR": str(bdb.data_dir), "JIFEN_NO_DEMO": "1",
               "JIFEN_PUBLIC_URL": "http://127.0.0.1:8501"}
        modules = [p.module for p in PAGES if "admin" in p.roles]
        if not args.no_pages and not args.only:
            log("测量：页面渲染（AppTest）…")
            os.environ.update(env)
            from bench import pages

            n_pages = 2 if quick else 5
            empty = pages.empty_page(n_pages * 2)
            results.append(empty)
            from sqlalchemy import select

            from db.models import StaffUser

            with db.read() as s:
                uid = s.execute(select(StaffUser.id).where(StaffUser.username == sm.usernames["admin"])).scalar_one()
            for r in pages.page_renders(uid, modules, n_pages, token=sm.tokens[0] if sm.tokens else None):
                r.extra["over_empty_ms"] = round(r.median_ms - empty.median_ms, 1)
                if not r.note:
                    r.note = f"+{r.median_ms - empty.median_ms:.0f} ms over empty"
                if "statements" in r.extra:
                    r.note += f", {r.extra['statements']} SQL statements"
                results.append(r)
        if not args.no_memory and not args.only:
            log("测量：应用进程内存（streamlit run + 浏览器打开每个页面）…")
            from bench.memory import measure_memory
            from startup.demo import DEMO_PASSWORD

            try:
                report["memory"] = measure_memory(env, bdb.data_dir, sm.usernames["admin"], DEMO_PASSWORD, modules)
            except Exception as e:
                report["memory"] = {"error": f"{type(e).__name__}: {e}"[:300]}
        report["results"] = [r.as_dict() for r in results]
        report["seconds"] = round(time.perf_counter() - t_all, 1)
        report["machine"]["load_avg_end"] = os.getloadavg()
        report["machine"]["cpu_probe_ms_end"] = cpu_probe_ms()
        print(render_report(report, results))
        if args.json:
            Path(args.json).write_text(json.dumps(report, ensure_ascii=False, indent=2, default=str))
            log(f"已写入 {args.json}")
    finally:
        if not args.keep:
            bdb.drop()
    return 0


def growth_against(args, kind: str, base: Path, ref_scale: str, db, sm, n_fast: int, n_write: int) -> dict:
    """Seed a small reference database (``ref_scale``) beside the large one and time the three
    look-ups on both in turn (``bench.ops.growth``): "does not grow with the ledger" compared
    within one run, not across runs made at different moments on a drifting machine."""
    from startup.bulkseed import bulk_seed

    ref = open_bench_db(kind, f"{ref_scale}-ref{args.tag or ''}", base, fresh=True, pg_url=args.pg_url)
    try:
        villages, households, entries = SCALES[ref_scale]
        bulk_seed(ref.db, villages=villages, households=households, days=365, entries=entries, seed=args.seed,
                  workers=1, log=lambda _m: None)
        out = {"reference_scale": ref_scale, "reference_entries": sizes(ref.db)["ledger_entry"],
               "entries": sizes(db)["ledger_entry"]}
        out.update(ops.growth((ref.db, sample(ref.db)), (db, sm), n_fast, n_write))
        return out
    finally:
        ref.drop()


def render_report(report: dict, results: list[Result]) -> str:
    m = report["machine"]
    sz = report.get("sizes", {})
    out = [f"基准测试 scale={report['scale']} db={report['db']} quick={report['quick']}  "
           f"({m.get('nproc')} CPU {m.get('cpu', '')}, {m.get('mem_total_gb')} GB, Python {m.get('python')}, "
           f"SQLite {m.get('sqlite')}{', PostgreSQL ' + m['postgresql'] if m.get('postgresql') else ''}; "
           f"load {m.get('load_avg_start')}; CPU probe {m.get('cpu_probe_ms_start')} ms)",
           "数据规模: " + ", ".join(f"{k}={v:,}" for k, v in sz.items())]
    if "seed" in report:
        sd = report["seed"]
        out.append(f"批量生成: {sd['total_rows']:,} 行 / {sd['seconds']} 秒 = {sd['rows_per_second']:,} 行/秒; "
                   f"原始 executemany/COPY {sd['raw_rows_per_second']:,} 行/秒; 比值 {sd['ratio_to_raw']}"
                   + (f"; verify {sd.get('verify_problems')} 处问题 ({sd.get('verify_seconds')} 秒)"
                      if "verify_problems" in sd else ""))
    out.append(_fmt_table(results))
    gr = report.get("growth")
    if gr:
        out.append(f"交替测量（{gr['reference_entries']:,} 条流水的参照库 vs 本库 {gr['entries']:,} 条）: " + "; ".join(
            f"{k} {gr[k]['small_median_ms']:.2f} → {gr[k]['big_median_ms']:.2f} ms = {gr[k]['ratio']:.2f}×"
            for k in ("card", "balance", "checkout")))
    mem = report.get("memory")
    if mem:
        if "error" in mem:
            out.append(f"内存: 未能测量 ({mem['error']})")
        else:
            out.append(f"内存: 应用 RSS {mem['app_rss_mb']:.0f} MB (峰值 {mem['app_hwm_mb']:.0f}) 打开 "
                       f"{mem['pages_opened']} 个页面后; 空白 Streamlit {mem['empty_rss_mb']:.0f} MB (比值 "
                       f"{mem['ratio']:.2f}); 一张表一张图的 Streamlit {mem['table_chart_rss_mb']:.0f} MB (比值 "
                       f"{mem['ratio_to_table_chart']:.2f}); 只导入全部页面模块 {mem['imports_rss_mb']:.0f} MB (比值 "
                       f"{mem['ratio_to_imports']:.2f})")
    out.append(f"总用时 {report.get('seconds')} 秒")
    return "\n".join(out)


def add_arguments(p) -> None:
    p.add_argument("--quick", action="store_true", help="少量重复，村规模两分钟内完成")
    p.add_argument("--json", help="把结果另存为 JSON 文件")
    p.add_argument("--scale", choices=list(SCALES), default="village")
    p.add_argument("--db", choices=["sqlite", "postgresql"], default="sqlite")
    p.add_argument("--pg-url", default=os.environ.get("JIFEN_BENCH_PG_URL",
                                                      "postgresql+psycopg://postgres@127.0.0.1:5432/postgres"),
                   help="PostgreSQL server URL (a database we may create bench_* databases on)")
    p.add_argument("--dir", default="/tmp", help="where bench-<scale>-<db>/ goes (SQLite file, app data dir)")
    p.add_argument("--reuse", action="store_true", help="reuse an already seeded benchmark database")
    p.add_argument("--keep", action="store_true", help="keep the benchmark database afterwards")
    p.add_argument("--villages", type=int, help="override the scale's village count")
    p.add_argument("--households", type=int, help="override the scale's households per village")
    p.add_argument("--seed", type=int, default=42)
    p.add_argument("--tag", default="", help="suffix of the benchmark database's name (runs side by side)")
    p.add_argument("--workers", type=int, default=2, help="processes for the bulk seeder (1 = no overlap)")
    p.add_argument("--verify", action="store_true", help="run core.maintenance.verify after seeding (timed)")
    p.add_argument("--no-pages", action="store_true", help="skip the AppTest page renders")
    p.add_argument("--no-memory", action="store_true", help="skip the streamlit-run memory measurement")
    p.add_argument("--growth-ref", choices=list(SCALES),
                   help="time card/balance/checkout in turn on a reference database of this scale and on this one "
                        "(default: village for township and county runs)")
    p.add_argument("--only", help="comma list of service measurements: card,balance,checkout,decide,direct,overview,"
                                  "rankings,resident,volunteer,compare,county")
