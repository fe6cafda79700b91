"""Turn benchmark JSON files into the Markdown tables of BENCHMARKS.md, with the issue's
targets checked.

    python -m bench.report village-sqlite.json village-postgresql.json county-sqlite.json county-postgresql.json
"""

from __future__ import annotations

import json
import sys
from pathlib import Path

KEYS = {  # short key: the start of the measurement's name
    "card": "card look-up",
    "balance": "balance read",
    "checkout": "checkout commit",
    "decide": "decide + post 200 proposals (",
    "direct": "decide + post 200 proposals without",
    "raw": "the same 200",
    "overview": "village overview",
    "rankings": "rankings",
    "resident": "resident view",
    "volunteer": "volunteer-hours",
    "compare": "township comparison",
    "county": "county comparison",
    "empty": "empty Streamlit",
}


def load(paths: list[str]) -> list[dict]:
    runs = []
    for p in paths:
        d = json.loads(Path(p).read_text())
        d["_label"] = f"{d['scale']} · {d['db']}" + (f" · {d['experiment']}" if d.get("experiment") else "")
        runs.append(d)
    return runs


def find(run: dict, key: str) -> dict | None:
    prefix = KEYS.get(key, key)
    return next((r for r in run.get("results", []) if r["name"].startswith(prefix)), None)


def fmt(x: float | None, digits: int = 1) -> str:
    if x is None or x != x:
        return "—"
    return f"{x:,.{digits}f}"


def sizes_table(runs: list[dict]) -> str:
    cols = ["village", "household", "resident", "ledger_entry", "proposal", "redemption", "attendance"]
    out = ["| run | " + " | ".join(cols) + " | database size |", "|---" * (len(cols) + 2) + "|"]
    for r in runs:
        sz = r.get("sizes", {})
        out.append(f"| {r['_label']} | " + " | ".join(f"{sz.get(c, 0):,}" for c in cols)
                   + f" | {sz.get('db_bytes', 0) / 2**30:.2f} GB |")
    return "\n".join(out)


def seed_table(runs: list[dict]) -> str:
    out = ["| run | rows written | seconds | rows/s | raw insert rows/s (same db) | ratio | verify |",
           "|---|---|---|---|---|---|---|"]
    for r in runs:
        sd = r.get("seed")
        if not sd:
            continue
        raw = sd["raw_rows_per_second"]
        det = sd.get("raw_details") or {}
        raw_txt = f"{raw:,}" + (f" (executemany {det['executemany']:,.0f}, COPY {det['copy']:,.0f})" if det else "")
        ver = (f"{sd['verify_problems']} problems, {sd['verify_seconds']} s" if "verify_problems" in sd else "not run")
        out.append(f"| {r['_label']} | {sd['total_rows']:,} | {sd['seconds']} | {sd['rows_per_second']:,} | {raw_txt} | "
                   f"{sd['ratio_to_raw']} | {ver} |")
    return "\n".join(out)


def results_table(runs: list[dict]) -> str:
    names: list[str] = []
    for r in runs:
        for x in r.get("results", []):
            if x["name"] not in names:
                names.append(x["name"])
    out = ["| measurement | " + " | ".join(f"{r['_label']} median / p95 ms" for r in runs) + " |",
           "|---" * (len(runs) + 1) + "|"]
    for n in names:
        cells = []
        for r in runs:
            x = next((y for y in r.get("results", []) if y["name"] == n), None)
            cells.append("—" if x is None else f"{fmt(x['median_ms'])} / {fmt(x['p95_ms'])}"
                         + (f" ({x['note']})" if x.get("note") and "over empty" not in x["note"] else ""))
        out.append(f"| {n} | " + " | ".join(cells) + " |")
    return "\n".join(out)


def memory_table(runs: list[dict]) -> str:
    out = ["| run | app RSS after opening every page | peak (HWM) | empty Streamlit | ratio | "
           "Streamlit showing one table and one chart | ratio to that | "
           "app that only imports the page modules | ratio to that |", "|---|---|---|---|---|---|---|---|---|"]
    for r in runs:
        m = r.get("memory")
        if not m or "error" in m:
            if m:
                out.append(f"| {r['_label']} | error: {m['error']} |  |  |  |  |  |  |  |")
            continue
        out.append(f"| {r['_label']} | {m['app_rss_mb']:.0f} MB | {m['app_hwm_mb']:.0f} MB | {m['empty_rss_mb']:.0f} MB | "
                   f"{m['ratio']:.2f} | {fmt(m.get('table_chart_rss_mb'), 0)} MB | {fmt(m.get('ratio_to_table_chart'), 2)} | "
                   f"{fmt(m.get('imports_rss_mb'), 0)} MB | {fmt(m.get('ratio_to_imports'), 2)} |")
    return "\n".join(out)


def targets(runs: list[dict]) -> str:
    by = {(r["scale"], r["db"]): r for r in runs if not r.get("experiment")}
    rows = []

    def ok(flag: bool | None) -> str:
        return "—" if flag is None else ("**pass**" if flag else "**FAIL**")

    for db in ("sqlite", "postgresql"):
        v, c = by.get(("village", db)), by.get(("county", db))
        if c and c.get("growth"):
            g = c["growth"]
            for key in ("card", "balance", "checkout"):
                x = g[key]
                rows.append((f"{KEYS[key]} at {g['entries']:,} entries within 1.2× of {g['reference_entries']:,} "
                             f"({db}; both databases timed in turn in one run)",
                             f"{x['small_median_ms']:.2f} → {x['big_median_ms']:.2f} ms = {x['ratio']:.2f}×",
                             ok(x["ratio"] <= 1.2)))
        elif v and c:  # older runs: two separate runs compared
            for key in ("card", "balance", "checkout"):
                a, b = find(v, key), find(c, key)
                if a and b:
                    ratio = b["median_ms"] / a["median_ms"]
                    rows.append((f"{KEYS[key]} at 20M within 1.2× of 20k ({db})",
                                 f"{fmt(a['median_ms'], 2)} → {fmt(b['median_ms'], 2)} ms = {ratio:.2f}×", ok(ratio <= 1.2)))
        if c:
            x = find(c, "checkout")
            limit = 10 if db == "sqlite" else 15
            if x:
                rows.append((f"checkout commit median ≤ {limit} ms at county scale ({db})", f"{fmt(x['median_ms'])} ms",
                             ok(x["median_ms"] <= limit)))
        for run in (v, c):
            if not run:
                continue
            d = find(run, "decide")
            if d:
                rows.append((f"decide + post 200 proposals ≤ 1 s ({run['_label']})", f"{fmt(d['median_ms'])} ms",
                             ok(d["median_ms"] <= 1000)))
                rv = d.get("extra", {}).get("rate_vs_raw")
                rows.append((f"… at least half the raw-SQL rate ({run['_label']})", f"{rv}× the raw rate",
                             ok(rv is not None and rv >= 0.5)))
            dr = find(run, "direct")
            if dr:
                rv = dr.get("extra", {}).get("rate_vs_raw")
                rows.append((f"the same without a 公示 window (one transaction): ≤ 1 s and ≥ half the raw rate "
                             f"({run['_label']})", f"{fmt(dr['median_ms'])} ms, {rv}× the raw rate",
                             ok(dr["median_ms"] <= 1000 and rv is not None and rv >= 0.5)))
            sd = run.get("seed")
            if sd:
                rows.append((f"bulk seeding ≥ half the raw insert rate ({run['_label']})",
                             f"{sd['rows_per_second']:,} vs {sd['raw_rows_per_second']:,} rows/s = {sd['ratio_to_raw']}",
                             ok(sd["ratio_to_raw"] >= 0.5)))
                if "verify_problems" in sd:
                    rows.append((f"verify clean after seeding ({run['_label']})", f"{sd['verify_problems']} problems",
                                 ok(sd["verify_problems"] == 0)))
        if v:
            pages = [x for x in v.get("results", []) if x["name"].startswith("page ")]
            slow = [x for x in pages if x.get("extra", {}).get("over_empty_ms", 0) > 150]
            if pages:
                rows.append((f"every page within 150 ms of an empty page, village scale ({db})",
                             f"{len(pages) - len(slow)}/{len(pages)} pages; over: "
                             + (", ".join(f"{x['name'][5:]} +{x['extra']['over_empty_ms']:.0f}" for x in slow) or "none"),
                             ok(not slow)))
        if c:
            x = find(c, "compare")
            if x:
                rows.append((f"county comparison view ≤ 1 s ({db}, service)", f"{fmt(x['median_ms'])} ms ({x['note']})",
                             ok(x["median_ms"] <= 1000)))
            pg = next((y for y in c.get("results", []) if y["name"] == "page compare"), None)
            if pg:
                rows.append((f"county comparison view ≤ 1 s ({db}, page render)", f"{fmt(pg['median_ms'])} ms",
                             ok(pg["median_ms"] <= 1000)))
            m = c.get("memory")
            if m and "error" not in m:
                rows.append((f"app memory at county scale ≤ 1.5× an empty Streamlit process ({db})",
                             f"{m['app_rss_mb']:.0f} / {m['empty_rss_mb']:.0f} MB = {m['ratio']:.2f}× "
                             f"(vs Streamlit showing one table and one chart: {fmt(m.get('ratio_to_table_chart'), 2)}×; "
                             f"vs the imports-only app: {fmt(m.get('ratio_to_imports'), 2)}×)", ok(m["ratio"] <= 1.5)))
    out = ["| target | measured | result |", "|---|---|---|"]
    out += [f"| {a} | {b} | {c} |" for a, b, c in rows]
    return "\n".join(out)


def machine(runs: list[dict]) -> str:
    out = []
    for r in runs:
        m = r["machine"]
        out.append(f"- {r['_label']}: {m.get('nproc')} CPUs ({m.get('cpu')}), {m.get('mem_total_gb')} GB RAM, "
                   f"Python {m.get('python')}, SQLite {m.get('sqlite')}"
                   + (f", PostgreSQL {m['postgresql']}" if m.get("postgresql") else "")
                   + f", Streamlit {m.get('streamlit')}; load average at start {fmt(m['load_avg_start'][0], 2)}, "
                   f"at end {fmt(m.get('load_avg_end', [float('nan')])[0], 2)}; CPU probe (a fixed Python loop) "
                   f"{fmt(m.get('cpu_probe_ms_start'))} ms at start, {fmt(m.get('cpu_probe_ms_end'))} ms at end; "
                   f"started {r['started']}, "
                   f"took {r.get('seconds')} s")
    return "\n".join(out)


def main(argv: list[str] | None = None) -> int:
    runs = load(argv if argv is not None else sys.argv[1:])
    print("### Machine\n\n" + machine(runs))
    print("\n### Data sizes\n\n" + sizes_table(runs))
    print("\n### Bulk seeding\n\n" + seed_table(runs))
    print("\n### Targets\n\n" + targets(runs))
    print("\n### All measurements\n\n" + results_table(runs))
    print("\n### Memory\n\n" + memory_table(runs))
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
