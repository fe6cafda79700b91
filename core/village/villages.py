"""Villages, townships and counties from the UI (村庄管理).

A county admin (县级管理员, account names a county) manages the villages of that county; a
township admin (镇街管理员, account names a township and usually its county) those of that
township. They list villages by county → township, create a village with its first admin (an
initial password made here and shown once), rename a village, and — the county admin only —
move a village to another township of the county. Every write is checked here and audited.
"""

from __future__ import annotations

import secrets
from dataclasses import dataclass

from sqlalchemy import func, select

from core.platform.access import Actor, can_manage_village, require
from core.platform.audit import record
from core.platform.errors import InvalidInput, NotAllowed, NotFound
from core.platform.natural import natural_key
from db.models import Household, Village

AREA_ADMINS = ("county_admin", "township_admin")
_PASSWORD_ALPHABET = "abcdefghjkmnpqrstuvwxyzABCDEFGHJKLMNPQRSTUVWXYZ23456789"  # no 0/O, 1/l/I


@dataclass(frozen=True)
class VillageRow:
    id: int
    name: str
    county: str
    township: str
    code: str
    households: int  # active households
    is_demo: bool


@dataclass(frozen=True)
class NewVillage:
    village_id: int
    admin_username: str
    initial_password: str  # shown once; the admin must change it at first login


def _scope(actor: Actor):
    """The SQL condition for the villages an area admin manages (None: all, for the system)."""
    if actor.system:
        return None
    if "county_admin" in actor.roles and actor.county:
        return Village.county == actor.county
    if "township_admin" in actor.roles and actor.township:
        cond = Village.township == actor.township
        return cond & (Village.county == actor.county) if actor.county else cond
    raise NotAllowed("没有权限：账号没有设置所管辖的县（区）或镇（街道），请联系运维人员。")


def managed_villages(db, actor: Actor) -> list[VillageRow]:
    """The villages the actor manages, by county and township (natural order), then in the order registered."""
    require(actor, AREA_ADMINS)
    cond = _scope(actor)
    counts = (select(Household.village_id, func.count().label("n")).where(Household.active.is_(True))
              .group_by(Household.village_id).subquery())
    q = (select(Village.id, Village.name, Village.county, Village.township, Village.code,
                func.coalesce(counts.c.n, 0), Village.is_demo)
         .outerjoin(counts, counts.c.village_id == Village.id))
    if cond is not None:
        q = q.where(cond)
    with db.read() as s:
        rows = [VillageRow(i, n, c or "", t or "", code, int(h), bool(demo)) for i, n, c, t, code, h, demo in s.execute(q)]
    rows.sort(key=lambda r: (natural_key(r.county), natural_key(r.township), r.code))
    return rows


def townships(db, actor: Actor) -> list[str]:
    """Townships the actor may create villages in or move villages to: those of their villages,
    and a township admin's own township even before it has a village."""
    names = {r.township for r in managed_villages(db, actor) if r.township}
    if "township_admin" in actor.roles and actor.township:
        names.add(actor.township)
    return sorted(names, key=natural_key)


def village_name(db, village_id: int) -> str:
    """The village's name ("" if there is none by that id), e.g. printed on the till's 结算码."""
    with db.read() as s:
        v = s.get(Village, village_id)
        return v.name if v else ""


def new_password() -> str:
    return "".join(secrets.choice(_PASSWORD_ALPHABET) for _ in range(10))


def create_village(db, actor: Actor, *, name: str, township: str, county: str | None = None,
                   admin_username: str, admin_name: str = "") -> NewVillage:
    """Create a village in the actor's county or township with its first admin (村管理员 and
    评议小组成员, must change the initial password at first login), the template rules
    catalogue and one grid. The initial password is returned to be shown once."""
    from core.village.setup import create_village as _create

    require(actor, AREA_ADMINS)
    if county is None or not actor.system:
        county = actor.county or county or ""
    password = new_password()
    vid = _create(db, actor, name=name, township=township, county=county or "", grids=[],
                  admin_username=admin_username, admin_name=(admin_name or "").strip() or "村管理员",
                  admin_password=password)
    return NewVillage(vid, (admin_username or "").strip(), password)


def _managed(s, actor: Actor, village_id: int) -> Village:
    require(actor, AREA_ADMINS)
    v = s.get(Village, village_id, with_for_update=True) if isinstance(village_id, int) else None
    if v is None:
        raise NotFound("找不到这个村。")
    if not can_manage_village(actor, v.township, v.county):
        raise NotAllowed("没有权限：这个村不在您管辖的县（区）、镇（街道）内。")
    return v


def rename_village(db, actor: Actor, village_id: int, name: str) -> None:
    """Rename a village (audited old → new); the name must stay unique in its township."""
    from core.village.setup import _clean_name, check_unique_name

    name = _clean_name(name, "村名")
    with db.write() as s:
        v = _managed(s, actor, village_id)
        if v.name == name:
            return
        check_unique_name(s, name, v.township, v.county, except_id=v.id)
        record(s, actor, "village.rename", "village", v.id, {"old": v.name, "new": name}, village_id=v.id)
        v.name = name


def move_village(db, actor: Actor, village_id: int, township: str) -> None:
    """Move a village to another township of the same county (county admins only; audited)."""
    from core.village.setup import check_unique_name

    township = (township or "").strip()
    if not township:
        raise InvalidInput("请填写要调整到的镇（街道）。")
    if len(township) > 60:
        raise InvalidInput("镇（街道）名称不能超过 60 个字。")
    require(actor, "county_admin")
    with db.write() as s:
        v = _managed(s, actor, village_id)
        if v.township == township:
            return
        check_unique_name(s, v.name, township, v.county, except_id=v.id)
        record(s, actor, "village.move", "village", v.id, {"old": v.township, "new": township}, village_id=v.id)
        v.township = township
