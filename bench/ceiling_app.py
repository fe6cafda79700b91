"""The ceiling the card-page load run is read against: a Starlette app that answers /me with a fixed
HTML page of the card page's size (gzip, the same middleware), no database and no template. Served
by the same uvicorn and driven by the same client in the same run, it shows what this machine and
this client can do at all (`python -m bench.resident_page load` runs it after the app)."""

from __future__ import annotations

from starlette.applications import Starlette
from starlette.middleware import Middleware
from starlette.middleware.gzip import GZipMiddleware
from starlette.responses import HTMLResponse, PlainTextResponse
from starlette.routing import Route

# about 22 KB of Chinese text and markup, like the card page before gzip
BODY = ("<!doctype html><html lang=\"zh-CN\"><body>"
        + "".join(f"<tr><td>2026-11-{i % 28 + 1:02d}</td><td>环境整治 门前三包</td><td>+{i % 9}</td></tr>"
                  for i in range(300))
        + "</body></html>")


def me(request) -> HTMLResponse:
    return HTMLResponse(BODY, headers={"Cache-Control": "no-store"})


def health(request) -> PlainTextResponse:
    return PlainTextResponse("ok")


app = Starlette(routes=[Route("/me", me), Route("/healthz", health)],
                middleware=[Middleware(GZipMiddleware, minimum_size=500, compresslevel=6)])
