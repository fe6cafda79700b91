"""The resident's card page (issue 21): what a phone pays to see its balance, and how many
card pages a server answers.

    python -m bench.resident_page browser --old-tree /tmp/jifen-main --json bench/results/<day>/resident-browser.json
    python -m bench.resident_page load --scale township --json bench/results/<day>/resident-load.json

``browser``: headless Chromium at 390×844 opens ``/me?card=TOKEN`` with a cold cache until the
balance is on screen, with the network emulated through CDP ``Network.emulateNetworkConditions``
(none, 4G: 150 ms RTT and 4 Mbit/s, slow 3G: 400 ms and 400 kbit/s). The light page (web/, served
by ``streamlit run serve.py`` as in production) and the old Streamlit page (a checkout of the code
before, ``--old-tree``, same data copied) are measured alternately in the same run. Bytes are what
crossed the network: every response's encoded length plus websocket frames.

``load``: the light page alone (``uvicorn web.app:app``, 1 and 2 worker processes) on a seeded
benchmark database; an asyncio client keeps ``--concurrency`` requests in flight for ``--seconds``
over the card tokens of many households and reports requests/s and latency percentiles.
"""

from __future__ import annotations

import argparse
import asyncio
import json
import os
import platform
import random
import shutil
import signal
import socket
import statistics
import subprocess
import sys
import time
import urllib.request
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent
NETWORKS = {  # name: (latency ms, download and upload bytes/s); latency is the round trip added per request
    "none": (0, -1),
    "4G": (150, 4_000_000 / 8),
    "slow 3G": (400, 400_000 / 8),
}
PHONE = {"width": 390, "height": 844}


def _free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return s.getsockname()[1]


def _wait(url: str, proc: subprocess.Popen, timeout: float = 180) -> None:
    deadline = time.time() + timeout
    while time.time() < deadline:
        if proc.poll() is not None:
            raise RuntimeError(f"server exited ({proc.returncode})")
        try:
            with urllib.request.urlopen(url, timeout=2) as r:
                if r.status == 200:
                    return
        except OSError:
            time.sleep(0.5)
    raise TimeoutError(url)


def _stop(proc: subprocess.Popen) -> None:
    proc.send_signal(signal.SIGTERM)
    try:
        proc.wait(15)
    except subprocess.TimeoutExpired:
        proc.kill()


def _machine() -> dict:
    from bench.run import cpu_probe_ms

    return {"nproc": os.cpu_count(), "python": platform.python_version(), "load_avg": os.getloadavg(),
            "cpu_probe_ms": cpu_probe_ms()}


# ---------------------------------------------------------------- browser: bytes and time to balance


def _streamlit(tree: Path, data_dir: Path, log: Path) -> tuple[subprocess.Popen, str]:
    port = _free_port()
    env = {**os.environ, "JIFEN_DATA_DIR": str(data_dir), "JIFEN_NO_DEMO": "0",
           "JIFEN_PUBLIC_URL": f"http://127.0.0.1:{port}", "PYTHONUNBUFFERED": "1"}
    env.pop("JIFEN_DATABASE_URL", None)
    proc = subprocess.Popen(
        [sys.executable, "-m", "streamlit", "run", "serve.py", "--server.port", str(port), "--server.address",
         "127.0.0.1", "--server.headless", "true", "--browser.gatherUsageStats", "false",
         "--server.fileWatcherType", "none"], cwd=tree, env=env, stdout=log.open("w"), stderr=subprocess.STDOUT)
    base = f"http://127.0.0.1:{port}"
    _wait(base + "/healthz", proc)
    return proc, base


def _open_once(browser, url: str, ready: str, network: str) -> dict:
    """One cold visit: a fresh context (no cache, no cookies), network emulated from the start."""
    latency, rate = NETWORKS[network]
    ctx = browser.new_context(viewport=PHONE, locale="zh-CN", device_scale_factor=2, is_mobile=True,
                              has_touch=True)
    page = ctx.new_page()
    cdp = ctx.new_cdp_session(page)
    cdp.send("Network.enable")
    cdp.send("Network.setCacheDisabled", {"cacheDisabled": True})
    cdp.send("Network.emulateNetworkConditions", {"offline": False, "latency": latency,
                                                  "downloadThroughput": rate, "uploadThroughput": rate})
    sizes: dict[str, int] = {}
    ws = {"bytes": 0, "frames": 0}
    cdp.on("Network.loadingFinished", lambda e: sizes.__setitem__(e["requestId"], int(e["encodedDataLength"])))

    def frame(e):
        data = e["response"].get("payloadData", "")
        ws["bytes"] += len(data) * 3 // 4 if e["response"].get("opcode") == 2 else len(data.encode())  # binary: base64
        ws["frames"] += 1

    cdp.on("Network.webSocketFrameReceived", frame)
    cdp.on("Network.webSocketFrameSent", frame)
    start = time.perf_counter()
    page.goto(url, wait_until="commit", timeout=180_000)
    page.locator(ready).first.wait_for(state="visible", timeout=180_000)
    seconds = time.perf_counter() - start
    value = page.locator(ready).first.inner_text()
    page.wait_for_timeout(1500 if network == "none" else 3000)  # what still arrives after the balance is counted too
    out = {"seconds_to_balance": round(seconds, 3), "http_bytes": sum(sizes.values()), "responses": len(sizes),
           "websocket_bytes": ws["bytes"], "websocket_frames": ws["frames"], "balance_text": value.strip()[:40]}
    out["total_bytes"] = out["http_bytes"] + out["websocket_bytes"]
    ctx.close()
    return out


def browser_run(args) -> dict:
    from playwright.sync_api import sync_playwright

    work = Path(args.dir)
    if work.exists():
        shutil.rmtree(work)
    work.mkdir(parents=True)
    seed = work / "seed"
    subprocess.run([sys.executable, "-c", "from core.platform.config import load; from startup.prepare import prepare; "
                    "prepare(load())"], cwd=ROOT, env={**os.environ, "JIFEN_DATA_DIR": str(seed),
                                                       "JIFEN_NO_DEMO": "0"}, check=True)
    import sqlite3

    con = sqlite3.connect(seed / "jifen.db")
    token, balance = con.execute(
        "select c.token, a.balance from card c join account a on a.household_id = c.household_id "
        "where c.status = 'active' order by a.balance desc limit 1").fetchone()
    con.close()
    pages = {"light page (web/)": (ROOT, "#balance b"),
             "old Streamlit page": (Path(args.old_tree), '[data-testid="stMetricValue"]')}
    servers = {}
    try:
        for name, (tree, _) in pages.items():
            data = work / name.split()[0]
            shutil.copytree(seed, data)
            servers[name] = _streamlit(tree, data, work / f"{name.split()[0]}.log")
        rows = []
        with sync_playwright() as p:
            browser = p.chromium.launch(executable_path=args.chromium, args=["--disable-gpu"])
            for name, (_, ready) in pages.items():  # warm each server once (imports, first script run)
                _open_once(browser, f"{servers[name][1]}/me?card={token}", ready, "none")
            for network in args.networks:
                for i in range(args.runs):
                    order = list(pages) if i % 2 == 0 else list(reversed(pages))
                    for name in order:
                        r = _open_once(browser, f"{servers[name][1]}/me?card={token}", pages[name][1], network)
                        r.update(page=name, network=network, run=i + 1)
                        rows.append(r)
                        print(json.dumps(r, ensure_ascii=False), file=sys.stderr)
            browser.close()
    finally:
        for proc, _ in servers.values():
            _stop(proc)
    summary = []
    for network in args.networks:
        for name in pages:
            mine = [r for r in rows if r["page"] == name and r["network"] == network]
            summary.append({"page": name, "network": network, "runs": len(mine),
                            "median_seconds_to_balance": round(statistics.median(r["seconds_to_balance"]
                                                                                 for r in mine), 2),
                            "max_seconds_to_balance": round(max(r["seconds_to_balance"] for r in mine), 2),
                            "median_total_kb": round(statistics.median(r["total_bytes"] for r in mine) / 1024, 1),
                            "median_responses": statistics.median(r["responses"] for r in mine)})
    return {"kind": "resident-browser", "balance_in_db": balance, "machine": _machine(), "summary": summary,
            "runs": rows}


# ---------------------------------------------------------------- load: requests/s and latency


async def _client(base: str, tokens: list[str], concurrency: int, seconds: float, warmup: float) -> dict:
    import httpx

    latencies: list[float] = []
    errors = {"n": 0}
    stop_at = time.perf_counter() + warmup + seconds
    count_from = time.perf_counter() + warmup
    limits = httpx.Limits(max_connections=concurrency, max_keepalive_connections=concurrency)
    async with httpx.AsyncClient(base_url=base, limits=limits, timeout=30,
                                 headers={"Accept-Encoding": "gzip"}) as client:
        async def worker(k: int):
            rnd = random.Random(k)
            while True:
                t = time.perf_counter()
                if t >= stop_at:
                    return
                try:
                    r = await client.get(f"/me?card={rnd.choice(tokens)}")
                    ok = r.status_code == 200
                except httpx.HTTPError:
                    ok = False
                done = time.perf_counter()
                if t >= count_from:
                    if not ok:
                        errors["n"] += 1
                    latencies.append(done - t)

        await asyncio.gather(*(worker(k) for k in range(concurrency)))
    latencies.sort()

    def pct(q):
        return round(latencies[min(len(latencies) - 1, int(q * len(latencies)))] * 1000, 1) if latencies else None

    return {"requests": len(latencies), "errors": errors["n"], "requests_per_second": round(len(latencies) / seconds, 1),
            "p50_ms": pct(0.50), "p95_ms": pct(0.95), "p99_ms": pct(0.99)}


def _cpu_seconds(session: int | None = None, comm: str | None = None) -> float:
    """CPU time (user + system) of the processes of a session (the server and its workers), or
    of every process with this command name (PostgreSQL's backends), from /proc."""
    total = 0
    for d in Path("/proc").iterdir():
        if not d.name.isdigit():
            continue
        try:
            raw = (d / "stat").read_text()
        except OSError:
            continue
        name = raw[raw.index("(") + 1:raw.rindex(")")]
        fields = raw[raw.rindex(")") + 2:].split()
        if (session is not None and int(fields[3]) == session) or (comm is not None and name == comm):
            total += int(fields[11]) + int(fields[12])
    return total / os.sysconf("SC_CLK_TCK")


def _uvicorn(url: str, workers: int, log: Path, app: str = "web.app:app") -> tuple[subprocess.Popen, str]:
    port = _free_port()
    env = {**os.environ, "JIFEN_DATABASE_URL": url, "JIFEN_SECRET_KEY": "bench", "PYTHONUNBUFFERED": "1"}
    proc = subprocess.Popen([sys.executable, "-m", "uvicorn", app, "--host", "127.0.0.1", "--port",
                             str(port), "--workers", str(workers), "--no-access-log", "--log-level", "warning",
                             "--timeout-worker-healthcheck", "60"],
                            cwd=ROOT, env=env, stdout=log.open("w"), stderr=subprocess.STDOUT,
                            start_new_session=True)
    base = f"http://127.0.0.1:{port}"
    _wait(base + "/healthz", proc)
    return proc, base


def load_run(args) -> dict:
    from sqlalchemy import text

    from bench.data import SCALES, open_bench_db, sizes

    villages, households, entries = SCALES[args.scale]
    bdb = open_bench_db(args.db, args.scale + "-resident", Path(args.dir), fresh=not args.reuse, pg_url=args.pg_url)
    seeded_seconds = None
    try:
        with bdb.db.engine.connect() as c:
            seeded = c.execute(text("SELECT COUNT(*) FROM ledger_entry")).scalar_one() > 0
        if not seeded:
            from startup.bulkseed import bulk_seed

            t = time.perf_counter()
            bulk_seed(bdb.db, villages=villages, households=households, days=365, entries=entries, seed=42,
                      workers=1, log=lambda m: print(m, file=sys.stderr))
            seeded_seconds = round(time.perf_counter() - t, 1)
        with bdb.db.engine.connect() as c:  # many households of several villages, as a county's phones would
            tokens = [r[0] for r in c.execute(text(
                "SELECT token FROM card WHERE status = 'active' ORDER BY id % 97, id LIMIT :n"), {"n": args.tokens})]
        size = sizes(bdb.db)
        results = []
        for workers in args.workers:
            proc, base = _uvicorn(bdb.url, workers, Path(args.dir) / f"uvicorn-{workers}.log")
            try:
                asyncio.run(_client(base, tokens, args.concurrency, 2, 1))  # warm the pools
                for rnd in range(args.rounds):
                    app_cpu, pg_cpu, load = _cpu_seconds(session=proc.pid), _cpu_seconds(comm="postgres"), time.time()
                    r = asyncio.run(_client(base, tokens, args.concurrency, args.seconds, 1))
                    app_cpu = _cpu_seconds(session=proc.pid) - app_cpu
                    pg_cpu = _cpu_seconds(comm="postgres") - pg_cpu
                    total = r["requests"] * (args.seconds + 1) / args.seconds  # the warm-up second too
                    # CPU per page: what the server's processes spent, whatever else ran on the machine;
                    # 1000 / app_cpu_ms_per_page is the rate one process reaches on a core of its own.
                    r.update(processes=workers, round=rnd + 1, concurrency=args.concurrency,
                             app_cpu_ms_per_page=round(app_cpu / total * 1000, 2) if total else None,
                             postgres_cpu_ms_per_page=round(pg_cpu / total * 1000, 2) if total else None,
                             load_avg_1min=os.getloadavg()[0], wall_seconds=round(time.time() - load, 1))
                    print(json.dumps(r), file=sys.stderr)
                    results.append(r)
            finally:
                os.killpg(proc.pid, signal.SIGTERM)
                proc.wait(20)
        ceiling = None
        if args.ceiling:  # the same server and client on a page with no database and no template
            proc, base = _uvicorn(bdb.url, 1, Path(args.dir) / "uvicorn-ceiling.log", app="bench.ceiling_app:app")
            try:
                asyncio.run(_client(base, tokens, args.concurrency, 2, 1))
                app_cpu = _cpu_seconds(session=proc.pid)
                ceiling = asyncio.run(_client(base, tokens, args.concurrency, args.seconds, 1))
                total = ceiling["requests"] * (args.seconds + 1) / args.seconds
                ceiling.update(processes=1, app="bench.ceiling_app (fixed page, no database)",
                               app_cpu_ms_per_page=round((_cpu_seconds(session=proc.pid) - app_cpu) / total * 1000, 2),
                               load_avg_1min=os.getloadavg()[0])
                print(json.dumps(ceiling), file=sys.stderr)
            finally:
                os.killpg(proc.pid, signal.SIGTERM)
                proc.wait(20)
        best = {w: max((r for r in results if r["processes"] == w), key=lambda r: r["requests_per_second"])
                for w in args.workers}
        scaling = (round(best[2]["requests_per_second"] / best[1]["requests_per_second"], 2)
                   if 1 in best and 2 in best else None)
        cpu = {w: statistics.median(r["app_cpu_ms_per_page"] for r in results if r["processes"] == w)
               for w in args.workers}
        return {"kind": "resident-load", "db": args.db, "scale": args.scale, "sizes": size,
                "median_app_cpu_ms_per_page": cpu,
                "seed_seconds": seeded_seconds, "tokens": len(tokens), "machine": _machine(), "results": results,
                "ceiling": ceiling,
                "two_over_one": scaling}
    finally:
        bdb.db.dispose()
        if not args.keep:
            for f in bdb.cleanup:
                f()


def main(argv=None) -> int:
    p = argparse.ArgumentParser(prog="python -m bench.resident_page", description=__doc__.split("\n\n")[0])
    sub = p.add_subparsers(dest="cmd", required=True)
    b = sub.add_parser("browser", help="bytes and time to balance in headless Chromium, light page vs old page")
    b.add_argument("--old-tree", required=True, help="a checkout of the code with the old Streamlit card page")
    b.add_argument("--dir", default="/tmp/bench-resident-browser")
    b.add_argument("--runs", type=int, default=3)
    b.add_argument("--networks", nargs="+", default=list(NETWORKS), choices=list(NETWORKS))
    b.add_argument("--chromium", default=shutil.which("chromium") or "/usr/bin/chromium")
    b.add_argument("--json")
    ld = sub.add_parser("load", help="requests/s and latency of the light page alone (uvicorn), 1 and 2 processes")
    ld.add_argument("--scale", default="township")
    ld.add_argument("--db", choices=["sqlite", "postgresql"], default="postgresql")
    ld.add_argument("--pg-url", default=os.environ.get("JIFEN_BENCH_PG_URL",
                                                       "postgresql+psycopg://postgres@127.0.0.1:5432/postgres"))
    ld.add_argument("--dir", default="/tmp")
    ld.add_argument("--reuse", action="store_true")
    ld.add_argument("--keep", action="store_true")
    ld.add_argument("--tokens", type=int, default=2000)
    ld.add_argument("--concurrency", type=int, default=50)
    ld.add_argument("--seconds", type=float, default=15)
    ld.add_argument("--rounds", type=int, default=2)
    ld.add_argument("--workers", type=int, nargs="+", default=[1, 2])
    ld.add_argument("--no-ceiling", dest="ceiling", action="store_false",
                    help="skip the ceiling run (bench/ceiling_app.py: a fixed page, same server and client)")
    ld.add_argument("--json")
    args = p.parse_args(argv)
    out = browser_run(args) if args.cmd == "browser" else load_run(args)
    text = json.dumps(out, ensure_ascii=False, indent=1, default=str)
    if args.json:
        Path(args.json).parent.mkdir(parents=True, exist_ok=True)
        Path(args.json).write_text(text + "\n")
    print(json.dumps(out.get("summary") or [{k: v for k, v in r.items()} for r in out["results"]],
                     ensure_ascii=False, indent=1))
    return 0


if __name__ == "__main__":
    sys.exit(main())
