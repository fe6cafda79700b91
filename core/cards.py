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
