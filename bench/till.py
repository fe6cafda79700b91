"""The till and the first start, measured in a real browser (headless Chromium).

    python -m bench.till                  # both, on this checkout; results to bench/results/<date>-till/
    python -m bench.till --root OTHER     # the same on another checkout of the app (e.g. before a change)
    python -m bench.till --rounds 15 --label after

First start: ``streamlit run serve.py`` on a fresh, empty data dir, until the login form is shown
in the browser (the demo village is created on first start).

Checkout: a logged-in cashier on the demo data; each round scans a card (until 已读卡 is shown and
the page has finished running), scans a product (已加入), then confirms — by clicking 确认兑换, or
by scanning the printed 结算 code where the app has one — until 兑换成功 is shown and the page is
idle. Keystrokes go to the scan box as a USB scanner types them (5 ms apart, then Enter).
Per-step milliseconds are the time from the first keystroke (or the click) to that state.
Nothing here is asserted: figures go to BENCHMARKS.md.
"""

from __future__ import annotations

import argparse
import datetime as dt
import json
import os
import re
import shutil
import socket
import sqlite3
import statistics
import subprocess
import sys
import tempfile
import time
import urllib.request
from pathlib import Path

ROOT = Path(__file__).resolve().parents[1]
CHROMIUM = os.environ.get("JIFEN_CHROMIUM", shutil.which("chromium") or "/usr/bin/chromium")
ARGS = ["--headless", "--no-sandbox", "--disable-gpu", "--no-first-run", "--disable-background-networking"]
IDLE = ("() => { const w = document.querySelector('[data-testid=\"stStatusWidget\"]');"
        " return !w || !w.innerText.includes('Running'); }")


def _port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return s.getsockname()[1]


def _serve(root: Path, data: Path, port: int, log: Path) -> subprocess.Popen:
    env = {**os.environ, "JIFEN_DATA_DIR": str(data), "JIFEN_NO_DEMO": "0",
           "JIFEN_PUBLIC_URL": f"http://127.0.0.1:{port}", "PYTHONUNBUFFERED": "1"}
    env.pop("JIFEN_DATABASE_URL", None)
    return subprocess.Popen(
        [sys.executable, "-m", "streamlit", "run", "serve.py", "--server.port", str(port), "--server.address",
         "127.0.0.1", "--server.headless", "true", "--browser.gatherUsageStats", "false",
         "--server.fileWatcherType", "none"],
        cwd=root, env=env, stdout=log.open("w"), stderr=subprocess.STDOUT)


def _healthy(url: str, proc: subprocess.Popen, timeout: float = 600) -> None:
    end = time.time() + timeout
    while time.time() < end:
        if proc.poll() is not None:
            raise RuntimeError("server exited")
        try:
            with urllib.request.urlopen(url + "/healthz", timeout=2):
                return
        except OSError:
            time.sleep(0.1)
    raise TimeoutError(url)


def _idle(page) -> None:
    page.wait_for_function(IDLE, polling=20, timeout=120_000)


def first_start(root: Path, browser, work: Path) -> dict:
    """Seconds from `streamlit run` on an empty data dir to the login form in the browser."""
    data = work / "fresh" / "data"
    port = _port()
    url = f"http://127.0.0.1:{port}"
    t0 = time.perf_counter()
    proc = _serve(root, data, port, work / "first-start.log")
    try:
        _healthy(url, proc)
        healthy = time.perf_counter() - t0
        page = browser.new_page(viewport={"width": 1366, "height": 768}, locale="zh-CN")
        page.goto(url + "/", wait_until="commit")
        english = False  # did Streamlit's own list of page files show in the sidebar while starting?
        while not page.get_by_label("用户名").count():
            if time.perf_counter() - t0 > 600:
                raise TimeoutError("no login form")
            english = english or page.locator('[data-testid="stSidebarNav"] a').count() > 0
            page.wait_for_timeout(100)
        usable = time.perf_counter() - t0
        page.close()
        return {"server_healthy_s": round(healthy, 2), "login_form_s": round(usable, 2),
                "sidebar_file_list_seen": bool(english)}
    finally:
        proc.terminate()
        proc.wait(20)


def _type_scan(page, text: str) -> None:
    box = page.locator("[class*='_scan_input'] input").first
    box.click()  # the old till loses keystrokes typed elsewhere; both are measured from the box
    page.keyboard.type(text, delay=5)
    page.keyboard.press("Enter")


def _confirm_code(root: Path) -> str:
    """The printed 结算 code of the checkout measured ('' where that app has none)."""
    for rel in ("core/supermarket/shop.py", "core/shop.py"):
        f = root / rel
        if f.exists():
            m = re.search(r'^CONFIRM_CODE = "([^"]+)"', f.read_text(encoding="utf-8"), re.M)
            if m:
                return m.group(1)
    return ""


class Till:
    """A logged-in cashier's checkout page on a copy of the demo village, one checkout per :meth:`round`
    (bench.checkout_peer alternates these rounds with another system's in the same browser)."""

    def __init__(self, root: Path, browser, work: Path, demo: Path, rounds: int):
        self.root, self.browser, self.work, self.demo, self.rounds = root, browser, work, demo, rounds
        self.code = _confirm_code(root)
        self.proc: subprocess.Popen | None = None
        self.page = None

    def start(self) -> None:
        data = self.work / "till" / "data"
        shutil.copytree(self.demo, data)
        port = _port()
        url = f"http://127.0.0.1:{port}"
        self.proc = _serve(self.root, data, port, self.work / "till.log")
        con = sqlite3.connect(data / "jifen.db")
        self.cards = con.execute(
            "select c.token, h.door_no || ' ' || h.head_name from card c join household h "
            "on h.id = c.household_id join account a on a.household_id = h.id where c.status = 'active' "
            "and h.active = 1 order by a.balance desc limit ?", (self.rounds + 2,)).fetchall()
        self.name, self.barcode = con.execute(
            "select name, barcode from product where kind = 'goods' and active = 1 and stock > 100 "
            "and barcode != '' order by price limit 1").fetchone()
        con.close()
        _healthy(url, self.proc)
        page = self.page = self.browser.new_page(viewport={"width": 1366, "height": 768}, locale="zh-CN")
        page.goto(url + "/")
        page.get_by_label("用户名").fill("shouyin")
        page.get_by_label("密码").fill("demo12345")
        page.get_by_role("button", name="登录", exact=True).last.click()
        page.wait_for_selector("text=工作台", timeout=60_000)
        page.goto(url + "/checkout")
        page.locator("[class*='_scan_input'] input").first.wait_for(timeout=60_000)
        _idle(page)

    def round(self, i: int) -> dict[str, float]:
        """Checkout number ``i`` (0 = warm-up): card scan, goods scan, confirm (every other round by
        scanning the 结算 code where the app has one); milliseconds per step and in all."""
        page = self.page
        token, head = self.cards[i % len(self.cards)]
        t = time.perf_counter()
        _type_scan(page, token)
        page.get_by_text(f"已读卡：{head}").first.wait_for(timeout=60_000)
        _idle(page)
        card_ms = (time.perf_counter() - t) * 1000
        t = time.perf_counter()
        _type_scan(page, self.barcode)
        page.get_by_text(f"已加入：{self.name}").first.wait_for(timeout=60_000)
        _idle(page)
        goods_ms = (time.perf_counter() - t) * 1000
        by_scan = bool(self.code) and i % 2 == 1
        t = time.perf_counter()
        if by_scan:
            _type_scan(page, self.code)
        else:
            page.locator(".st-key-checkout_confirm button").click()
        page.get_by_text("兑换成功").first.wait_for(timeout=60_000)
        _idle(page)
        confirm_ms = (time.perf_counter() - t) * 1000
        return {"card_scan_ms": card_ms, "goods_scan_ms": goods_ms,
                "confirm_scan_ms" if by_scan else "confirm_click_ms": confirm_ms,
                "full_checkout_ms": card_ms + goods_ms + confirm_ms}

    def stop(self) -> None:
        if self.page is not None:
            self.page.close()
        if self.proc is not None:
            self.proc.terminate()
            self.proc.wait(20)


def checkout(root: Path, browser, work: Path, demo: Path, rounds: int) -> dict:
    till = Till(root, browser, work, demo, rounds)
    steps: dict[str, list[float]] = {}
    try:
        till.start()
        for i in range(rounds + 1):  # the first round warms the pages up and is not counted
            r = till.round(i)
            if i:
                for k, v in r.items():
                    steps.setdefault(k, []).append(v)
    finally:
        till.stop()
    return {k: {"median": round(statistics.median(v), 1), "min": round(min(v), 1), "max": round(max(v), 1),
                "n": len(v)} for k, v in steps.items() if v}


def main(argv: list[str] | None = None) -> None:
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("--root", type=Path, default=ROOT, help="checkout of the app to measure")
    ap.add_argument("--rounds", type=int, default=10)
    ap.add_argument("--label", default="")
    ap.add_argument("--demo", type=Path, help="a demo data dir built before: time the checkout on a copy of it")
    ap.add_argument("--skip-first-start", action="store_true")
    ap.add_argument("--out", type=Path, default=ROOT / "bench" / "results" / f"{dt.date.today():%Y-%m-%d}-till")
    a = ap.parse_args(argv)
    from playwright.sync_api import sync_playwright

    result: dict = {"root": a.root.name, "label": a.label, "when": dt.datetime.now().isoformat(timespec="seconds"),
                    "cpus": os.cpu_count(), "load_avg": os.getloadavg()}
    with tempfile.TemporaryDirectory() as tmp, sync_playwright() as p:
        work = Path(tmp)
        browser = p.chromium.launch(executable_path=CHROMIUM, args=ARGS)
        if not a.skip_first_start:
            result["first_start"] = first_start(a.root.resolve(), browser, work)
            print("first start:", result["first_start"], flush=True)
        if a.demo:
            result["checkout"] = checkout(a.root.resolve(), browser, work, a.demo, a.rounds)
            print("checkout:", json.dumps(result["checkout"], ensure_ascii=False), flush=True)
        browser.close()
    a.out.mkdir(parents=True, exist_ok=True)
    kinds = "-".join(k for k in ("first_start", "checkout") if k in result).replace("_", "-")
    (a.out / f"till-{kinds}-{a.label or 'run'}.json").write_text(json.dumps(result, ensure_ascii=False, indent=1))


if __name__ == "__main__":
    main()
