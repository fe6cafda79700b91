"""Browser journeys: a real `streamlit run serve.py` on a free port with a fresh data dir,
driven by Playwright in Debian's headless Chromium.

Every page load is watched: a request to anything but this server fails the test
(no fonts, scripts, images or telemetry from outside).
"""

from __future__ import annotations

import os
import shutil
import socket
import subprocess
import sys
import time
import urllib.request
from pathlib import Path

import pytest

ROOT = Path(__file__).resolve().parents[2]
ARTIFACTS = ROOT / "artifacts" / "screenshots"
CHROMIUM = os.environ.get("JIFEN_CHROMIUM", shutil.which("chromium") or "/usr/bin/chromium")
CHROMIUM_ARGS = [
    "--headless", "--no-sandbox", "--disable-gpu", "--disable-quic", "--no-first-run",
    "--disable-background-networking", "--disable-component-update", "--disable-sync",
]
DESKTOP = {"width": 1366, "height": 768}
PHONE = {"width": 390, "height": 844}


def pytest_collection_modifyitems(items):
    for item in items:
        if "/e2e/" in str(item.fspath):
            item.add_marker(pytest.mark.e2e)


def _free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return s.getsockname()[1]


class Server:
    def __init__(self, data_dir: Path, demo: bool = True, extra_env: dict | None = None):
        self.port = _free_port()
        self.url = f"http://127.0.0.1:{self.port}"
        self.data_dir = data_dir
        env = os.environ.copy()
        env.update({
            "JIFEN_DATA_DIR": str(data_dir),
            "JIFEN_NO_DEMO": "0" if demo else "1",
            "JIFEN_PUBLIC_URL": self.url,
            "PYTHONUNBUFFERED": "1",
        })
        env.pop("JIFEN_DATABASE_URL", None)
        env.update(extra_env or {})
        self.log = open(data_dir.parent / f"server-{self.port}.log", "w")  # noqa: SIM115
        self.proc = subprocess.Popen(
            [sys.executable, "-m", "streamlit", "run", "serve.py", "--server.port", str(self.port),
             "--server.address", "127.0.0.1", "--server.headless", "true",
             "--browser.gatherUsageStats", "false", "--server.fileWatcherType", "none"],
            cwd=ROOT, env=env, stdout=self.log, stderr=subprocess.STDOUT,
        )

    def wait(self, timeout: float = 120) -> None:
        deadline = time.time() + timeout
        while time.time() < deadline:
            if self.proc.poll() is not None:
                raise RuntimeError(f"server exited: {Path(self.log.name).read_text()[-2000:]}")
            try:
                with urllib.request.urlopen(self.url + "/healthz", timeout=2) as r:
                    if r.status == 200:
                        return
            except OSError:
                time.sleep(0.5)
        raise TimeoutError("server did not become healthy")

    def stop(self) -> None:
        self.proc.terminate()
        try:
            self.proc.wait(10)
        except subprocess.TimeoutExpired:
            self.proc.kill()
        self.log.close()


@pytest.fixture(scope="session")
def demo_data_dir(tmp_path_factory):
    """A demo database built once, copied into each server's fresh data dir.

    JIFEN_E2E_DEMO_DIR names a demo data dir built before (same schema), to rerun one test
    without building the demo again."""
    given = os.environ.get("JIFEN_E2E_DEMO_DIR")
    if given:
        return Path(given)
    d = tmp_path_factory.mktemp("e2e-demo") / "data"
    env = {"JIFEN_DATA_DIR": str(d), "JIFEN_NO_DEMO": "0"}
    subprocess.run([sys.executable, "-c", "from core.platform.config import load; from startup.prepare import prepare; "
                    "prepare(load())"], cwd=ROOT, env={**os.environ, **env}, check=True)
    return d


@pytest.fixture
def server(demo_data_dir, tmp_path):
    data = tmp_path / "data"
    shutil.copytree(demo_data_dir, data)
    srv = Server(data)
    try:
        srv.wait()
        yield srv
    finally:
        srv.stop()




class Watch:
    """Collects requests to anything but the local server."""

    def __init__(self, base: str):
        self.base = base
        self.outside: list[str] = []

    def __call__(self, request):
        url = request.url
        if url.startswith(("data:", "blob:", "about:")) or url.startswith(self.base):
            return
        if url.startswith(("http://127.0.0.1", "http://localhost", "ws://127.0.0.1", "ws://localhost")):
            return
        self.outside.append(url)


@pytest.fixture
def page_factory(browser, server):
    contexts = []
    watches = []

    def make(viewport=DESKTOP, **kw):
        ctx = browser.new_context(viewport=viewport, locale="zh-CN", **kw)
        contexts.append(ctx)
        page = ctx.new_page()
        page.set_default_timeout(30_000)
        w = Watch(server.url)
        page.on("request", w)
        watches.append(w)
        return page

    yield make
    for ctx in contexts:
        ctx.close()
    outside = [u for w in watches for u in w.outside]
    assert not outside, f"pages asked for outside URLs: {outside[:5]}"


def shot(page, name: str) -> Path:
    ARTIFACTS.mkdir(parents=True, exist_ok=True)
    path = ARTIFACTS / f"{name}.png"
    page.screenshot(path=str(path), full_page=True)
    return path


def wait_idle(page, timeout: float = 30_000) -> None:
    """Wait until Streamlit has finished running the script."""
    page.wait_for_selector('[data-testid="stApp"]', timeout=timeout)
    page.wait_for_function(
        "() => !document.querySelector('[data-testid=\"stStatusWidget\"]')"
        " || !document.querySelector('[data-testid=\"stStatusWidget\"]').innerText.includes('Running')",
        timeout=timeout,
    )
    page.wait_for_timeout(300)


def login(page, base: str, username: str = "admin", password: str = "demo12345") -> None:
    page.goto(base + "/")
    page.get_by_label("用户名").fill(username)
    page.get_by_label("密码").fill(password)
    page.get_by_role("button", name="登录", exact=True).last.click()
    page.locator("h1", has_text="工作台").wait_for(timeout=30_000)
    wait_idle(page)
