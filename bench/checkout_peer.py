"""Our till's full checkout side by side with stregsystemet's quickbuy, in one run (issue 19).

    python -m bench.checkout_peer --demo DATA_DIR --peer-git URL_OR_PATH [--rounds 10] [--label run]
    JIFEN_BENCH_PEER_GIT=URL_OR_PATH python -m bench.checkout_peer --demo DATA_DIR

The peer is stregsystemet (F-klubben's Django kiosk), cloned at bench time from ``--peer-git`` into a
temporary directory — its code is never kept here — with its own venv (``pip install -r requirements.txt``),
``migrate``, its test fixture ``testdata.json`` (a member with money, products in room 1), served by
``manage.py runserver --noreload --insecure`` with DEBUG off (so the debug toolbar, which makes every page
seconds slower, is not measured; ``--insecure`` serves its CSS as DEBUG did). Its quickbuy: on the sale page
(``/<room>/``) type "<username> <product id>" + Enter as a scanner types it; timed until the confirmation
("har lige købt") is visible, and until the quickbuy box has the focus again (the kiosk ready).

Where no git source is given or the setup fails (clone, pip, migrate), the peer is the plain Starlette form
of bench/peer_form.py doing the same one write (a balance UPDATE and a sale INSERT in one SQLite
transaction); which peer ran is in the JSON and the printed table.

Ours is bench.till's checkout (card scan → goods scan → confirm → 兑换成功 and the page idle) on a copy of
the demo data dir given by ``--demo`` (built here when omitted). Both run in the same headless Chromium,
one warm-up round each, then N rounds each, alternating (ours first on even rounds, the peer first on odd
ones). A CPU probe (a fixed pure-Python loop) and the load average are taken before, between and after.
Nothing is asserted: figures go to BENCHMARKS.md. JSON: bench/results/<date>-checkout-peer/.
"""

from __future__ import annotations

import argparse
import datetime as dt
import json
import math
import os
import sqlite3
import statistics
import subprocess
import sys
import tempfile
import time
import urllib.request
from pathlib import Path

from bench.till import ARGS, CHROMIUM, ROOT, Till, _port

SG_CONFIRMED = "har lige købt"  # stregsystem/templates/stregsystem/index_sale.html
SG_LOCAL_CFG = """[general]
SECRET_KEY=bench-only-not-a-secret
X_FRAME_OPTIONS = SAMEORIGIN

[debug]
DEBUG = False
CSRF_COOKIE_SECURE = False
CSRF_COOKIE_HTTPONLY = False
SESSION_COOKIT_SECURE = False
SECURE_BROWSER_XSS_FILTER = False
SECURE_CONTENT_TYPE_NOSNIFF = False

[database]
ENGINE = django.db.backends.sqlite3
HOST =
PORT =
NAME = db.sqlite3
USER =
PASSWORD =

[hostnames]
2=127.0.0.1

[logging]
HANDLERS = ["file"]
FILE = stregsystem.log
LEVEL = WARNING
"""
FOCUSED = "() => document.activeElement && document.activeElement.id === 'quickbuy'"


def _wait_http(url: str, proc: subprocess.Popen, timeout: float = 120) -> None:
    end = time.time() + timeout
    while time.time() < end:
        if proc.poll() is not None:
            raise RuntimeError(f"peer server exited ({proc.returncode})")
        try:
            with urllib.request.urlopen(url, timeout=5):
                return
        except OSError:
            time.sleep(0.2)
    raise TimeoutError(url)


def _run(cmd: list[str], cwd: Path, log: Path, timeout: float) -> None:
    with log.open("a") as f:
        f.write(f"$ {' '.join(cmd)}\n")
        f.flush()
        subprocess.run(cmd, cwd=cwd, stdout=f, stderr=subprocess.STDOUT, check=True, timeout=timeout)


class _Peer:
    """One peer system: ``start()``, then ``round()`` per quickbuy, then ``stop()``."""

    name = ""
    confirmed = ""
    path = "/"
    buy = ""

    def __init__(self, browser, work: Path):
        self.browser, self.work = browser, work
        self.proc: subprocess.Popen | None = None
        self.page = None
        self.url = ""
        self.info: dict = {}

    def _open(self) -> None:
        self.page = self.browser.new_page(viewport={"width": 1366, "height": 768}, locale="zh-CN")
        self.page.goto(self.url + self.path)
        self.page.wait_for_function(FOCUSED, polling=20, timeout=60_000)

    def round(self, i: int) -> dict[str, float]:
        """Type the quickbuy as a scanner does (5 ms apart, then Enter); milliseconds from the first
        keystroke to the new page's confirmation visible, and to its box focused again."""
        page = self.page
        page.locator("#quickbuy").click()
        t = time.perf_counter()
        with page.expect_navigation(wait_until="commit", timeout=60_000):
            page.keyboard.type(self.buy, delay=5)
            page.keyboard.press("Enter")
        page.get_by_text(self.confirmed).first.wait_for(state="visible", timeout=60_000)
        shown = (time.perf_counter() - t) * 1000
        page.wait_for_function(FOCUSED, polling=20, timeout=60_000)
        ready = (time.perf_counter() - t) * 1000
        return {"quickbuy_confirmed_ms": shown, "quickbuy_ready_ms": ready}

    def stop(self) -> None:
        if self.page is not None:
            self.page.close()
        if self.proc is not None:
            self.proc.terminate()
            try:
                self.proc.wait(20)
            except subprocess.TimeoutExpired:
                self.proc.kill()


class Stregsystemet(_Peer):
    name = "stregsystemet"
    confirmed = SG_CONFIRMED

    def __init__(self, browser, work: Path, source: str):
        super().__init__(browser, work)
        self.source = source

    def start(self) -> None:
        repo, venv, log = self.work / "stregsystemet", self.work / "sg-venv", self.work / "peer-setup.log"
        t0 = time.perf_counter()
        _run(["git", "clone", "--quiet", self.source, str(repo)], self.work, log, 600)
        commit = subprocess.run(["git", "rev-parse", "--short", "HEAD"], cwd=repo, capture_output=True,
                                text=True).stdout.strip()
        _run([sys.executable, "-m", "venv", str(venv)], self.work, log, 300)
        py = str(venv / "bin" / "python")
        _run([py, "-m", "pip", "install", "--quiet", "-r", "requirements.txt"], repo, log, 900)
        (repo / "local.cfg").write_text(SG_LOCAL_CFG, encoding="utf-8")
        _run([py, "manage.py", "migrate", "-v0"], repo, log, 600)
        _run([py, "manage.py", "loaddata", "stregsystem/fixtures/testdata.json"], repo, log, 600)
        con = sqlite3.connect(repo / "db.sqlite3")
        username = con.execute("select username from stregsystem_member where active = 1 and signup_due_paid = 1 "
                               "order by balance desc limit 1").fetchone()[0]
        room, product = con.execute(
            "select r.room_id, p.id from stregsystem_product p join stregsystem_product_rooms r on r.product_id = p.id "
            "where p.active = 1 and p.price > 0 and p.quantity = 0 and p.deactivate_date is null "
            "order by p.price, p.id limit 1").fetchone()
        con.close()
        self.path, self.buy = f"/{room}/", f"{username} {product}"
        port = _port()
        self.url = f"http://127.0.0.1:{port}"
        self.proc = subprocess.Popen([py, "manage.py", "runserver", "--noreload", "--insecure", f"127.0.0.1:{port}"],
                                     cwd=repo, stdout=(self.work / "peer.log").open("w"), stderr=subprocess.STDOUT)
        _wait_http(self.url + self.path, self.proc)
        self._open()
        self.info = {"peer": self.name, "commit": commit, "server": "Django runserver --noreload --insecure, DEBUG off",
                     "database": "SQLite", "quickbuy": self.buy, "page": self.path,
                     "setup_s": round(time.perf_counter() - t0, 1)}


class StarletteForm(_Peer):
    name = "starlette-form"
    confirmed = "已售出"

    def start(self) -> None:
        from bench.peer_form import CONFIRMED, MEMBER, PRODUCT_ID

        self.confirmed, self.buy = CONFIRMED, f"{MEMBER} {PRODUCT_ID}"
        self.db = self.work / "peer-form.db"
        port = _port()
        self.url = f"http://127.0.0.1:{port}"
        env = {**os.environ, "JIFEN_PEER_DB": str(self.db)}
        self.proc = subprocess.Popen([sys.executable, "-m", "uvicorn", "bench.peer_form:app", "--host", "127.0.0.1",
                                      "--port", str(port), "--log-level", "warning"],
                                     cwd=ROOT, env=env, stdout=(self.work / "peer.log").open("w"),
                                     stderr=subprocess.STDOUT)
        _wait_http(self.url + "/", self.proc)
        if self.browser is not None:
            self._open()
        self.info = {"peer": self.name, "server": "uvicorn, one worker", "database": "SQLite",
                     "quickbuy": self.buy, "page": "/"}


def cpu_probe() -> float:
    """Milliseconds for a fixed pure-Python loop (the same work every time: the machine's speed now)."""
    t = time.perf_counter()
    x = 0
    for i in range(300_000):
        x += i * i % 7
    return round((time.perf_counter() - t) * 1000, 1)


def summary(v: list[float]) -> dict:
    s = sorted(v)
    p90 = s[min(len(s) - 1, math.ceil(0.9 * len(s)) - 1)]
    return {"median": round(statistics.median(s), 1), "p90": round(p90, 1), "min": round(s[0], 1),
            "max": round(s[-1], 1), "n": len(s)}


def build_demo(work: Path) -> Path:
    """A demo village data dir as the app's first start leaves it (history written in full)."""
    data = work / "demo" / "data"
    env = {**os.environ, "JIFEN_DATA_DIR": str(data)}
    env.pop("JIFEN_DATABASE_URL", None)
    subprocess.run([sys.executable, "-c", "from core.platform import config; from startup.prepare import prepare; "
                    "prepare(config.load())"], cwd=ROOT, env=env, check=True, timeout=1800)
    return data


def table(result: dict) -> str:
    o, p = result["ours"], result["peer"]
    rows = [("card scan → household shown", o.get("card_scan_ms")),
            ("goods scan → line in the cart", o.get("goods_scan_ms")),
            ("确认兑换 click → receipt, till ready", o.get("confirm_click_ms")),
            ("结算 code scan → receipt, till ready", o.get("confirm_scan_ms")),
            ("**full checkout (ours)**", o["full_checkout_ms"]),
            (f"**{result['peer_info']['peer']} quickbuy → confirmation visible**", p["quickbuy_confirmed_ms"]),
            (f"{result['peer_info']['peer']} quickbuy → box focused again", p["quickbuy_ready_ms"])]
    out = ["| step (ms) | median | p90 | min–max | n |", "|---|---|---|---|---|"]
    for name, s in rows:
        if s:
            out.append(f"| {name} | {s['median']:,.0f} | {s['p90']:,.0f} | {s['min']:,.0f}–{s['max']:,.0f} | {s['n']} |")
    out.append(f"\nratio ours/peer (medians, full checkout / quickbuy confirmed): **{result['ratio_median']}×**; "
               f"p90 {result['ratio_p90']}×")
    return "\n".join(out)


def main(argv: list[str] | None = None) -> int:
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("--root", type=Path, default=ROOT, help="checkout of the app to measure")
    ap.add_argument("--demo", type=Path, help="a demo data dir built before (built here when omitted)")
    ap.add_argument("--peer-git", default=os.environ.get("JIFEN_BENCH_PEER_GIT", ""),
                    help="stregsystemet's git URL or a local clone/mirror (env JIFEN_BENCH_PEER_GIT)")
    ap.add_argument("--peer", choices=("auto", "starlette"), default="auto",
                    help="starlette: skip stregsystemet and use the fallback form")
    ap.add_argument("--rounds", type=int, default=10)
    ap.add_argument("--label", default="run")
    ap.add_argument("--out", type=Path,
                    default=ROOT / "bench" / "results" / f"{dt.date.today():%Y-%m-%d}-checkout-peer")
    a = ap.parse_args(argv)
    from playwright.sync_api import sync_playwright

    result: dict = {"label": a.label, "when": dt.datetime.now().isoformat(timespec="seconds"),
                    "cpus": os.cpu_count(), "rounds": a.rounds, "peer_asked": a.peer, "load_avg": [os.getloadavg()],
                    "cpu_probe_ms": [cpu_probe()]}
    with tempfile.TemporaryDirectory() as tmp, sync_playwright() as pw:
        work = Path(tmp)
        browser = pw.chromium.launch(executable_path=CHROMIUM, args=ARGS)
        peer: _Peer | None = None
        if a.peer_git and a.peer == "auto":
            peer = Stregsystemet(browser, work, a.peer_git)
            try:
                peer.start()
            except Exception as e:  # clone, pip, migrate or server failed: say so and fall back
                log = work / "peer-setup.log"
                tail = log.read_text(errors="replace")[-1500:] if log.exists() else ""
                result["stregsystemet_failed"] = f"{type(e).__name__}: {e}\n{tail}"
                print("stregsystemet could not be set up, falling back to the Starlette form:", e, flush=True)
                peer.stop()
                peer = None
        elif a.peer == "auto":
            result["stregsystemet_failed"] = "no --peer-git / JIFEN_BENCH_PEER_GIT given"
        if peer is None:
            peer = StarletteForm(browser, work)
            peer.start()
        result["peer_info"] = peer.info
        print("peer:", json.dumps(peer.info, ensure_ascii=False), flush=True)
        demo = a.demo or build_demo(work)
        till = Till(a.root.resolve(), browser, work, demo, a.rounds)
        ours: dict[str, list[float]] = {}
        theirs: dict[str, list[float]] = {}
        order: list[str] = []
        try:
            till.start()
            for i in range(a.rounds + 1):  # round 0 warms both up and is not counted
                sides = [("ours", till, ours), ("peer", peer, theirs)]
                if i % 2:
                    sides.reverse()
                for side, system, acc in sides:
                    r = system.round(i)
                    if i:
                        for k, v in r.items():
                            acc.setdefault(k, []).append(v)
                        order.append(side)
                if i == a.rounds // 2:
                    result["load_avg"].append(os.getloadavg())
                    result["cpu_probe_ms"].append(cpu_probe())
                print(f"round {i}: ours {ours.get('full_checkout_ms', [0])[-1]:.0f} ms, "
                      f"peer {theirs.get('quickbuy_confirmed_ms', [0])[-1]:.0f} ms", flush=True)
        finally:
            till.stop()
            peer.stop()
            browser.close()
    result["load_avg"].append(os.getloadavg())
    result["cpu_probe_ms"].append(cpu_probe())
    result["ours"] = {k: summary(v) for k, v in ours.items()}
    result["peer"] = {k: summary(v) for k, v in theirs.items()}
    result["raw_ms"] = {"ours_full_checkout": [round(x, 1) for x in ours["full_checkout_ms"]],
                        "peer_quickbuy_confirmed": [round(x, 1) for x in theirs["quickbuy_confirmed_ms"]]}
    result["ratio_median"] = round(result["ours"]["full_checkout_ms"]["median"]
                                   / result["peer"]["quickbuy_confirmed_ms"]["median"], 2)
    result["ratio_p90"] = round(result["ours"]["full_checkout_ms"]["p90"]
                                / result["peer"]["quickbuy_confirmed_ms"]["p90"], 2)
    a.out.mkdir(parents=True, exist_ok=True)
    path = a.out / f"checkout-peer-{result['peer_info']['peer']}-{a.label}.json"
    path.write_text(json.dumps(result, ensure_ascii=False, indent=1), encoding="utf-8")
    print(table(result))
    print("load average:", result["load_avg"], "cpu probe ms:", result["cpu_probe_ms"])
    print("written:", path)
    return 0


if __name__ == "__main__":
    sys.exit(main())
