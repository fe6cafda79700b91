"""The app process's memory: RSS of a real ``streamlit run serve.py`` after a browser has
logged in and opened every page, vs an empty Streamlit app opened the same way.

Two more apps give context (the target stays "≤ 1.5× the empty app"): one that shows a
20-row ``st.dataframe`` and one altair chart — what Streamlit itself costs once a page shows
a table and a chart (pandas, pyarrow, altair) — and one that only imports every page module."""

from __future__ import annotations

import os
import shutil
import socket
import subprocess
import sys
import time
import urllib.request
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent
CHROMIUM = os.environ.get("JIFEN_CHROMIUM", shutil.which("chromium") or "/usr/bin/chromium")
CHROMIUM_ARGS = ["--headless", "--no-sandbox", "--disable-gpu", "--disable-quic", "--no-first-run",
                 "--disable-background-networking", "--disable-component-update", "--disable-sync"]


def _free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return s.getsockname()[1]


def rss_kb(pid: int) -> tuple[int, int]:
    """(VmRSS, VmHWM) in kB of a process."""
    rss = hwm = 0
    with open(f"/proc/{pid}/status") as f:
        for line in f:
            if line.startswith("VmRSS:"):
                rss = int(line.split()[1])
            elif line.startswith("VmHWM:"):
                hwm = int(line.split()[1])
    return rss, hwm


class Server:
    def __init__(self, script: Path, env: dict, cwd: Path, log: Path):
        self.port = _free_port()
        self.url = f"http://127.0.0.1:{self.port}"
        self.log = open(log, "w")  # noqa: SIM115
        self.proc = subprocess.Popen(
            [sys.executable, "-m", "streamlit", "run", str(script), "--server.port", str(self.port),
             "--server.address", "127.0.0.1", "--server.headless", "true", "--browser.gatherUsageStats", "false",
             "--server.fileWatcherType", "none"],
            cwd=cwd, env={**os.environ, **env, "PYTHONUNBUFFERED": "1"}, stdout=self.log, stderr=subprocess.STDOUT)

    def wait(self, timeout: float = 180) -> None:
        deadline = time.time() + timeout
        while time.time() < deadline:
            if self.proc.poll() is not None:
                raise RuntimeError(f"server exited: {Path(self.log.name).read_text()[-2000:]}")
            try:
                with urllib.request.urlopen(self.url + "/_stcore/health", timeout=2) as r:
                    if r.status == 200:
                        return
            except OSError:
                time.sleep(0.5)
        raise TimeoutError("server did not become healthy")

    def stop(self) -> None:
        self.proc.terminate()
        try:
            self.proc.wait(15)
        except subprocess.TimeoutExpired:
            self.proc.kill()
            self.proc.wait()
        self.log.close()


# What Streamlit costs once a page shows a table and a chart: a 20-row dataframe, one altair chart.
TABLE_CHART_APP = """import altair as alt
import pandas as pd
import streamlit as st

st.title('一张表和一张图')
df = pd.DataFrame({'户': [f'1-{i:03d}' for i in range(1, 21)], '积分': [(i * 37) % 100 for i in range(20)]})
st.dataframe(df, hide_index=True)
st.altair_chart(alt.Chart(df).mark_bar().encode(x='积分:Q', y=alt.Y('户:N', sort='-x')))
"""


def _wait_idle(page, timeout: float = 120_000) -> None:
    page.wait_for_selector('[data-testid="stApp"]', timeout=timeout)
    page.wait_for_function(
        "() => !document.querySelector('[data-testid=\"stStatusWidget\"]')"
        " || !document.querySelector('[data-testid=\"stStatusWidget\"]').innerText.includes('Running')",
        timeout=timeout)
    page.wait_for_timeout(300)


def measure_memory(env: dict, work_dir: Path, username: str, password: str, modules: list[str]) -> dict:
    """RSS (MB) of the app after opening ``modules`` as ``username``, and of an empty app."""
    from playwright.sync_api import sync_playwright

    empty_dir = work_dir / "empty-app"
    empty_dir.mkdir(parents=True, exist_ok=True)
    (empty_dir / "app.py").write_text("import streamlit as st\nst.title('空白页')\n")
    (empty_dir / "table_chart.py").write_text(TABLE_CHART_APP)
    out: dict = {}
    with sync_playwright() as p:
        browser = p.chromium.launch(executable_path=CHROMIUM, args=CHROMIUM_ARGS)
        try:
            for name, script in (("empty", "app.py"), ("table_chart", "table_chart.py")):
                srv = Server(empty_dir / script, {}, empty_dir, work_dir / f"{name}-server.log")
                try:
                    srv.wait()
                    page = browser.new_page()
                    page.goto(srv.url + "/")
                    _wait_idle(page)
                    if name == "table_chart":  # the table and the chart really reached the browser
                        page.wait_for_selector('[data-testid="stDataFrame"]')
                        page.wait_for_selector('[data-testid="stVegaLiteChart"]')
                    page.close()
                    time.sleep(1)
                    out[f"{name}_rss_mb"], out[f"{name}_hwm_mb"] = (x / 1024 for x in rss_kb(srv.proc.pid))
                finally:
                    srv.stop()

            # the floor of this code base: an app that only imports every page module (pandas,
            # altair, SQLAlchemy, openpyxl, fpdf ...) and renders nothing from the database
            (empty_dir / "imports.py").write_text(
                "import importlib\nimport streamlit as st\nfrom ui.nav import PAGES, PUBLIC_PAGES\n"
                "for p in PAGES + PUBLIC_PAGES:\n    importlib.import_module(f'pages.{p.module}')\n"
                "st.title('只导入模块')\n")
            srv = Server(empty_dir / "imports.py", {"PYTHONPATH": str(ROOT)}, ROOT, work_dir / "imports-server.log")
            try:
                srv.wait()
                page = browser.new_page()
                page.goto(srv.url + "/")
                _wait_idle(page)
                page.close()
                time.sleep(1)
                out["imports_rss_mb"], out["imports_hwm_mb"] = (x / 1024 for x in rss_kb(srv.proc.pid))
            finally:
                srv.stop()

            srv = Server(ROOT / "serve.py", env, ROOT, work_dir / "app-server.log")
            try:
                srv.wait()
                ctx = browser.new_context(locale="zh-CN", viewport={"width": 1366, "height": 768})
                page = ctx.new_page()
                page.set_default_timeout(120_000)
                page.goto(srv.url + "/")
                page.get_by_label("用户名").fill(username)
                page.get_by_label("密码").fill(password)
                page.get_by_role("button", name="登录").click()
                page.wait_for_selector("text=工作台", timeout=120_000)
                _wait_idle(page)
                t = time.perf_counter()
                for module in modules:
                    page.goto(f"{srv.url}/{module}")
                    _wait_idle(page)
                out["browse_seconds"] = time.perf_counter() - t
                out["pages_opened"] = len(modules)
                time.sleep(1)
                out["app_rss_mb"], out["app_hwm_mb"] = (x / 1024 for x in rss_kb(srv.proc.pid))
                ctx.close()
            finally:
                srv.stop()
        finally:
            browser.close()
    out["ratio"] = out["app_rss_mb"] / out["empty_rss_mb"]
    out["ratio_to_table_chart"] = out["app_rss_mb"] / out["table_chart_rss_mb"]
    out["ratio_to_imports"] = out["app_rss_mb"] / out["imports_rss_mb"]
    return out
