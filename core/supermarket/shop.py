"""The points supermarket's counter (积分超市收银): checkout, void, home delivery.

A checkout is one transaction that locks the household's account first (FOR UPDATE on
PostgreSQL; BEGIN IMMEDIATE serialises SQLite writers), so two counters redeeming the
same card at once run one after the other: the second sees the first's spending and the
monthly limits it used. Balance and stock then change by conditional UPDATEs backed by
CHECK constraints: even a logic slip cannot overdraw either.

Idempotency: each cart carries a ``cart_key`` (unique in ``redemption``). Calling
checkout again with the same key — a double click, a rerun, a second browser tab —
returns the redemption already made and charges nothing.
"""

from __future__ import annotations

import datetime as dt
import uuid
from dataclasses import dataclass, field

from sqlalchemy import func, select, update
from sqlalchemy.exc import IntegrityError
from sqlalchemy.orm import Session

from core.platform import settings
from core.platform.access import Actor, require
from core.platform.audit import record
from core.platform.errors import AlreadyDone, InsufficientPoints, InvalidInput, NotAllowed, NotFound, OutOfStock
from core.platform.validate import submit_key
from core.points import balances, entry_rules, posting
from core.supermarket.stock import change_stock
from db import clock
from db.enums import CardStatus, Delivery, RedemptionStatus
from db.models import (
    Account,
    Card,
    Household,
    Product,
    Redemption,
    RedemptionLine,
    RedemptionReturn,
    RedemptionReturnLine,
    Resident,
)

SHOP_ROLES = ("cashier", "admin")
MAX_LINE_QTY = 99
MAX_LINES = 30
RECENT_MINUTES = 10


# ---------------------------------------------------------------- pure rules


@dataclass(frozen=True)
class LineCheck:
    product_id: int
    name: str
    unit: str
    price: int
    qty: int
    kind: str  # goods / service
    stock: int
    active: bool
    monthly_limit: int | None
    used_this_month: int

    @property
    def amount(self) -> int:
        return self.price * self.qty


@dataclass(frozen=True)
class CartCheck:
    lines: list[LineCheck]
    total: int
    balance: int
    problems: list[str] = field(default_factory=list)
    refused: list[tuple[type[Exception], str]] = field(default_factory=list, repr=False)
    held: int = 0  # points held for deductions in 公示: part of the balance, not spendable

    @property
    def ok(self) -> bool:
        return not self.problems and bool(self.lines)

    @property
    def spendable(self) -> int:
        return balances.spendable(self.balance, self.held)

    @property
    def balance_after(self) -> int:
        return self.balance - self.total


def clean_cart(cart: object) -> dict[int, int]:
    """{product_id: qty} with whole positive quantities; raises InvalidInput otherwise."""
    if not isinstance(cart, dict) or not cart:
        raise InvalidInput("购物车是空的：请先扫描或选择商品。")
    if len(cart) > MAX_LINES:
        raise InvalidInput(f"一次最多兑换 {MAX_LINES} 种商品。")
    out: dict[int, int] = {}
    for pid, qty in cart.items():
        if isinstance(pid, bool) or not isinstance(pid, int):
            raise InvalidInput("购物车里有无效的商品。")
        if isinstance(qty, float) and qty.is_integer():
            qty = int(qty)
        if isinstance(qty, bool) or not isinstance(qty, int) or qty <= 0:
            raise InvalidInput("商品数量必须是正整数。")
        if qty > MAX_LINE_QTY:
            raise InvalidInput(f"单种商品一次最多兑换 {MAX_LINE_QTY} 件。")
        out[pid] = qty
    return out


def refusals(lines: list[LineCheck], *, balance: int, min_balance: int, window_open: bool,
             held: int = 0) -> list[tuple[type[Exception], str]]:
    """Every reason this cart cannot be redeemed now: (error class, Chinese message). ``held``:
    points of the balance held for deductions still in 公示, which cannot be spent."""
    out: list[tuple[type[Exception], str]] = []
    can_spend = balances.spendable(balance, held)
    held_note = f"（余额 {balance} 分，其中 {min(held, balance)} 分因公示中的扣分暂不能使用）" if held else ""
    if not window_open:
        out.append((NotAllowed, "积分超市目前未开放兑换（兑换窗口已关闭）。"))
    if can_spend < min_balance:
        out.append((InsufficientPoints, f"可兑换积分 {can_spend} 分{held_note}，低于兑换最低积分 {min_balance} 分，"
                                        "暂不能兑换。"))
    for ln in lines:
        if not ln.active:
            out.append((InvalidInput, f"“{ln.name}”已下架。"))
        if ln.kind == "goods" and ln.qty > ln.stock:
            out.append((OutOfStock, f"“{ln.name}”库存不足：现有 {ln.stock}{ln.unit}，需要 {ln.qty}{ln.unit}。"))
        if ln.monthly_limit is not None and ln.used_this_month + ln.qty > ln.monthly_limit:
            left = max(ln.monthly_limit - ln.used_this_month, 0)
            out.append((InvalidInput, f"“{ln.name}”每户每月限兑 {ln.monthly_limit}{ln.unit}，本月已兑 "
                                      f"{ln.used_this_month}{ln.unit}，还可兑 {left}{ln.unit}。"))
    total = sum(ln.amount for ln in lines)
    if total > can_spend:
        if held:
            out.append((InsufficientPoints, f"可兑换积分不足：可兑换 {can_spend} 分{held_note}，本次需要 {total} 分。"))
        else:
            out.append((InsufficientPoints, f"可用积分不足：余额 {balance} 分，本次需要 {total} 分。"))
    return out


def cart_problems(lines: list[LineCheck], *, balance: int, min_balance: int, window_open: bool,
                  held: int = 0) -> list[str]:
    """Every reason this cart cannot be redeemed now, in Chinese (empty = allowed)."""
    return [msg for _, msg in refusals(lines, balance=balance, min_balance=min_balance, window_open=window_open,
                                       held=held)]


# ---------------------------------------------------------------- reads


def month_used(s: Session, household_id: int, month: int, product_ids: list[int] | None = None) -> dict[int, int]:
    """Quantity of each product this household redeemed in ``month`` (voided and returned excluded)."""
    back = (select(RedemptionReturnLine.redemption_line_id.label("line_id"),
                   func.sum(RedemptionReturnLine.qty).label("qty"))
            .join(RedemptionReturn, RedemptionReturn.id == RedemptionReturnLine.return_id)
            .where(RedemptionReturn.household_id == household_id)
            .group_by(RedemptionReturnLine.redemption_line_id).subquery())
    q = (
        select(RedemptionLine.product_id, func.sum(RedemptionLine.qty - func.coalesce(back.c.qty, 0)))
        .join(Redemption, Redemption.id == RedemptionLine.redemption_id)
        .outerjoin(back, back.c.line_id == RedemptionLine.id)
        .where(Redemption.household_id == household_id, Redemption.month == month,
               Redemption.status == RedemptionStatus.DONE)
        .group_by(RedemptionLine.product_id)
    )
    if product_ids is not None:
        q = q.where(RedemptionLine.product_id.in_(product_ids))
    return {pid: int(n) for pid, n in s.execute(q).all() if n}


def _products(s: Session, cart: dict[int, int]) -> dict[int, Product]:
    return {p.id: p for p in s.execute(select(Product).where(Product.id.in_(list(cart)))).scalars()}


def _check(s: Session, hh: Household, cart: dict[int, int], month: int, *, account: Account | None = None,
           products: dict[int, Product] | None = None) -> CartCheck:
    """``account`` and ``products``: already loaded in this session by the caller (checkout holds
    them for the whole transaction; the session only keeps objects someone refers to)."""
    acc = account if account is not None else s.get(Account, hh.id)
    balance = acc.balance if acc else 0
    prods = products if products is not None else _products(s, cart)
    used = month_used(s, hh.id, month, list(cart))
    lines = []
    for pid, qty in cart.items():
        p = prods.get(pid)
        if p is None or p.village_id != hh.village_id:
            raise NotFound("购物车里有不属于本村的商品。")
        lines.append(LineCheck(p.id, p.name, p.unit, p.price, qty, p.kind, p.stock, p.active, p.monthly_limit,
                               used.get(pid, 0)))
    min_balance, window_open = settings.get_many(s, hh.village_id, "min_balance_to_redeem", "redemption_open")
    held = balances.held_points(s, [hh.id]).get(hh.id, 0)
    refused = refusals(lines, balance=balance, min_balance=min_balance, window_open=window_open, held=held)
    return CartCheck(lines=lines, total=sum(ln.amount for ln in lines), balance=balance,
                     problems=[msg for _, msg in refused], refused=refused, held=held)


def check_cart(db, village_id: int, household_id: int, cart: dict[int, int]) -> CartCheck:
    """What the cashier sees before confirming: lines, total, balance after, problems."""
    cart = clean_cart(cart)
    with db.read() as s:
        hh = s.get(Household, household_id)
        if hh is None or hh.village_id != village_id:
            raise NotFound("找不到该户。")
        return _check(s, hh, cart, entry_rules.month_of(dt.date.today()))


@dataclass(frozen=True)
class LimitRow:
    name: str
    unit: str
    limit: int
    used: int


@dataclass(frozen=True)
class Counter:
    """The household panel at the counter."""

    household_id: int
    door_no: str
    head_name: str
    needs_delivery: bool
    members: list[str]
    balance: int
    earned_total: int
    min_balance: int
    window_open: bool
    limits: list[LimitRow]
    recent: list[str]  # this household's redemptions in the last RECENT_MINUTES (spot a duplicate from another tab)
    held: int = 0  # held for deductions in 公示: part of the balance, not spendable
    outstanding: int = 0  # 待扣: deducted points the balance could not cover, settled from the next points

    @property
    def spendable(self) -> int:
        return balances.spendable(self.balance, self.held)

    @property
    def eligibility(self) -> list[str]:
        out = []
        if not self.window_open:
            out.append("积分超市目前未开放兑换。")
        if self.spendable < self.min_balance:
            out.append(f"可兑换积分低于兑换最低积分 {self.min_balance} 分。")
        return out


def counter_view(db, village_id: int, household_id: int) -> Counter:
    with db.read() as s:
        hh = s.get(Household, household_id)
        if hh is None or hh.village_id != village_id:
            raise NotFound("找不到该户。")
        acc = s.get(Account, hh.id)
        members = list(s.execute(
            select(Resident.name, Resident.relation).where(Resident.household_id == hh.id, Resident.active.is_(True))
            .order_by(Resident.id)
        ).all())
        month = entry_rules.month_of(dt.date.today())
        limited = list(s.execute(
            select(Product).where(Product.village_id == village_id, Product.active.is_(True),
                                  Product.monthly_limit.is_not(None)).order_by(Product.name)
        ).scalars())
        used = month_used(s, hh.id, month, [p.id for p in limited])
        since = dt.datetime.now() - dt.timedelta(minutes=RECENT_MINUTES)
        recent = s.execute(
            select(Redemption.receipt_no, Redemption.total, Redemption.created_at)
            .where(Redemption.household_id == hh.id, Redemption.status == RedemptionStatus.DONE,
                   Redemption.created_at >= since)
            .order_by(Redemption.id.desc()).limit(5)
        ).all()
        return Counter(
            household_id=hh.id, door_no=hh.door_no, head_name=hh.head_name, needs_delivery=hh.needs_delivery,
            members=[f"{n}（{r}）" if r else n for n, r in members],
            balance=acc.balance if acc else 0, earned_total=acc.earned_total if acc else 0,
            held=balances.held_points(s, [hh.id]).get(hh.id, 0), outstanding=acc.outstanding if acc else 0,
            min_balance=settings.get(s, village_id, "min_balance_to_redeem"),
            window_open=settings.get(s, village_id, "redemption_open"),
            limits=[LimitRow(p.name, p.unit, p.monthly_limit, used.get(p.id, 0)) for p in limited],
            recent=[f"{at:%H:%M} {no}（{total} 分）" for no, total, at in recent],
        )


# ---------------------------------------------------------------- checkout


def _existing(s: Session, cart_key: str) -> Redemption | None:
    return s.execute(select(Redemption).where(Redemption.cart_key == cart_key)).scalar_one_or_none()


def _same_cart(red: Redemption, household_id: int) -> int:
    if red.household_id != household_id:
        raise InvalidInput("这个购物车编号已用于另一户的兑换，请重新开始结算。")
    return red.id


def checkout(db, actor: Actor, *, household_id: int, card_id: int | None, cart: dict[int, int], cart_key: str,
             delivery: bool = False, at: dt.datetime | None = None) -> int:
    """Redeem ``cart`` for the household; returns the redemption id.

    Same ``cart_key`` again → the same redemption, nothing charged twice. ``at`` backdates
    the redemption (demo data and imports only)."""
    key = submit_key(cart_key)
    cart = clean_cart(cart)
    with db.read() as s:  # fast path for the double click: no write lock needed
        red = _existing(s, key)
        if red is not None:
            return _same_cart(red, household_id)
    try:
        return _checkout(db, actor, household_id, card_id, cart, key, delivery, at)
    except IntegrityError:
        # The other tab committed this very cart between our check and our insert.
        with db.read() as s:
            red = _existing(s, key)
            if red is None:
                raise
            return _same_cart(red, household_id)


def _checkout(db, actor, household_id, card_id, cart, key, delivery, at) -> int:
    when = (at or clock.now()).replace(microsecond=0)
    with db.write() as s:
        hh = s.get(Household, household_id) if isinstance(household_id, int) else None
        if hh is None:
            raise NotFound("找不到该户。")
        require(actor, SHOP_ROLES, hh.village_id)
        if not hh.active:
            from core.village.lifecycle import closed_message

            raise NotFound(closed_message(s, hh))
        if card_id is not None:
            card = s.get(Card, card_id)
            if card is None or card.household_id != hh.id:
                raise NotFound("积分卡与该户不符，请重新扫卡。")
            if card.status != CardStatus.ACTIVE:
                raise NotFound("此卡已挂失或作废，不能兑换；请使用新卡。")
        # Serialise counters redeeming this household. ``acc`` is kept for the whole transaction:
        # while the session holds it, the ledger's own lock_account below needs no second query.
        acc = posting.lock_account(s, hh.id)
        red = _existing(s, key)  # re-check under the lock: the other tab may have just committed
        if red is not None:
            return _same_cart(red, hh.id)
        products = _products(s, cart)
        check = _check(s, hh, cart, entry_rules.month_of(when.date()), account=acc, products=products)
        if check.refused:
            error, message = check.refused[0]
            raise error(message)
        red = Redemption(village_id=hh.village_id, household_id=hh.id, card_id=card_id, receipt_no=f"tmp-{uuid.uuid4().hex[:24]}",
                         cart_key=key, total=check.total, month=entry_rules.month_of(when.date()),
                         status=RedemptionStatus.DONE, created_by=actor.user_id, created_at=when,
                         delivery=Delivery.PENDING if delivery else Delivery.NONE)
        s.add(red)
        s.flush()
        red.receipt_no = f"DH{when:%Y%m%d}-{red.id:06d}"
        for ln in sorted(check.lines, key=lambda x: x.product_id):  # one lock order for every till
            s.add(RedemptionLine(redemption_id=red.id, product_id=ln.product_id, qty=ln.qty, price=ln.price))
            if ln.kind == "goods":
                change_stock(s, products[ln.product_id], -ln.qty, kind="redeem", actor=actor,
                             ref_type="redemption", ref_id=str(red.id), at=when)
        items = "、".join(f"{ln.name}×{ln.qty}" for ln in check.lines)
        posting.post(s, household_id=hh.id, kind="redeemed", points=-check.total, source_type="redemption",
                     source_id=red.id, occurred_on=when.date(), actor=actor,
                     reason=f"积分超市兑换 {red.receipt_no}：{items}")
        record(s, actor, "shop.checkout", "redemption", red.id,
               {"household_id": hh.id, "total": check.total, "cart": cart, "delivery": delivery},
               village_id=hh.village_id)
        return red.id


def void(db, actor: Actor, redemption_id: int, reason: str) -> None:
    """Undo a redemption (撤销): points back by a redeem_void entry, goods back on the shelf.
    After partial returns (core.supermarket.returns) only the rest comes back: nothing is returned twice.

    On the redemption's day every counter role may void; later, who may is the village setting
    ``late_returns_by`` (the admin only by default: the goods have usually left)."""
    from core.supermarket import returns

    reason = returns.clean_reason(reason, "撤销兑换")
    with db.write() as s:
        red = s.get(Redemption, redemption_id) if isinstance(redemption_id, int) else None
        if red is None:
            raise NotFound("找不到这笔兑换。")
        require(actor, SHOP_ROLES, red.village_id)
        posting.lock_account(s, red.household_id)  # account first, like checkout and returns
        returns.check_late(red.created_at.date(), clock.now().date(), actor,
                           settings.get(s, red.village_id, "late_returns_by"), "撤销")
        rest = [ln for ln in returns.remaining(s, red.id) if ln.left > 0]
        if not rest and (s.execute(select(Redemption.status).where(Redemption.id == red.id)).scalar()
                         == RedemptionStatus.DONE):
            raise AlreadyDone("这笔兑换的商品已经全部退回，无需撤销。")
        now = clock.now()
        res = s.execute(
            update(Redemption).where(Redemption.id == red.id, Redemption.status == RedemptionStatus.DONE)
            .values(status=RedemptionStatus.VOIDED, voided_by=actor.user_id, voided_at=now, void_reason=reason)
            .execution_options(synchronize_session=False)
        )
        if res.rowcount != 1:
            raise AlreadyDone("这笔兑换已经撤销过。")
        products = {p.id: p for p in s.execute(
            select(Product).where(Product.id.in_([ln.product_id for ln in rest]))).scalars()}
        for ln in rest:  # ordered by product: one lock order for every till
            if ln.kind == "goods":
                change_stock(s, products[ln.product_id], ln.left, kind="void", actor=actor, reason=reason,
                             ref_type="redemption", ref_id=str(red.id))
        points = sum(ln.left * ln.price for ln in rest)
        returned = red.total - points
        posting.post(s, household_id=red.household_id, kind="redeem_void", points=points,
                     source_type="redemption_void", source_id=red.id, actor=actor,
                     reason=f"撤销兑换 {red.receipt_no}" + (f"（已退货 {returned} 分，退回其余）" if returned else "")
                     + f"：{reason}")
        record(s, actor, "shop.void", "redemption", red.id, {"total": points, "returned_before": returned}, reason,
               village_id=red.village_id)


def mark_delivered(db, actor: Actor, redemption_id: int) -> None:
    """Confirm a home delivery (送货上门) was handed over."""
    with db.write() as s:
        red = s.get(Redemption, redemption_id) if isinstance(redemption_id, int) else None
        if red is None:
            raise NotFound("找不到这笔兑换。")
        require(actor, SHOP_ROLES, red.village_id)
        if red.status != RedemptionStatus.DONE:
            raise InvalidInput("这笔兑换已撤销，无需送货。")
        res = s.execute(
            update(Redemption).where(Redemption.id == red.id, Redemption.delivery == Delivery.PENDING)
            .values(delivery=Delivery.DELIVERED, delivered_at=clock.now(),
                    delivered_by=actor.user_id)
            .execution_options(synchronize_session=False)
        )
        if res.rowcount != 1:
            raise AlreadyDone("这笔兑换不在待送货名单中（可能已送达）。")
        record(s, actor, "shop.delivered", "redemption", red.id, village_id=red.village_id)


@dataclass(frozen=True)
class Scan:
    kind: str  # card / product
    household_id: int | None = None
    card_id: int | None = None
    product_id: int | None = None
    name: str = ""


# The printed 结算 code (ui: 收银台 → 打印结算码): scanned after the goods, it confirms the cart.
# Typed by hand, "结算" does the same. Neither can be a card (26 digits or a card link) nor,
# in practice, a product barcode (digits).
CONFIRM_CODE = "JIFEN-JIESUAN"
_CONFIRM_WORDS = {CONFIRM_CODE, "结算"}


def is_confirm_code(scanned: str) -> bool:
    """The scanner read the printed 结算 code (or someone typed 结算)."""
    return (scanned or "").strip().upper() in _CONFIRM_WORDS


def enter_confirms(db, village_id: int) -> bool:
    """The village lets an Enter on the empty scan box confirm the cart (setting)."""
    from core.platform import settings

    with db.read() as s:
        return bool(settings.get(s, village_id, "checkout_enter_confirms"))


def interpret_scan(db, village_id: int, scanned: str) -> Scan:
    """What the counter's scanner just typed: a household card (link or digits) or a
    product barcode. Raises with a Chinese message for anything else."""
    from core.supermarket.stock import product_by_barcode
    from core.village.cards import extract_token, resolve

    text = (scanned or "").strip()
    with db.read() as s:
        digits = "".join(ch for ch in text if ch.isdigit())
        if extract_token(text) or "card=" in text or len(digits) == 26:
            card, hh = resolve(s, village_id, text)
            return Scan("card", household_id=hh.id, card_id=card.id, name=f"{hh.door_no} {hh.head_name}")
        product = product_by_barcode(s, village_id, text)
        if product is None:
            raise NotFound("未识别：这既不是有效的积分卡，也不是本村商品的条码。")
        if not product.active:
            raise InvalidInput(f"“{product.name}”已下架，不能兑换。")
        return Scan("product", product_id=product.id, name=product.name)
