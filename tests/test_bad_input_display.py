"""Text people type is shown as text everywhere: Markdown links and images, HTML, bare web
addresses and Streamlit's own directives written into every user-entered field
(tests/payload.py) never turn into a link, an image or markup.

AppTest renders every page (every tab of the lazy-tab pages, the counter with a household and a
receipt, a review item, a search, the resident's card page) and checks every element that
Streamlit renders as Markdown — headings, captions, alerts, toasts, widget labels and tooltips,
radio and segmented-control options, table cells — for the payload's raw host name (escaped, it
reads ``evil\\.example``); the same payload must appear plainly somewhere. The generated PDFs
print it literally. tests/e2e/test_security_browser.py does the same in Chromium and watches
for outside requests."""

from __future__ import annotations

import datetime as dt
import re
from collections.abc import Sequence

import pypdfium2 as pdfium
import pytest
from sqlalchemy import String, Text, func, select, text

from db.models import Base, StaffUser
from tests import payload
from tests.app_helpers import DEMO_ROLES, app, copy_data_dir, use_data_dir, user_id
from tests.load import figures
from ui import state
from ui.nav import PAGES

PLAIN_TYPES = {"text", "code", "dataframe", "arrow_data_frame", "json", "exception", "empty", "imgs", "image",
               "arrow_vega_lite_chart", "vega_lite_chart", "download_button_data", "camera_input", "file_uploader"}
MARKDOWN_FIELDS = {"body", "label", "help", "caption"}
OPTION_TYPES = {"radio", "button_group"}  # their options are Markdown too (selectbox options are not)
LAZY_TABS = {"field": state.FIELD_TAB, "volunteers": state.VOLUNTEERS_TAB, "rankings": state.RANKINGS_TAB,
             "overview": state.OVERVIEW_TAB}


def test_every_text_column_is_seeded_with_markup_or_named_as_not_typed_by_anyone():
    listed = {(t, c) for group in (payload.UPDATED, payload.THROUGH_CORE, payload.NOT_USER_TEXT)
              for t, cols in group.items() for c in cols}
    text_columns = {(t.name, c.name) for t in Base.metadata.sorted_tables for c in t.columns
                    if isinstance(c.type, String | Text)}
    assert text_columns - listed == set(), "classify these text columns in tests/payload.py"
    assert listed - text_columns == set()


@pytest.fixture(scope="module")
def payload_dir(demo_dir, tmp_path_factory):
    """The demo village with markup in every user-entered field."""
    d = copy_data_dir(demo_dir, tmp_path_factory.mktemp("payload") / "data")
    mp = pytest.MonkeyPatch()
    use_data_dir(mp, d, demo=True)
    from tests.app_helpers import db_for_env

    db = db_for_env()
    ids = payload.seed(db)
    db.dispose()
    mp.undo()
    return {"dir": d, **ids}


def test_every_seeded_column_really_holds_the_payload(payload_dir, monkeypatch):
    use_data_dir(monkeypatch, payload_dir["dir"], demo=True)
    from tests.app_helpers import db_for_env

    db = db_for_env()
    missing = []
    with db.read() as s:
        for group in (payload.UPDATED, payload.THROUGH_CORE):
            for table, columns in group.items():
                for col in columns:
                    n = s.execute(text(f"SELECT count(*) FROM {table} WHERE {col} LIKE :m"),
                                  {"m": f"%{payload.MARK}%"}).scalar_one()
                    if n == 0:
                        missing.append(f"{table}.{col}")
    db.dispose()
    assert missing == []


def _strings(message, name=""):
    """(field name, text) of every string in a protobuf message, nested ones included."""
    from google.protobuf.message import Message

    for field, value in message.ListFields():
        values = value if isinstance(value, Sequence) and not isinstance(value, str | bytes) else [value]
        for v in values:
            if isinstance(v, str):
                yield field.name, v
            elif isinstance(v, Message):
                yield from _strings(v, field.name)


def offences(at) -> list[str]:
    """Every place where the payload reaches an element that renders Markdown or HTML unescaped."""
    found = []
    for node in at._tree:
        kind = getattr(node, "type", "")
        proto = getattr(node, "proto", None)
        if proto is None or kind in PLAIN_TYPES:
            continue
        if kind == "table":
            df = node.value
            cells = [str(c) for c in df.columns] + [str(v) for col in df.columns for v in df[col].tolist()]
            found += [f"table cell: {c[:60]!r}" for c in cells if payload.MARK in c]
            continue
        if kind == "html":
            if payload.MARK in proto.body or "王" in proto.body:
                found.append(f"html with user text: {proto.body[:60]!r}")
            continue
        for field, value in _strings(proto):
            markdown = field in MARKDOWN_FIELDS and not (kind == "metric" and field == "body")
            option = field in ("options", "content") and kind in OPTION_TYPES
            if (markdown or option) and payload.MARK in value:
                found.append(f"{kind}.{field}: {value[:70]!r}")
    return found


def shown_plainly(at) -> bool:
    parts = [str(t.value) for t in at.text] + [str(c.value) for c in at.code]
    for df in at.dataframe:
        parts.append(df.value.to_string() if hasattr(df.value, "to_string") else str(df.value))
    return any(payload.MARK in p for p in parts)


def _runs(db, ids):
    """(label, AppTest) for every page and the states that show one household, item or receipt."""
    admin = user_id(db, DEMO_ROLES["admin"])
    for spec in PAGES:
        at = app(admin)
        at.switch_page(f"pages/{spec.module}.py").run()
        yield spec.module, at
        if spec.module in LAZY_TABS:
            for tab in at.tabs[1:]:
                again = app(admin)
                again.session_state[LAZY_TABS[spec.module]] = tab.label
                again.switch_page(f"pages/{spec.module}.py").run()
                yield f"{spec.module} ({tab.label})", again
    at = app(admin)
    at.session_state[state.CHECKOUT_HOUSEHOLD] = ids["households"][0]
    at.session_state[state.CHECKOUT_CART_KEY] = "payload-display"
    at.session_state[state.CHECKOUT_CART] = {ids["product"]: 1}
    at.session_state[state.CHECKOUT_LAST_RECEIPT] = ids["redemption"]
    at.switch_page("pages/checkout.py").run()
    yield "checkout (household, cart, receipt)", at
    at = app(admin)
    at.switch_page("pages/checkout.py").run()
    at.text_input(key="checkout_find").input("王").run()
    yield "checkout (search by name)", at
    at = app(admin)
    at.switch_page("pages/checkout.py").run()
    at.text_input(key="checkout_scan_input").input(ids["token"])
    next(b for b in at.button if (b.key or "").startswith("FormSubmitter:checkout_scan")).click().run()
    yield "checkout (card scanned)", at
    at = app(admin)
    at.session_state[state.CONFIRM_OPEN] = ("redemptions_void", ids["redemption"])
    at.switch_page("pages/redemptions.py").run()
    yield "redemptions (void dialog)", at
    at = app(admin)
    at.session_state[state.REVIEW_CURRENT] = ids["proposals"][2]
    at.switch_page("pages/review.py").run()
    yield "review (item on the projector)", at
    at = app(admin)
    at.switch_page("pages/households.py").run()
    at.text_input(key="hh_search").input("王").run()
    yield "households (search)", at
    at = app(admin)
    at.switch_page("pages/proposal_new.py").run()
    at.text_input(key="pn_search").input("王").run()
    yield "proposal_new (households found)", at
    at = app(admin)
    grid_worker = user_id(db, DEMO_ROLES["grid_worker"])
    at.session_state[state.STAFF_SELECTED] = grid_worker
    at.session_state[state.CONFIRM_OPEN] = ("staff_deact", grid_worker)
    at.switch_page("pages/staff.py").run()
    yield "staff (deactivation asked)", at
    at = app()
    at.switch_page("pages/board.py").run()
    yield "board", at


def test_user_text_with_markup_is_plain_text_on_every_page(payload_dir, monkeypatch):
    use_data_dir(monkeypatch, payload_dir["dir"], demo=True)
    from core.platform import config
    from db.engine import Database

    db = Database.from_url(config.load().database_url)
    problems, plain, rendered = [], [], 0
    for label, run in _runs(db, payload_dir):
        rendered += 1
        assert not run.exception, f"{label}: {run.exception}"
        problems += [f"{label}: {p}" for p in offences(run)]
        if shown_plainly(run):
            plain.append(label)
    db.dispose()
    assert problems == [], "\n".join(problems)
    assert len(plain) > 10, "the payload was shown in too few places: the test would prove little"
    figures.record("plain_text_pages", "sqlite", {"page_states_rendered": rendered,
                                                 "states_showing_payload": len(plain),
                                                 "markup_rendered": 0})


def _pdf_text(data: bytes) -> str:
    doc = pdfium.PdfDocument(data)
    try:
        return "".join(page.get_textpage().get_text_range() for page in doc)
    finally:
        doc.close()


def _squash(s: str) -> str:
    return re.sub(r"\s+", "", s)


def test_generated_pdfs_show_user_text_literally(payload_dir, monkeypatch):
    use_data_dir(monkeypatch, payload_dir["dir"], demo=True)
    from core.committee import minutes, publicity
    from core.platform import config
    from core.platform.auth import actor_for
    from core.points import entry_rules
    from core.supermarket import receipts, transparency
    from core.village import card_sheet
    from db.engine import Database

    db = Database.from_url(config.load().database_url)
    vid = payload_dir["village_id"]
    with db.read() as s:
        cashier = actor_for(s.execute(select(StaffUser).where(StaffUser.username == "shouyin")).scalar_one())
        sheet = publicity.sheet_pdf(s, vid)
        mins = minutes.minutes_pdf(minutes.minutes(s, payload_dir["session"]))
        assert s.execute(select(func.count()).select_from(StaffUser)).scalar_one() > 0
    pdfs = {
        "公示单": sheet,
        "评议会纪要": mins,
        "积分卡": card_sheet.card_sheet(db, cashier, vid, payload_dir["households"][:1], local_ok=True),
        "兑换小票": receipts.receipt_pdf(receipts.receipt(db, vid, payload_dir["redemption"])),
        "五公开报表": transparency.report_pdf(transparency.monthly_report(db, vid, entry_rules.month_of(dt.date.today()))),
    }
    literal = "王<b>粗</b>**五**"  # the start of every name: long names may wrap or be cut in a card's cell
    missing = [name for name, data in pdfs.items() if _squash(literal) not in _squash(_pdf_text(data))]
    assert missing == [], f"these PDFs do not show the name literally: {missing}"
    figures.record("plain_text_pdfs", "sqlite", {"pdfs": len(pdfs), "literal_text_missing": 0})
    db.dispose()
