"""Setting up a real village: the village, its grids, a first admin and a rules catalogue."""

from __future__ import annotations

import datetime as dt

from sqlalchemy import func, select

from core.access import Actor
from core.audit import record
from core.auth import hash_password
from core.errors import AlreadyDone, InvalidInput, NotAllowed
from core.staff import USERNAME_RE
from core.templates import PRODUCTS, RULES
from db.models import (
    Grid,
    Product,
    RuleCategory,
    RuleItem,
    StaffUser,
    StockMove,
    Village,
)


def _clean_name(value: str, label: str, limit: int = 60) -> str:
    value = (value or "").strip()
    if not value:
        raise InvalidInput(f"请填写{label}。")
    if len(value) > limit:
        raise InvalidInput(f"{label}不能超过 {limit} 个字。")
    return value


def create_village(db, actor: Actor, *, name: str, township: str, county: str, grids: list[str],
                   admin_username: str, admin_name: str, admin_password: str, rules_template: bool = True,
                   products_template: bool = False) -> int:
    """Create a village with its grids, first admin and (optionally) the template catalogues."""
    if not actor.system:
        raise NotAllowed("没有权限：新建村只能在首次设置或命令行中进行。")
    name = _clean_name(name, "村名")
    township = (township or "").strip()
    county = (county or "").strip()
    grids = [g.strip() for g in grids if g.strip()]
    if len(set(grids)) != len(grids):
        raise InvalidInput("网格名称有重复。")
    if not USERNAME_RE.match(admin_username or ""):
        raise InvalidInput("管理员用户名须为 3–40 位字母、数字、下划线、点或横线。")
    admin_name = _clean_name(admin_name, "管理员姓名", 40)
    pw = hash_password(admin_password)
    with db.write() as s:
        if s.execute(select(StaffUser.id).where(func.lower(StaffUser.username) == admin_username.lower())).first():
            raise AlreadyDone(f"用户名“{admin_username}”已被使用。")
        count = s.execute(select(func.count()).select_from(Village)).scalar_one()
        village = Village(name=name, township=township, county=county, code=f"V{count + 1:05d}")
        s.add(village)
        s.flush()
        for g in grids or ["第一网格"]:
            s.add(Grid(village_id=village.id, name=_clean_name(g, "网格名称", 40)))
        admin = StaffUser(username=admin_username, display_name=admin_name, password_hash=pw,
                          roles="admin,committee", village_id=village.id, must_change_password=True)
        s.add(admin)
        if rules_template:
            add_rules_template(s, village.id)
        if products_template:
            add_products_template(s, village.id, actor)
        s.flush()
        record(s, actor, "village.create", "village", village.id, {"name": name, "admin": admin_username},
               village_id=village.id)
        return village.id


def add_rules_template(s, village_id: int, adopted_on: dt.date | None = None) -> list[RuleItem]:
    items_out: list[RuleItem] = []
    for sort, (cat_name, items) in enumerate(RULES):
        cat = RuleCategory(village_id=village_id, name=cat_name, sort=sort)
        s.add(cat)
        s.flush()
        for code, item_name, pts, lo, hi, cap, period in items:
            item = RuleItem(village_id=village_id, category_id=cat.id, code=code, name=item_name, points=pts,
                            min_points=lo, max_points=hi, cap_count=cap, cap_period=period,
                            adopted_on=adopted_on, adopted_by="村民代表大会")
            s.add(item)
            items_out.append(item)
    s.flush()
    return items_out


def add_products_template(s, village_id: int, actor: Actor, barcodes: bool = False,
                          stocked_at: dt.datetime | None = None) -> list[Product]:
    """The 17 template prizes, goods stocked through a purchase movement."""
    out: list[Product] = []
    for name, cat, kind, price, unit, stock, limit in PRODUCTS:
        barcode = f"69{village_id:04d}{len(out):05d}" if barcodes and kind == "goods" else None
        p = Product(village_id=village_id, name=name, category=cat, kind=kind, price=price, unit=unit,
                    stock=stock if kind == "goods" else 0, monthly_limit=limit, barcode=barcode)
        s.add(p)
        s.flush()
        out.append(p)
        if kind == "goods" and stock:
            s.add(StockMove(village_id=village_id, product_id=p.id, kind="purchase", qty=stock,
                            funding="村集体经济", reason="初始库存", created_by=actor.user_id,
                            **({"created_at": stocked_at} if stocked_at else {})))
    return out
