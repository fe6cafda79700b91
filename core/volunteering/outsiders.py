"""Outside volunteers (外来志愿者): 双报到 party members from town units and other helpers who are
not residents of the village.

They are registered per village (name, unit, phone, party-member flag, optionally a volunteer
card number), signed up for activities in the same queue as residents (capacity counts both),
checked in by their card or by name, and their confirmed hours count for their UNIT:

- their sign-up, attendance and certificate rows name the outsider and no resident (a CHECK
  constraint: exactly one of the two); their attendance has no household;
- they never earn household points, no volunteer total or star level (those are residents');
  confirming an activity confirms their time without posting or proposing anything;
- the unit totals report sums confirmed minutes by unit.

Phones are shown in full to the volunteer lead and the admin only; lists for anyone else mask them.
"""

from __future__ import annotations

import datetime as dt
from dataclasses import dataclass

import pandas as pd
from sqlalchemy import func, or_, select
from sqlalchemy.orm import Session

from core.platform import validate
from core.platform.access import Actor, require
from core.platform.audit import record
from core.platform.errors import AlreadyDone, InvalidInput, NotAllowed, NotFound
from core.platform.exports import excel_bytes
from core.platform.masking import mask_phone
from core.volunteering.volunteer import (
    LEAD_ROLES,
    MAX_MINUTES,
    SIGNUP_NAMES,
    STATUS_NAMES,
    _managed_activity,
    _promote,
    _signed_count,
    check_minutes,
    counted_minutes,
    time_rule,
)
from core.volunteering.volunteer_queries import hours
from db.enums import ActivityStatus, SignupStatus
from db.models import Activity, Attendance, OutsideVolunteer, Signup, now


def _clean(name, unit, phone, party_member, card_no) -> dict:
    phone = validate.nfkc(phone).replace(" ", "")
    if phone and not phone.replace("-", "").isdigit():
        raise InvalidInput("联系电话只能包含数字和“-”。")
    if not isinstance(party_member, bool):
        raise InvalidInput("请选择是否党员。")
    card = validate.nfkc(card_no).replace(" ", "") or None
    return dict(
        name=validate.text(name, "姓名", 40, required=True),
        unit=validate.text(unit, "单位", 60, required=True),
        phone=validate.text(phone, "联系电话", 20),
        party_member=party_member,
        card_no=validate.text(card, "志愿者卡号", 40) or None,
    )


def _outsider(s: Session, outsider_id: object, village_id: int, lock: bool = False) -> OutsideVolunteer:
    if isinstance(outsider_id, bool) or not isinstance(outsider_id, int):
        raise NotFound("找不到这位外来志愿者。")
    stmt = select(OutsideVolunteer).where(OutsideVolunteer.id == outsider_id)
    if lock:
        stmt = stmt.with_for_update()
    o = s.execute(stmt).scalar_one_or_none()
    if o is None or o.village_id != village_id:
        raise NotFound("找不到这位外来志愿者（或不是本村登记的）。")
    return o


def _card_taken(s: Session, village_id: int, card_no: str | None, own_id: int | None = None) -> None:
    if card_no is None:
        return
    other = s.execute(select(OutsideVolunteer.name).where(
        OutsideVolunteer.village_id == village_id, OutsideVolunteer.card_no == card_no,
        OutsideVolunteer.id != (own_id or 0))).scalar()
    if other is not None:
        raise AlreadyDone(f"志愿者卡号 {card_no} 已登记给 {other}，请核对。")


# ---------------------------------------------------------------- the register


def add(db, actor: Actor, *, name: str, unit: str, phone: str = "", party_member: bool = False,
        card_no: str = "") -> int:
    """Register an outside volunteer in the actor's village; returns their id."""
    fields = _clean(name, unit, phone, party_member, card_no)
    village_id = actor.village_id
    require(actor, LEAD_ROLES, village_id)
    if village_id is None:
        raise NotAllowed("没有权限：此账号不属于任何村。")
    with db.write() as s:
        _card_taken(s, village_id, fields["card_no"])
        o = OutsideVolunteer(village_id=village_id, active=True, created_by=actor.user_id, **fields)
        s.add(o)
        s.flush()
        record(s, actor, "outsider.add", "outside_volunteer", o.id,
               {"name": o.name, "unit": o.unit, "party_member": o.party_member}, village_id=village_id)
        return o.id


def update(db, actor: Actor, outsider_id: int, *, name: str, unit: str, phone: str = "",
           party_member: bool = False, card_no: str = "") -> None:
    """Correct an outside volunteer's details (hours already counted stay with the unit they were
    confirmed under only in the sense that the report reads the unit as it is now)."""
    fields = _clean(name, unit, phone, party_member, card_no)
    require(actor, LEAD_ROLES, actor.village_id)
    with db.write() as s:
        o = _outsider(s, outsider_id, actor.village_id, lock=True)
        _card_taken(s, o.village_id, fields["card_no"], o.id)
        before = {k: getattr(o, k) for k in fields}
        for k, v in fields.items():
            setattr(o, k, v)
        changed = {k: ["***" if k == "phone" else before[k], "***" if k == "phone" else v]
                   for k, v in fields.items() if before[k] != v}
        record(s, actor, "outsider.update", "outside_volunteer", o.id, changed, village_id=o.village_id)


def set_active(db, actor: Actor, outsider_id: int, active: bool, reason: str = "") -> None:
    """Deactivate (no new sign-ups or check-ins; their hours stay) or reactivate; a reason is
    required to deactivate."""
    if not isinstance(active, bool):
        raise InvalidInput("请选择启用或停用。")
    reason = validate.text(reason, "原因", 500, required=not active)
    require(actor, LEAD_ROLES, actor.village_id)
    with db.write() as s:
        o = _outsider(s, outsider_id, actor.village_id, lock=True)
        if o.active == active:
            raise AlreadyDone(f"{o.name} 已经是{'在册' if active else '停用'}状态。")
        o.active = active
        record(s, actor, "outsider.activate" if active else "outsider.deactivate", "outside_volunteer", o.id,
               {"name": o.name}, reason, village_id=o.village_id)


# ---------------------------------------------------------------- sign-ups


def sign_up(db, actor: Actor, activity_id: int, outsider_id: int) -> str:
    """Sign an outside volunteer up; 'signed', or 'waitlist' when the activity is full (residents
    and outsiders share the places, first come first served)."""
    with db.write() as s:
        act = _managed_activity(s, actor, activity_id, lock=True)
        o = _outsider(s, outsider_id, act.village_id)
        if act.status not in (ActivityStatus.PLANNED, ActivityStatus.OPEN):
            raise InvalidInput(f"活动{STATUS_NAMES[act.status]}，不能报名。")
        if not o.active:
            raise InvalidInput(f"{o.name} 已停用，不能报名。")
        row = s.execute(select(Signup).where(Signup.activity_id == act.id, Signup.outsider_id == o.id)
                        ).scalar_one_or_none()
        if row is not None and row.status in (SignupStatus.SIGNED, SignupStatus.WAITLIST):
            raise AlreadyDone(f"{o.name} 已{SIGNUP_NAMES[row.status]}，不用重复报名。")
        full = act.capacity is not None and _signed_count(s, act.id) >= act.capacity
        status = SignupStatus.WAITLIST if full else SignupStatus.SIGNED
        if row is None:
            s.add(Signup(activity_id=act.id, outsider_id=o.id, status=status, created_at=now()))
        else:
            row.status, row.created_at = status, now()
        s.flush()
        record(s, actor, "signup.outsider_add", "activity", act.id, {"outsider_id": o.id, "status": status},
               village_id=act.village_id)
        return status


def cancel_signup(db, actor: Actor, activity_id: int, outsider_id: int) -> None:
    """Cancel an outside volunteer's sign-up; the first on the waitlist moves up."""
    with db.write() as s:
        act = _managed_activity(s, actor, activity_id, lock=True)
        o = _outsider(s, outsider_id, act.village_id)
        row = s.execute(select(Signup).where(Signup.activity_id == act.id, Signup.outsider_id == o.id)
                        ).scalar_one_or_none()
        if row is None or row.status == SignupStatus.CANCELLED:
            raise InvalidInput(f"{o.name} 没有报名这个活动。")
        row.status = SignupStatus.CANCELLED
        s.flush()
        if act.status in (ActivityStatus.PLANNED, ActivityStatus.OPEN):
            _promote(s, act)
        record(s, actor, "signup.outsider_cancel", "activity", act.id, {"outsider_id": o.id},
               village_id=act.village_id)


# ---------------------------------------------------------------- check-in, check-out, hours


def _attendance(s: Session, activity_id: int, outsider_id: int) -> Attendance | None:
    return s.execute(select(Attendance).where(Attendance.activity_id == activity_id,
                                              Attendance.outsider_id == outsider_id).with_for_update()
                     ).scalar_one_or_none()


def _check_in(s: Session, actor: Actor, act: Activity, o: OutsideVolunteer, at: dt.datetime) -> Attendance:
    if act.status in (ActivityStatus.CANCELLED, ActivityStatus.DONE):
        raise InvalidInput(f"活动{STATUS_NAMES[act.status]}，不能签到。")
    if not o.active:
        raise InvalidInput(f"{o.name} 已停用，不能签到。")
    att = _attendance(s, act.id, o.id)
    if att is not None and att.check_in is not None:
        raise AlreadyDone(f"{o.name} 已在 {att.check_in:%H:%M} 签到，不要重复签到。")
    if att is not None and att.confirmed_at is not None:
        raise AlreadyDone(f"{o.name} 的时长已确认，不能再签到。")
    if att is None:
        att = Attendance(village_id=act.village_id, activity_id=act.id, outsider_id=o.id)
        s.add(att)
    att.check_in = at
    s.flush()
    record(s, actor, "attendance.outsider_check_in", "attendance", att.id,
           {"activity_id": act.id, "outsider_id": o.id}, village_id=act.village_id)
    return att


def check_in(db, actor: Actor, activity_id: int, outsider_id: int, at: dt.datetime | None = None) -> str:
    """Check an outside volunteer in (chosen by name). Returns the message to show."""
    with db.write() as s:
        act = _managed_activity(s, actor, activity_id)
        o = _outsider(s, outsider_id, act.village_id)
        att = _check_in(s, actor, act, o, at or now())
        return f"{o.name}（{o.unit}）签到成功（{att.check_in:%H:%M}）。"


def check_in_by_card(db, actor: Actor, activity_id: int, card_no: str, at: dt.datetime | None = None) -> str:
    """Check an outside volunteer in by the number on their volunteer card (typed or scanned)."""
    card = validate.nfkc(card_no).replace(" ", "")
    if not card:
        raise InvalidInput("请扫描或输入志愿者卡号。")
    with db.write() as s:
        act = _managed_activity(s, actor, activity_id)
        o = s.execute(select(OutsideVolunteer).where(OutsideVolunteer.village_id == act.village_id,
                                                     OutsideVolunteer.card_no == card)).scalar_one_or_none()
        if o is None:
            raise NotFound(f"本村没有登记卡号为 {card} 的外来志愿者，请按姓名签到。")
        att = _check_in(s, actor, act, o, at or now())
        return f"{o.name}（{o.unit}）签到成功（{att.check_in:%H:%M}）。"


def check_out(db, actor: Actor, activity_id: int, outsider_id: int, at: dt.datetime | None = None) -> int:
    """Check an outside volunteer out; returns the counted minutes (the activity's counting rule)."""
    with db.write() as s:
        act = _managed_activity(s, actor, activity_id)
        o = _outsider(s, outsider_id, act.village_id)
        if act.status == ActivityStatus.CANCELLED:
            raise InvalidInput("活动已取消，不能签退。")
        att = _attendance(s, act.id, o.id)
        if att is None or att.check_in is None:
            raise InvalidInput(f"{o.name} 还没有签到，不能签退。请先签到，或由负责人手工录入时长。")
        if att.check_out is not None:
            raise AlreadyDone(f"{o.name} 已在 {att.check_out:%H:%M} 签退，不要重复签退。")
        if att.confirmed_at is not None:
            raise AlreadyDone(f"{o.name} 的时长已确认，不能再签退。")
        at = at or now()
        if at < att.check_in:
            raise InvalidInput("签退时间早于签到时间，请核对。")
        on_site = int((at - att.check_in).total_seconds() // 60)
        if on_site > MAX_MINUTES:
            raise InvalidInput("签到到签退超过 24 小时，不能自动计时，请由负责人手工录入实际服务时长。")
        att.check_out = at
        att.minutes = counted_minutes(on_site, act.travel_minutes, act.fixed_minutes)
        s.flush()
        record(s, actor, "attendance.outsider_check_out", "attendance", att.id,
               {"minutes": att.minutes, "on_site": on_site, "rule": time_rule(act.travel_minutes, act.fixed_minutes)},
               village_id=act.village_id)
        return att.minutes


def set_minutes(db, actor: Actor, activity_id: int, outsider_id: int, minutes: int, note: str = "") -> int:
    """The lead enters an outside volunteer's service time by hand; returns the attendance id."""
    minutes = check_minutes(minutes)
    note = validate.text(note, "备注", 500)
    with db.write() as s:
        act = _managed_activity(s, actor, activity_id)
        if act.status == ActivityStatus.CANCELLED:
            raise InvalidInput("活动已取消，不能录入时长。")
        o = _outsider(s, outsider_id, act.village_id)
        att = _attendance(s, act.id, o.id)
        if att is not None and att.confirmed_at is not None:
            raise InvalidInput(f"{o.name} 的时长已确认，如需更改请提交更正申请。")
        old = att.minutes if att else None
        if att is None:
            att = Attendance(village_id=act.village_id, activity_id=act.id, outsider_id=o.id)
            s.add(att)
        att.minutes = minutes
        s.flush()
        record(s, actor, "attendance.outsider_set_minutes", "attendance", att.id, {"old": old, "new": minutes},
               note, village_id=act.village_id)
        return att.id


# ---------------------------------------------------------------- reading


def _show_phone(actor: Actor) -> bool:
    return actor.system or bool(actor.roles.intersection(LEAD_ROLES))


@dataclass(frozen=True)
class OutsiderRow:
    """One outside volunteer on the register with their confirmed minutes; ``phone`` is already
    masked for a reader who may not see it in full."""

    outsider_id: int
    name: str
    unit: str
    phone: str
    party_member: bool
    card_no: str | None
    active: bool
    minutes: int


def register(db, actor: Actor, village_id: int, include_inactive: bool = True) -> list[OutsiderRow]:
    """The village's outside volunteers with their confirmed hours; phones masked unless the
    actor is the volunteer lead or an admin (a field lead sees the list, phones masked)."""
    require(actor, (*LEAD_ROLES, "field_lead"), village_id)
    full = _show_phone(actor)
    confirmed = (select(Attendance.outsider_id, func.sum(Attendance.minutes).label("m"))
                 .where(Attendance.village_id == village_id, Attendance.outsider_id.is_not(None),
                        Attendance.confirmed_at.is_not(None)).group_by(Attendance.outsider_id).subquery())
    stmt = (select(OutsideVolunteer, confirmed.c.m)
            .outerjoin(confirmed, confirmed.c.outsider_id == OutsideVolunteer.id)
            .where(OutsideVolunteer.village_id == village_id).order_by(OutsideVolunteer.unit, OutsideVolunteer.id))
    if not include_inactive:
        stmt = stmt.where(OutsideVolunteer.active)
    with db.read() as s:
        return [OutsiderRow(o.id, o.name, o.unit, o.phone if full else mask_phone(o.phone), o.party_member,
                            o.card_no, o.active, int(m or 0))
                for o, m in s.execute(stmt)]


def details(db, village_id: int, outsider_id: int) -> dict:
    """One outside volunteer's editable fields (for the lead's edit form)."""
    with db.read() as s:
        o = _outsider(s, outsider_id, village_id)
        return {"name": o.name, "unit": o.unit, "phone": o.phone, "party_member": o.party_member,
                "card_no": o.card_no or "", "active": o.active}


def find(db, village_id: int, query: str, limit: int = 30, active_only: bool = True) -> list[tuple[int, str]]:
    """Outside volunteers whose name or unit contains ``query``: (id, '姓名（单位）')."""
    q = (query or "").strip()
    stmt = select(OutsideVolunteer.id, OutsideVolunteer.name, OutsideVolunteer.unit).where(
        OutsideVolunteer.village_id == village_id)
    if active_only:
        stmt = stmt.where(OutsideVolunteer.active)
    if q:
        like = f"%{q.replace('%', '').replace('_', '')}%"
        stmt = stmt.where(or_(OutsideVolunteer.name.like(like), OutsideVolunteer.unit.like(like)))
    with db.read() as s:
        return [(i, f"{n}（{u}）") for i, n, u in s.execute(stmt.order_by(OutsideVolunteer.name,
                                                                         OutsideVolunteer.id).limit(limit))]


@dataclass(frozen=True)
class OutsiderSignupRow:
    """One outside volunteer's sign-up for an activity: ``status`` is the stored code (SIGNUP_NAMES)."""

    outsider_id: int
    name: str
    unit: str
    status: SignupStatus
    created_at: dt.datetime


def signups(db, village_id: int, activity_id: int) -> list[OutsiderSignupRow]:
    """Outside volunteers signed up for one activity, in the order they signed up."""
    stmt = (select(Signup, OutsideVolunteer.name, OutsideVolunteer.unit)
            .join(OutsideVolunteer, OutsideVolunteer.id == Signup.outsider_id)
            .join(Activity, Activity.id == Signup.activity_id)
            .where(Signup.activity_id == activity_id, Activity.village_id == village_id)
            .order_by(Signup.created_at, Signup.id))
    with db.read() as s:
        return [OutsiderSignupRow(su.outsider_id, name, unit, SignupStatus(su.status), su.created_at)
                for su, name, unit in s.execute(stmt)]


@dataclass(frozen=True)
class OutsiderAttendanceRow:
    """One outside volunteer's attendance at an activity (no points: they earn none); minutes None until known."""

    attendance_id: int
    outsider_id: int
    name: str
    unit: str
    check_in: dt.datetime | None
    check_out: dt.datetime | None
    minutes: int | None
    confirmed: bool


def attendance(db, village_id: int, activity_id: int) -> list[OutsiderAttendanceRow]:
    """Outside volunteers' attendance at one activity."""
    stmt = (select(Attendance, OutsideVolunteer.name, OutsideVolunteer.unit)
            .join(OutsideVolunteer, OutsideVolunteer.id == Attendance.outsider_id)
            .where(Attendance.activity_id == activity_id, Attendance.village_id == village_id)
            .order_by(Attendance.id))
    with db.read() as s:
        return [OutsiderAttendanceRow(a.id, a.outsider_id, name, unit, a.check_in, a.check_out, a.minutes,
                                      a.confirmed_at is not None)
                for a, name, unit in s.execute(stmt)]


@dataclass(frozen=True)
class UnitTotalRow:
    """One unit's outside volunteers over a period: how many, how many party members, how many
    times they served and their confirmed minutes together. ``unit`` is "" when not filled in."""

    unit: str
    people: int
    party_members: int
    times: int
    minutes: int


def unit_totals(db, village_id: int, date_from: dt.date, date_to: dt.date) -> list[UnitTotalRow]:
    """Confirmed hours of outside volunteers by unit for activities dated in [date_from, date_to],
    the most hours first."""
    if date_from > date_to:
        raise InvalidInput("开始日期不能晚于结束日期。")
    stmt = (select(OutsideVolunteer.unit, func.count(func.distinct(OutsideVolunteer.id)),
                   func.count(func.distinct(OutsideVolunteer.id)).filter(OutsideVolunteer.party_member),
                   func.count(Attendance.id), func.sum(Attendance.minutes))
            .join(Attendance, Attendance.outsider_id == OutsideVolunteer.id)
            .join(Activity, Activity.id == Attendance.activity_id)
            .where(OutsideVolunteer.village_id == village_id, Attendance.village_id == village_id,
                   Attendance.confirmed_at.is_not(None), Activity.date >= date_from, Activity.date <= date_to)
            .group_by(OutsideVolunteer.unit).order_by(func.sum(Attendance.minutes).desc(), OutsideVolunteer.unit))
    with db.read() as s:
        return [UnitTotalRow(unit or "", int(people), int(party), int(times), int(mins or 0))
                for unit, people, party, times, mins in s.execute(stmt)]


UNIT_BLANK = "（未填单位）"


def unit_totals_xlsx(db, village_id: int, date_from: dt.date, date_to: dt.date) -> bytes:
    """The unit totals as a workbook for the township: a document, so its Chinese headers are
    built here, from :func:`unit_totals`'s rows."""
    rows = [[r.unit or UNIT_BLANK, r.people, r.party_members, r.times, r.minutes, hours(r.minutes)]
            for r in unit_totals(db, village_id, date_from, date_to)]
    df = pd.DataFrame(rows, columns=["单位", "人数", "其中党员", "服务人次", "时长（分钟）", "时长（小时）"])
    return excel_bytes({f"单位志愿时长{date_from:%Y%m%d}-{date_to:%Y%m%d}": df})
