"""Household cards: issue, reissue, revoke, and printed sheets that scan back."""

from __future__ import annotations

import json

import pypdfium2 as pdfium
import pytest
import zxingcpp
from sqlalchemy import select

from core.platform import settings
from core.platform.errors import AlreadyDone, InvalidInput, NotAllowed, NotFound
from core.platform.pdf import FontMissing
from core.village import card_sheet, cards
from core.village.card_sheet import CardPrint, render_sheet
from db.models import AuditLog, Card


def _active(db, hid):
    with db.read() as s:
        return list(s.execute(select(Card).where(Card.household_id == hid, Card.status == "active")).scalars())


def test_a_household_gets_one_active_card(db, village):
    hid = village.household_ids[0]
    token = cards.issue_card(db, village.actors["cashier"], hid)
    assert cards.is_well_formed(token)
    with pytest.raises(AlreadyDone):
        cards.issue_card(db, village.admin, hid)
    assert [c.token for c in _active(db, hid)] == [token]


def test_reissuing_stops_the_old_token_at_once(db, village):
    hid = village.household_ids[0]
    old = cards.issue_card(db, village.admin, hid)
    with pytest.raises(InvalidInput):
        cards.reissue_card(db, village.admin, hid, "")
    new = cards.reissue_card(db, village.admin, hid, "卡片损坏")
    assert new != old
    with db.read() as s:
        with pytest.raises(NotFound, match="挂失或作废"):
            cards.resolve(s, village.id, old)
        card, hh = cards.resolve(s, village.id, new)
        assert hh.id == hid
        actions = s.execute(select(AuditLog.action).where(AuditLog.action.like("card.%"))).scalars().all()
    assert actions == ["card.issue", "card.reissue"]


def test_a_revoked_card_is_refused_and_a_new_one_can_be_issued(db, village):
    hid = village.household_ids[0]
    old = cards.issue_card(db, village.admin, hid)
    cards.revoke_card(db, village.admin, hid, "遗失")
    with pytest.raises(NotFound):
        cards.revoke_card(db, village.admin, hid, "遗失")
    with db.read() as s, pytest.raises(NotFound):
        cards.resolve(s, village.id, old)
    cards.issue_card(db, village.admin, hid)
    assert len(_active(db, hid)) == 1


def test_only_card_roles_of_the_village_manage_cards(db, village):
    from tests.factories import make_village

    hid = village.household_ids[0]
    with pytest.raises(NotAllowed):
        cards.issue_card(db, village.actors["grid_worker"], hid)
    other = make_village(db, name="邻村", code="T002")
    with pytest.raises(NotAllowed):
        cards.issue_card(db, other.admin, hid)
    with pytest.raises(NotFound):
        cards.issue_card(db, village.admin, 99999)


def test_issue_missing_gives_cards_only_to_households_without_one(db, village):
    first = village.household_ids[0]
    token = cards.issue_card(db, village.admin, first)
    assert cards.issue_missing(db, village.admin, village.id) == len(village.household_ids) - 1
    assert cards.issue_missing(db, village.admin, village.id) == 0
    assert [c.token for c in _active(db, first)] == [token]
    overview = cards.household_cards(db, village.id)
    assert {r.household_id for r in overview} == set(village.household_ids) and all(r.has_card for r in overview)


def _decode_pages(pdf_bytes: bytes, scale: float = 4) -> list[str]:
    """The text of every QR code printed on the sheet, one per printed code: two reports of the
    same text whose centres lie within a few pixels are one printed code read twice. (Once in
    CI the decoder found 13 codes on this 12-card sheet; not reproduced in 80 pages since.)"""
    doc = pdfium.PdfDocument(pdf_bytes)
    found: list[str] = []
    for page in doc:
        image = page.render(scale=scale).to_pil()
        seen: list[tuple[str, float, float]] = []
        for b in zxingcpp.read_barcodes(image, formats=zxingcpp.BarcodeFormat.QRCode):
            p = b.position
            x = (p.top_left.x + p.top_right.x + p.bottom_left.x + p.bottom_right.x) / 4
            y = (p.top_left.y + p.top_right.y + p.bottom_left.y + p.bottom_right.y) / 4
            if any(t == b.text and abs(x - sx) < 20 and abs(y - sy) < 20 for t, sx, sy in seen):
                continue
            seen.append((b.text, x, y))
        found.extend(t for t, _, _ in seen)
    return found


def test_a_printed_sheet_scans_back_to_every_token(db, village):
    from tests.factories import make_village

    many = make_village(db, name="文祖北村", code="T010", households=12)
    settings.change(db, many.admin, many.id, "public_url", "https://jifen.example.cn")
    cards.issue_missing(db, many.admin, many.id)
    pdf = card_sheet.card_sheet(db, many.admin, many.id)
    assert len(pdfium.PdfDocument(pdf)) == 2  # 12 cards, ten per page
    with db.read() as s:
        tokens = set(s.execute(select(Card.token).where(Card.village_id == many.id)).scalars())
    decoded = _decode_pages(pdf)
    assert len(decoded) == 12
    assert all(link.startswith("https://jifen.example.cn/me?card=") for link in decoded)
    assert {cards.extract_token(link) for link in decoded} == tokens


def test_chinese_names_including_rare_characters_print():
    people = [CardPrint("文祖北村", name, f"1-{i:03d}", cards.new_token(), "http://localhost:8501/me?card=1")
              for i, name in enumerate(["王秀英", "龔曉燊", "𠮷野家", "喆赟"])]
    pdf = render_sheet(people)
    text = pdfium.PdfDocument(pdf)[0].get_textpage().get_text_range()
    for name in ["王秀英", "龔曉燊", "喆赟", "文祖北村"]:
        assert name in text
    assert cards.format_token(people[0].token) in text


def test_a_name_the_font_cannot_draw_is_an_error_not_a_blank():
    person = CardPrint("测试村", "王\U00030000", "1-001", cards.new_token(), "http://x/me?card=1")
    with pytest.raises(FontMissing):
        render_sheet([person])


def test_printing_needs_a_card_role(db, village):
    settings.change(db, village.admin, village.id, "public_url", "http://192.168.1.10:8501")
    with pytest.raises(NotAllowed):
        card_sheet.card_sheet(db, village.actors["committee"], village.id)
    with pytest.raises(InvalidInput, match="没有可以打印的积分卡"):
        card_sheet.card_sheet(db, village.admin, village.id)  # nothing issued yet


@pytest.mark.parametrize("url,phone_can_open", [
    ("http://localhost:8501", False), ("http://LOCALHOST", False), ("http://127.0.0.1:8501", False),
    ("http://[::1]:8501", False), ("http://0.0.0.0:8501", False), ("http://app.localhost", False),
    ("not a url", False), ("http://192.168.1.10:8501", True), ("https://jifen.example.cn", True),
    ("http://localhost.example.cn", True)])
def test_an_address_a_phone_cannot_open_is_named(url, phone_can_open):
    assert (cards.address_problem(url) is None) == phone_can_open


def test_cards_with_a_localhost_link_print_only_when_the_admin_confirms(db, village, monkeypatch):
    monkeypatch.setenv("JIFEN_PUBLIC_URL", "http://localhost:8501")
    cards.issue_missing(db, village.admin, village.id)
    with pytest.raises(InvalidInput, match="手机扫码打不开.*积分卡链接地址"):
        card_sheet.card_sheet(db, village.admin, village.id)
    assert card_sheet.card_sheet(db, village.admin, village.id, local_ok=True)[:5] == b"%PDF-"
    settings.change(db, village.admin, village.id, "public_url", "http://192.168.1.10:8501")
    assert card_sheet.card_sheet(db, village.admin, village.id)[:5] == b"%PDF-"
    with db.read() as s:
        details = [json.loads(d) for d in s.execute(select(AuditLog.detail).where(AuditLog.action == "card.print")
                                                   .order_by(AuditLog.id)).scalars()]
    assert [d.get("unreachable_link") for d in details] == ["http://localhost:8501", None]


def test_a_photo_of_a_card_decodes_to_its_link_and_garbage_to_nothing():
    import io

    token = cards.new_token()
    pdf = render_sheet([CardPrint("测试村", "王秀英", "1-001", token, f"http://localhost:8501/me?card={token}")])
    buf = io.BytesIO()
    pdfium.PdfDocument(pdf)[0].render(scale=3).to_pil().save(buf, format="JPEG", quality=80)
    assert [cards.extract_token(t) for t in cards.decode_image(buf.getvalue())] == [token]
    assert cards.decode_image(b"not an image") == []


def test_the_first_run_set_up_stores_the_cards_address(db):
    from core.platform.access import SYSTEM
    from core.village.setup import create_village

    with pytest.raises(InvalidInput, match="http://"):
        create_village(db, SYSTEM, name="新村", township="新镇", county="新县", grids=[], admin_username="boss",
                       admin_name="村主任", admin_password="boss-pass-1", first_run=True, public_url="192.168.1.10")
    vid = create_village(db, SYSTEM, name="新村", township="新镇", county="新县", grids=[], admin_username="boss",
                         admin_name="村主任", admin_password="boss-pass-1", first_run=True,
                         public_url=" http://192.168.1.10:8501 ")
    assert cards.link_check(db, vid) == ("http://192.168.1.10:8501", None)
