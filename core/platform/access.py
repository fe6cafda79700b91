"""Who may do what. Every core write calls :func:`require` itself: hiding a page
is not authorisation.

Roles (UI names in ROLE_NAMES): admin 村管理员, committee 评议小组成员, grid_worker 网格员,
cashier 积分超市收银员, volunteer_lead 志愿活动负责人, field_lead 义田负责人,
township_viewer 镇街查看员, township_admin 镇街管理员, county_admin 县级管理员.

Area staff (township viewer and admin, county admin) belong to no village: their account names a
township (and its county) or a county, and :func:`can_manage_village` / :func:`can_read_village`
decide which villages they reach.
"""

from __future__ import annotations

from dataclasses import dataclass, field

from core.platform.errors import NotAllowed

ROLE_NAMES: dict[str, str] = {
    "admin": "村管理员",
    "committee": "评议小组成员",
    "grid_worker": "网格员",
    "cashier": "积分超市收银员",
    "volunteer_lead": "志愿活动负责人",
    "field_lead": "义田负责人",
    "township_viewer": "镇街查看员",
    "township_admin": "镇街管理员",
    "county_admin": "县级管理员",
}
AREA_ROLES = ("township_viewer", "township_admin", "county_admin")  # staff of a township or county, no village
ROLES = tuple(ROLE_NAMES)


@dataclass(frozen=True)
class Actor:
    """The acting staff user, as core sees it. ``system`` is for scheduled jobs."""

    user_id: int | None
    name: str
    roles: frozenset[str] = field(default_factory=frozenset)
    village_id: int | None = None
    township: str | None = None
    county: str | None = None
    system: bool = False

    def has(self, *roles: str) -> bool:
        return self.system or bool(self.roles.intersection(roles))


SYSTEM = Actor(user_id=None, name="系统", system=True)


def require(actor: Actor, roles: tuple[str, ...] | str, village_id: int | None = None) -> None:
    """Raise NotAllowed unless ``actor`` holds one of ``roles`` in ``village_id``."""
    if isinstance(roles, str):
        roles = (roles,)
    if actor.system:
        return
    if not actor.roles.intersection(roles):
        names = "、".join(ROLE_NAMES.get(r, r) for r in roles)
        raise NotAllowed(f"没有权限：此操作需要{names}角色。")
    if village_id is not None and actor.village_id != village_id:
        raise NotAllowed("没有权限：不能操作其他村的数据。")


def _in_township(actor: Actor, township: str | None, county: str | None) -> bool:
    if not actor.township or actor.township != township:
        return False
    return not actor.county or not county or actor.county == county


def can_manage_village(actor: Actor, village_township: str | None, village_county: str | None) -> bool:
    """Whether an area admin manages a village in this township and county: a county admin the
    villages of their county, a township admin those of their township (and county, when both name one)."""
    if actor.system:
        return True
    if "county_admin" in actor.roles and actor.county and actor.county == village_county:
        return True
    return "township_admin" in actor.roles and _in_township(actor, village_township, village_county)


def can_read_village(actor: Actor, village_id: int, village_township: str | None = None,
                     village_county: str | None = None) -> bool:
    if actor.system or actor.village_id == village_id:
        return True
    if "township_viewer" in actor.roles and actor.township is not None and actor.township == village_township:
        return True
    return can_manage_village(actor, village_township, village_county)
