"""The rules catalogue (积分细则): categories and items with points, range and caps.

Invariants:
- an item is versioned by (village, code, version); changing its points or range makes a
  new row that supersedes the old one (the old one is deactivated, never edited), so
  proposals and ledger entries keep the version they used;
- nothing is deleted: a category or item is deactivated and can be reactivated;
- every version records when and by which body it was adopted (e.g. 村民代表大会).
"""

from __future__ import annotations

import datetime as dt
from dataclasses import dataclass
from typing import NamedTuple

from sqlalchemy import func, select
from sqlalchemy.orm import Session

from core.platform import validate
from core.platform.access import Actor, require
from core.platform.audit import record
from core.platform.errors import AlreadyDone, InvalidInput, NotFound
from db.models import RuleCategory, RuleItem

RULE_ROLES = ("admin",)
CAP_PERIODS = {"month": "每月", "year": "每年"}
MAX_RULE_POINTS = 1000


@dataclass(frozen=True)
class ItemView:
    id: int
    code: str
    name: str
    category_id: int
    category: str
    points: int
    min_points: int
    max_points: int
    cap_count: int | None
    cap_period: str | None
    version: int
    adopted_on: dt.date | None
    adopted_by: str
    active: bool

    @property
    def label(self) -> str:
        sign = "+" if self.points > 0 else ""
        return f"{self.code} {self.name}（{sign}{self.points} 分）"

    @property
    def cap_text(self) -> str:
        if not self.cap_count or not self.cap_period:
            return "不限"
        return f"{CAP_PERIODS.get(self.cap_period, self.cap_period)}最多 {self.cap_count} 次"


def validate_item(points: object, min_points: object, max_points: object, cap_count: object = None,
                  cap_period: str | None = None) -> tuple[int, int, int, int | None, str | None]:
    """Clean an item's numbers: a non-zero default inside [min, max], all of one sign; a cap
    is a positive count with a period, or none at all."""
    p = validate.whole_number(points, "分值")
    lo = validate.whole_number(min_points, "最低分")
    hi = validate.whole_number(max_points, "最高分")
    if p == 0:
        raise InvalidInput("分值不能为 0。")
    if max(abs(p), abs(lo), abs(hi)) > MAX_RULE_POINTS:
        raise InvalidInput(f"分值不能超过 {MAX_RULE_POINTS}。")
    if not lo <= p <= hi:
        raise InvalidInput("分值必须在最低分与最高分之间。")
    if (p > 0 and lo <= 0) or (p < 0 and hi >= 0):
        raise InvalidInput("加分项的范围必须都是正数，扣分项的范围必须都是负数。")
    if cap_count in (None, 0, ""):
        return p, lo, hi, None, None
    cap = validate.whole_number(cap_count, "次数上限")
    if cap < 0 or cap > 1000:
        raise InvalidInput("次数上限必须在 1 到 1000 之间。")
    if cap_period not in CAP_PERIODS:
        raise InvalidInput("请选择次数上限的周期（每月或每年）。")
    return p, lo, hi, cap, cap_period


def _view(item: RuleItem, cat_name: str) -> ItemView:
    return ItemView(item.id, item.code, item.name, item.category_id, cat_name, item.points, item.min_points,
                    item.max_points, item.cap_count, item.cap_period, item.version, item.adopted_on,
                    item.adopted_by, item.active)


def catalogue(s: Session, village_id: int, include_inactive: bool = False) -> list[ItemView]:
    """Items of a village ordered by category then code; by default only the active versions
    of active categories (what a grid worker may choose from)."""
    q = (select(RuleItem, RuleCategory.name).join(RuleCategory, RuleCategory.id == RuleItem.category_id)
         .where(RuleItem.village_id == village_id)
         .order_by(RuleCategory.sort, RuleCategory.id, RuleItem.code, RuleItem.version))
    if not include_inactive:
        q = q.where(RuleItem.active, RuleCategory.active)
    return [_view(item, name) for item, name in s.execute(q).all()]


def catalogue_of(db, village_id: int, include_inactive: bool = False) -> list[ItemView]:
    """``catalogue`` in a read of its own."""
    with db.read() as s:
        return catalogue(s, village_id, include_inactive)


def search(items: list[ItemView], words: str) -> list[ItemView]:
    """Items whose code, name or category contain every word typed (pure, for the picker)."""
    parts = [w for w in (words or "").split() if w]
    return [i for i in items if all(w.lower() in f"{i.code} {i.name} {i.category}".lower() for w in parts)]


def categories(s: Session, village_id: int) -> list[RuleCategory]:
    return list(s.execute(select(RuleCategory).where(RuleCategory.village_id == village_id)
                          .order_by(RuleCategory.sort, RuleCategory.id)).scalars())


class CategoryView(NamedTuple):
    id: int
    name: str
    active: bool


@dataclass(frozen=True)
class Catalogue:
    """The rules page's view: every version of every item and every category, one snapshot."""

    items: list[ItemView]  # by category then code, versions in order (the last is the latest)
    categories: list[CategoryView]  # in sort order, inactive ones too


def whole_catalogue(db, village_id: int) -> Catalogue:
    with db.read() as s:
        return Catalogue(catalogue(s, village_id, include_inactive=True),
                         [CategoryView(c.id, c.name, c.active) for c in categories(s, village_id)])


def versions(s: Session, village_id: int, code: str) -> list[RuleItem]:
    return list(s.execute(select(RuleItem).where(RuleItem.village_id == village_id, RuleItem.code == code)
                          .order_by(RuleItem.version)).scalars())


def create_category(db, actor: Actor, village_id: int, name: str) -> int:
    """Add a category at the end of the list."""
    name = validate.text(name, "类别名称", 40, required=True)
    with db.write() as s:
        require(actor, RULE_ROLES, village_id)
        if s.execute(select(RuleCategory.id).where(RuleCategory.village_id == village_id,
                                                   RuleCategory.name == name)).first():
            raise AlreadyDone(f"已有类别“{name}”。")
        sort = s.execute(select(func.coalesce(func.max(RuleCategory.sort), -1))
                         .where(RuleCategory.village_id == village_id)).scalar_one() + 1
        cat = RuleCategory(village_id=village_id, name=name, sort=sort)
        s.add(cat)
        s.flush()
        record(s, actor, "rules.category_create", "rule_category", cat.id, {"name": name}, village_id=village_id)
        return cat.id


def set_category_active(db, actor: Actor, category_id: int, active: bool) -> None:
    with db.write() as s:
        cat = s.get(RuleCategory, category_id)
        if cat is None:
            raise NotFound("找不到该类别。")
        require(actor, RULE_ROLES, cat.village_id)
        cat.active = bool(active)
        record(s, actor, "rules.category_active", "rule_category", cat.id, {"active": cat.active},
               village_id=cat.village_id)


def create_item(db, actor: Actor, village_id: int, *, category_id: int, code: str, name: str, points: object,
                min_points: object, max_points: object, cap_count: object = None, cap_period: str | None = None,
                adopted_by: str = "村民代表大会", adopted_on: dt.date | None = None) -> int:
    """A new rule item (version 1)."""
    code = validate.text(code, "编号", 20, required=True).upper()
    name = validate.text(name, "事项名称", 120, required=True)
    adopted_by = validate.text(adopted_by, "通过机构", 60, required=True)
    p, lo, hi, cap, period = validate_item(points, min_points, max_points, cap_count, cap_period)
    with db.write() as s:
        require(actor, RULE_ROLES, village_id)
        cat = s.get(RuleCategory, category_id)
        if cat is None or cat.village_id != village_id:
            raise NotFound("找不到该类别。")
        if s.execute(select(RuleItem.id).where(RuleItem.village_id == village_id, RuleItem.code == code)).first():
            raise AlreadyDone(f"编号 {code} 已被使用；修改分值请用“修订”。")
        item = RuleItem(village_id=village_id, category_id=category_id, code=code, name=name, points=p,
                        min_points=lo, max_points=hi, cap_count=cap, cap_period=period, version=1,
                        adopted_on=adopted_on or dt.date.today(), adopted_by=adopted_by)
        s.add(item)
        s.flush()
        record(s, actor, "rules.item_create", "rule_item", item.id, {"code": code, "points": p},
               village_id=village_id)
        return item.id


def revise_item(db, actor: Actor, item_id: int, *, name: str, points: object, min_points: object,
                max_points: object, cap_count: object = None, cap_period: str | None = None,
                adopted_by: str, adopted_on: dt.date | None = None) -> int:
    """Make a new version of an active item; the old version is deactivated, not edited.
    Returns the new version's id."""
    name = validate.text(name, "事项名称", 120, required=True)
    adopted_by = validate.text(adopted_by, "通过机构", 60, required=True)
    p, lo, hi, cap, period = validate_item(points, min_points, max_points, cap_count, cap_period)
    with db.write() as s:
        old = s.execute(select(RuleItem).where(RuleItem.id == item_id).with_for_update()).scalar_one_or_none()
        if old is None:
            raise NotFound("找不到该积分事项。")
        require(actor, RULE_ROLES, old.village_id)
        latest = s.execute(select(func.max(RuleItem.version)).where(
            RuleItem.village_id == old.village_id, RuleItem.code == old.code)).scalar_one()
        if old.version != latest:
            raise AlreadyDone("这不是该事项的最新版本，请刷新后再修订。")
        if (name, p, lo, hi, cap, period) == (old.name, old.points, old.min_points, old.max_points,
                                              old.cap_count, old.cap_period):
            raise InvalidInput("内容没有变化，无需修订。")
        new = RuleItem(village_id=old.village_id, category_id=old.category_id, code=old.code, name=name, points=p,
                       min_points=lo, max_points=hi, cap_count=cap, cap_period=period, version=latest + 1,
                       adopted_on=adopted_on or dt.date.today(), adopted_by=adopted_by, active=True,
                       supersedes_id=old.id)
        old.active = False
        s.add(new)
        s.flush()
        record(s, actor, "rules.item_revise", "rule_item", new.id,
               {"code": old.code, "old_version": old.version, "old_points": old.points, "points": p,
                "min": lo, "max": hi}, village_id=old.village_id)
        return new.id


def set_item_active(db, actor: Actor, item_id: int, active: bool) -> None:
    """Deactivate (停用) or reactivate the latest version of an item; nothing is deleted."""
    with db.write() as s:
        item = s.get(RuleItem, item_id)
        if item is None:
            raise NotFound("找不到该积分事项。")
        require(actor, RULE_ROLES, item.village_id)
        latest = s.execute(select(func.max(RuleItem.version)).where(
            RuleItem.village_id == item.village_id, RuleItem.code == item.code)).scalar_one()
        if item.version != latest:
            raise InvalidInput("旧版本不能启用；请启用或修订最新版本。")
        if item.active == bool(active):
            return
        item.active = bool(active)
        record(s, actor, "rules.item_active", "rule_item", item.id, {"active": item.active},
               village_id=item.village_id)
