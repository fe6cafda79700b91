"""Staff accounts (工作人员账号)."""

from __future__ import annotations

import re

from sqlalchemy import func, select

from core.access import ROLES, Actor, require
from core.audit import record
from core.auth import hash_password
from core.errors import AlreadyDone, InvalidInput, NotAllowed
from db.models import StaffUser, Village

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
    if "township_viewer" in role_str.split(","):
        if not (township or "").strip() and village_id is None:
            raise InvalidInput("镇街查看员必须指定所属镇街。")
    elif village_id is None:
        raise InvalidInput("必须指定所属村。")
    if not actor.system:
        require(actor, "admin", village_id)
        if "township_viewer" in role_str.split(","):
            raise NotAllowed("没有权限：镇街查看员账号由镇街或运维用命令行创建。")
    pw_hash = hash_password(password)
    with db.write() as s:
        if s.execute(select(StaffUser.id).where(func.lower(StaffUser.username) == username.lower())).first():
            raise AlreadyDone(f"用户名“{username}”已被使用。")
        if village_id is not None and s.get(Village, village_id) is None:
            raise InvalidInput("所属村不存在。")
        if township is None and village_id is not None and "township_viewer" in role_str:
            township = s.get(Village, village_id).township
        user = StaffUser(
            username=username,
            display_name=display_name,
            password_hash=pw_hash,
            village_id=village_id,
            township=(township or "").strip() or None,
            roles=role_str,
            must_change_password=must_change_password,
        )
        s.add(user)
        s.flush()
        record(s, actor, "staff.create", "staff_user", user.id, {"username": username, "roles": role_str},
               village_id=village_id)
        return user.id
