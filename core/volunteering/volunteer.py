"""Volunteer service (志愿服务): activities, sign-ups with a waitlist, the residents' own sign-ups
through the card link, and the pure time rules (minutes, caps, star levels, hours → points).
Check-in/out, the hours the lead enters and confirms, and corrections are in
:mod:`core.volunteering.service_hours`.

Invariants: time is kept in whole minutes, 0..1440 per person per activity (a CHECK backs it); what
the confirmation keeps (totals, star levels, hours → points once per attendance) is stated and kept in
:mod:`core.volunteering.service_hours`.

Rounding: points = floor(min(minutes, cap_minutes) × points_per_hour / 60), in integer
arithmetic — a volunteer never gets credit for a part-hour the rate does not pay for,
and zero points make no proposal and no entry.

Activities with a plot (charity-field work days) may be managed by the field lead too.

Residents sign their own household's members up (and cancel, before the day) through the
card link: the card stands in for the login, and the queue is the staff one (_add_signup,
_cancel_signup under the same activity-row lock). A village setting switches this off.
"""

from __future__ import annotations

import datetime as dt

from sqlalchemy import func, select
from sqlalchemy.orm import Session

from core.platform import settings, validate
from core.platform.access import Actor, require
from core.platform.audit import record
from core.platform.errors import AlreadyDone, InvalidInput, NotAllowed, NotFound
from db.enums import ActivityStatus, SignupStatus
from db.models import (
    Activity,
    Attendance,
    Plot,
    Resident,
    Signup,
    now,
)

STATUS_NAMES = {"planned": "筹备中", "open": "报名中", "done": "已结束", "cancelled": "已取消"}
SIGNUP_NAMES = {"signed": "已报名", "waitlist": "候补", "cancelled": "已取消"}
CORRECTION_NAMES = {"open": "待处理", "accepted": "已采纳", "refused": "未采纳"}
MAX_MINUTES = 24 * 60
LEAD_ROLES = ("volunteer_lead", "admin")
# Staff who may record a correction request on a volunteer's behalf.
REQUEST_ROLES = ("volunteer_lead", "admin", "grid_worker")


# ---------------------------------------------------------------- pure rules


def check_minutes(value: object) -> int:
    """A service time typed by a person: whole minutes, 0..1440."""
    if isinstance(value, bool) or value is None:
        raise InvalidInput("服务时长必须是整数分钟。")
    if isinstance(value, float):
        if not value.is_integer():
            raise InvalidInput("服务时长必须是整数分钟。")
        value = int(value)
    if not isinstance(value, int):
        raise InvalidInput("服务时长必须是整数分钟。")
    if value < 0:
        raise InvalidInput("服务时长不能是负数。")
    if value > MAX_MINUTES:
        raise InvalidInput("服务时长不能超过 24 小时（1440 分钟），请核对后重新录入。")
    return value


def credited_minutes(minutes: int, cap_minutes: int | None) -> int:
    return minutes if cap_minutes is None else min(minutes, cap_minutes)


def points_for(minutes: int, cap_minutes: int | None, points_per_hour: int) -> int:
    """floor(min(minutes, cap) / 60 × rate), computed in integers (no float drift)."""
    return credited_minutes(minutes, cap_minutes) * points_per_hour // 60


def star_level(minutes: int, thresholds_hours: list[int]) -> int:
    """0–5 stars from cumulative confirmed minutes and the five thresholds in hours."""
    return sum(1 for h in thresholds_hours if minutes >= h * 60)


def format_hours(minutes: int | None) -> str:
    if minutes is None:
        return ""
    return f"{minutes / 60:.1f}"


def counted_minutes(on_site: int, travel_minutes: int | None, fixed_minutes: int | None) -> int:
    """The time an attendance counts (计入时长): the activity's fixed duration when it has one,
    else the time between check-in and check-out plus its travel allowance (往返路途), at most a day.
    Neither set: the time on site only (民政部《志愿服务记录办法》: actual service time)."""
    if fixed_minutes is not None:
        return fixed_minutes
    return min(on_site + (travel_minutes or 0), MAX_MINUTES)


def time_rule(travel_minutes: int | None, fixed_minutes: int | None) -> str:
    """The activity's counting rule in words, for the lead's screens and the resident's page."""
    if fixed_minutes is not None:
        return f"每人按固定时长 {fixed_minutes} 分钟计（签到签退后即计）"
    if travel_minutes:
        return f"签到到签退的时间，另加往返路途 {travel_minutes} 分钟"
    return "只计签到到签退的实际服务时间，不含往返路途"


def _clean_activity(title, date, category, organiser, place, start_time, end_time, capacity, cap_minutes, tasks,
                    travel_minutes=None, fixed_minutes=None):
    if not isinstance(date, dt.date) or isinstance(date, dt.datetime):
        raise InvalidInput("请选择活动日期。")
    for t in (start_time, end_time):
        if t is not None and not isinstance(t, dt.time):
            raise InvalidInput("开始、结束时间格式不对。")
    if start_time and end_time and end_time <= start_time:
        raise InvalidInput("结束时间必须晚于开始时间。")
    return dict(
        title=validate.text(title, "活动名称", 80, required=True),
        date=date,
        category=validate.text(category, "活动类别", 30),
        organiser=validate.text(organiser, "组织单位", 60),
        place=validate.text(place, "活动地点", 80),
        start_time=start_time,
        end_time=end_time,
        capacity=validate.whole_number(capacity, "招募人数", 1, 10000, optional=True),
        cap_minutes=validate.whole_number(cap_minutes, "每人计时上限（分钟）", 1, MAX_MINUTES, optional=True),
        tasks=validate.text(tasks, "任务说明", 2000),
        travel_minutes=_travel_and_fixed(travel_minutes, fixed_minutes)[0],
        fixed_minutes=_travel_and_fixed(travel_minutes, fixed_minutes)[1],
    )


def _travel_and_fixed(travel_minutes, fixed_minutes) -> tuple[int | None, int | None]:
    travel = validate.whole_number(travel_minutes, "往返路途（分钟）", 0, 480, optional=True) or None
    fixed = validate.whole_number(fixed_minutes, "固定时长（分钟）", 1, MAX_MINUTES, optional=True)
    if travel and fixed is not None:
        raise InvalidInput("固定时长已包含一切，不能再加往返路途：两者只能选一种。")
    return travel, fixed


# ---------------------------------------------------------------- authorisation helpers


def manage_roles(activity: Activity) -> tuple[str, ...]:
    """Field work days (activity with a plot) are the field lead's too."""
    return (*LEAD_ROLES, "field_lead") if activity.plot_id is not None else LEAD_ROLES


def _activity(s: Session, activity_id: object, lock: bool = False) -> Activity:
    if isinstance(activity_id, bool) or not isinstance(activity_id, int):
        raise NotFound("找不到这个志愿活动。")
    stmt = select(Activity).where(Activity.id == activity_id)
    if lock:
        stmt = stmt.with_for_update()
    act = s.execute(stmt).scalar_one_or_none()
    if act is None:
        raise NotFound("找不到这个志愿活动。")
    return act


def _managed_activity(s: Session, actor: Actor, activity_id: int, lock: bool = False) -> Activity:
    act = _activity(s, activity_id, lock)
    require(actor, manage_roles(act), act.village_id)
    return act


def _resident(s: Session, resident_id: object, village_id: int) -> Resident:
    if isinstance(resident_id, bool) or not isinstance(resident_id, int):
        raise NotFound("找不到这位村民。")
    r = s.get(Resident, resident_id)
    if r is None or r.village_id != village_id:
        raise NotFound("找不到这位村民（或不是本村村民）。")
    return r


# ---------------------------------------------------------------- activities


def create_activity(db, actor: Actor, *, title: str, date: dt.date, category: str = "", organiser: str = "",
                    place: str = "", start_time: dt.time | None = None, end_time: dt.time | None = None,
                    capacity: int | None = None, points_per_hour: int | None = None,
                    cap_minutes: int | None = None, plot_id: int | None = None, tasks: str = "",
                    status: str = ActivityStatus.OPEN, travel_minutes: int | None = None,
                    fixed_minutes: int | None = None) -> int:
    """Publish a volunteer activity in the actor's village; returns its id. ``travel_minutes`` (a
    travel allowance added to each check-out) or ``fixed_minutes`` (a fixed duration) set how
    time is counted (see counted_minutes)."""
    fields = _clean_activity(title, date, category, organiser, place, start_time, end_time, capacity,
                             cap_minutes, tasks, travel_minutes, fixed_minutes)
    if status not in (ActivityStatus.PLANNED, ActivityStatus.OPEN):
        raise InvalidInput("新活动的状态只能是筹备中或报名中。")
    roles = (*LEAD_ROLES, "field_lead") if plot_id is not None else LEAD_ROLES
    village_id = actor.village_id
    require(actor, roles, village_id)
    if village_id is None:
        raise NotAllowed("没有权限：此账号不属于任何村。")
    with db.write() as s:
        if plot_id is not None:
            plot = s.get(Plot, plot_id) if isinstance(plot_id, int) and not isinstance(plot_id, bool) else None
            if plot is None or plot.village_id != village_id:
                raise NotFound("找不到这块义田。")
        if points_per_hour is None:
            points_per_hour = settings.get(s, village_id, "volunteer_points_per_hour")
        pph = validate.whole_number(points_per_hour, "每小时积分", 0, 100, optional=False)
        act = Activity(village_id=village_id, points_per_hour=pph, plot_id=plot_id, status=status,
                       created_by=actor.user_id, **fields)
        s.add(act)
        s.flush()
        record(s, actor, "activity.create", "activity", act.id, {"title": act.title, "date": act.date},
               village_id=village_id)
        return act.id


def update_activity(db, actor: Actor, activity_id: int, *, title: str, date: dt.date, category: str = "",
                    organiser: str = "", place: str = "", start_time: dt.time | None = None,
                    end_time: dt.time | None = None, capacity: int | None = None, points_per_hour: int = 2,
                    cap_minutes: int | None = None, tasks: str = "", travel_minutes: int | None = None,
                    fixed_minutes: int | None = None) -> None:
    """Edit an activity's details. Rate, cap and the counting rule are fixed once any hours were
    confirmed, so that two people with the same time never get different points."""
    fields = _clean_activity(title, date, category, organiser, place, start_time, end_time, capacity,
                             cap_minutes, tasks, travel_minutes, fixed_minutes)
    fields["points_per_hour"] = validate.whole_number(points_per_hour, "每小时积分", 0, 100, optional=False)
    with db.write() as s:
        act = _managed_activity(s, actor, activity_id, lock=True)
        confirmed = s.execute(select(func.count()).select_from(Attendance).where(
            Attendance.activity_id == act.id, Attendance.confirmed_at.is_not(None))).scalar_one()
        if confirmed and any(fields[k] != getattr(act, k) for k in ("points_per_hour", "cap_minutes",
                                                                     "travel_minutes", "fixed_minutes")):
            raise InvalidInput("已有确认的时长，不能再修改每小时积分、计时上限、往返路途或固定时长。")
        before = {k: getattr(act, k) for k in fields}
        for k, v in fields.items():
            setattr(act, k, v)
        record(s, actor, "activity.update", "activity", act.id,
               {k: [before[k], v] for k, v in fields.items() if before[k] != v}, village_id=act.village_id)
        if fields["capacity"] is not None:
            _promote(s, act)


def set_status(db, actor: Actor, activity_id: int, status: str, reason: str = "") -> None:
    """planned → open → done; cancelled from planned/open (with a reason)."""
    if status not in STATUS_NAMES:
        raise InvalidInput("未知的活动状态。")
    reason = validate.text(reason, "原因", 500)
    with db.write() as s:
        act = _managed_activity(s, actor, activity_id, lock=True)
        if act.status == status:
            return
        if act.status == ActivityStatus.CANCELLED:
            raise InvalidInput("活动已取消，不能再改状态。")
        if status == ActivityStatus.CANCELLED:
            if not reason:
                raise InvalidInput("取消活动必须填写原因。")
            confirmed = s.execute(select(func.count()).select_from(Attendance).where(
                Attendance.activity_id == act.id, Attendance.confirmed_at.is_not(None))).scalar_one()
            if confirmed:
                raise InvalidInput("已有确认的服务时长，不能取消活动。")
        old = act.status
        act.status = status
        record(s, actor, "activity.status", "activity", act.id, {"old": old, "new": status}, reason,
               village_id=act.village_id)


# ---------------------------------------------------------------- sign-ups


def _signed_count(s: Session, activity_id: int) -> int:
    return s.execute(select(func.count()).select_from(Signup).where(
        Signup.activity_id == activity_id, Signup.status == SignupStatus.SIGNED)).scalar_one()


def _promote(s: Session, act: Activity) -> list[int]:
    """Move waitlisted people up, first come first served, while places are free."""
    promoted = []
    while act.capacity is None or _signed_count(s, act.id) < act.capacity:
        nxt = s.execute(select(Signup).where(Signup.activity_id == act.id, Signup.status == SignupStatus.WAITLIST)
                        .order_by(Signup.created_at, Signup.id).limit(1)).scalar_one_or_none()
        if nxt is None:
            break
        nxt.status = SignupStatus.SIGNED
        s.flush()
        if nxt.resident_id is not None:  # an outside volunteer moves up too (core.volunteering.outsiders)
            promoted.append(nxt.resident_id)
    return promoted


def _add_signup(s: Session, act: Activity, person: Resident) -> str:
    """Sign ``person`` up for the locked ``act``: 'signed', or 'waitlist' when it is full.
    Shared by staff and residents' own sign-ups, so both queue by the same rules."""
    if act.status not in (ActivityStatus.PLANNED, ActivityStatus.OPEN):
        raise InvalidInput(f"活动{STATUS_NAMES[act.status]}，不能报名。")
    if not person.active:
        raise InvalidInput("该村民已注销，不能报名。")
    row = s.execute(select(Signup).where(Signup.activity_id == act.id, Signup.resident_id == person.id)
                    ).scalar_one_or_none()
    if row is not None and row.status == SignupStatus.SIGNED:
        raise AlreadyDone(f"{person.name} 已经报名了这个活动，不用重复报名。")
    if row is not None and row.status == SignupStatus.WAITLIST:
        raise AlreadyDone(f"{person.name} 已在这个活动的候补名单上，不用重复报名。")
    full = act.capacity is not None and _signed_count(s, act.id) >= act.capacity
    status = SignupStatus.WAITLIST if full else SignupStatus.SIGNED
    if row is None:
        s.add(Signup(activity_id=act.id, resident_id=person.id, status=status, created_at=now()))
    else:  # signing up again goes to the back of the queue
        row.status, row.created_at = status, now()
    s.flush()
    return status


def _cancel_signup(s: Session, act: Activity, resident_id: int) -> list[int]:
    """Cancel one sign-up of the locked ``act``; the waitlist moves up. Returns promoted ids."""
    row = s.execute(select(Signup).where(Signup.activity_id == act.id, Signup.resident_id == resident_id)
                    ).scalar_one_or_none()
    if row is None or row.status == SignupStatus.CANCELLED:
        raise NotFound("没有这条报名记录（或已取消）。")
    row.status = SignupStatus.CANCELLED
    s.flush()
    return _promote(s, act) if act.status in (ActivityStatus.PLANNED, ActivityStatus.OPEN) else []


def sign_up(db, actor: Actor, activity_id: int, resident_id: int) -> str:
    """Staff sign a resident up; returns 'signed' or 'waitlist' (when the activity is full)."""
    with db.write() as s:
        act = _managed_activity(s, actor, activity_id, lock=True)  # lock: capacity is checked-then-changed
        person = _resident(s, resident_id, act.village_id)
        status = _add_signup(s, act, person)
        record(s, actor, "signup.add", "activity", act.id, {"resident_id": person.id, "status": status},
               village_id=act.village_id)
        return status


def cancel_signup(db, actor: Actor, activity_id: int, resident_id: int) -> list[int]:
    """Cancel a sign-up; the first on the waitlist moves up. Returns promoted resident ids."""
    with db.write() as s:
        act = _managed_activity(s, actor, activity_id, lock=True)
        promoted = _cancel_signup(s, act, resident_id)
        record(s, actor, "signup.cancel", "activity", act.id, {"resident_id": resident_id, "promoted": promoted},
               village_id=act.village_id)
        return promoted


# ---------------------------------------------------------------- residents' own sign-ups (card link)

RESIDENT_ROLE = "resident"  # the same role name core.committee.proposals gives a resident's self-report
VIA_CARD = "村民本人凭积分卡"  # the audit row's reason: no staff member acted


def card_holder(village_id: int) -> Actor:
    """The actor for a resident acting through their household card link (no staff login;
    the audit row has no user, and says so in its reason and detail)."""
    return Actor(user_id=None, name="村民本人（积分卡）", roles=frozenset({RESIDENT_ROLE}), village_id=village_id)


def _resident_activity(s: Session, card: str, activity_id: object, resident_id: object, today: dt.date):
    """Lock the activity and check what a card link may do with it: the card is active and of
    the activity's village, the village allows self sign-up, the person is an active member of
    the card's household. Returns (activity, card row, person)."""
    from core.village.cards import resolve

    act = _activity(s, activity_id, lock=True)  # same lock as staff sign-ups: capacity is checked-then-changed
    card_row, household = resolve(s, act.village_id, card)
    if not settings.get(s, act.village_id, "volunteer_self_signup"):
        raise NotAllowed("本村暂未开放村民网上报名志愿活动，请联系志愿活动负责人。")
    if act.date < today:
        raise InvalidInput("活动日期已过，不能再报名或取消。")
    valid_id = isinstance(resident_id, int) and not isinstance(resident_id, bool)
    person = s.get(Resident, resident_id) if valid_id else None
    if person is None or person.household_id != household.id or not person.active:
        raise InvalidInput("请选择本户在册的家庭成员。")
    return act, card_row, person


def resident_sign_up(db, card: str, activity_id: int, resident_id: int, today: dt.date | None = None) -> str:
    """A resident signs a member of their own household up through the card link; returns
    'signed' or 'waitlist'. The card (active, not revoked) proves the household: no staff actor.
    Activities of the card's village only, planned or open, not in the past."""
    with db.write() as s:
        act, card_row, person = _resident_activity(s, card, activity_id, resident_id, today or dt.date.today())
        status = _add_signup(s, act, person)
        record(s, card_holder(act.village_id), "signup.self_add", "activity", act.id,
               {"resident_id": person.id, "status": status, "card_id": card_row.id,
                "household_id": card_row.household_id, "via": "card"}, VIA_CARD, village_id=act.village_id)
        return status


def resident_cancel_signup(db, card: str, activity_id: int, resident_id: int,
                           today: dt.date | None = None) -> list[int]:
    """A resident cancels a sign-up of their own household through the card link, before the
    activity's day (on the day the lead is counting on them: ask the lead). The waitlist moves
    up as with staff cancellations. Returns promoted resident ids."""
    today = today or dt.date.today()
    with db.write() as s:
        act, card_row, person = _resident_activity(s, card, activity_id, resident_id, today)
        if act.date <= today:
            raise InvalidInput("活动当天不能在网上取消报名，请直接联系志愿活动负责人。")
        if act.status not in (ActivityStatus.PLANNED, ActivityStatus.OPEN):
            raise InvalidInput(f"活动{STATUS_NAMES[act.status]}，不能取消报名。")
        promoted = _cancel_signup(s, act, person.id)
        record(s, card_holder(act.village_id), "signup.self_cancel", "activity", act.id,
               {"resident_id": person.id, "promoted": promoted, "card_id": card_row.id,
                "household_id": card_row.household_id, "via": "card"}, VIA_CARD, village_id=act.village_id)
        return promoted
