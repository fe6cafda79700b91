"""Card tokens (积分卡): digits only, with a check digit, unguessable; issuing,
reissuing and revoking them (audited; one active card per household, enforced by a
partial unique index so two staff issuing at once cannot both succeed).

A token is 25 random decimal digits (log2(10**25) ≈ 83 bits) plus one check digit,
printed in groups of four. Digits only, because a Chinese input method can swallow letters
typed by a USB scanner; a check digit, so a mistyped number is told apart from a revoked
card.

The check digit of new cards is Damm's: it catches every single wrong digit and every swap
of two neighbouring digits. Cards printed before used a Luhn digit, which misses a swap of
0 and 9; they keep working. A number valid only under Luhn is looked up as an old card, and
when no card has it, it is reported as mistyped, like any other bad number.
"""

from __future__ import annotations

import functools
import re
import secrets
from dataclasses import dataclass
from datetime import datetime
from urllib.parse import parse_qs, urlparse

from sqlalchemy import select, update
from sqlalchemy.exc import IntegrityError

from core.platform import config, settings
from core.platform.access import require
from core.platform.audit import record
from core.platform.errors import AlreadyDone, ImageTooLarge, InvalidInput, NotFound
from core.platform.validate import nfkc
from db import clock
from db.enums import CardStatus
from db.models import Card, Household

RANDOM_DIGITS = 25
TOKEN_LEN = RANDOM_DIGITS + 1


# Damm's quasigroup of order 10 (weakly totally anti-symmetric): a running "interim digit"
# that ends at 0 exactly when the number is valid.
_DAMM = (
    (0, 3, 1, 7, 5, 9, 8, 6, 4, 2),
    (7, 0, 9, 2, 1, 5, 4, 8, 6, 3),
    (4, 2, 0, 6, 8, 7, 1, 3, 5, 9),
    (1, 7, 5, 0, 9, 8, 3, 4, 2, 6),
    (6, 1, 2, 3, 0, 4, 5, 9, 7, 8),
    (3, 6, 7, 4, 2, 0, 9, 5, 8, 1),
    (5, 8, 6, 9, 7, 2, 0, 1, 3, 4),
    (8, 9, 4, 5, 3, 6, 2, 0, 1, 7),
    (9, 4, 3, 8, 6, 1, 7, 2, 0, 5),
    (2, 5, 8, 1, 4, 3, 6, 7, 9, 0),
)
_TOKEN = re.compile(rf"[0-9]{{{TOKEN_LEN}}}")


def _damm(digits: str) -> int:
    interim = 0
    for ch in digits:
        interim = _DAMM[interim][ord(ch) - 48]
    return interim


def check_digit(digits: str) -> str:
    """The check digit of new cards (Damm)."""
    return str(_damm(digits))


def luhn_digit(digits: str) -> str:
    """The check digit of cards printed before Damm's (kept so that they keep working)."""
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
    return body + check_digit(body)


def is_new_format(token: str) -> bool:
    """26 ASCII digits whose last is the Damm check digit of the others."""
    return bool(_TOKEN.fullmatch(token or "")) and _damm(token) == 0


def is_well_formed(token: str) -> bool:
    """A possible card number: a new one, or one with an old card's Luhn digit."""
    return is_new_format(token) or (bool(_TOKEN.fullmatch(token or "")) and luhn_digit(token[:-1]) == token[-1])


def format_token(token: str) -> str:
    """Groups of four for printing and reading aloud."""
    return " ".join(token[i : i + 4] for i in range(0, len(token), 4))


_SEPARATORS = re.compile(r"[\s\-]")


def extract_token(scanned: str) -> str | None:
    """From what a scanner typed — a card link or the digits, with spaces or dashes, in full-width
    forms from an input method — get the token.

    Returns None when it is not a card number (e.g. a product barcode or garbage)."""
    text = nfkc(scanned or "")
    if not text or len(text) > 500:
        return None
    if "card=" in text:
        query = urlparse(text).query or text.split("?", 1)[-1]
        values = parse_qs(query).get("card")
        if not values:
            return None
        text = values[0]
    digits = _SEPARATORS.sub("", text)
    return digits if is_well_formed(digits) else None


def find_card(s, token: str) -> Card | None:
    """The card with this token (any status), by one indexed look-up."""
    return s.execute(select(Card).where(Card.token == token)).scalar_one_or_none()


def mistyped(token: str) -> bool:
    """For a token no card has: whether to call it mistyped rather than unknown. A number valid
    only under the old Luhn digit can only be an old card, and every old card is stored."""
    return not is_new_format(token)


def decode_image(data: bytes) -> list[str]:
    """Texts of the QR codes and barcodes in a photo (camera fallback for scan boxes);
    empty when none is found or the bytes are not an image. A photo declaring more pixels
    than core.committee.photos allows is refused (InvalidInput) before it is decoded."""
    import zxingcpp

    from core.platform.images import open_image

    try:
        image = open_image(data)
        image.load()
    except ImageTooLarge:
        raise
    except Exception:  # a truncated or corrupt photo: nothing to read in it
        return []
    return [b.text for b in zxingcpp.read_barcodes(image) if b.text]


def card_link(public_url: str, token: str) -> str:
    return f"{public_url.rstrip('/')}/me?card={token}"


# ---------------------------------------------------------------- look-up (used by every scan box)

def resolve(s, village_id: int, scanned: str):
    """The household behind a scanned card in ``village_id``.

    Returns (card, household). Raises with a friendly Chinese message for a malformed
    code, an unknown, revoked or other village's card. One indexed look-up by token.
    """
    token = extract_token(scanned)
    card = find_card(s, token) if token is not None else None
    if card is None and (token is None or mistyped(token)):
        raise InvalidInput("这不是有效的积分卡号：请重新扫描，或核对卡片下方的 26 位数字。")
    if card is None:
        raise NotFound("查无此卡：卡号不存在。")
    if card.village_id != village_id:
        raise NotFound("这张积分卡不属于本村。")
    household = s.get(Household, card.household_id)
    if household is not None and not household.active:
        from core.village.lifecycle import closed_message

        raise NotFound(closed_message(s, household))
    if card.status != CardStatus.ACTIVE:
        raise NotFound("此卡已挂失或作废，请使用新卡；如需补办请联系村管理员。")
    if household is None:
        raise NotFound("找不到该户。")
    return card, household


# ---------------------------------------------------------------- issue, reissue, revoke (audited)

CARD_ROLES = ("admin", "cashier")


def _household_in(s, actor, household_id: int):
    hh = s.get(Household, household_id) if isinstance(household_id, int) else None
    if hh is None:
        raise NotFound("找不到该户。")
    require(actor, CARD_ROLES, hh.village_id)
    if not hh.active:
        from core.village.lifecycle import closed_message

        raise NotFound(closed_message(s, hh) + "如需办卡，请先恢复该户。")
    return hh


def _active_card(s, household_id: int):
    return s.execute(
        select(Card).where(Card.household_id == household_id, Card.status == CardStatus.ACTIVE).with_for_update()
    ).scalar_one_or_none()


def _new_card(s, actor, hh):
    card = Card(village_id=hh.village_id, household_id=hh.id, token=new_token(), issued_by=actor.user_id)
    s.add(card)
    s.flush()  # the partial unique index refuses a second active card here
    return card


def _revoke(s, card, reason: str) -> None:
    res = s.execute(
        update(Card).where(Card.id == card.id, Card.status == CardStatus.ACTIVE)
        .values(status=CardStatus.REVOKED, revoked_at=clock.now(), revoke_reason=reason)
        .execution_options(synchronize_session=False)
    )
    if res.rowcount != 1:
        raise AlreadyDone("这张卡已经作废。")
    s.expire(card)


def _integrity_to_domain(fn):
    """Two staff issuing a card for the same household at once: the unique index decides."""



    @functools.wraps(fn)
    def wrapper(*a, **kw):
        try:
            return fn(*a, **kw)
        except IntegrityError as e:
            raise AlreadyDone("该户已有一张有效的积分卡（可能刚由他人办理），请刷新后再试。") from e

    return wrapper


@_integrity_to_domain
def issue_card(db, actor, household_id: int) -> str:
    """Issue the household's first (or next, after a revoke) card; returns the token."""
    with db.write() as s:
        hh = _household_in(s, actor, household_id)
        if _active_card(s, hh.id) is not None:
            raise AlreadyDone("该户已有有效的积分卡；遗失请先挂失或直接补办。")
        card = _new_card(s, actor, hh)
        record(s, actor, "card.issue", "card", card.id, {"household_id": hh.id}, village_id=hh.village_id)
        return card.token


@_integrity_to_domain
def reissue_card(db, actor, household_id: int, reason: str = "") -> str:
    """Replace the household's card: the old token stops working in the same transaction."""
    reason = (reason or "").strip()
    if not reason:
        raise InvalidInput("补办积分卡必须填写原因（例如：遗失、损坏）。")
    if len(reason) > 200:
        raise InvalidInput("原因不能超过 200 个字。")
    with db.write() as s:
        hh = _household_in(s, actor, household_id)
        old = _active_card(s, hh.id)
        if old is not None:
            _revoke(s, old, f"补办：{reason}")
        card = _new_card(s, actor, hh)
        record(s, actor, "card.reissue", "card", card.id,
               {"household_id": hh.id, "old_card_id": old.id if old else None}, reason, village_id=hh.village_id)
        return card.token


def revoke_card(db, actor, household_id: int, reason: str) -> None:
    """Report the household's card lost (挂失): the token stops working at once."""
    reason = (reason or "").strip()
    if not reason:
        raise InvalidInput("挂失/作废必须填写原因。")
    if len(reason) > 200:
        raise InvalidInput("原因不能超过 200 个字。")
    with db.write() as s:
        hh = _household_in(s, actor, household_id)
        card = _active_card(s, hh.id)
        if card is None:
            raise NotFound("该户没有有效的积分卡。")
        _revoke(s, card, reason)
        record(s, actor, "card.revoke", "card", card.id, {"household_id": hh.id}, reason, village_id=hh.village_id)


@_integrity_to_domain
def issue_missing(db, actor, village_id: int, household_ids: list[int] | None = None) -> int:
    """Issue cards to every active household of the village without one (or to the given
    ones that lack one); returns how many were issued. One transaction, audited once."""
    require(actor, CARD_ROLES, village_id)
    with db.write() as s:
        has_card = select(Card.household_id).where(Card.status == CardStatus.ACTIVE, Card.village_id == village_id)
        q = select(Household).where(Household.village_id == village_id, Household.active.is_(True),
                                    Household.id.not_in(has_card))
        if household_ids is not None:
            q = q.where(Household.id.in_([int(h) for h in household_ids]))
        households = list(s.execute(q.order_by(Household.id)).scalars())
        for hh in households:
            s.add(Card(village_id=village_id, household_id=hh.id, token=new_token(), issued_by=actor.user_id))
        s.flush()
        if households:
            record(s, actor, "card.issue_bulk", "village", village_id, {"count": len(households)},
                   village_id=village_id)
        return len(households)


@dataclass(frozen=True)
class HouseholdCardRow:
    """One active household with whether it holds an active card, and since when."""

    household_id: int
    door_no: str
    head_name: str
    has_card: bool
    issued_at: datetime | None


def household_cards(db, village_id: int) -> list[HouseholdCardRow]:
    """Every active household of the village with its card, by door number (one query)."""
    with db.read() as s:
        rows = s.execute(
            select(Household.id, Household.door_no, Household.head_name, Card.id, Card.issued_at)
            .outerjoin(Card, (Card.household_id == Household.id) & (Card.status == CardStatus.ACTIVE))
            .where(Household.village_id == village_id, Household.active.is_(True))
            .order_by(Household.door_no)
        ).all()
    return [HouseholdCardRow(hid, door, head, cid is not None, issued) for hid, door, head, cid, issued in rows]


def public_url(s, village_id: int) -> str:
    """Base of the card link: the village setting if set, else JIFEN_PUBLIC_URL."""
    return (settings.get(s, village_id, "public_url") or config.load().public_url).rstrip("/")


_LOOPBACK = ("localhost", "0.0.0.0", "::1", "ip6-localhost", "ip6-loopback")


def address_problem(url: str) -> str | None:
    """Why a phone scanning a card could not open ``url``, or None. The default address
    (http://localhost:8501) opens only on the computer running the app: a whole village's cards
    printed with it would be useless."""
    from urllib.parse import urlsplit

    try:
        host = (urlsplit(url).hostname or "").lower()
    except ValueError:
        host = ""
    if not host:
        return f"积分卡链接地址“{url}”不是有效的网址。"
    if host in _LOOPBACK or host.endswith(".localhost") or host.startswith("127."):
        return (f"积分卡二维码里的链接是 {url}，这个地址只能在运行本系统的电脑上打开，村民用手机扫码打不开。"
                "请先在“设置 → 积分超市 → 积分卡链接地址”填写手机能访问的地址"
                "（如村委会电脑的局域网地址 http://192.168.1.10:8501，或县里统一的网址），再打印。")
    return None


def link_check(db, village_id: int) -> tuple[str, str | None]:
    """(the base address cards will carry, why a phone could not open it or None)."""
    with db.read() as s:
        base = public_url(s, village_id)
    return base, address_problem(base)
