"""Staff accounts (工作人员账号)."""

from __future__ import annotations

import datetime as dt
import re
from dataclasses import dataclass

from sqlalchemy import delete, func, select

from core.platform import settings
from core.platform.access import AREA_ROLES, ROLES, Actor, require
from core.platform.audit import record
from core.platform.auth import hash_password
from core.platform.errors import AlreadyDone, InvalidInput, NotAllowed
from db.models import LoginThrottle, StaffUser, Village

USERNAME_RE = re.compile(r"^[A-Za-z0-9_.-]{3,40}$")


def clean_roles(roles) -> str:
    roles = [r for r in dict.fromkeys(roles or []) if r]
    unknown = [r for r in roles if r not in ROLES]
    if unknown:
        raise InvalidInput(f"未知的角色：{'、'.join(unknown)}")
    if not roles:
        raise InvalidInput("至少选择一个角色。")
    return ",".join(roles)


def create_user(
    db,
    actor: Actor,
    *,
    username: str,
    display_name: str,
    password: str,
    roles,
    village_id: int | None = None,
    township: str | None = None,
    county: str | None = None,
    must_change_password: bool = True,
) -> int:
    """Create a staff account. Admins create accounts in their own village only."""
    username = (username or "").strip()
    display_name = (display_name or "").strip()
    if not USERNAME_RE.match(username):
        raise InvalidInput("用户名须为 3–40 位字母、数字、下划线、点或横线。")
    if not display_name or len(display_name) > 40:
        raise InvalidInput("请填写姓名（不超过 40 个字）。")
    role_str = clean_roles(roles)
    area = set(role_str.split(",")) & set(AREA_ROLES)
    if "county_admin" in area and not (county or "").strip() and village_id is None:
        raise InvalidInput("县级管理员必须指定所属县（区）。")
    if area - {"county_admin"} and not (township or "").strip() and village_id is None:
        raise InvalidInput("镇街查看员、镇街管理员必须指定所属镇街。")
    if not area and village_id is None:
        raise InvalidInput("必须指定所属村。")
    if not actor.system:
        require(actor, "admin", village_id)
        if area:
            raise NotAllowed("没有权限：镇街、县级账号由镇街或运维用命令行创建。")
    pw_hash = hash_password(password)
    with db.write() as s:
        if s.execute(select(StaffUser.id).where(func.lower(StaffUser.username) == username.lower())).first():
            raise AlreadyDone(f"用户名“{username}”已被使用。")
        if village_id is not None and s.get(Village, village_id) is None:
            raise InvalidInput("所属村不存在。")
        if village_id is not None and area:  # an area account named by one of its villages
            v = s.get(Village, village_id)
            township = v.township if township is None else township
            county = v.county if county is None else county
        user = StaffUser(
            username=username,
            display_name=display_name,
            password_hash=pw_hash,
            village_id=village_id,
            township=(township or "").strip() or None,
            county=(county or "").strip() or None,
            roles=role_str,
            must_change_password=must_change_password,
        )
        s.add(user)
        s.flush()
        record(s, actor, "staff.create", "staff_user", user.id, {"username": username, "roles": role_str},
               village_id=village_id)
        return user.id


# ---------------------------------------------------------------- managing accounts (admin)

# Roles a village admin may grant; township and county accounts are created on the command line.
VILLAGE_ROLES = tuple(r for r in ROLES if r not in AREA_ROLES)


def _roles_of(user: StaffUser) -> set[str]:
    return {r for r in (user.roles or "").split(",") if r}


def _managed_user(s, actor: Actor, user_id: int) -> StaffUser:
    """Load a user the acting admin may manage (same village)."""
    from core.platform.errors import NotFound

    user = s.get(StaffUser, user_id) if isinstance(user_id, int) and not isinstance(user_id, bool) else None
    if user is None:
        raise NotFound("找不到该工作人员。")
    if not actor.system:
        if user.village_id is None or _roles_of(user) & set(AREA_ROLES):
            raise NotAllowed("没有权限：不能管理镇街或其他村的账号。")
        require(actor, "admin", user.village_id)
    return user


def _other_active_admins(s, village_id: int, except_id: int) -> int:
    """Active admins of the village other than ``except_id``. Every staff row of the village
    is locked, always in id order (no deadlock), so two admins demoting each other at once
    cannot both succeed: the second sees the first's committed change."""
    rows = s.execute(
        select(StaffUser.id, StaffUser.roles, StaffUser.active).where(StaffUser.village_id == village_id)
        .order_by(StaffUser.id).with_for_update()
    ).all()
    return sum(1 for uid, roles, active in rows if uid != except_id and active and "admin" in roles.split(","))


def _keep_an_admin(s, user: StaffUser) -> None:
    if "admin" in _roles_of(user) and user.active and _other_active_admins(s, user.village_id, user.id) == 0:
        raise NotAllowed("不能这样做：他是本村最后一位在用的村管理员。请先给另一位工作人员村管理员角色。")


def set_roles(db, actor: Actor, user_id: int, roles) -> None:
    """Change a staff member's roles (audited old → new); they are logged out everywhere and log
    in again with the new roles."""
    from core.platform.auth import end_all_sessions

    role_str = clean_roles(roles)
    new = set(role_str.split(","))
    if new & set(AREA_ROLES) and not actor.system:
        raise NotAllowed("没有权限：村管理员不能授予镇街、县级角色。")
    with db.write() as s:
        user = _managed_user(s, actor, user_id)
        old = user.roles
        if set(old.split(",")) == new:
            return
        if "admin" not in new:
            _keep_an_admin(s, user)
        user.roles = role_str
        end_all_sessions(s, user.id)  # open tabs must not keep the old roles' pages
        record(s, actor, "staff.roles", "staff_user", user.id, {"old": old, "new": role_str},
               village_id=user.village_id)


def set_display_name(db, actor: Actor, user_id: int, display_name: str) -> None:
    display_name = (display_name or "").strip()
    if not display_name or len(display_name) > 40:
        raise InvalidInput("请填写姓名（不超过 40 个字）。")
    with db.write() as s:
        user = _managed_user(s, actor, user_id)
        old = user.display_name
        if old == display_name:
            return
        user.display_name = display_name
        record(s, actor, "staff.rename", "staff_user", user.id, {"old": old, "new": display_name},
               village_id=user.village_id)


def reset_password(db, actor: Actor, user_id: int, new_password: str) -> None:
    """Set a temporary password: the user must change it at next login, and every browser
    where they are logged in is logged out now."""
    from core.platform.auth import end_all_sessions
    from core.platform.login_throttle import account_key

    pw_hash = hash_password(new_password)
    with db.write() as s:
        user = _managed_user(s, actor, user_id)
        user.password_hash = pw_hash
        user.must_change_password = True
        user.failed_logins = 0
        user.locked_until = None
        end_all_sessions(s, user.id)
        # an admin's reset also lifts the wait that failed guesses put on this account name
        s.execute(delete(LoginThrottle).where(LoginThrottle.key == account_key(user.username)))
        # The password itself is never written to the audit log.
        record(s, actor, "staff.reset_password", "staff_user", user.id, {"username": user.username},
               village_id=user.village_id)


def set_active(db, actor: Actor, user_id: int, active: bool) -> None:
    """Deactivate (停用: cannot log in, logged out everywhere) or reactivate an account."""
    from core.platform.auth import end_all_sessions

    if not isinstance(active, bool):
        raise InvalidInput("状态无效。")
    with db.write() as s:
        user = _managed_user(s, actor, user_id)
        if user.active == active:
            return
        if not active:
            if user.id == actor.user_id:
                raise NotAllowed("不能停用自己的账号。")
            _keep_an_admin(s, user)
            end_all_sessions(s, user.id)
        user.active = active
        record(s, actor, "staff.activate" if active else "staff.deactivate", "staff_user", user.id,
               {"username": user.username}, village_id=user.village_id)


@dataclass(frozen=True)
class UserRow:
    """One staff account of the village as the staff page lists it (no password data); ``roles`` are codes."""

    id: int
    username: str
    display_name: str
    roles: tuple[str, ...]
    active: bool
    must_change_password: bool
    last_login_at: dt.datetime | None
    blocked_until: dt.datetime | None  # guessing its password is slowed until then, or None


def users(db, village_id: int) -> list[UserRow]:
    """Staff of one village, by username."""
    with db.read() as s:
        rows = s.execute(
            select(StaffUser.id, StaffUser.username, StaffUser.display_name, StaffUser.roles, StaffUser.active,
                   StaffUser.must_change_password, StaffUser.last_login_at)
            .where(StaffUser.village_id == village_id).order_by(StaffUser.username)
        ).all()
    from core.platform.login_throttle import blocked_accounts

    slowed = blocked_accounts(db, [r.username for r in rows], dt.datetime.now().replace(microsecond=0))
    return [UserRow(uid, un, dn, tuple(r for r in roles.split(",") if r), bool(active), bool(must), last,
                    slowed.get(un)) for uid, un, dn, roles, active, must, last in rows]


def user_roles(db, user_id: int) -> tuple[str, list[str], bool]:
    """(display name, roles, active) of one user, for the edit form."""
    from core.platform.errors import NotFound

    with db.read() as s:
        user = s.get(StaffUser, user_id)
        if user is None:
            raise NotFound("找不到该工作人员。")
        return user.display_name, sorted(_roles_of(user)), user.active


def large_text(s, user: StaffUser) -> bool:
    """Whether this user's pages use the large-text mode: their own choice, else the village's default."""
    if user.large_text is not None:
        return bool(user.large_text)
    return bool(user.village_id) and bool(settings.get(s, user.village_id, "large_text"))


def set_own_large_text(db, user_id: int, choice: bool | None) -> bool:
    """The logged-in user's own 大字模式 (like core.platform.auth.change_own_password, for the
    user of the login session only): True, False, or None to follow the village's default.
    Remembered with the account, so it follows the user to any computer."""
    if choice not in (True, False, None):
        raise InvalidInput("大字模式只能是开、关或跟随本村设置。")
    with db.write() as s:
        user = s.get(StaffUser, user_id)
        if user is None or not user.active:
            raise NotAllowed("账号已停用。")
        user.large_text = choice
    return True
