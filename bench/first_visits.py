"""First visit of every page in the browser, vs an empty Streamlit page.

A fresh ``streamlit run serve.py`` on a copy of a demo data dir; a browser logs in as the
admin and opens each page once (the first visit: the page's modules are imported and its
queries run for the first time in this process), then once more (the second visit). The time
is from ``page.goto`` until the page has its title and Streamlit has stopped running. An
empty Streamlit app is opened the same way first, for the ratio the issue asks for
(every page's first visit ≤ 1.5× the empty page's).

    python -m bench.first_visits --data-dir DEMO_DATA_DIR [--pages checkin,transparency]
"""

from __future__ import annotations

import argparse
import json
import shutil
import tempfile
import time
from pathlib import Path

from bench.memory import CHROMIUM, CHROMIUM_ARGS, ROOT, Server, _wait_idle


def _visit(page, url: str) -> float:
    t = time.perf_counter()
    page.goto(url)
    page.locator("h1").first.wait_for(timeout=120_000)
    _wait_idle(page)
    return time.perf_counter() - t - 0.3  # _wait_idle's own settle pause


def measure(data_dir: Path, modules: list[str], username: str = "admin", password: str = "demo12345") -> dict:
    from playwright.sync_api import sync_playwright

    work = Path(tempfile.mkdtemp(prefix="jifen-visits-"))
    out: dict = {"pages": {}}
    try:
        (work / "empty").mkdir()
        (work / "empty" / "app.py").write_text("import streamlit as st\nst.title('空白页')\n")
        shutil.copytree(data_dir, work / "data")
        with sync_playwright() as p:
            browser = p.chromium.launch(executable_path=CHROMIUM, args=CHROMIUM_ARGS)
            try:
                srv = Server(work / "empty" / "app.py", {}, work / "empty", work / "empty.log")
                try:
                    srv.wait()
                    page = browser.new_page()
                    out["empty_first_s"] = _visit(page, srv.url + "/")
                    out["empty_second_s"] = _visit(page, srv.url + "/")
                    page.close()
                finally:
                    srv.stop()
                env = {"JIFEN_DATA_DIR": str(work / "data"), "JIFEN_NO_DEMO": "0"}
                srv = Server(ROOT / "serve.py", env, ROOT, work / "app.log")
                try:
                    srv.wait()
                    ctx = browser.new_context(locale="zh-CN", viewport={"width": 1366, "height": 768})
                    page = ctx.new_page()
                    page.set_default_timeout(120_000)
                    page.goto(srv.url + "/")
                    page.get_by_label("用户名").fill(username)
                    page.get_by_label("密码").fill(password)
                    page.get_by_role("button", name="登录", exact=True).last.click()
                    page.locator("h1", has_text="工作台").wait_for()
                    _wait_idle(page)
                    for module in modules:
                        first = _visit(page, f"{srv.url}/{module}")
                        second = _visit(page, f"{srv.url}/{module}")
                        out["pages"][module] = {"first_s": round(first, 2), "second_s": round(second, 2),
                                                "ratio": round(first / out["empty_first_s"], 2)}
                    ctx.close()
                finally:
                    srv.stop()
            finally:
                browser.close()
    finally:
        shutil.rmtree(work, ignore_errors=True)
    return out


def main() -> None:
    from ui.nav import PAGES

    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("--data-dir", type=Path, required=True, help="a demo data dir (startup.prepare with demo)")
    ap.add_argument("--pages", default="", help="comma-separated page modules (default: every admin page)")
    args = ap.parse_args()
    modules = args.pages.split(",") if args.pages else [p.module for p in PAGES if "admin" in p.roles]
    res = measure(args.data_dir, modules)
    print(json.dumps(res, ensure_ascii=False, indent=1))
    print(f"empty page: first {res['empty_first_s']:.2f} s, second {res['empty_second_s']:.2f} s")
    for m, r in sorted(res["pages"].items(), key=lambda kv: -kv[1]["first_s"]):
        print(f"{m:15s} first {r['first_s']:5.2f} s ({r['ratio']:.1f}× empty)  second {r['second_s']:5.2f} s")


if __name__ == "__main__":
    main()
