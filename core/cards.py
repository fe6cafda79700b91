"""Card tokens (积分卡): digits only, with a check digit, unguessable.

A token is 25 random decimal digits (log2(10**25) ≈ 83 bits) plus one Luhn check
digit, printed in groups of four. Digits only, because a Chinese input method can
swallow letters typed by a USB scanner; a check digit, so a mistyped number is told
apart from a revoked card without a database round trip.
"""

from __future__ import annotations

import re
import secrets
from urllib.parse import parse_qs, urlparse

RANDOM_DIGITS = 25
TOKEN_LEN = RANDOM_DIGITS + 1


def luhn_digit(digits: str) -> str:
    total = 0
    for i, ch in enumerate(reversed(digits)):
        d = int(ch)
        if i % 2 == 0:
            d *= 2
            if d > 9:
                d -= 9
        total += d
    return str((10 - total % 10) % 10)


def new_token() -> str:
    body = "".join(secrets.choice("0123456789") for _ in range(RANDOM_DIGITS))
    return body + luhn_digit(body)


def is_well_formed(token: str) -> bool:
    return len(token) == TOKEN_LEN and token.isdigit() and luhn_digit(token[:-1]) == token[-1]


def format_token(token: str) -> str:
    """Groups of four for printing and reading aloud."""
    return " ".join(token[i : i + 4] for i in range(0, len(token), 4))


_NON_DIGIT = re.compile(r"[\s\-]")


def extract_token(scanned: str) -> str | None:
    """From what a scanner typed — a card link or the digits, with spaces — get the token.

    Returns None when it is not a card (e.g. a product barcode or garbage)."""
    text = (scanned or "").strip()
    if not text or len(text) > 500:
        return None
    if "card=" in text:
        query = urlparse(text).query or text.split("?", 1)[-1]
        values = parse_qs(query).get("card")
        if not values:
            return None
        text = values[0]
    digits = _NON_DIGIT.sub("", text)
    # full-width digits from some input methods
    digits = digits.translate(str.maketrans("０１２３４５６７８９", "0123456789"))
    return digits if is_well_formed(digits) else None


def card_link(public_url: str, token: str) -> str:
    return f"{public_url.rstrip('/')}/me?card={token}"


# ---------------------------------------------------------------- look-up (used by every scan box)

def resolve(s, village_id: int, scanned: str):
    """The household behind a scanned card in ``village_id``.

    Returns (card, household). Raises with a friendly Chinese message for a malformed
    code, an unknown, revoked or other village's card. One indexed look-up by token.
    """
    from sqlalchemy import select

    from core.errors import InvalidInput, NotFound
    from db.models import Card, Household

    token = extract_token(scanned)
    if token is None:
        raise InvalidInput("这不是有效的积分卡号：请重新扫描，或核对卡片下方的 26 位数字。")
    card = s.execute(select(Card).where(Card.token == token)).scalar_one_or_none()
    if card is None:
        raise NotFound("查无此卡：卡号不存在。")
    if card.status != "active":
        raise NotFound("此卡已挂失或作废，请使用新卡；如需补办请联系村管理员。")
    if card.village_id != village_id:
        raise NotFound("这张积分卡不属于本村。")
    household = s.get(Household, card.household_id)
    if household is None or not household.active:
        raise NotFound("该户已注销。")
    return card, household
