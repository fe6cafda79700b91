"""The supermarket's catalogue and stock (商品与库存).

Invariants (checked by core.maintenance.verify and the tests):
- ``stock_move`` is append-only; ``product.stock`` equals the sum of its moves, changed in
  the same transaction by a conditional UPDATE that cannot take stock below zero (a CHECK
  constraint backs it);
- services (kind ``service``) carry no stock.

Move kinds (``db.enums.StockMoveKind``): purchase 采购, donation 捐赠 (donor, funding source),
harvest 义田转入, redeem 兑换出库, void 撤销退回, return 退货入库 (goods handed back), count 盘点调整.
A stock count records the counted quantity in ``ref_id`` (ref_type ``count``) so the 五公开 report can show counted vs expected.
"""

from __future__ import annotations

from dataclasses import dataclass
from datetime import datetime

from sqlalchemy import select, update
from sqlalchemy.exc import IntegrityError
from sqlalchemy.orm import Session

from core.platform import validate
from core.platform.access import Actor, require
from core.platform.audit import record
from core.platform.errors import AlreadyDone, InvalidInput, NotFound, OutOfStock
from db.models import Product, StockMove

STOCK_ROLES = ("admin", "cashier")
MOVE_NAMES = {
    "purchase": "采购入库",
    "donation": "捐赠入库",
    "harvest": "义田转入",
    "redeem": "兑换出库",
    "void": "撤销退回",
    "return": "退货入库",
    "count": "盘点调整",
}
RECEIVE_KINDS = ("purchase", "donation", "harvest")
MAX_QTY = 100_000
MAX_PRICE = 100_000


def check_qty(qty: object, *, allow_zero: bool = False, label: str = "数量") -> int:
    """A whole, non-negative (or positive) quantity of sensible size."""
    if isinstance(qty, float) and qty.is_integer():
        qty = int(qty)
    if isinstance(qty, bool) or not isinstance(qty, int):
        raise InvalidInput(f"{label}必须是整数。")
    if qty < 0 or (qty == 0 and not allow_zero):
        raise InvalidInput(f"{label}必须大于 0。" if not allow_zero else f"{label}不能是负数。")
    if qty > MAX_QTY:
        raise InvalidInput(f"{label}过大（不超过 {MAX_QTY}）。")
    return qty


def change_stock(s: Session, product: Product, qty: int, *, kind: str, actor: Actor | None, donor: str = "",
                 funding: str = "", reason: str = "", ref_type: str = "", ref_id: str = "", at=None) -> StockMove:
    """Append one move and change product.stock by ``qty`` in the caller's transaction.

    The UPDATE's WHERE clause is the guard: stock never goes below zero even when two
    counters sell the last item at the same moment."""
    if product.kind != "goods":
        raise InvalidInput(f"“{product.name}”是服务项目，没有库存。")
    res = s.execute(
        update(Product).where(Product.id == product.id, Product.stock + qty >= 0)
        .values(stock=Product.stock + qty).execution_options(synchronize_session=False)
    )
    if res.rowcount != 1:
        s.refresh(product)
        raise OutOfStock(f"“{product.name}”库存不足：现有 {product.stock}{product.unit}，需要 {-qty}{product.unit}。")
    move = StockMove(village_id=product.village_id, product_id=product.id, kind=kind, qty=qty, donor=donor,
                     funding=funding, reason=reason, ref_type=ref_type, ref_id=ref_id,
                     created_by=actor.user_id if actor else None, **({"created_at": at} if at else {}))
    s.add(move)
    s.flush()
    s.expire(product, ["stock"])
    return move


def _product(s: Session, product_id: object) -> Product:
    if isinstance(product_id, bool) or not isinstance(product_id, int):
        raise NotFound("找不到该商品。")
    p = s.get(Product, product_id)
    if p is None:
        raise NotFound("找不到该商品。")
    return p


def receive(s: Session, actor: Actor, product_id: int, qty: int, kind: str = "purchase", *, donor: str = "",
            funding: str = "", reason: str = "", ref_type: str = "", ref_id: str = "", at=None) -> StockMove:
    """Stock-in (入库) inside the caller's transaction: purchase, donation or harvest transfer.

    The charity field's harvest transfer calls this with kind="harvest" in its own transaction,
    so the produce leaving the field and the goods arriving on the shelf commit together."""
    if kind not in RECEIVE_KINDS:
        raise InvalidInput("入库类型只能是采购、捐赠或义田转入。")
    qty = check_qty(qty)
    product = _product(s, product_id)
    require(actor, STOCK_ROLES + (("field_lead",) if kind == "harvest" else ()), product.village_id)
    donor = validate.text(donor, "捐赠人", 60, required=(kind == "donation"))
    funding = validate.text(funding, "资金来源", 60)
    reason = validate.text(reason, "备注", 500)
    move = change_stock(s, product, qty, kind=kind, actor=actor, donor=donor, funding=funding, reason=reason,
                        ref_type=ref_type, ref_id=str(ref_id)[:40], at=at)
    record(s, actor, f"stock.{kind}", "product", product.id,
           {"qty": qty, "donor": donor, "funding": funding, "move_id": move.id}, reason, village_id=product.village_id)
    return move


def receive_stock(db, actor: Actor, product_id: int, qty: int, kind: str = "purchase", *, donor: str = "",
                  funding: str = "", reason: str = "") -> int:
    """Stock-in as its own transaction (the products page); returns the move id."""
    with db.write() as s:
        return receive(s, actor, product_id, qty, kind, donor=donor, funding=funding, reason=reason).id


def count_stock(db, actor: Actor, product_id: int, counted: int, reason: str = "") -> int:
    """Stock count (盘点): record the counted quantity; a difference becomes an adjustment
    move with a required reason. Returns the adjustment (may be 0)."""
    counted = check_qty(counted, allow_zero=True, label="实盘数量")
    reason = validate.text(reason, "盘点原因", 500)
    with db.write() as s:
        product = _product(s, product_id)
        require(actor, STOCK_ROLES, product.village_id)
        if product.kind != "goods":
            raise InvalidInput(f"“{product.name}”是服务项目，不需要盘点。")
        expected = s.execute(select(Product.stock).where(Product.id == product.id).with_for_update()).scalar_one()
        diff = counted - expected
        if diff != 0 and not reason:
            raise InvalidInput(f"实盘 {counted} 与账面 {expected} 不符，请填写差异原因（如损耗、过期、漏记）。")
        change_stock(s, product, diff, kind="count", actor=actor, reason=reason or "账实相符",
                     ref_type="count", ref_id=str(counted))
        record(s, actor, "stock.count", "product", product.id, {"expected": expected, "counted": counted},
               reason, village_id=product.village_id)
        return diff


# ---------------------------------------------------------------- catalogue


@dataclass(frozen=True)
class ProductInput:
    name: str
    price: int
    category: str = ""
    kind: str = "goods"
    unit: str = "件"
    barcode: str | None = None
    low_stock: int = 5
    monthly_limit: int | None = None
    active: bool = True


def validate_product(p: ProductInput) -> ProductInput:
    """Return a cleaned copy or raise InvalidInput (pure)."""
    name = validate.text(p.name, "商品名称", 60, required=True)
    if p.kind not in ("goods", "service"):
        raise InvalidInput("类型只能是实物或服务。")
    price = check_qty(p.price, label="兑换积分")
    if price > MAX_PRICE:
        raise InvalidInput(f"兑换积分过大（不超过 {MAX_PRICE}）。")
    barcode = validate.text(p.barcode, "条码", 40) or None
    if barcode is not None and not barcode.isalnum():
        raise InvalidInput("条码只能包含数字和字母。")
    limit = None if p.monthly_limit in (None, 0) else check_qty(p.monthly_limit, label="每户每月限兑")
    return ProductInput(name=name, price=price, category=validate.text(p.category, "分类", 30), kind=p.kind,
                        unit=validate.text(p.unit, "单位", 10, required=True), barcode=barcode,
                        low_stock=check_qty(p.low_stock, allow_zero=True, label="低库存提醒"),
                        monthly_limit=limit, active=bool(p.active))


def save_product(db, actor: Actor, village_id: int, data: ProductInput, product_id: int | None = None) -> int:
    """Create (product_id None) or edit a product. Stock is never set here: only moves change it."""
    data = validate_product(data)
    require(actor, STOCK_ROLES, village_id)
    try:
        with db.write() as s:
            if product_id is None:
                p = Product(village_id=village_id, stock=0, **data.__dict__)
                s.add(p)
                s.flush()
                record(s, actor, "product.create", "product", p.id, data.__dict__, village_id=village_id)
                return p.id
            p = _product(s, product_id)
            if p.village_id != village_id:
                raise NotFound("找不到该商品。")
            if data.kind != p.kind and p.stock:
                raise InvalidInput("还有库存的商品不能改为服务项目。")
            old = {k: getattr(p, k) for k in data.__dict__}
            for k, v in data.__dict__.items():
                setattr(p, k, v)
            changed = {k: [old[k], v] for k, v in data.__dict__.items() if old[k] != v}
            if changed:
                record(s, actor, "product.update", "product", p.id, changed, village_id=village_id)
            return p.id
    except IntegrityError as e:
        raise AlreadyDone("这个条码已经被本村另一件商品使用。") from e


def products(db, village_id: int, active_only: bool = False) -> list[Product]:
    with db.read() as s:
        q = select(Product).where(Product.village_id == village_id)
        if active_only:
            q = q.where(Product.active.is_(True))
        return list(s.execute(q.order_by(Product.category, Product.name)).scalars())


def low_stock(db, village_id: int) -> list[Product]:
    """Active goods at or below their alert level."""
    with db.read() as s:
        return list(s.execute(
            select(Product).where(Product.village_id == village_id, Product.kind == "goods",
                                  Product.active.is_(True), Product.stock <= Product.low_stock)
            .order_by(Product.stock, Product.name)
        ).scalars())


def product_by_barcode(s: Session, village_id: int, code: str) -> Product | None:
    code = (code or "").strip()
    if not code or len(code) > 40:
        return None
    return s.execute(select(Product).where(Product.village_id == village_id, Product.barcode == code)).scalar()


@dataclass(frozen=True)
class StockMoveRow:
    """One stock move as the products page lists it: ``kind`` is the stored code (MOVE_NAMES)."""

    created_at: datetime
    product: str
    kind: str
    qty: int
    donor: str | None
    funding: str | None
    reason: str | None


def stock_moves(db, village_id: int, limit: int = 200) -> list[StockMoveRow]:
    """The newest stock moves with product names, newest first."""
    with db.read() as s:
        rows = s.execute(
            select(StockMove.created_at, Product.name, StockMove.kind, StockMove.qty, StockMove.donor,
                   StockMove.funding, StockMove.reason)
            .join(Product, Product.id == StockMove.product_id)
            .where(StockMove.village_id == village_id).order_by(StockMove.id.desc()).limit(limit)
        ).all()
    return [StockMoveRow(*r) for r in rows]

