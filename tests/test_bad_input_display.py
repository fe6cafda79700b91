"""Text people type — names, notes, reasons, product and activity titles — containing HTML,
markdown or <script> is shown as plain text everywhere: on every page (AppTest: no markdown-
rendered element or widget label carries the raw user text, and no element allows HTML with
it) and in every generated PDF (the literal text is in the PDF, extracted with pypdfium2)."""

from __future__ import annotations

import datetime as dt
import re

import pypdfium2 as pdfium
import pytest
from sqlalchemy import select, update

from core import ledger, proposals, review, settings, stock, volunteer
from db.models import Household, Resident, RuleItem, StaffUser
from tests.app_helpers import DEMO_ROLES, app, use_data_dir, user_id
from tests.factories import all_agree
from tests.load import figures
from ui import state
from ui.nav import PAGES

NAME = "<script>王</script>**五**"  # fits a 40-character name column
NOTE = NAME + " ![t](http://evil.example/t.png) <img src=x onerror=alert(1)> [点我](http://evil.example)"
# What must never reach an element that renders markdown or HTML, unescaped:
MARKERS = ("<script", "<img", "**五**", "](http://evil")
MARKDOWN_KINDS = ("markdown", "caption", "title", "header", "subheader", "info", "success", "warning", "error",
                  "toast", "latex")
LABELLED = ("button", "checkbox", "color_picker", "date_input", "multiselect", "number_input", "radio",
            "select_slider", "selectbox", "slider", "text_area", "text_input", "time_input", "toggle", "expander",
            "tabs", "metric", "chat_input", "button_group")


@pytest.fixture(scope="module")
def payload_dir(tmp_path_factory):
    """A small demo village where people's names, notes and titles carry the payload."""
    d = tmp_path_factory.mktemp("payload") / "data"
    mp = pytest.MonkeyPatch()
    use_data_dir(mp, d, demo=False)
    from core import config
    from db.bootstrap import prepare
    from db.demo import build_demo

    db = prepare(config.load(), create_demo=False)
    # the field step is left out: its demo rounds need a bigger village (see the report)
    vid = build_demo(db, villages=1, households=20, days=10,
                     steps=["db.demo_review", "db.demo_shop", "db.demo_volunteer"])[0]
    with db.write() as s:
        hids = list(s.execute(select(Household.id).where(Household.village_id == vid).order_by(Household.id)
                              .limit(2)).scalars())
        s.execute(update(Household).where(Household.id.in_(hids)).values(head_name=NAME, address=NOTE[:120]))
        s.execute(update(Resident).where(Resident.household_id.in_(hids)).values(name=NAME))
        s.execute(update(StaffUser).where(StaffUser.username == "wangge1").values(display_name=NAME))
    from core.auth import actor_for
    with db.read() as s:
        users = {u.username: actor_for(u) for u in s.execute(select(StaffUser)).scalars()}
        rule = s.execute(select(RuleItem).where(RuleItem.village_id == vid, RuleItem.points > 0,
                                                RuleItem.active)).scalars().first()
    admin, grid, cashier = users["admin"], users["wangge1"], users["shouyin"]
    ledger.adjust(db, admin, hids[0], 50, NOTE)
    pid = proposals.submit(db, grid, household_id=hids[0], rule_item_id=rule.id, act_date=dt.date.today(), note=NOTE)
    product = stock.save_product(db, admin, vid, stock.ProductInput(name=NAME, price=5, category=NAME[:30]))
    stock.receive_stock(db, admin, product, 20, "donation", donor=NAME, reason=NOTE)
    from core import cards, shop
    token = None
    try:
        token = cards.issue_card(db, cashier, hids[0])
    except Exception:  # the demo may have issued it already
        from db.models import Card
        with db.read() as s:
            token = s.execute(select(Card.token).where(Card.household_id == hids[0], Card.status == "active")).scalar()
    red = shop.checkout(db, cashier, household_id=hids[0], card_id=None, cart={product: 1}, cart_key="payload-1")
    volunteer.create_activity(db, users["zhiyuan"], title=NAME, date=dt.date.today(), place=NAME, organiser=NAME,
                              tasks=NOTE)
    with db.read() as s:
        open_session = review.open_session_of(s, vid)
    if open_session is None:
        committee = users["pingyi1"]
        members = [u.user_id for n, u in users.items() if n.startswith("pingyi")]
        sid = review.open_session(db, committee, vid, held_on=dt.date.today(), attendee_ids=members)
    else:
        sid = open_session.id
    review.decide(db, users["admin"], sid, pid, "approved", reason=NOTE, votes=all_agree(db, sid))
    settings.change(db, admin, vid, "guests_vote", True)  # the guest then has a place in the vote grid too
    review.add_guest(db, users["pingyi1"], sid, name=NAME, capacity="representative")
    db.dispose()
    mp.undo()
    return {"dir": d, "village_id": vid, "households": hids, "token": token, "redemption": red, "session": sid,
            "proposal": pid}


def _offences(at) -> list[str]:
    found = []
    for kind in MARKDOWN_KINDS:
        for el in getattr(at, kind, []):
            body = str(getattr(el, "value", "") or "")
            if getattr(el.proto, "allow_html", False) and any(m in body for m in ("王", "evil")):
                found.append(f"{kind} allows HTML with user text: {body[:80]!r}")
            elif any(m in body for m in MARKERS):
                found.append(f"{kind} renders user text as markdown: {body[:80]!r}")
    for kind in LABELLED:
        for el in getattr(at, kind, []):
            label = str(getattr(el, "label", "") or "")
            if any(m in label for m in MARKERS):
                found.append(f"{kind} label renders user text as markdown: {label[:80]!r}")
    return found


def _shown_plain(at) -> bool:
    parts = [str(t.value) for t in at.text] + [str(c.value) for c in at.code]
    for df in at.dataframe:
        parts.append(df.value.to_string() if hasattr(df.value, "to_string") else str(df.value))
    for table in getattr(at, "table", []):
        parts.append(str(table.value))
    return any(NAME in p for p in parts)


ADMIN_PAGES = [p.module for p in PAGES if "admin" in p.roles]


def test_user_text_with_html_markdown_or_script_is_plain_text_on_every_page(payload_dir, monkeypatch):
    use_data_dir(monkeypatch, payload_dir["dir"], demo=False)
    from core import config
    from db.engine import Database

    db = Database.from_url(config.load().database_url)
    uid = user_id(db, DEMO_ROLES["admin"])
    problems, plain_pages = [], []
    runs = []
    for module in ADMIN_PAGES:
        at = app(uid)
        at.switch_page(f"pages/{module}.py").run()
        runs.append((module, at))
    # pages that show a household after a search or a scan
    at = app(uid)
    at.switch_page("pages/households.py").run()
    if at.text_input:
        at.text_input(key="hh_search").input("王").run()
        runs.append(("households (search)", at))
    # the counter with the household and its receipt on screen; the void confirmation
    at = app(user_id(db, DEMO_ROLES["cashier"]))
    at.session_state[state.CHECKOUT_HOUSEHOLD] = payload_dir["households"][0]
    at.session_state[state.CHECKOUT_LAST_RECEIPT] = payload_dir["redemption"]
    at.switch_page("pages/checkout.py").run()
    runs.append(("checkout (household + receipt)", at))
    at = app(user_id(db, DEMO_ROLES["cashier"]))
    at.session_state[state.REDEMPTION_VOIDING] = payload_dir["redemption"]
    at.switch_page("pages/redemptions.py").run()
    runs.append(("redemptions (void dialog)", at))
    me = app()
    me.query_params["card"] = payload_dir["token"]
    me.switch_page("pages/me.py").run()
    runs.append(("me (card link)", me))
    for label, run in runs:
        assert not run.exception, f"{label}: {run.exception}"
        problems += [f"{label}: {p}" for p in _offences(run)]
        if _shown_plain(run):
            plain_pages.append(label)
    assert problems == [], "\n".join(problems)
    assert plain_pages, "the payload was shown nowhere: the test would prove nothing"
    figures.record("plain_text_pages", "sqlite", {"pages_rendered": len(runs), "pages_showing_payload": len(plain_pages),
                                                 "raw_markdown_or_html": 0})
    db.dispose()


def _pdf_text(data: bytes) -> str:
    doc = pdfium.PdfDocument(data)
    try:
        return "".join(page.get_textpage().get_text_range() for page in doc)
    finally:
        doc.close()


def _squash(s: str) -> str:
    return re.sub(r"\s+", "", s)


def test_generated_pdfs_show_user_text_literally(payload_dir, monkeypatch):
    use_data_dir(monkeypatch, payload_dir["dir"], demo=False)
    from core import card_sheet, config, minutes, publicity, receipts, transparency
    from db.engine import Database

    db = Database.from_url(config.load().database_url)
    vid = payload_dir["village_id"]
    with db.read() as s:
        from core.auth import actor_for
        cashier = actor_for(s.execute(select(StaffUser).where(StaffUser.username == "shouyin")).scalar_one())
        sheet = publicity.sheet_pdf(s, vid)
        mins = minutes.minutes_pdf(minutes.minutes(s, payload_dir["session"]))
    pdfs = {
        "公示单": sheet,
        "评议会纪要": mins,
        "积分卡": card_sheet.card_sheet(db, cashier, vid, payload_dir["households"][:1]),
        "兑换小票": receipts.receipt_pdf(receipts.receipt(db, vid, payload_dir["redemption"])),
        "五公开报表": transparency.report_pdf(transparency.monthly_report(db, vid, ledger.month_of(dt.date.today()))),
    }
    missing = [name for name, data in pdfs.items() if _squash(NAME) not in _squash(_pdf_text(data))]
    assert missing == [], f"these PDFs do not show the name literally: {missing}"
    figures.record("plain_text_pdfs", "sqlite", {"pdfs": len(pdfs), "literal_text_missing": 0})
    db.dispose()

