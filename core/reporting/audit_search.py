"""Searching the audit log (操作日志): who did what, when and why, for one village.

Reads only; rows are written by core.platform.audit.record in the transaction they describe.
A search returns at most ``limit`` rows, newest first, by the (village_id, at) index.
"""

from __future__ import annotations

import datetime as dt
import json
from dataclasses import dataclass

from sqlalchemy import or_, select

from core.committee.attendance import CAPACITY_NAMES, DEPARTURE_NAMES
from core.committee.proposals import SOURCE_NAMES
from core.platform.access import Actor, require
from core.platform.audit import ACTOR_KEY
from core.platform.errors import InvalidInput
from db.models import AuditLog, StaffUser

ACTION_NAMES = {
    # accounts and settings
    "auth.login": "登录", "auth.failed": "登录失败", "auth.password_changed": "修改密码",
    "setting.change": "修改设置", "staff.create": "新建账号", "staff.roles": "修改角色",
    "staff.rename": "修改姓名", "staff.reset_password": "重置密码", "staff.deactivate": "停用账号",
    "staff.activate": "启用账号", "village.create": "新建村", "village.rename": "村改名", "village.move": "村调整镇街",
    "grid.create": "新建网格", "roster.import": "导入花名册",
    # points
    "cycle.base_score": "发放底分", "cycle.year_end": "年终处理", "ledger.reverse": "冲正",
    "ledger.adjust": "手工调整", "rules.category_create": "新建积分类别", "rules.category_active": "启用/停用积分类别",
    "rules.item_create": "新建积分事项", "rules.item_revise": "修订积分事项", "rules.item_active": "启用/停用积分事项",
    # review and 公示
    "proposal.submit": "提交申报", "review.open": "召开评议会", "review.close": "结束评议会",
    "review.approved": "评议通过", "review.rejected": "评议不通过", "review.deferred": "评议暂缓",
    "review.bulk_approve": "批量通过", "review.attend": "登记出席", "review.depart": "登记离席或登记有误", "objection.log": "登记异议", "objection.upheld": "异议不成立（维持）",
    "objection.overturned": "异议成立（撤销）", "publicity.post_due": "公示期满记账",
    # cards and the supermarket
    "card.issue": "发卡", "card.issue_bulk": "批量发卡", "card.reissue": "补办积分卡", "card.revoke": "挂失积分卡",
    "card.print": "打印积分卡", "shop.checkout": "积分兑换", "shop.void": "撤销兑换", "shop.delivered": "送货上门完成",
    "product.create": "新增商品", "product.update": "修改商品", "stock.count": "库存盘点",
    "stock.purchase": "采购入库", "stock.donation": "捐赠入库", "stock.harvest": "义田转入",
    # volunteer service
    "activity.create": "新建志愿活动", "activity.update": "修改志愿活动", "activity.status": "变更活动状态",
    "signup.add": "代为报名", "signup.cancel": "取消报名", "signup.self_add": "村民报名",
    "signup.self_cancel": "村民取消报名", "attendance.check_in": "签到", "attendance.check_out": "签退",
    "attendance.set_minutes": "录入时长", "attendance.confirm": "确认时长", "correction.request": "申请更正时长",
    "correction.decide": "处理时长更正", "certificate.issue": "开具志愿服务证明",
    # charity field
    "plot.save": "保存义田地块", "season.add": "新增种植季", "harvest.record": "收获过磅",
    "produce.to_shop": "余量转入积分超市", "produce.sale": "余量出售", "produce.loss": "损耗登记",
    "beneficiary.register": "登记受助户", "beneficiary.approve": "审核受助户", "beneficiary.renew": "续期受助户",
    "beneficiary.deactivate": "停用受助户", "beneficiary.confirm_suggestions": "批量登记受助户",
    "round.create": "生成分配方案", "round.confirm": "确认分配出库", "round.cancel": "作废分配草稿",
    "round.close": "结束发放（未领退库）", "allocation.deliver": "签领发放",
    "correction.self_request": "村民申请时长更正", "grid.worker": "指定网格员", "household.close": "注销户",
    "household.merge": "合户", "household.reopen": "恢复户", "household.split": "分户", "opening.import": "导入期初积分",
    "resident.leave": "村民迁出或去世", "resident.return": "村民迁回", "shop.return": "退货",
    "close.month": "月结", "close.year": "年度结转", "honours.publish": "发布年度表彰名单",
    "fund.record": "登记村集体资金收支", "fund.reverse": "冲正村集体资金记录",
    "outsider.add": "登记外来志愿者", "outsider.update": "修改外来志愿者", "outsider.activate": "恢复外来志愿者",
    "outsider.deactivate": "停用外来志愿者", "signup.outsider_add": "外来志愿者报名",
    "signup.outsider_cancel": "外来志愿者取消报名", "attendance.outsider_check_in": "外来志愿者签到",
    "attendance.outsider_check_out": "外来志愿者签退", "attendance.outsider_set_minutes": "录入外来志愿者时长",
}
# What an audited row is about (target_type), as the 对象 column shows it.
TARGET_NAMES = {
    "activity": "志愿活动", "allocation": "分配明细", "attendance": "签到记录", "beneficiary": "受助户", "card": "积分卡",
    "certificate": "志愿服务证明", "distribution_round": "分配批次", "fund_entry": "村集体资金", "grid": "网格",
    "harvest": "收获记录", "hours_correction": "时长更正", "household": "农户", "ledger_entry": "积分流水",
    "objection": "异议", "period": "统计期", "plot": "义田地块", "produce_move": "农产品出入库", "product": "商品",
    "proposal": "积分申报", "redemption": "兑换单", "review_session": "评议会", "rule_category": "积分类别",
    "rule_item": "积分事项", "season": "种植季", "setting": "设置", "staff_user": "工作人员账号", "village": "村",
    "year": "年度", "resident": "村民", "period_close": "结账记录", "honour_list": "年度表彰名单",
    "outside_volunteer": "外来志愿者",
}
# The keys of the stored details, as the 详情 column shows them.
FIELD_NAMES = {
    "outsider_id": "外来志愿者编号", "party_member": "党员", "phone": "联系电话", "card_no": "志愿者卡号",
    "active": "启用", "activity_id": "活动编号", "adjusted": "调整户数", "admin": "管理员", "approved": "通过",
    "area_mu": "面积（亩）", "attendance_id": "签到编号", "attendee_capacity": "身份", "attendee_id": "出席人员编号", "attendances": "签到条数", "attendees": "出席",
    "barcode": "条码", "batch_from": "起始编号", "batch_size": "批量", "cap_minutes": "每人计时上限（分钟）",
    "capacity": "招募人数", "card_id": "卡号", "cart": "兑换内容（商品编号：数量）", "category": "类别", "code": "编号",
    "conversion": "折算", "count": "数量", "counted": "盘点数", "crop": "作物", "date": "日期", "decisions": "决定数",
    "delivery": "送货上门", "departure": "离开情况", "donor": "捐赠人", "end_time": "结束时间", "expected": "应有", "failed": "失败",
    "balance_after": "记账后余额（分）", "counterparty": "对方", "purpose": "用途", "reverses": "被冲正的记录",
    "seq": "资金记录号", "fen": "金额（分）", "file": "文件", "first_run": "首次设置", "funding": "资金", "grams": "重量（克）", "grids": "网格",
    "guests": "列席人员",
    "household_id": "户编号", "households": "户数", "ids": "编号", "kind": "类型", "low_stock": "低库存提醒",
    "max": "最高", "members": "成员", "min": "最低", "minutes": "分钟", "monthly_limit": "每月限兑",
    "move_id": "出入库编号", "name": "名称", "new": "新值", "new_households": "新增户", "new_residents": "新增村民",
    "number": "编号", "old": "原值", "old_card_id": "原卡号", "old_points": "原分值", "old_version": "原版本",
    "organiser": "组织单位", "over_cap": "超出次数上限", "place": "活动地点", "plot_id": "地块编号",
    "points": "积分", "points_per_hour": "每小时积分", "policy": "规则", "posted": "记账条数", "price": "兑换积分",
    "product_id": "商品编号", "promoted": "递补", "proposal_id": "申报号", "qty": "数量", "quorum": "法定人数",
    "raised_by": "提出人", "resident_id": "村民编号", "returned_grams": "退库重量（克）", "reversal_id": "冲正流水号",
    "roles": "角色", "round_id": "分配批次", "rows": "行数", "rule": "细则", "session_id": "评议会编号",
    "sha256": "文件校验值", "skipped": "跳过", "source": "来源", "start_time": "开始时间", "status": "状态",
    "stock_move_id": "库存变动编号", "tasks": "任务说明", "title": "名称", "today": "日期", "total": "合计积分",
    "total_grams": "总重量（克）", "unit": "单位", "updated": "更新", "username": "用户名", "valid_until": "有效期至",
    "via": "途径", "votes": "表决", "voting": "有表决权", "year": "年度",
    "balance_to": "余额转入户", "book_total": "账本合计", "cards": "积分卡", "cutover": "切换日期", "door_no": "门牌号",
    "fixed": "固定时长（分钟）", "history_rows": "历史明细行数", "into": "并入户", "lines": "退货明细",
    "new_household": "新户", "on": "开启", "on_site": "在场时长（分钟）", "public_url": "二维码链接地址",
    "reason": "原因", "residents": "村民", "return_id": "退货单号", "returned_before": "此前已退",
    "travel": "往返路途（分钟）", "travel_minutes": "往返路途（分钟）", "fixed_minutes": "固定时长（分钟）",
    "month": "月份", "balance": "可用积分合计", "earned": "累计积分合计", "outstanding": "待扣合计",
    "entries": "流水笔数", "cleared": "清零积分", "volunteers": "优秀志愿者人数",
}
# Stored codes shown in words, by the key they are stored under.
VALUE_NAMES = {"source": SOURCE_NAMES, "via": {"card": "扫卡", "proxy": "代签", "returned": "未领退库"},
               "attendee_capacity": CAPACITY_NAMES, "departure": DEPARTURE_NAMES}
EDIT_ACTIONS = {"product.update", "activity.update"}  # details are {field: [before, after]}
MAX_LIMIT = 5000


def action_name(action: str) -> str:
    return ACTION_NAMES.get(action, action)


@dataclass(frozen=True)
class AuditRow:
    """One audited action: when, who, what (action: ACTION_NAMES) on what (target_type: TARGET_NAMES), the
    stored details in words and the reason."""

    at: dt.datetime
    user_name: str | None  # the staff account's display name; None when no staff account acted
    username: str | None
    acted_by: str | None  # who acted when not a staff account, as the details name them (a resident…)
    action: str
    target_type: str
    target_id: str
    detail: str
    reason: str


def search(db, actor: Actor, village_id: int, *, date_from: dt.date | None = None, date_to: dt.date | None = None,
           user_id: int | None = None, action: str | None = None, text: str = "", limit: int = 500) -> list[AuditRow]:
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
    out = []
    for at, name, un, act, tt, tid, detail, reason in rows:
        who, text_ = _detail(detail, edits=act in EDIT_ACTIONS)
        out.append(AuditRow(at, name, un, who, act, tt, tid, text_, reason))
    return out


def _detail(raw: str, edits: bool = False) -> tuple[str | None, str]:
    """(who acted if not a staff user, the detail as text) of a stored detail. ``edits``: its
    values are [before, after] pairs."""
    try:
        data = json.loads(raw or "{}")
    except ValueError:
        return None, raw or ""
    if not isinstance(data, dict):
        return None, str(data)
    who = data.pop(ACTOR_KEY, None)
    if set(data) == {"old", "new"}:
        return who, f"{_value(data['old'])} → {_value(data['new'])}"
    return who, "；".join(f"{FIELD_NAMES.get(k, k)}：{_edit(v) if edits else _value(_named(k, v))}"
                         for k, v in data.items() if edits or v not in ("", None))  # blanks say nothing


def _named(key: str, v: object) -> object:
    names = VALUE_NAMES.get(key)
    return names.get(v, v) if names and isinstance(v, str) else v


def _value(v: object) -> str:
    if isinstance(v, bool):
        return "是" if v else "否"
    if v is None:
        return "无"
    if isinstance(v, list):
        return "、".join(_value(x) for x in v)
    if isinstance(v, dict):
        return "，".join(f"{k}：{_value(x)}" for k, x in v.items())
    return str(v)


def _edit(v: object) -> str:
    return f"{_value(v[0])} → {_value(v[1])}" if isinstance(v, list) and len(v) == 2 else _value(v)


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
