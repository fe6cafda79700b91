"""The login cookie behind the TLS proxy of docs/HTTPS.md: a request that a trusted proxy
forwards from https gets a Secure cookie — Caddy on the same PC, or a proxy on another machine
named in JIFEN_TRUSTED_PROXIES (127.0.0.2 plays it); plain http on the LAN keeps working without
it; a forwarded header from a client that is not a trusted proxy changes nothing; and
JIFEN_SECURE_COOKIES=1 forces the flag."""

from __future__ import annotations

import http.client
import shutil
from urllib.parse import urlparse

from sqlalchemy import select

from core.platform import auth
from db.engine import Database
from db.models import StaffUser
from tests.e2e.conftest import Server


def _handoff(data_dir) -> str:
    db = Database.from_url(f"sqlite:///{data_dir / 'jifen.db'}")
    try:
        with db.read() as s:
            uid = s.execute(select(StaffUser.id).where(StaffUser.username == "admin")).scalar_one()
        return auth.start_session(db, uid)[1]
    finally:
        db.dispose()


def _cookie_headers(server, headers: dict, source: str = "127.0.0.1") -> list[str]:
    """The Set-Cookie headers of /auth/session for a fresh hand-off code, asked from ``source``
    (127.0.0.2 plays a proxy on another machine: Linux routes all of 127/8 to this host)."""
    u = urlparse(server.url)
    conn = http.client.HTTPConnection(u.hostname, u.port, timeout=30, source_address=(source, 0))
    try:
        conn.request("GET", f"/auth/session?code={_handoff(server.data_dir)}", headers=headers)
        response = conn.getresponse()
        assert response.status == 303
        return [v for k, v in response.getheaders() if k.lower() == "set-cookie"]
    finally:
        conn.close()


def _session_cookie(cookies: list[str]) -> str:
    found = [c for c in cookies if c.startswith("jifen_session=")]
    assert len(found) == 1, cookies
    return found[0].lower()


def _started(demo_data_dir, tmp_path, name: str, env: dict) -> Server:
    data = tmp_path / name
    shutil.copytree(demo_data_dir, data)
    srv = Server(data, extra_env=env)
    srv.wait()
    return srv


def test_the_session_cookie_is_secure_when_a_configured_proxy_forwards_https(demo_data_dir, tmp_path):
    srv = _started(demo_data_dir, tmp_path, "data", {"JIFEN_TRUSTED_PROXIES": "127.0.0.2"})
    try:
        tls = {"X-Forwarded-Proto": "https", "X-Forwarded-For": "192.0.2.5"}
        via_proxy = _session_cookie(_cookie_headers(srv, tls, source="127.0.0.2"))
        assert "; secure" in via_proxy and "httponly" in via_proxy and "samesite=lax" in via_proxy
        # the same header from a client that is not a configured proxy is ignored
        assert "; secure" not in _session_cookie(_cookie_headers(srv, tls, source="127.0.0.3"))
        # plain http on the LAN (http://192.168.x.y:8501) still logs in
        assert "; secure" not in _session_cookie(_cookie_headers(srv, {}, source="127.0.0.2"))
    finally:
        srv.stop()


def test_the_documented_local_proxy_gets_a_secure_cookie_and_the_setting_can_force_it(
        server, demo_data_dir, tmp_path):
    tls = {"X-Forwarded-Proto": "https", "X-Forwarded-For": "192.0.2.5"}
    assert "; secure" in _session_cookie(_cookie_headers(server, tls))  # Caddy on the same PC (default)
    assert "; secure" not in _session_cookie(_cookie_headers(server, {}))
    srv = _started(demo_data_dir, tmp_path, "data2", {"JIFEN_SECURE_COOKIES": "1"})
    try:
        assert "; secure" in _session_cookie(_cookie_headers(srv, {}))
    finally:
        srv.stop()
