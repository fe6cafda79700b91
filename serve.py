"""Serve the app with the small HTTP routes that Streamlit pages cannot provide.

    streamlit run serve.py

/auth/session?code=...  swaps a one-time login code for an HttpOnly, SameSite=Lax session cookie
                        (and the "known browser" cookie that exempts it from an account's login wait);
                        &next=checkout goes back to the page whose address was opened before the login
/auth/logout            clears the session cookie
/healthz                plain health check for a process supervisor
/me?card=TOKEN          the resident's light page (web/: plain HTML, no websocket), the link printed on
                        cards; /me/signup, /me/cancel, /me/report are its forms. Also runnable alone:
                        uvicorn web.app:app (docs/RESIDENT_PAGE.md)

Cookies carry Secure when the browser used https: directly, or through a trusted proxy that says
so (X-Forwarded-Proto from an address in JIFEN_TRUSTED_PROXIES), or always with
JIFEN_SECURE_COOKIES=1 (docs/HTTPS.md). The web server under Streamlit (uvicorn) applies
X-Forwarded-Proto/-For itself for a proxy on this PC (its FORWARDED_ALLOW_IPS, default
127.0.0.1 and ::1) before these routes see the request; a proxy on another machine is trusted here.
"""

import streamlit as st
from starlette.middleware import Middleware
from starlette.responses import PlainTextResponse, RedirectResponse
from starlette.routing import Route

from core.platform import auth
from core.platform import config as config_mod
from core.platform.clients import forwarded_https
from db.engine import Database
from ui import login
from ui.frame import COOKIE
from ui.nav import PAGES
from ui.scan import EarlyKeys
from web.app import ROUTES as RESIDENT_ROUTES

login.SERVED_WITH_ROUTES = True
_PAGE_PATHS = {p.module for p in PAGES}
_db: Database | None = None


def _database() -> Database:
    global _db
    if _db is None:
        _db = Database.from_url(config_mod.load().database_url)
    return _db


def _secure(request, cfg: config_mod.Config) -> bool:
    if cfg.secure_cookies in ("1", "true", "yes"):
        return True
    if cfg.secure_cookies in ("0", "false", "no"):
        return False
    peer = request.client.host if request.client else None
    return request.url.scheme == "https" or forwarded_https(peer, request.headers.get("x-forwarded-proto"),
                                                            cfg.proxies)


async def session_route(request):
    cfg = config_mod.load()
    db = _database()
    sid = auth.redeem_handoff(db, request.query_params.get("code", ""))
    # Back to the page whose address was opened before the login: only a page name of this app.
    nxt = request.query_params.get("next", "")
    # 工作台 (home) is every staff member's first page, served at "/" (its own path is not an address).
    response = RedirectResponse("/" + nxt if nxt in _PAGE_PATHS and nxt != "home" else "/", status_code=303)
    user = auth.user_for_session(db, sid) if sid else None
    if user is not None:
        key, secure = cfg.secret_key(), _secure(request, cfg)
        response.set_cookie(COOKIE, auth.sign(sid, key), max_age=auth.SESSION_HOURS * 3600,
                            httponly=True, samesite="lax", secure=secure, path="/")
        response.set_cookie(auth.DEVICE_COOKIE, auth.remember_device(request.cookies.get(auth.DEVICE_COOKIE), key, user),
                            max_age=auth.DEVICE_DAYS * 86400, httponly=True, samesite="lax", secure=secure, path="/")
    return response


async def logout_route(request):
    response = RedirectResponse("/", status_code=303)
    response.delete_cookie(COOKIE, path="/", httponly=True, samesite="lax", secure=_secure(request, config_mod.load()))
    return response


async def health(request):
    return PlainTextResponse("ok")


app = st.App(
    "app.py",
    routes=[
        Route("/auth/session", session_route),
        Route("/auth/logout", logout_route),
        Route("/healthz", health),
        *RESIDENT_ROUTES,  # before Streamlit's own: the card link opens the light page
    ],
    middleware=[Middleware(EarlyKeys, paths=_PAGE_PATHS)],  # a scan typed while a page loads is kept
)
