"""Read side of volunteering: lists, totals, leaderboard and exports as typed rows (frozen
dataclasses with English field names, stored status codes, minutes and dates as they are), built
from SQL aggregates (never whole tables). The pages name the columns and their Chinese headers.

Every function takes the reader's village id and shows only that village's rows.
"""

from __future__ import annotations

import datetime as dt
from dataclasses import dataclass

from sqlalchemy import and_, case, extract, func, or_, select

from core.platform import settings
from core.platform.errors import NotFound
from core.volunteering.volunteer import credited_minutes, points_for
from db.enums import ActivityStatus, CorrectionStatus, SignupStatus
from db.models import (
    Activity,
    Attendance,
    HoursCorrection,
    Household,
    OutsideVolunteer,
    Resident,
    Signup,
    StarLevelEvent,
    VolunteerTotal,
)


def hours(minutes: int | None) -> float:
    """Minutes as hours to one decimal, as the volunteering tables show them (None counts as 0)."""
    return round((minutes or 0) / 60, 1)


def activity(db, village_id: int, activity_id: int) -> Activity:
    with db.read() as s:
        act = s.get(Activity, activity_id) if isinstance(activity_id, int) else None
        if act is None or act.village_id != village_id:
            raise NotFound("找不到这个志愿活动。")
        return act


@dataclass(frozen=True)
class ActivityRow:
    """One activity in the list, with its sign-up, waitlist and attendance counts and its confirmed minutes."""

    id: int
    date: dt.date
    title: str
    category: str | None
    organiser: str | None
    place: str | None
    start_time: dt.time | None
    end_time: dt.time | None
    capacity: int | None
    signed: int
    waiting: int
    came: int
    confirmed_minutes: int
    points_per_hour: int
    cap_minutes: int | None
    status: ActivityStatus
    plot_id: int | None  # set for a charity-field work day (义田劳动)


def activities(db, village_id: int, statuses: tuple[str, ...] | None = None, limit: int = 500) -> list[ActivityRow]:
    """Newest first, with sign-up, waitlist and attendance counts."""
    signed = (select(Signup.activity_id,
                     func.sum(case((Signup.status == SignupStatus.SIGNED, 1), else_=0)).label("signed"),
                     func.sum(case((Signup.status == SignupStatus.WAITLIST, 1), else_=0)).label("waiting"))
              .group_by(Signup.activity_id).subquery())
    came = (select(Attendance.activity_id, func.count().label("came"),
                   func.sum(case((Attendance.confirmed_at.is_not(None), Attendance.minutes), else_=0)).label("mins"))
            .where(Attendance.village_id == village_id).group_by(Attendance.activity_id).subquery())
    stmt = (select(Activity, signed.c.signed, signed.c.waiting, came.c.came, came.c.mins)
            .outerjoin(signed, signed.c.activity_id == Activity.id)
            .outerjoin(came, came.c.activity_id == Activity.id)
            .where(Activity.village_id == village_id)
            .order_by(Activity.date.desc(), Activity.id.desc()).limit(limit))
    if statuses:
        stmt = stmt.where(Activity.status.in_(statuses))
    with db.read() as s:
        return [ActivityRow(id=act.id, date=act.date, title=act.title, category=act.category,
                            organiser=act.organiser, place=act.place, start_time=act.start_time,
                            end_time=act.end_time, capacity=act.capacity, signed=int(n_signed or 0),
                            waiting=int(n_wait or 0), came=int(n_came or 0), confirmed_minutes=int(mins or 0),
                            points_per_hour=act.points_per_hour, cap_minutes=act.cap_minutes,
                            status=ActivityStatus(act.status), plot_id=act.plot_id)
                for act, n_signed, n_wait, n_came, mins in s.execute(stmt)]


@dataclass(frozen=True)
class SignupRow:
    """One resident's sign-up for an activity: ``status`` is the stored code (SIGNUP_NAMES)."""

    resident_id: int
    name: str
    door_no: str
    status: SignupStatus
    created_at: dt.datetime


def signups(db, village_id: int, activity_id: int) -> list[SignupRow]:
    """Residents signed up for the activity: signed first, then the waitlist, then the cancelled."""
    activity(db, village_id, activity_id)
    order = case((Signup.status == SignupStatus.SIGNED, 0), (Signup.status == SignupStatus.WAITLIST, 1), else_=2)
    stmt = (select(Signup, Resident.name, Household.door_no)
            .join(Resident, Resident.id == Signup.resident_id).join(Household, Household.id == Resident.household_id)
            .where(Signup.activity_id == activity_id).order_by(order, Signup.created_at, Signup.id))
    with db.read() as s:
        return [SignupRow(su.resident_id, name, door, SignupStatus(su.status), su.created_at)
                for su, name, door in s.execute(stmt)]


@dataclass(frozen=True)
class AttendanceRow:
    """One resident's attendance at an activity: times, minutes (None until known), the minutes
    credited under the activity's cap and the points they would bring."""

    attendance_id: int
    resident_id: int
    name: str
    door_no: str
    check_in: dt.datetime | None
    check_out: dt.datetime | None
    on_site: int | None  # minutes between check-in and check-out
    minutes: int | None
    credited: int | None
    points: int | None
    confirmed: bool


def attendance(db, village_id: int, activity_id: int) -> list[AttendanceRow]:
    """Who came, their times, credited minutes and the points they would bring."""
    act = activity(db, village_id, activity_id)
    stmt = (select(Attendance, Resident.name, Household.door_no)
            .join(Resident, Resident.id == Attendance.resident_id)
            .join(Household, Household.id == Attendance.household_id)
            .where(Attendance.activity_id == activity_id).order_by(Attendance.id))
    with db.read() as s:
        return [AttendanceRow(
            attendance_id=att.id, resident_id=att.resident_id, name=name, door_no=door,
            check_in=att.check_in, check_out=att.check_out,
            on_site=int((att.check_out - att.check_in).total_seconds() // 60)
            if att.check_in and att.check_out else None,
            minutes=att.minutes,
            credited=credited_minutes(att.minutes, act.cap_minutes) if att.minutes is not None else None,
            points=points_for(att.minutes, act.cap_minutes, act.points_per_hour) if att.minutes is not None else None,
            confirmed=att.confirmed_at is not None,
        ) for att, name, door in s.execute(stmt)]


def find_residents(db, village_id: int, query: str, limit: int = 30) -> list[tuple[int, str]]:
    """Residents whose name or door number contains ``query``: (id, '姓名（门牌号）')."""
    q = (query or "").strip()[:40]
    if not q:
        return []
    like = f"%{q}%"
    stmt = (select(Resident.id, Resident.name, Household.door_no).join(Household, Household.id == Resident.household_id)
            .where(Resident.village_id == village_id, Resident.active,
                   or_(Resident.name.like(like), Household.door_no.like(like)))
            .order_by(Household.door_no, Resident.id).limit(limit))
    with db.read() as s:
        return [(rid, f"{name}（{door}）") for rid, name, door in s.execute(stmt)]


def household_members(db, village_id: int, household_id: int) -> list[tuple[int, str]]:
    with db.read() as s:
        return [(rid, name) for rid, name in s.execute(
            select(Resident.id, Resident.name).where(Resident.household_id == household_id,
                                                     Resident.village_id == village_id, Resident.active)
            .order_by(Resident.id))]


@dataclass(frozen=True)
class VolunteerTotalRow:
    """One volunteer's confirmed cumulative minutes, star level (0 = none) and the day of their last star."""

    resident_id: int
    name: str
    door_no: str
    minutes: int
    star_level: int
    reached_on: dt.date | None


def totals(db, village_id: int, limit: int = 2000) -> list[VolunteerTotalRow]:
    """Confirmed cumulative hours and star level per volunteer (by name, not ranked)."""
    # star_level_event has no village_id: only the events of this village's residents are grouped
    last = (select(StarLevelEvent.resident_id, func.max(StarLevelEvent.reached_on).label("reached"))
            .where(StarLevelEvent.resident_id.in_(select(Resident.id).where(Resident.village_id == village_id)))
            .group_by(StarLevelEvent.resident_id).subquery())
    stmt = (select(VolunteerTotal.resident_id, Resident.name, Household.door_no, VolunteerTotal.minutes,
                   VolunteerTotal.star_level, last.c.reached)
            .join(Resident, and_(Resident.id == VolunteerTotal.resident_id, Resident.village_id == village_id))
            .join(Household, and_(Household.id == Resident.household_id, Household.village_id == village_id))
            .outerjoin(last, last.c.resident_id == VolunteerTotal.resident_id)
            .where(VolunteerTotal.village_id == village_id, VolunteerTotal.minutes > 0)
            .order_by(Household.door_no, Resident.id).limit(limit))
    with db.read() as s:
        return [VolunteerTotalRow(rid, name, door, mins, level or 0, reached)
                for rid, name, door, mins, level, reached in s.execute(stmt)]


@dataclass(frozen=True)
class LeaderRow:
    """One place on the volunteers' leaderboard (``rank`` from 1), by confirmed minutes."""

    rank: int
    name: str
    door_no: str
    minutes: int
    star_level: int


def leaderboard(db, village_id: int, limit: int = 20) -> list[LeaderRow] | None:
    """Top volunteers by confirmed hours; None when the village switched rankings off."""
    with db.read() as s:
        if not settings.get(s, village_id, "rankings_enabled"):
            return None
        stmt = (select(Resident.name, Household.door_no, VolunteerTotal.minutes, VolunteerTotal.star_level)
                .join(Resident, and_(Resident.id == VolunteerTotal.resident_id, Resident.village_id == village_id))
                .join(Household, and_(Household.id == Resident.household_id, Household.village_id == village_id))
                .where(VolunteerTotal.village_id == village_id, VolunteerTotal.minutes > 0)
                .order_by(VolunteerTotal.minutes.desc(), Resident.id).limit(limit))
        return [LeaderRow(i, name, door, mins, level or 0)
                for i, (name, door, mins, level) in enumerate(s.execute(stmt), start=1)]


@dataclass(frozen=True)
class PersonMonthRow:
    """One person's confirmed service in one month: how many times and how many minutes."""

    name: str
    door_no: str
    year: int
    month: int
    times: int
    minutes: int


def hours_by_person_month(db, village_id: int, year: int) -> list[PersonMonthRow]:
    """Confirmed hours per person per month of ``year`` (one row per person and month)."""
    month = extract("month", Activity.date)
    stmt = (select(Resident.name, Household.door_no, month.label("m"), func.count().label("n"),
                   func.sum(Attendance.minutes).label("mins"))
            .join(Activity, and_(Activity.id == Attendance.activity_id, Activity.village_id == village_id))
            .join(Resident, and_(Resident.id == Attendance.resident_id, Resident.village_id == village_id))
            .join(Household, and_(Household.id == Attendance.household_id, Household.village_id == village_id))
            .where(Attendance.village_id == village_id, Attendance.confirmed_at.is_not(None),
                   Activity.date >= dt.date(year, 1, 1), Activity.date <= dt.date(year, 12, 31))
            .group_by(Resident.id, Resident.name, Household.door_no, month)
            .order_by(Household.door_no, Resident.name, month))
    with db.read() as s:
        return [PersonMonthRow(name, door, year, int(m), int(n), int(mins or 0))
                for name, door, m, n, mins in s.execute(stmt)]


@dataclass(frozen=True)
class ActivityHoursRow:
    """One activity's confirmed service: how many attended and their minutes together."""

    date: dt.date
    title: str
    category: str | None
    organiser: str | None
    people: int
    minutes: int


def hours_by_activity(db, village_id: int, date_from: dt.date, date_to: dt.date) -> list[ActivityHoursRow]:
    """Confirmed service per activity dated in [date_from, date_to], oldest first."""
    stmt = (select(Activity.date, Activity.title, Activity.category, Activity.organiser,
                   func.count(Attendance.id).label("n"),
                   func.sum(Attendance.minutes).label("mins"))
            .join(Attendance, and_(Attendance.activity_id == Activity.id, Attendance.village_id == village_id))
            .where(Activity.village_id == village_id, Attendance.confirmed_at.is_not(None),
                   Activity.date >= date_from, Activity.date <= date_to)
            .group_by(Activity.id, Activity.date, Activity.title, Activity.category, Activity.organiser)
            .order_by(Activity.date, Activity.id))
    with db.read() as s:
        return [ActivityHoursRow(d, t, c, o, int(n), int(mins or 0)) for d, t, c, o, n, mins in s.execute(stmt)]


@dataclass(frozen=True)
class PersonAttendanceRow:
    """One of a person's service records: the activity, its minutes (None until known), confirmed or not."""

    attendance_id: int
    date: dt.date
    title: str
    minutes: int | None
    confirmed: bool


def person_attendance(db, village_id: int, resident_id: int, limit: int = 200) -> list[PersonAttendanceRow]:
    """One person's service records (newest first), for corrections and certificates."""
    stmt = (select(Attendance.id, Activity.date, Activity.title, Attendance.minutes, Attendance.confirmed_at)
            .join(Activity, Activity.id == Attendance.activity_id)
            .where(Attendance.village_id == village_id, Attendance.resident_id == resident_id)
            .order_by(Activity.date.desc(), Attendance.id.desc()).limit(limit))
    with db.read() as s:
        return [PersonAttendanceRow(aid, d, t, m, c is not None) for aid, d, t, m, c in s.execute(stmt)]


@dataclass(frozen=True)
class CorrectionRow:
    """One hours-correction request and its decision: ``status`` is the stored code (CORRECTION_NAMES);
    ``name`` is the resident's or the outside volunteer's."""

    id: int
    name: str
    activity_date: dt.date
    activity_title: str
    old_minutes: int | None
    new_minutes: int
    requested_by: str
    reason: str
    created_at: dt.datetime
    status: CorrectionStatus
    decision_note: str | None
    decided_at: dt.datetime | None


def corrections(db, village_id: int, only_open: bool = False, limit: int = 500) -> list[CorrectionRow]:
    """Correction requests with their decisions (the history is never removed), newest first."""
    stmt = (select(HoursCorrection, func.coalesce(Resident.name, OutsideVolunteer.name), Activity.title, Activity.date)
            .join(Attendance, Attendance.id == HoursCorrection.attendance_id)
            .outerjoin(Resident, Resident.id == Attendance.resident_id)
            .outerjoin(OutsideVolunteer, OutsideVolunteer.id == Attendance.outsider_id)
            .join(Activity, Activity.id == Attendance.activity_id)
            .where(Attendance.village_id == village_id)
            .order_by(HoursCorrection.id.desc()).limit(limit))
    if only_open:
        stmt = stmt.where(HoursCorrection.status == CorrectionStatus.OPEN)
    with db.read() as s:
        return [CorrectionRow(id=c.id, name=name, activity_date=d, activity_title=title, old_minutes=c.old_minutes,
                              new_minutes=c.new_minutes, requested_by=c.requested_by, reason=c.reason,
                              created_at=c.created_at, status=CorrectionStatus(c.status),
                              decision_note=c.decision_note, decided_at=c.decided_at)
                for c, name, title, d in s.execute(stmt)]


@dataclass(frozen=True)
class StarEventRow:
    """One star level a volunteer reached, the day and their cumulative minutes then."""

    name: str
    door_no: str
    level: int
    reached_on: dt.date
    minutes_at: int


def star_events(db, village_id: int, limit: int = 500) -> list[StarEventRow]:
    """Star levels reached, newest first."""
    stmt = (select(StarLevelEvent, Resident.name, Household.door_no)
            .join(Resident, Resident.id == StarLevelEvent.resident_id)
            .join(Household, and_(Household.id == Resident.household_id, Household.village_id == village_id))
            .where(Resident.village_id == village_id)
            .order_by(StarLevelEvent.reached_on.desc(), StarLevelEvent.id.desc()).limit(limit))
    with db.read() as s:
        return [StarEventRow(name, door, e.level, e.reached_on, e.minutes_at) for e, name, door in s.execute(stmt)]


def total_mismatches(db, village_id: int) -> list[str]:
    """Invariant check: each volunteer_total equals the sum of that resident's confirmed
    minutes, and its star level matches the thresholds. Returns problems (empty = fine)."""
    from core.volunteering.volunteer import star_level

    problems = []
    with db.read() as s:
        thresholds = settings.get(s, village_id, "star_thresholds_hours")
        real = dict(s.execute(select(Attendance.resident_id, func.sum(Attendance.minutes))
                              .where(Attendance.village_id == village_id, Attendance.confirmed_at.is_not(None),
                                     Attendance.resident_id.is_not(None))  # outsiders keep no total
                              .group_by(Attendance.resident_id)).all())
        kept = {rid: (mins, level) for rid, mins, level in s.execute(
            select(VolunteerTotal.resident_id, VolunteerTotal.minutes, VolunteerTotal.star_level)
            .where(VolunteerTotal.village_id == village_id))}
    for rid in sorted(set(real) | set(kept)):
        mins, level = kept.get(rid, (0, 0))
        if (mins or 0) != (real.get(rid) or 0):
            problems.append(f"村民 {rid}：累计时长记录 {mins} 分钟，实际确认 {real.get(rid)} 分钟")
        elif level != star_level(mins or 0, thresholds):
            problems.append(f"村民 {rid}：星级 {level} 与累计时长不符")
    return problems
