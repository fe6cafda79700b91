"""Serve the app with the small HTTP routes that Streamlit pages cannot provide.

    streamlit run serve.py

/auth/session?code=...  swaps a one-time login code for an HttpOnly, SameSite=Lax session cookie
/auth/logout            clears that cookie
/healthz                plain health check for a process supervisor
"""

import streamlit as st
from starlette.responses import PlainTextResponse, RedirectResponse
from starlette.routing import Route

from core import auth
from core import config as config_mod
from db.engine import Database
from ui import login
from ui.frame import COOKIE

login.SERVED_WITH_ROUTES = True
_db: Database | None = None


def _database() -> Database:
    global _db
    if _db is None:
        _db = Database.from_url(config_mod.load().database_url)
    return _db


async def session_route(request):
    cfg = config_mod.load()
    sid = auth.redeem_handoff(_database(), request.query_params.get("code", ""))
    response = RedirectResponse("/", status_code=303)
    if sid:
        response.set_cookie(COOKIE, auth.sign(sid, cfg.secret_key()), max_age=auth.SESSION_HOURS * 3600,
                            httponly=True, samesite="lax", secure=request.url.scheme == "https", path="/")
    return response


async def logout_route(request):
    response = RedirectResponse("/", status_code=303)
    response.delete_cookie(COOKIE, path="/")
    return response


async def health(request):
    return PlainTextResponse("ok")


app = st.App(
    "app.py",
    routes=[
        Route("/auth/session", session_route),
        Route("/auth/logout", logout_route),
        Route("/healthz", health),
    ],
)
