"""Searching the audit log (操作日志): who did what, when and why, for one village.

Reads only; rows are written by core.audit.record in the transaction they describe.
A search returns at most ``limit`` rows, newest first, by the (village_id, at) index.
"""

from __future__ import annotations

import datetime as dt
import json

import pandas as pd
from sqlalchemy import or_, select

from core.access import Actor, require
from core.errors import InvalidInput
from db.models import AuditLog, StaffUser

ACTION_NAMES = {
    "auth.login": "登录", "auth.failed": "登录失败", "auth.password_changed": "修改密码",
    "setting.change": "修改设置", "staff.create": "新建账号", "staff.roles": "修改角色",
    "staff.rename": "修改姓名", "staff.reset_password": "重置密码", "staff.deactivate": "停用账号",
    "staff.activate": "启用账号", "village.create": "新建村", "roster.import": "导入花名册",
    "cycle.base_score": "发放底分", "cycle.year_end": "年终处理", "ledger.reverse": "冲正",
    "ledger.adjust": "手工调整", "card.issue": "发卡", "card.issue_bulk": "批量发卡", "card.reissue": "补办积分卡",
    "card.revoke": "挂失积分卡",
}
COLUMNS = ["时间", "操作人", "操作", "对象", "对象编号", "详情", "原因"]
MAX_LIMIT = 5000


def action_name(action: str) -> str:
    return ACTION_NAMES.get(action, action)


def search(db, actor: Actor, village_id: int, *, date_from: dt.date | None = None, date_to: dt.date | None = None,
           user_id: int | None = None, action: str | None = None, text: str = "", limit: int = 500) -> pd.DataFrame:
    """Audit rows of the village matching every given filter, newest first."""
    require(actor, "admin", village_id)
    if date_from and date_to and date_from > date_to:
        raise InvalidInput("开始日期不能晚于结束日期。")
    if not isinstance(limit, int) or not 1 <= limit <= MAX_LIMIT:
        raise InvalidInput(f"条数应在 1 到 {MAX_LIMIT} 之间。")
    text = (text or "").strip()
    if len(text) > 100:
        raise InvalidInput("搜索文字不能超过 100 个字。")
    q = (select(AuditLog.at, StaffUser.display_name, StaffUser.username, AuditLog.action, AuditLog.target_type,
                AuditLog.target_id, AuditLog.detail, AuditLog.reason)
         .outerjoin(StaffUser, StaffUser.id == AuditLog.user_id)
         .where(AuditLog.village_id == village_id))
    if date_from:
        q = q.where(AuditLog.at >= dt.datetime.combine(date_from, dt.time.min))
    if date_to:
        q = q.where(AuditLog.at < dt.datetime.combine(date_to + dt.timedelta(days=1), dt.time.min))
    if user_id is not None:
        q = q.where(AuditLog.user_id == user_id)
    if action:
        q = q.where(AuditLog.action == action)
    if text:
        # JSON detail is stored with ensure_ascii=False, so Chinese text matches as typed.
        like = "%" + text.replace("\\", "\\\\").replace("%", "\\%").replace("_", "\\_") + "%"
        matched = [a for a, n in ACTION_NAMES.items() if text in n]
        q = q.where(or_(AuditLog.detail.like(like, escape="\\"), AuditLog.reason.like(like, escape="\\"),
                        AuditLog.target_id.like(like, escape="\\"), AuditLog.action.like(like, escape="\\"),
                        AuditLog.action.in_(matched)))
    with db.read() as s:
        rows = s.execute(q.order_by(AuditLog.at.desc(), AuditLog.id.desc()).limit(limit)).all()
    return pd.DataFrame(
        [{"时间": at, "操作人": f"{name}（{un}）" if name else "系统", "操作": action_name(act), "对象": tt,
          "对象编号": tid, "详情": _detail(detail), "原因": reason}
         for at, name, un, act, tt, tid, detail, reason in rows],
        columns=COLUMNS,
    )


def _detail(raw: str) -> str:
    try:
        data = json.loads(raw or "{}")
    except ValueError:
        return raw or ""
    if not isinstance(data, dict):
        return str(data)
    if set(data) == {"old", "new"}:
        return f"{data['old']} → {data['new']}"
    return "；".join(f"{k}：{v}" for k, v in data.items())


def filters(db, actor: Actor, village_id: int) -> tuple[dict[int, str], list[str]]:
    """Users of the village (id → name) and the actions seen in its log, for the filter widgets."""
    require(actor, "admin", village_id)
    with db.read() as s:
        users = {uid: f"{dn}（{un}）" for uid, dn, un in s.execute(
            select(StaffUser.id, StaffUser.display_name, StaffUser.username)
            .where(StaffUser.village_id == village_id).order_by(StaffUser.username))}
        actions = sorted(s.execute(select(AuditLog.action).where(AuditLog.village_id == village_id)
                                   .distinct()).scalars())
    return users, actions
