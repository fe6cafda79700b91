"""Service hours (服务时长): check-in and check-out by card scan, minutes the lead enters, the
confirmation that turns them into star levels and points, and correction requests.

Activities, sign-ups and the pure time rules are in :mod:`core.volunteering.volunteer`; this module
writes attendance rows and what follows from them.

Invariants:
- ``volunteer_total.minutes`` == sum of confirmed attendance minutes of that resident,
  changed in the same transaction as the confirmation or accepted correction;
- a star level is recorded once per resident and level (unique constraint), dated with the
  day of the activity whose confirmation crossed the threshold;
- hours become points at most once per attendance: the ledger cause
  ("attendance", id) or the proposal's unique ``source_ref`` "attendance:<id>" refuses a second.
"""

from __future__ import annotations

import datetime as dt
from dataclasses import dataclass

from sqlalchemy import select
from sqlalchemy.orm import Session

from core.platform import settings, validate
from core.platform.access import Actor, require
from core.platform.audit import record
from core.platform.errors import AlreadyDone, InvalidInput, NotFound
from core.volunteering.volunteer import (
    CORRECTION_NAMES,
    MAX_MINUTES,
    REQUEST_ROLES,
    STATUS_NAMES,
    _managed_activity,
    _resident,
    check_minutes,
    counted_minutes,
    credited_minutes,
    points_for,
    star_level,
    time_rule,
)
from db.engine import upsert_insert
from db.enums import ActivityStatus, CorrectionStatus, ProposalStatus, SignupStatus
from db.models import (
    Activity,
    Attendance,
    HoursCorrection,
    Household,
    LedgerEntry,
    OutsideVolunteer,
    Proposal,
    Resident,
    RuleItem,
    Signup,
    StarLevelEvent,
    VolunteerTotal,
    now,
)

# ---------------------------------------------------------------- check-in / check-out


@dataclass(frozen=True)
class ScanResult:
    """What a scan did: ``status`` is 'in', 'out', or 'choose' (several members: nothing
    written, the page asks which one and calls check_in/check_out with the resident)."""

    status: str
    household_id: int
    door_no: str
    message: str
    resident_id: int | None = None
    members: tuple[tuple[int, str], ...] = ()
    minutes: int | None = None


def _attendance(s: Session, activity_id: int, resident_id: int, lock: bool = True) -> Attendance | None:
    stmt = select(Attendance).where(Attendance.activity_id == activity_id, Attendance.resident_id == resident_id)
    if lock:
        stmt = stmt.with_for_update()
    return s.execute(stmt).scalar_one_or_none()


def _check_in(s: Session, actor: Actor, act: Activity, person: Resident, at: dt.datetime) -> Attendance:
    if act.status in (ActivityStatus.CANCELLED, ActivityStatus.DONE):
        raise InvalidInput(f"活动{STATUS_NAMES[act.status]}，不能签到。")
    att = _attendance(s, act.id, person.id)
    if att is not None and att.check_in is not None:
        raise AlreadyDone(f"{person.name} 已在 {att.check_in:%H:%M} 签到，不要重复签到。")
    if att is not None and att.confirmed_at is not None:
        raise AlreadyDone(f"{person.name} 的时长已确认，不能再签到。")
    if att is None:
        att = Attendance(village_id=act.village_id, activity_id=act.id, resident_id=person.id,
                         household_id=person.household_id)
        s.add(att)
    att.check_in = at
    s.flush()
    record(s, actor, "attendance.check_in", "attendance", att.id, {"activity_id": act.id, "resident_id": person.id},
           village_id=act.village_id)
    return att


def _check_out(s: Session, actor: Actor, act: Activity, person: Resident, at: dt.datetime) -> Attendance:
    if act.status == ActivityStatus.CANCELLED:
        raise InvalidInput("活动已取消，不能签退。")
    att = _attendance(s, act.id, person.id)
    if att is None or att.check_in is None:
        raise InvalidInput(f"{person.name} 还没有签到，不能签退。请先签到，或由负责人手工录入时长。")
    if att.check_out is not None:
        raise AlreadyDone(f"{person.name} 已在 {att.check_out:%H:%M} 签退，不要重复签退。")
    if att.confirmed_at is not None:
        raise AlreadyDone(f"{person.name} 的时长已确认，不能再签退。")
    if at < att.check_in:
        raise InvalidInput("签退时间早于签到时间，请核对。")
    on_site = int((at - att.check_in).total_seconds() // 60)
    if on_site > MAX_MINUTES:
        raise InvalidInput("签到到签退超过 24 小时，不能自动计时，请由负责人手工录入实际服务时长。")
    minutes = counted_minutes(on_site, act.travel_minutes, act.fixed_minutes)
    att.check_out = at
    att.minutes = minutes
    s.flush()
    record(s, actor, "attendance.check_out", "attendance", att.id,
           {"minutes": minutes, "on_site": on_site, "travel": act.travel_minutes, "fixed": act.fixed_minutes},
           village_id=act.village_id)
    return att


def check_in(db, actor: Actor, activity_id: int, resident_id: int, at: dt.datetime | None = None) -> int:
    """Check one resident in (after choosing among a household's members). Returns attendance id."""
    with db.write() as s:
        act = _managed_activity(s, actor, activity_id)
        return _check_in(s, actor, act, _resident(s, resident_id, act.village_id), at or now()).id


def check_out(db, actor: Actor, activity_id: int, resident_id: int, at: dt.datetime | None = None) -> int:
    """Check one resident out; minutes = whole minutes since check-in. Returns minutes."""
    with db.write() as s:
        act = _managed_activity(s, actor, activity_id)
        return _check_out(s, actor, act, _resident(s, resident_id, act.village_id), at or now()).minutes


def _household_members(s: Session, household_id: int) -> list[Resident]:
    return list(s.execute(select(Resident).where(Resident.household_id == household_id, Resident.active)
                          .order_by(Resident.id)).scalars())


def _scan(db, actor: Actor, activity_id: int, scanned: str, resident_id: int | None, at, mode: str) -> ScanResult:
    from core.village.cards import resolve

    with db.write() as s:
        act = _managed_activity(s, actor, activity_id)
        _card, hh = resolve(s, act.village_id, scanned)
        members = _household_members(s, hh.id)
        if resident_id is not None:
            chosen = [m for m in members if m.id == resident_id]
            if not chosen:
                raise NotFound("这位村民不在该户。")
            person = chosen[0]
        else:
            atts = {a.resident_id: a for a in s.execute(select(Attendance).where(
                Attendance.activity_id == act.id, Attendance.household_id == hh.id)).scalars()}
            if mode == "in":
                candidates = [m for m in members if m.id not in atts or atts[m.id].check_in is None]
                if not candidates:
                    if not members:
                        raise NotFound("该户没有在册村民。")
                    names = "、".join(m.name for m in members)
                    raise AlreadyDone(f"该户成员（{names}）都已签到，不要重复扫码。")
                signed = set(s.execute(select(Signup.resident_id).where(
                    Signup.activity_id == act.id, Signup.status == SignupStatus.SIGNED,
                    Signup.resident_id.in_([m.id for m in candidates]))).scalars())
                pick = [m for m in candidates if m.id in signed]
                if len(pick) != 1:
                    pick = candidates
            else:
                pick = [m for m in members if m.id in atts and atts[m.id].check_in is not None
                        and atts[m.id].check_out is None]
                if not pick:
                    raise InvalidInput(f"{hh.door_no} 户没有已签到、未签退的人：请先签到。")
            if len(pick) > 1:
                return ScanResult("choose", hh.id, hh.door_no, "该户有多名成员，请选择是哪一位。",
                                  members=tuple((m.id, m.name) for m in pick))
            person = pick[0]
        if mode == "in":
            att = _check_in(s, actor, act, person, at or now())
            return ScanResult("in", hh.id, hh.door_no, f"{person.name} 签到成功（{att.check_in:%H:%M}）。",
                              resident_id=person.id)
        att = _check_out(s, actor, act, person, at or now())
        return ScanResult("out", hh.id, hh.door_no,
                          f"{person.name} 签退成功，计入 {att.minutes // 60} 小时 {att.minutes % 60} 分钟"
                          f"（{time_rule(act.travel_minutes, act.fixed_minutes)}）。",
                          resident_id=person.id, minutes=att.minutes)


def check_in_by_card(db, actor: Actor, activity_id: int, scanned: str, resident_id: int | None = None,
                     at: dt.datetime | None = None) -> ScanResult:
    """Scan a household card to check in. With one member (or one signed-up member) it
    checks that person in; with several it returns status 'choose' and writes nothing."""
    return _scan(db, actor, activity_id, scanned, resident_id, at, "in")


def check_out_by_card(db, actor: Actor, activity_id: int, scanned: str, resident_id: int | None = None,
                      at: dt.datetime | None = None) -> ScanResult:
    """Scan a household card to check out the member who is checked in."""
    return _scan(db, actor, activity_id, scanned, resident_id, at, "out")


# ---------------------------------------------------------------- hours by hand, confirmation


def set_minutes(db, actor: Actor, activity_id: int, resident_id: int, minutes: int, note: str = "") -> int:
    """The lead enters or adjusts a person's service time (travel excluded); creates the
    attendance row if missing. Confirmed time changes only through a correction."""
    minutes = check_minutes(minutes)
    note = validate.text(note, "备注", 500)
    with db.write() as s:
        act = _managed_activity(s, actor, activity_id)
        if act.status == ActivityStatus.CANCELLED:
            raise InvalidInput("活动已取消，不能录入时长。")
        person = _resident(s, resident_id, act.village_id)
        att = _attendance(s, act.id, person.id)
        if att is not None and att.confirmed_at is not None:
            raise InvalidInput(f"{person.name} 的时长已确认，如需更改请提交更正申请。")
        old = att.minutes if att else None
        if att is None:
            att = Attendance(village_id=act.village_id, activity_id=act.id, resident_id=person.id,
                             household_id=person.household_id)
            s.add(att)
        att.minutes = minutes
        s.flush()
        record(s, actor, "attendance.set_minutes", "attendance", att.id, {"old": old, "new": minutes}, note,
               village_id=act.village_id)
        return att.id


def _add_to_total(s: Session, resident: Resident, delta: int, day: dt.date, thresholds: list[int]) -> list[int]:
    """Change the resident's confirmed total; record newly reached star levels once. Returns new levels."""
    # Create the row if missing without racing another transaction doing the same (FOR UPDATE
    # on a row that does not exist yet locks nothing), then lock it.
    insert = upsert_insert(s)
    s.execute(insert(VolunteerTotal.__table__).values(resident_id=resident.id, village_id=resident.village_id,
                                                      minutes=0, star_level=0)
              .on_conflict_do_nothing(index_elements=["resident_id"]))
    total = s.execute(select(VolunteerTotal).where(VolunteerTotal.resident_id == resident.id)
                      .with_for_update().execution_options(populate_existing=True)).scalar_one()
    total.minutes = (total.minutes or 0) + delta
    level = star_level(total.minutes, thresholds)
    total.star_level = level
    reached = set(s.execute(select(StarLevelEvent.level).where(StarLevelEvent.resident_id == resident.id)).scalars())
    new = [lv for lv in range(1, level + 1) if lv not in reached]
    for lv in new:
        s.add(StarLevelEvent(resident_id=resident.id, level=lv, reached_on=day, minutes_at=total.minutes))
    s.flush()
    return new


def _volunteer_rule(s: Session, village_id: int) -> RuleItem | None:
    return s.execute(select(RuleItem).where(RuleItem.village_id == village_id, RuleItem.code == "ZY01",
                                            RuleItem.active).order_by(RuleItem.version.desc()).limit(1)
                     ).scalar_one_or_none()


def _submit_proposal(s: Session, actor: Actor, *, household_id: int, resident_id: int, rule_item_id: int,
                     act_date: dt.date, points: int, note: str, source_ref: str) -> int:
    """Into the review queue through the review area's submit_in when it exists."""
    try:
        from core.committee.proposals import submit_in
    except ImportError:
        submit_in = None
    if submit_in is not None:
        return submit_in(s, actor, household_id=household_id, rule_item_id=rule_item_id, act_date=act_date,
                         points=points, resident_id=resident_id, note=note, source="volunteer",
                         source_ref=source_ref)
    p = Proposal(village_id=s.get(Household, household_id).village_id, household_id=household_id,
                 resident_id=resident_id, rule_item_id=rule_item_id, points=points, act_date=act_date, note=note,
                 source="volunteer", source_ref=source_ref, submitted_by=actor.user_id)
    s.add(p)
    s.flush()
    return p.id


def convert(s: Session, actor: Actor, act: Activity, att: Attendance, person: Resident) -> str:
    """Turn one confirmed attendance into points once: 'posted', 'proposed', 'zero' or 'exists'."""
    cause = str(att.id)
    ref = f"attendance:{att.id}"
    if s.execute(select(LedgerEntry.id).where(LedgerEntry.source_type == "attendance",
                                              LedgerEntry.source_id == cause)).scalar() is not None:
        return "exists"
    if s.execute(select(Proposal.id).where(Proposal.source_ref == ref)).scalar() is not None:
        return "exists"
    points = points_for(att.minutes or 0, act.cap_minutes, act.points_per_hour)
    if points <= 0:
        return "zero"
    credited = credited_minutes(att.minutes or 0, act.cap_minutes)
    note = f"志愿服务：{act.title}（{act.date:%Y-%m-%d}），计 {credited} 分钟 × 每小时 {act.points_per_hour} 分"
    rule = _volunteer_rule(s, act.village_id)
    if settings.get(s, act.village_id, "volunteer_direct_post") or rule is None:
        # Without a ZY01 rule there is nothing to review against: post directly.
        from core.points.posting import post

        post(s, household_id=att.household_id, kind="volunteer", points=points, source_type="attendance",
             source_id=cause, occurred_on=act.date, actor=actor, resident_id=person.id,
             rule_item_id=rule.id if rule else None, category_id=rule.category_id if rule else None, reason=note)
        return "posted"
    _submit_proposal(s, actor, household_id=att.household_id, resident_id=person.id, rule_item_id=rule.id,
                     act_date=act.date, points=points, note=note, source_ref=ref)
    return "proposed"


def confirm(db, actor: Actor, activity_id: int, resident_ids: list[int] | None = None) -> int:
    """Confirm recorded hours (all, or those of ``resident_ids``): updates totals, star
    levels and converts hours to points. Already confirmed rows are skipped, so running
    it again changes nothing. Returns how many were confirmed now."""
    with db.write() as s:
        act = _managed_activity(s, actor, activity_id, lock=True)
        if act.status == ActivityStatus.CANCELLED:
            raise InvalidInput("活动已取消，不能确认时长。")
        stmt = (select(Attendance).where(Attendance.activity_id == act.id, Attendance.confirmed_at.is_(None),
                                         Attendance.minutes.is_not(None)).order_by(Attendance.id).with_for_update())
        if resident_ids is not None:
            stmt = stmt.where(Attendance.resident_id.in_(list(resident_ids)))
        rows = list(s.execute(stmt).scalars())
        thresholds = settings.get(s, act.village_id, "star_thresholds_hours")
        stamp = now()
        outcome: dict[str, int] = {}
        for att in rows:
            att.confirmed_at, att.confirmed_by = stamp, actor.user_id
            if att.resident_id is None:  # an outside volunteer: hours for their unit, no points, no stars
                outcome["outsider"] = outcome.get("outsider", 0) + 1
                continue
            person = s.get(Resident, att.resident_id)
            _add_to_total(s, person, att.minutes, act.date, thresholds)
            result = convert(s, actor, act, att, person)
            outcome[result] = outcome.get(result, 0) + 1
        if rows:
            record(s, actor, "attendance.confirm", "activity", act.id,
                   {"attendances": [a.id for a in rows], "conversion": outcome}, village_id=act.village_id)
        return len(rows)


# ---------------------------------------------------------------- corrections


def request_correction(db, actor: Actor, attendance_id: int, new_minutes: int, reason: str,
                       by_volunteer: bool = True) -> int:
    """A volunteer (through staff) or a staff member asks to change recorded time."""
    new_minutes = check_minutes(new_minutes)
    reason = validate.text(reason, "更正原因", 500, required=True)
    with db.write() as s:
        att = s.get(Attendance, attendance_id) if isinstance(attendance_id, int) else None
        if att is None:
            raise NotFound("找不到这条服务记录。")
        act = s.get(Activity, att.activity_id)
        require(actor, (*REQUEST_ROLES, *(("field_lead",) if act.plot_id else ())), att.village_id)
        if att.minutes == new_minutes:
            raise InvalidInput("新时长与现有记录相同，无需更正。")
        pending = s.execute(select(HoursCorrection.id).where(HoursCorrection.attendance_id == att.id,
                                                             HoursCorrection.status == CorrectionStatus.OPEN)).scalar()
        if pending is not None:
            raise AlreadyDone("这条记录已有待处理的更正申请，请先处理。")
        person = s.get(Resident, att.resident_id) if att.resident_id is not None else None
        if person is None:  # an outside volunteer
            person = s.get(OutsideVolunteer, att.outsider_id)
        who = f"志愿者本人：{person.name}" if by_volunteer else f"工作人员：{actor.name}"
        c = HoursCorrection(attendance_id=att.id, requested_by=who[:40], reason=reason, old_minutes=att.minutes,
                            new_minutes=new_minutes, status=CorrectionStatus.OPEN)
        s.add(c)
        s.flush()
        record(s, actor, "correction.request", "hours_correction", c.id,
               {"attendance_id": att.id, "old": att.minutes, "new": new_minutes}, reason, village_id=att.village_id)
        return c.id


def decide_correction(db, actor: Actor, correction_id: int, accept: bool, note: str = "") -> str:
    """The lead accepts (time changes; totals, stars and points follow) or refuses (a note
    is required). Both the request and the decision stay in hours_correction."""
    note = validate.text(note, "处理意见", 500)
    with db.write() as s:
        c = s.execute(select(HoursCorrection).where(HoursCorrection.id == correction_id).with_for_update()
                      ).scalar_one_or_none() if isinstance(correction_id, int) else None
        if c is None:
            raise NotFound("找不到这条更正申请。")
        att = _attendance_by_id(s, c.attendance_id)
        act = _managed_activity(s, actor, att.activity_id)
        if c.status != CorrectionStatus.OPEN:
            raise AlreadyDone(f"这条更正申请已{CORRECTION_NAMES[c.status]}。")
        if not accept and not note:
            raise InvalidInput("不采纳更正时必须说明理由。")
        c.status = CorrectionStatus.ACCEPTED if accept else CorrectionStatus.REFUSED
        c.decided_by, c.decided_at, c.decision_note = actor.user_id, now(), note
        detail: dict = {"attendance_id": att.id, "old": att.minutes, "new": c.new_minutes}
        if accept:
            detail["points"] = _apply_correction(s, actor, act, att, c)
        record(s, actor, "correction.decide", "hours_correction", c.id, {"status": c.status, **detail}, note,
               village_id=act.village_id)
        return c.status


def _attendance_by_id(s: Session, attendance_id: int) -> Attendance:
    att = s.execute(select(Attendance).where(Attendance.id == attendance_id).with_for_update()).scalar_one()
    return att


def _apply_correction(s: Session, actor: Actor, act: Activity, att: Attendance, c: HoursCorrection) -> str:
    old = att.minutes or 0
    att.minutes = c.new_minutes
    if att.confirmed_at is None:
        return "unconfirmed"  # points follow at confirmation
    if att.resident_id is None:
        return "outsider: no points"  # an outside volunteer's hours count for their unit only
    person = s.get(Resident, att.resident_id)
    thresholds = settings.get(s, act.village_id, "star_thresholds_hours")
    _add_to_total(s, person, c.new_minutes - old, act.date, thresholds)
    diff = (points_for(c.new_minutes, act.cap_minutes, act.points_per_hour)
            - points_for(old, act.cap_minutes, act.points_per_hour))
    if diff == 0:
        return "no change"
    ref = f"attendance:{att.id}"
    proposal = s.execute(select(Proposal).where(Proposal.source_ref == ref).with_for_update()).scalar_one_or_none()
    if proposal is not None and proposal.status in (ProposalStatus.REJECTED, ProposalStatus.OVERTURNED):
        return "no points were granted"
    if proposal is not None and proposal.status in (ProposalStatus.SUBMITTED, ProposalStatus.DEFERRED):
        proposal.points = points_for(c.new_minutes, act.cap_minutes, act.points_per_hour)
        if proposal.points <= 0:
            proposal.status = ProposalStatus.REJECTED
            proposal.decision_reason = "志愿时长更正后不足以折算积分"
        return f"proposal {proposal.id} → {proposal.points}"
    posted = s.execute(select(LedgerEntry.id).where(LedgerEntry.source_type == "attendance",
                                                    LedgerEntry.source_id == str(att.id))).scalar()
    if proposal is None and posted is None:
        return convert(s, actor, act, att, person)  # it gave zero before; may give points now
    from core.points.posting import post

    reason = f"志愿时长更正（{act.title}，{old}→{c.new_minutes} 分钟）"
    if diff > 0:
        rule = _volunteer_rule(s, act.village_id)
        if proposal is not None and not settings.get(s, act.village_id, "volunteer_direct_post") and rule:
            _submit_proposal(s, actor, household_id=att.household_id, resident_id=person.id,
                             rule_item_id=rule.id, act_date=act.date, points=diff, note=reason,
                             source_ref=f"hours_correction:{c.id}")
            return f"proposed +{diff}"
        post(s, household_id=att.household_id, kind="volunteer", points=diff, source_type="hours_correction",
             source_id=c.id, occurred_on=act.date, actor=actor, resident_id=person.id, reason=reason)
        return f"posted +{diff}"
    # Fewer points than were granted: a reducing adjustment (never overdraws the balance).
    post(s, household_id=att.household_id, kind="adjustment", points=diff, source_type="hours_correction",
         source_id=c.id, occurred_on=act.date, actor=actor, resident_id=person.id, reason=reason, allow_zero=True)
    return f"adjusted {diff}"
