"""Read side of volunteering: lists, totals, leaderboard and exports as pandas
DataFrames with Chinese column headers, built from SQL aggregates (never whole tables).

Every function takes the reader's village id and shows only that village's rows.
"""

from __future__ import annotations

import datetime as dt

import pandas as pd
from sqlalchemy import and_, case, extract, func, or_, select

from core.platform import settings
from core.platform.errors import NotFound
from core.volunteering.volunteer import CORRECTION_NAMES, SIGNUP_NAMES, STATUS_NAMES, credited_minutes, points_for
from db.enums import CorrectionStatus, SignupStatus
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


def _hours(minutes) -> float:
    return round((minutes or 0) / 60, 1)


def activity(db, village_id: int, activity_id: int) -> Activity:
    with db.read() as s:
        act = s.get(Activity, activity_id) if isinstance(activity_id, int) else None
        if act is None or act.village_id != village_id:
            raise NotFound("找不到这个志愿活动。")
        return act


def activities(db, village_id: int, statuses: tuple[str, ...] | None = None, limit: int = 500) -> pd.DataFrame:
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
    rows = []
    with db.read() as s:
        for act, n_signed, n_wait, n_came, mins in s.execute(stmt):
            time = ""
            if act.start_time:
                time = f"{act.start_time:%H:%M}" + (f"–{act.end_time:%H:%M}" if act.end_time else "")
            rows.append({
                "id": act.id, "日期": act.date, "活动名称": act.title, "类别": act.category, "组织单位": act.organiser,
                "地点": act.place, "时间": time, "招募人数": act.capacity, "已报名": int(n_signed or 0),
                "候补": int(n_wait or 0), "到场": int(n_came or 0), "确认时长（小时）": _hours(mins),
                "每小时积分": act.points_per_hour, "每人计时上限（分钟）": act.cap_minutes,
                "状态": STATUS_NAMES.get(act.status, act.status), "义田劳动": act.plot_id is not None,
            })
    return pd.DataFrame(rows, columns=["id", "日期", "活动名称", "类别", "组织单位", "地点", "时间", "招募人数", "已报名",
                                       "候补", "到场", "确认时长（小时）", "每小时积分", "每人计时上限（分钟）", "状态", "义田劳动"])


def signups(db, village_id: int, activity_id: int) -> pd.DataFrame:
    activity(db, village_id, activity_id)
    order = case((Signup.status == SignupStatus.SIGNED, 0), (Signup.status == SignupStatus.WAITLIST, 1), else_=2)
    stmt = (select(Signup, Resident.name, Household.door_no)
            .join(Resident, Resident.id == Signup.resident_id).join(Household, Household.id == Resident.household_id)
            .where(Signup.activity_id == activity_id).order_by(order, Signup.created_at, Signup.id))
    with db.read() as s:
        rows = [{"resident_id": su.resident_id, "姓名": name, "门牌号": door, "状态": SIGNUP_NAMES[su.status],
                 "报名时间": su.created_at} for su, name, door in s.execute(stmt)]
    return pd.DataFrame(rows, columns=["resident_id", "姓名", "门牌号", "状态", "报名时间"])


def attendance(db, village_id: int, activity_id: int) -> pd.DataFrame:
    """Who came, their times, credited minutes and the points they would bring."""
    act = activity(db, village_id, activity_id)
    stmt = (select(Attendance, Resident.name, Household.door_no)
            .join(Resident, Resident.id == Attendance.resident_id)
            .join(Household, Household.id == Attendance.household_id)
            .where(Attendance.activity_id == activity_id).order_by(Attendance.id))
    rows = []
    with db.read() as s:
        for att, name, door in s.execute(stmt):
            rows.append({
                "attendance_id": att.id, "resident_id": att.resident_id, "姓名": name, "门牌号": door,
                "签到": f"{att.check_in:%H:%M}" if att.check_in else "",
                "签退": f"{att.check_out:%H:%M}" if att.check_out else "",
                "在场（分钟）": int((att.check_out - att.check_in).total_seconds() // 60)
                if att.check_in and att.check_out else None,
                "时长（分钟）": att.minutes,
                "计入（分钟）": credited_minutes(att.minutes, act.cap_minutes) if att.minutes is not None else None,
                "折算积分": points_for(att.minutes, act.cap_minutes, act.points_per_hour)
                if att.minutes is not None else None,
                "已确认": att.confirmed_at is not None,
            })
    return pd.DataFrame(rows, columns=["attendance_id", "resident_id", "姓名", "门牌号", "签到", "签退", "在场（分钟）",
                                       "时长（分钟）", "计入（分钟）", "折算积分", "已确认"])


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


def totals(db, village_id: int, limit: int = 2000) -> pd.DataFrame:
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
        rows = [{"resident_id": rid, "姓名": name, "门牌号": door, "累计时长（小时）": _hours(mins),
                 "星级": "★" * level if level else "—", "星级数": level,
                 "最近升星日期": f"{reached:%Y-%m-%d}" if reached else ""}
                for rid, name, door, mins, level, reached in s.execute(stmt)]
    return pd.DataFrame(rows, columns=["resident_id", "姓名", "门牌号", "累计时长（小时）", "星级", "星级数", "最近升星日期"])


def leaderboard(db, village_id: int, limit: int = 20) -> pd.DataFrame | None:
    """Top volunteers by confirmed hours; None when the village switched rankings off."""
    with db.read() as s:
        if not settings.get(s, village_id, "rankings_enabled"):
            return None
        stmt = (select(Resident.name, Household.door_no, VolunteerTotal.minutes, VolunteerTotal.star_level)
                .join(Resident, and_(Resident.id == VolunteerTotal.resident_id, Resident.village_id == village_id))
                .join(Household, and_(Household.id == Resident.household_id, Household.village_id == village_id))
                .where(VolunteerTotal.village_id == village_id, VolunteerTotal.minutes > 0)
                .order_by(VolunteerTotal.minutes.desc(), Resident.id).limit(limit))
        rows = [{"名次": i, "姓名": name, "门牌号": door, "累计时长（小时）": _hours(mins),
                 "星级": "★" * level if level else "—"}
                for i, (name, door, mins, level) in enumerate(s.execute(stmt), start=1)]
    return pd.DataFrame(rows, columns=["名次", "姓名", "门牌号", "累计时长（小时）", "星级"])


def hours_by_person_month(db, village_id: int, year: int) -> pd.DataFrame:
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
        rows = [{"姓名": name, "门牌号": door, "月份": f"{year}-{int(m):02d}", "参加次数": n,
                 "服务时长（小时）": _hours(mins)} for name, door, m, n, mins in s.execute(stmt)]
    return pd.DataFrame(rows, columns=["姓名", "门牌号", "月份", "参加次数", "服务时长（小时）"])


def hours_by_activity(db, village_id: int, date_from: dt.date, date_to: dt.date) -> pd.DataFrame:
    stmt = (select(Activity.date, Activity.title, Activity.category, Activity.organiser,
                   func.count(Attendance.id).label("n"),
                   func.sum(Attendance.minutes).label("mins"))
            .join(Attendance, and_(Attendance.activity_id == Activity.id, Attendance.village_id == village_id))
            .where(Activity.village_id == village_id, Attendance.confirmed_at.is_not(None),
                   Activity.date >= date_from, Activity.date <= date_to)
            .group_by(Activity.id, Activity.date, Activity.title, Activity.category, Activity.organiser)
            .order_by(Activity.date, Activity.id))
    with db.read() as s:
        rows = [{"日期": d, "活动名称": t, "类别": c, "组织单位": o, "参加人数": n, "服务时长（小时）": _hours(mins)}
                for d, t, c, o, n, mins in s.execute(stmt)]
    return pd.DataFrame(rows, columns=["日期", "活动名称", "类别", "组织单位", "参加人数", "服务时长（小时）"])


def person_attendance(db, village_id: int, resident_id: int, limit: int = 200) -> pd.DataFrame:
    """One person's service records (newest first), for corrections and certificates."""
    stmt = (select(Attendance.id, Activity.date, Activity.title, Attendance.minutes, Attendance.confirmed_at)
            .join(Activity, Activity.id == Attendance.activity_id)
            .where(Attendance.village_id == village_id, Attendance.resident_id == resident_id)
            .order_by(Activity.date.desc(), Attendance.id.desc()).limit(limit))
    with db.read() as s:
        rows = [{"attendance_id": aid, "日期": d, "活动名称": t, "时长（分钟）": m, "已确认": c is not None}
                for aid, d, t, m, c in s.execute(stmt)]
    return pd.DataFrame(rows, columns=["attendance_id", "日期", "活动名称", "时长（分钟）", "已确认"])


def corrections(db, village_id: int, only_open: bool = False, limit: int = 500) -> pd.DataFrame:
    """Correction requests with their decisions (the history is never removed)."""
    stmt = (select(HoursCorrection, func.coalesce(Resident.name, OutsideVolunteer.name), Activity.title, Activity.date,
                   Activity.plot_id)
            .join(Attendance, Attendance.id == HoursCorrection.attendance_id)
            .outerjoin(Resident, Resident.id == Attendance.resident_id)
            .outerjoin(OutsideVolunteer, OutsideVolunteer.id == Attendance.outsider_id)
            .join(Activity, Activity.id == Attendance.activity_id)
            .where(Attendance.village_id == village_id)
            .order_by(HoursCorrection.id.desc()).limit(limit))
    if only_open:
        stmt = stmt.where(HoursCorrection.status == CorrectionStatus.OPEN)
    with db.read() as s:
        rows = [{"id": c.id, "姓名": name, "活动": f"{d:%Y-%m-%d} {title}", "原时长（分钟）": c.old_minutes,
                 "申请时长（分钟）": c.new_minutes, "申请人": c.requested_by, "原因": c.reason,
                 "申请时间": c.created_at, "状态": CORRECTION_NAMES[c.status], "处理意见": c.decision_note,
                 "处理时间": c.decided_at}
                for c, name, title, d, _plot in s.execute(stmt)]
    return pd.DataFrame(rows, columns=["id", "姓名", "活动", "原时长（分钟）", "申请时长（分钟）", "申请人", "原因",
                                       "申请时间", "状态", "处理意见", "处理时间"])


def star_events(db, village_id: int, limit: int = 500) -> pd.DataFrame:
    stmt = (select(StarLevelEvent, Resident.name, Household.door_no)
            .join(Resident, Resident.id == StarLevelEvent.resident_id)
            .join(Household, and_(Household.id == Resident.household_id, Household.village_id == village_id))
            .where(Resident.village_id == village_id)
            .order_by(StarLevelEvent.reached_on.desc(), StarLevelEvent.id.desc()).limit(limit))
    with db.read() as s:
        rows = [{"姓名": name, "门牌号": door, "星级": "★" * e.level, "达到日期": e.reached_on,
                 "当时累计（小时）": _hours(e.minutes_at)} for e, name, door in s.execute(stmt)]
    return pd.DataFrame(rows, columns=["姓名", "门牌号", "星级", "达到日期", "当时累计（小时）"])


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
