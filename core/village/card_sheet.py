"""Printable household cards (积分卡打印): A4 sheets of ten bank-card-size cards
(85.6 × 54 mm, ISO/IEC 7810 ID-1), two columns by five rows, with cut outlines.

Each card: village, household head, door number, a QR code of the resident link
``<public url>/me?card=TOKEN`` and the token in groups of four for typing by hand.
Text goes through core.platform.pdf.Sheet, so a name character the font lacks is an error.
"""

from __future__ import annotations

from dataclasses import dataclass

import numpy as np
from sqlalchemy import select

from core.platform.access import Actor, require
from core.platform.audit import record
from core.platform.errors import InvalidInput
from core.platform.pdf import Sheet
from core.village.cards import CARD_ROLES, address_problem, card_link, format_token, public_url
from db.enums import CardStatus
from db.models import Card, Household, Village

CARD_W, CARD_H = 85.6, 54.0
COLS, ROWS = 2, 5
GAP_X, GAP_Y = 4.0, 2.0
PER_PAGE = COLS * ROWS
QR_MM = 32.0
MAX_CARDS = 2000


@dataclass(frozen=True)
class CardPrint:
    village: str
    head_name: str
    door_no: str
    token: str
    link: str


def qr_modules(data: str) -> np.ndarray:
    """The QR code's module matrix (True = dark), error correction level M."""
    import zxingcpp  # only when printing: opening the cards page must not load it

    code = zxingcpp.create_barcode(data, zxingcpp.BarcodeFormat.QRCode, ec_level="M")
    return np.asarray(code.to_image(scale=1, add_quiet_zones=False)) < 128


def draw_qr(pdf: Sheet, x: float, y: float, size: float, data: str) -> None:
    """Draw the code as vector rectangles (sharp at any printer resolution, and fast:
    one rectangle per run of dark modules in a row). The card's white margin around it
    serves as the quiet zone."""
    modules = qr_modules(data)
    n = modules.shape[0]
    quiet = 2  # modules of white border inside ``size``
    m = size / (n + 2 * quiet)
    pdf.set_fill_color(0, 0, 0)
    for row in range(n):
        col = 0
        while col < n:
            if not modules[row, col]:
                col += 1
                continue
            start = col
            while col < n and modules[row, col]:
                col += 1
            pdf.rect(x + (quiet + start) * m, y + (quiet + row) * m, (col - start) * m, m, style="F")


def card_positions() -> list[tuple[float, float]]:
    """Top-left corner (mm) of each card slot on an A4 page."""
    left = (210 - COLS * CARD_W - (COLS - 1) * GAP_X) / 2
    top = (297 - ROWS * CARD_H - (ROWS - 1) * GAP_Y) / 2
    return [(left + c * (CARD_W + GAP_X), top + r * (CARD_H + GAP_Y)) for r in range(ROWS) for c in range(COLS)]


def _draw_card(pdf: Sheet, x: float, y: float, card: CardPrint) -> None:
    pdf.set_draw_color(170, 170, 170)
    pdf.set_line_width(0.2)
    pdf.rect(x, y, CARD_W, CARD_H, round_corners=True, corner_radius=3)
    pdf.set_fill_color(190, 30, 45)
    pdf.rect(x, y, CARD_W, 9, style="F")
    pdf.set_text_color(255, 255, 255)
    pdf.set_font_size(11)
    pdf.set_xy(x + 3, y + 1.5)
    pdf.cell(CARD_W - 6, 6, f"{card.village} 积分卡", align="L")
    pdf.set_text_color(0, 0, 0)
    text_w = CARD_W - QR_MM - 8
    pdf.set_font_size(13)
    pdf.set_xy(x + 3, y + 13)
    pdf.cell(text_w, 7, card.head_name or "（未填户主）")
    pdf.set_font_size(10)
    pdf.set_xy(x + 3, y + 21)
    pdf.cell(text_w, 6, f"门牌号：{card.door_no}")
    pdf.set_font_size(7)
    pdf.set_xy(x + 3, y + 29)
    pdf.multi_cell(text_w, 3.6, "扫码查看本户积分、兑换商品。\n遗失请到村委会挂失补办。")
    draw_qr(pdf, x + CARD_W - QR_MM - 3, y + 11, QR_MM, card.link)
    pdf.set_font_size(9.5)
    pdf.set_xy(x + 3, y + CARD_H - 8)
    pdf.cell(CARD_W - 6, 5, format_token(card.token), align="C")


def render_sheet(cards: list[CardPrint]) -> bytes:
    """The PDF for ``cards``, ten to a page (pure: no database)."""
    if not cards:
        raise InvalidInput("没有可以打印的积分卡。")
    pdf = Sheet(title="积分卡")
    pdf.set_auto_page_break(False)
    slots = card_positions()
    for i, card in enumerate(cards):
        if i % PER_PAGE == 0:
            pdf.add_page()
        x, y = slots[i % PER_PAGE]
        _draw_card(pdf, x, y, card)
    return pdf.output_bytes()


def cards_to_print(db, actor: Actor, village_id: int, household_ids: list[int] | None = None, *,
                   local_ok: bool = False) -> list[CardPrint]:
    """Active cards of the village (or of the chosen households), ordered by door number.
    Reading tokens is as sensitive as issuing them, so it needs the card roles; audited.
    Refused while the link address is one a phone cannot open (localhost), unless the admin
    confirmed ``local_ok`` (a test print): checked here, so no page can skip it."""
    require(actor, CARD_ROLES, village_id)
    with db.write() as s:
        vname = s.execute(select(Village.name).where(Village.id == village_id)).scalar_one()
        base = public_url(s, village_id)
        problem = address_problem(base)
        if problem and not local_ok:
            raise InvalidInput(problem)
        q = (select(Card.token, Household.head_name, Household.door_no)
             .join(Household, Household.id == Card.household_id)
             .where(Card.village_id == village_id, Card.status == CardStatus.ACTIVE, Household.active.is_(True)))
        if household_ids is not None:
            q = q.where(Household.id.in_([int(h) for h in household_ids]))
        rows = s.execute(q.order_by(Household.door_no).limit(MAX_CARDS + 1)).all()
        if len(rows) > MAX_CARDS:
            raise InvalidInput(f"一次最多打印 {MAX_CARDS} 张卡，请分批选择。")
        record(s, actor, "card.print", "village", village_id,
               {"count": len(rows), **({"unreachable_link": base} if problem else {})}, village_id=village_id)
    return [CardPrint(vname, head, door, token, card_link(base, token)) for token, head, door in rows]


def card_sheet(db, actor: Actor, village_id: int, household_ids: list[int] | None = None, *,
               local_ok: bool = False) -> bytes:
    """The printable PDF of the village's active cards (or the chosen households')."""
    return render_sheet(cards_to_print(db, actor, village_id, household_ids, local_ok=local_ok))
