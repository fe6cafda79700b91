"""The resident's light page behind the household card (我的积分, ``/me?card=TOKEN``):
server-rendered HTML from Starlette routes and Jinja2 templates; no websocket, no script.

Two ways to run it, the same code:

- inside the app: serve.py adds :data:`ROUTES` beside Streamlit's (the link printed on cards
  reaches this page, not the Streamlit client);
- alone, for a county server: ``uvicorn web.app:app --workers 2`` (stateless: any number of
  processes behind a proxy, docs/RESIDENT_PAGE.md).

What it may do is what core.public.resident allows a card holder: read the household's own data,
sign members up for volunteer activities and cancel, and self-report a good deed with a photo.
Forms post with a CSRF field derived from the card token and the secret key (so every process
sharing JIFEN_SECRET_KEY accepts it, no server session), and a cross-site Origin is refused.
Every answer carries ``Cache-Control: no-store`` and ``Referrer-Policy: no-referrer`` so the
token in the link is neither cached nor sent on.
"""

from __future__ import annotations

import datetime as dt
import hashlib
import hmac
import os
from pathlib import Path
from urllib.parse import quote, urlsplit

from anyio import CapacityLimiter, to_thread
from jinja2 import Environment, FileSystemLoader, select_autoescape
from markupsafe import Markup
from starlette.applications import Starlette
from starlette.concurrency import run_in_threadpool
from starlette.datastructures import UploadFile
from starlette.formparsers import MultiPartException
from starlette.middleware import Middleware
from starlette.middleware.gzip import GZipMiddleware
from starlette.requests import Request
from starlette.responses import HTMLResponse, PlainTextResponse, RedirectResponse, Response
from starlette.routing import Route

from core.committee import photos
from core.platform import config as config_mod
from core.platform import ratelimit
from core.platform.clients import client_address
from core.platform.errors import DomainError, InvalidInput, NotFound
from core.public import resident, resident_page, volunteer_requests
from core.village.cards import extract_token
from db.engine import Database
from db.enums import SignupStatus

TEMPLATES = Path(__file__).parent / "templates"
WEEKDAYS = "一二三四五六日"
MAX_UPLOAD = photos.MAX_BYTES + 64 * 1024  # one photo and the form's few fields
HEADERS = {
    "Cache-Control": "no-store",
    "Referrer-Policy": "no-referrer",
    "X-Content-Type-Options": "nosniff",
    "Content-Security-Policy": "default-src 'none'; style-src 'unsafe-inline'; img-src 'self' data:; "
                               "form-action 'self'; frame-ancestors 'none'; base-uri 'none'",
}
# Messages after a successful POST, by code in the redirect (never text from the request).
DONE = {
    SignupStatus.SIGNED: "报名成功。",
    SignupStatus.WAITLIST: "名额已满，已进入候补名单；有人取消时按报名先后递补。",
    SignupStatus.CANCELLED: "已取消报名。",
    "reported": "申报已提交，评议小组审核后会公示。",
    "correction": "更正申请已提交，活动负责人处理后会在这里显示结果。",
}


def _weekday(day: dt.date) -> str:
    return WEEKDAYS[day.weekday()]


_env = Environment(loader=FileSystemLoader(TEMPLATES), autoescape=select_autoescape(default=True),
                   trim_blocks=True, lstrip_blocks=True)
_env.filters["weekday"] = _weekday
_env.filters["signed"] = lambda n: f"{n:+d}"

_db: Database | None = None


def database() -> Database:
    """The process's database handle (the schema is the main app's: migrate with manage.py)."""
    global _db
    if _db is None:
        _db = Database.from_url(config_mod.load().database_url)
    return _db


def use_database(db: Database | None) -> None:
    """Point the routes at ``db`` (tests; serve.py shares the app's)."""
    global _db
    _db = db


def client(request: Request) -> str:
    """The client address: the peer, or a trusted proxy's X-Forwarded-For (JIFEN_TRUSTED_PROXIES)."""
    peer = request.client.host if request.client else None
    return client_address(peer, request.headers.get("x-forwarded-for"), config_mod.load().proxies)


def csrf_token(card: str) -> str:
    """A form field only a page opened with this card carries: HMAC of the token."""
    token = extract_token(card) or ""
    return hmac.new(config_mod.load().secret_key(), f"me-form:{token}".encode(), hashlib.sha256).hexdigest()[:32]


def _same_origin(request: Request) -> bool:
    """Not a cross-site post. Browsers send ``Origin: null`` under our no-referrer policy, so
    the CSRF field is the real check; this only refuses what says it came from elsewhere."""
    if request.headers.get("sec-fetch-site") == "cross-site":
        return False
    origin = request.headers.get("origin")
    if not origin or origin == "null":
        return True
    host = request.headers.get("x-forwarded-host") or request.headers.get("host", "")
    return urlsplit(origin).netloc == host.split(",")[0].strip()


_rules_html: dict[int, tuple[int, Markup]] = {}  # village -> (id of the cached rules list, its section)


def rules_section(village_id: int, rules: list) -> Markup:
    """The rules catalogue's section, drawn once per cached list (core.public.resident_page.rules_of)."""
    hit = _rules_html.get(village_id)
    if hit is None or hit[0] != id(rules):
        hit = (id(rules), Markup(_env.get_template("rules.html").render(rules=rules)))
        _rules_html[village_id] = hit
    return hit[1]


def render(name: str, status: int = 200, **context) -> HTMLResponse:
    html = _env.get_template(name).render(**context)
    return HTMLResponse(html, status_code=status, headers=HEADERS)


def _error_page(e: DomainError) -> HTMLResponse:
    status = 429 if isinstance(e, ratelimit.TooManyAttempts) else 404 if isinstance(e, NotFound) else 400
    return render("card_error.html", status=status, message=str(e))


def _page(request: Request, card: str, notice: str = "", error: str = "", status: int = 200) -> Response:
    try:
        page = resident_page.page(database(), card, client(request))  # one read transaction
    except DomainError as e:
        return _error_page(e)
    return render("me.html", status=status, p=page, v=page.view, card=extract_token(card), csrf=csrf_token(card),
                  service=page.service,
                  notice=notice, error=error, today=dt.date.today(),
                  rules=rules_section(page.view.village_id, page.rules))


_readers: CapacityLimiter | None = None


def _limiter() -> CapacityLimiter:
    """Card pages read at once by one process (a handful: the work is CPU under one GIL, and forty
    threads taking turns at it only make every page slower)."""
    global _readers
    if _readers is None:
        _readers = CapacityLimiter(int(os.environ.get("JIFEN_WEB_READERS", "4")))
    return _readers


async def me(request: Request) -> Response:
    card = request.query_params.get("card", "")
    if not card.strip():
        return render("ask.html")
    notice = DONE.get(request.query_params.get("ok", ""), "")
    return await to_thread.run_sync(lambda: _page(request, card, notice=notice), limiter=_limiter())


def _back(card: str, ok: str, anchor: str = "") -> RedirectResponse:
    url = f"/me?card={quote(extract_token(card) or '')}&ok={ok}" + (f"#{anchor}" if anchor else "")
    return RedirectResponse(url, status_code=303, headers=HEADERS)


def _int(value) -> int | None:
    try:
        return int(str(value))
    except (TypeError, ValueError):
        return None


async def _checked_form(request: Request):
    """The posted form, or a refusal: cross-site, too large, or without this card's CSRF field."""
    if not _same_origin(request):
        return None, render("card_error.html", status=403, message="请从本户积分卡的页面提交。")
    size = _int(request.headers.get("content-length"))
    if size is not None and size > MAX_UPLOAD:
        card = request.query_params.get("card", "")
        message = f"照片太大，每张不超过 {photos.MAX_BYTES // 1024 // 1024} MB。请重新拍一张（不要用原图或长图）。"
        return None, (await run_in_threadpool(_page, request, card, "", message, 413) if card else
                      render("card_error.html", status=413, message=message))
    try:
        form = await request.form(max_files=1, max_fields=20, max_part_size=MAX_UPLOAD)
    except MultiPartException:
        return None, render("card_error.html", status=400, message="提交的内容不完整，请返回重新填写。")
    card = str(form.get("card", ""))
    if not card or not hmac.compare_digest(str(form.get("csrf", "")), csrf_token(card)):
        return None, render("card_error.html", status=403, message="页面已过期，请重新扫描积分卡后再提交。")
    return form, None


async def sign_up(request: Request) -> Response:
    form, refusal = await _checked_form(request)
    if refusal:
        return refusal
    card, aid, rid = str(form["card"]), _int(form.get("activity")), _int(form.get("member"))
    try:
        status = await run_in_threadpool(resident.sign_up, database(), card, client(request),
                                         activity_id=aid, resident_id=rid)
    except DomainError as e:
        return await run_in_threadpool(_page, request, card, "", str(e), 400)
    return _back(card, SignupStatus(status), f"a{aid}")


async def cancel(request: Request) -> Response:
    form, refusal = await _checked_form(request)
    if refusal:
        return refusal
    card, aid, rid = str(form["card"]), _int(form.get("activity")), _int(form.get("member"))
    try:
        await run_in_threadpool(resident.cancel_sign_up, database(), card, client(request),
                                activity_id=aid, resident_id=rid)
    except DomainError as e:
        return await run_in_threadpool(_page, request, card, "", str(e), 400)
    return _back(card, SignupStatus.CANCELLED, f"a{aid}")


async def report(request: Request) -> Response:
    form, refusal = await _checked_form(request)
    if refusal:
        return refusal
    card = str(form["card"])
    upload = form.get("photo")
    shots = []
    if isinstance(upload, UploadFile) and upload.filename:
        shots.append((upload.filename, await upload.read()))
    try:
        day = dt.date.fromisoformat(str(form.get("day", "")))
    except ValueError:
        day = None
    try:
        if day is None:
            raise InvalidInput("请填写做这件事的日期。")
        item = _int(form.get("item"))
        if item is None:
            raise InvalidInput("请选择申报事项。")
        await run_in_threadpool(resident.self_report, database(), card, client(request), rule_item_id=item,
                                act_date=day, note=str(form.get("note", "")), resident_id=_int(form.get("member")),
                                photos=shots)
    except DomainError as e:
        return await run_in_threadpool(_page, request, card, "", str(e), 400)
    return _back(card, "reported", "report")


async def correction(request: Request) -> Response:
    """A resident asks for a service record's counted time to be corrected (forgot to check out …)."""
    form, refusal = await _checked_form(request)
    if refusal:
        return refusal
    card = str(form["card"])
    try:
        hours = float(str(form.get("hours", "")).strip().replace("，", "."))
    except ValueError:
        hours = None
    try:
        if hours is None or hours != hours or hours <= 0:
            raise InvalidInput("请填写实际服务了多少小时，例如 2 或 1.5。")
        await run_in_threadpool(volunteer_requests.request_correction, database(), card, _int(form.get("record")),
                                round(hours * 60), str(form.get("reason", "")), client=client(request))
    except DomainError as e:
        return await run_in_threadpool(_page, request, card, "", str(e), 400)
    return _back(card, "correction", "service")


def health(request: Request) -> Response:
    return PlainTextResponse("ok")


ROUTES = [
    Route("/me", me, methods=["GET"]),
    Route("/me/signup", sign_up, methods=["POST"]),
    Route("/me/cancel", cancel, methods=["POST"]),
    Route("/me/report", report, methods=["POST"]),
    Route("/me/correction", correction, methods=["POST"]),
]


def build(db: Database | None = None) -> Starlette:
    """The page as an ASGI app of its own (gzip; a /healthz for the proxy)."""
    if db is not None:
        use_database(db)
    return Starlette(routes=[*ROUTES, Route("/healthz", health)],
                     middleware=[Middleware(GZipMiddleware, minimum_size=500, compresslevel=6)])


app = build()
