"""The staff pages carry the few lines that keep a scan typed while the page is still loading
(ui.scan.EARLY_KEYS); nothing else the server sends is touched."""

from __future__ import annotations

import gzip

from starlette.applications import Starlette
from starlette.middleware import Middleware
from starlette.responses import HTMLResponse, PlainTextResponse, Response
from starlette.routing import Route
from starlette.testclient import TestClient

from ui.scan import EARLY_KEYS, EarlyKeys

PAGE = b"<!DOCTYPE html><html><head><title>x</title></head><body><div id=root></div></body></html>"


def _index(request):
    """What Streamlit does for its index: gzip when the browser accepts it."""
    if "gzip" in request.headers.get("accept-encoding", ""):
        return Response(gzip.compress(PAGE), media_type="text/html", headers={"content-encoding": "gzip"})
    return HTMLResponse(PAGE)


def _client() -> TestClient:
    app = Starlette(routes=[Route("/", _index), Route("/checkout", _index), Route("/me", _index),
                            Route("/static/app.js", lambda r: PlainTextResponse("js"))],
                    middleware=[Middleware(EarlyKeys, paths={"checkout"})])
    return TestClient(app)


def test_the_app_pages_begin_with_the_early_keys_script_and_say_their_true_length():
    c = _client()
    for path in ("/", "/checkout"):
        r = c.get(path, headers={"accept-encoding": "gzip"})
        assert r.status_code == 200
        assert r.content.startswith(b"<!DOCTYPE html><html><head>" + EARLY_KEYS.encode() + b"<title>")
        assert int(r.headers["content-length"]) == len(r.content)
        assert "content-encoding" not in r.headers


def test_other_addresses_pass_untouched():
    c = _client()
    assert EARLY_KEYS.encode() not in c.get("/me").content  # the resident's page stays as light as it is
    assert c.get("/static/app.js").text == "js"
    assert c.post("/checkout").status_code == 405
