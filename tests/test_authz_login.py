"""Login hardening: Streamlit's XSRF protection is on, the session cookie is HttpOnly and
SameSite, and a password — right or wrong — never reaches the audit log or the server's
log, even at debug level (real server, real browser)."""

from __future__ import annotations

import logging
import os
import subprocess
import sys
import tomllib
from pathlib import Path

import pytest
from sqlalchemy import select

from core.platform import auth
from core.platform.errors import LoginFailed
from core.village import staff
from db.engine import Database
from db.models import AuditLog, StaffUser

ROOT = Path(__file__).resolve().parent.parent
RIGHT = "Sonne-über-Wenzu-2026"
WRONG = "Falsch-Passwort-9876"


def test_streamlit_xsrf_protection_is_on_and_cors_is_not_opened_up():
    cfg = tomllib.loads((ROOT / ".streamlit" / "config.toml").read_text(encoding="utf-8"))
    server = cfg["server"]
    assert server["enableXsrfProtection"] is True
    assert server.get("enableCORS", True) is True  # False would disable the same-origin protection
    assert cfg.get("client", {}).get("showErrorDetails") in ("none", False)  # no tracebacks to the browser


def _audit_text(db) -> str:
    with db.read() as s:
        rows = s.execute(select(AuditLog.action, AuditLog.detail, AuditLog.reason)).all()
    return "\n".join(" ".join(map(str, r)) for r in rows)


def test_core_never_logs_or_audits_a_password(db, village, caplog):
    caplog.set_level(logging.DEBUG)
    uid = staff.create_user(db, village.admin, username="newbie", display_name="新人", password=RIGHT,
                            roles=["cashier"], village_id=village.id)
    with pytest.raises(LoginFailed):
        auth.authenticate(db, "newbie", WRONG)
    auth.authenticate(db, "newbie", RIGHT)
    staff.reset_password(db, village.admin, uid, RIGHT + "x")
    audit = _audit_text(db)
    assert "auth.failed" in audit and "auth.login" in audit  # the attempts were audited ...
    for secret in (RIGHT, WRONG, RIGHT + "x"):
        assert secret not in audit  # ... without the password
        assert secret not in caplog.text


def _start_debug_server(data: Path, log_path: Path):
    """``streamlit run serve.py`` like the e2e tests, but at debug log level: whatever the
    server would ever log, this log has."""
    import socket

    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        port = sock.getsockname()[1]
    env = {**os.environ, "JIFEN_DATA_DIR": str(data), "JIFEN_NO_DEMO": "1", "PYTHONUNBUFFERED": "1",
           "JIFEN_PUBLIC_URL": f"http://127.0.0.1:{port}"}
    env.pop("JIFEN_DATABASE_URL", None)
    log = open(log_path, "w", encoding="utf-8")  # noqa: SIM115
    proc = subprocess.Popen(
        [sys.executable, "-m", "streamlit", "run", "serve.py", "--server.port", str(port), "--server.address",
         "127.0.0.1", "--server.headless", "true", "--browser.gatherUsageStats", "false",
         "--server.fileWatcherType", "none", "--logger.level", "debug"],
        cwd=ROOT, env=env, stdout=log, stderr=subprocess.STDOUT)
    return proc, log, f"http://127.0.0.1:{port}"


def _wait_healthy(proc, url: str, log_path: Path) -> None:
    import time
    import urllib.request

    deadline = time.monotonic() + 120
    while time.monotonic() < deadline:
        if proc.poll() is not None:
            raise RuntimeError(f"server exited: {log_path.read_text()[-2000:]}")
        try:
            with urllib.request.urlopen(url + "/healthz", timeout=2) as r:
                if r.status == 200:
                    return
        except OSError:
            time.sleep(0.5)
    raise TimeoutError("server did not become healthy")


@pytest.mark.e2e
def test_a_real_login_leaves_no_password_in_the_server_log_and_sets_safe_cookies(tmp_path, browser):
    from tests.e2e.conftest import login

    data = tmp_path / "data"
    env = {**os.environ, "JIFEN_DATA_DIR": str(data), "JIFEN_NO_DEMO": "1"}
    env.pop("JIFEN_DATABASE_URL", None)
    subprocess.run([sys.executable, "manage.py", "init", "--village", "文祖北村", "--township", "文祖街道",
                    "--admin", "wzadmin", "--password", RIGHT], cwd=ROOT, env=env, check=True, capture_output=True)
    db = Database.from_url(f"sqlite:///{data / 'jifen.db'}")
    with db.write() as s:  # skip the forced first-login password change for this journey
        s.execute(select(StaffUser).where(StaffUser.username == "wzadmin")).scalar_one().must_change_password = False
    log_path = tmp_path / "server.log"
    proc, log, url = _start_debug_server(data, log_path)
    try:
        _wait_healthy(proc, url, log_path)
        with browser.new_context(locale="zh-CN") as ctx:
            page = ctx.new_page()
            page.set_default_timeout(30_000)
            page.goto(url + "/")
            page.get_by_label("用户名").fill("wzadmin")
            page.get_by_label("密码").fill(WRONG)
            page.get_by_role("button", name="登录", exact=True).last.click()
            page.wait_for_selector("text=用户名或密码不正确")
            login(page, url, "wzadmin", RIGHT)
            cookies = {c["name"]: c for c in page.context.cookies()}
    finally:
        proc.terminate()
        try:
            proc.wait(10)
        except subprocess.TimeoutExpired:
            proc.kill()
        log.close()
    session = cookies["jifen_session"]
    assert session["httpOnly"] is True and session["sameSite"] in ("Lax", "Strict")
    assert "_streamlit_xsrf" in cookies  # Streamlit's XSRF token is in use
    text = log_path.read_text(encoding="utf-8", errors="replace")
    assert "Runtime state" in text  # a debug-level message: the log really was at debug level
    audit = _audit_text(db)
    assert "auth.failed" in audit and "auth.login" in audit
    for secret in (RIGHT, WRONG):
        assert secret not in text
        assert secret not in audit
    db.dispose()
