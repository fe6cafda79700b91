"""Review sessions (评议会): opening with a quorum of the members present, late arrivals and
guests, departures, closing; the cadence's next due day. Deciding is core.committee.review.

Invariants:
- at most one open session per village; closing freezes its decisions (later changes go
  through the ledger's reversal path only);
- attendance is what was recorded, nothing by default: nobody is present until named; rows are
  only inserted — a late arrival is a new row, leaving or a mistaken entry is a departure row.
"""

from __future__ import annotations

import datetime as dt

from sqlalchemy import func, select
from sqlalchemy.orm import Session

from core.committee import attendance
from core.committee.attendance import DEPARTURE_NAMES, GUEST_CAPACITIES, Guest
from core.platform import settings
from core.platform.access import Actor, require
from core.platform.audit import record
from core.platform.errors import AlreadyDone, InvalidInput, NotFound
from db import clock
from db.models import Decision, Resident, ReviewSession, SessionAttendee, SessionDeparture, StaffUser, Vote

REVIEW_ROLES = ("committee", "admin")
CADENCE_DAYS = {"daily": 1, "weekly": 7, "monthly": 30}


def quorum_for(members_total: int, setting_value: int) -> int:
    """Attendees needed: the setting if positive, else a majority of the members."""
    if setting_value and setting_value > 0:
        return setting_value
    return members_total // 2 + 1


def next_session_due(cadence: str, last_held: dt.date | None, today: dt.date) -> dt.date:
    """When the next session is due under the cadence setting."""
    if last_held is None:
        return today
    if cadence == "monthly":
        return (last_held.replace(day=1) + dt.timedelta(days=32)).replace(day=1)
    return last_held + dt.timedelta(days=CADENCE_DAYS.get(cadence, 1))


def committee_members(s: Session, village_id: int) -> list[StaffUser]:
    users = s.execute(select(StaffUser).where(StaffUser.village_id == village_id, StaffUser.active)
                      .order_by(StaffUser.id)).scalars()
    return [u for u in users if "committee" in (u.roles or "").split(",")]


def open_session(db, actor: Actor, village_id: int, *, held_on: dt.date, attendee_ids: list[int],
                 guests: list[Guest] | None = None, note: str = "") -> int:
    """Open a session with the committee members recorded as present (and any guests); refuses
    without a quorum. Nobody is taken as present who was not named."""
    with db.write() as s:
        return open_session_in(s, actor, village_id, held_on=held_on, attendee_ids=attendee_ids, guests=guests,
                               note=note)


def open_session_in(s: Session, actor: Actor, village_id: int, *, held_on: dt.date, attendee_ids: list[int],
                    guests: list[Guest] | None = None, note: str = "", at: dt.datetime | None = None) -> int:
    """:func:`open_session` in the caller's transaction (the demo builds history this way, ``at``
    being when the session opened and those named arrived)."""
    if not isinstance(held_on, dt.date):
        raise InvalidInput("请选择评议会日期。")
    if held_on > dt.date.today():
        raise InvalidInput("评议会日期不能晚于今天。")
    require(actor, REVIEW_ROLES, village_id)
    existing = s.execute(select(ReviewSession.id).where(ReviewSession.village_id == village_id,
                                                        ReviewSession.closed_at.is_(None))).scalar()
    if existing is not None:
        raise AlreadyDone("已有一场评议会尚未结束，请先结束它。")
    members = {u.id: u for u in committee_members(s, village_id)}
    present = sorted(set(attendee_ids or []))
    if any(uid not in members for uid in present):
        raise InvalidInput("出席人员必须是本村评议小组成员。")
    need = quorum_for(len(members), settings.get(s, village_id, "quorum"))
    if len(present) < need:
        raise InvalidInput(f"未达到法定人数：评议小组共 {len(members)} 人，至少需要 {need} 人出席，"
                           f"现只登记了 {len(present)} 人。请勾选实际出席的成员。")
    at = at or clock.now()
    rs = ReviewSession(village_id=village_id, held_on=held_on, opened_by=actor.user_id, opened_at=at,
                       quorum_required=need, members_total=len(members), note=(note or "").strip()[:500])
    s.add(rs)
    s.flush()
    for uid in present:
        _add_member(s, actor, rs, members[uid], at)
    named = [s.get(SessionAttendee, _add_guest(s, actor, rs, g, at)).name for g in guests or []]
    record(s, actor, "review.open", "review_session", rs.id, {"attendees": present, "guests": named, "quorum": need},
           village_id=village_id)
    return rs.id


def session_for_update(s: Session, actor: Actor, session_id: int) -> ReviewSession:
    rs = s.execute(select(ReviewSession).where(ReviewSession.id == session_id).with_for_update()
                   ).scalar_one_or_none() if isinstance(session_id, int) else None
    if rs is None:
        raise NotFound("找不到该评议会。")
    require(actor, REVIEW_ROLES, rs.village_id)
    if rs.closed_at is not None:
        raise AlreadyDone("该评议会已经结束，决定已冻结；如需更正请走冲正流程。")
    return rs


def _here(s: Session, rs: ReviewSession, user_id: int | None = None, name: str | None = None) -> None:
    """Refuses recording someone already present (a member by account, a guest by name)."""
    for a in attendance.present(s, rs.id):
        if (user_id is not None and a.user_id == user_id) or (name is not None and a.name == name):
            raise AlreadyDone(f"{a.name}已在出席名单中。")


def _add_member(s: Session, actor: Actor, rs: ReviewSession, user: StaffUser, at: dt.datetime | None) -> int:
    _here(s, rs, user_id=user.id)
    row = SessionAttendee(session_id=rs.id, user_id=user.id, name=user.display_name[:40], capacity="committee",
                          voting=True, arrived_at=at or clock.now(),
                          recorded_by=actor.user_id)
    s.add(row)
    s.flush()
    return row.id


def _add_guest(s: Session, actor: Actor, rs: ReviewSession, guest: Guest, at: dt.datetime | None) -> int:
    if not isinstance(guest, Guest):
        raise InvalidInput("请填写列席人员的姓名和身份。")
    name = (guest.name or "").strip() if isinstance(guest.name, str) else ""
    if guest.resident_id is not None:
        res = s.get(Resident, guest.resident_id) if isinstance(guest.resident_id, int) else None
        if res is None or res.village_id != rs.village_id:
            raise InvalidInput("找不到该村民。")
        name = name or res.name
    if not name:
        raise InvalidInput("请填写列席人员的姓名。")
    if len(name) > 40:
        raise InvalidInput("姓名不能超过 40 个字。")
    if guest.capacity not in GUEST_CAPACITIES:
        raise InvalidInput("请选择列席人员的身份：村民代表、党员代表、村民或其他列席人员。")
    _here(s, rs, name=name)
    row = SessionAttendee(session_id=rs.id, resident_id=guest.resident_id, name=name, capacity=guest.capacity,
                          voting=bool(settings.get(s, rs.village_id, "guests_vote")),
                          arrived_at=at or clock.now(), recorded_by=actor.user_id)
    s.add(row)
    s.flush()
    return row.id


def add_member(db, actor: Actor, session_id: int, user_id: int) -> int:
    """Record a committee member as present in an open session (a late arrival, or back after
    leaving: a new attendee row either way). Returns the attendee id."""
    with db.write() as s:
        return add_member_in(s, actor, session_id, user_id)


def add_member_in(s: Session, actor: Actor, session_id: int, user_id: int, at: dt.datetime | None = None) -> int:
    """:func:`add_member` in the caller's transaction."""
    rs = session_for_update(s, actor, session_id)
    members = {u.id: u for u in committee_members(s, rs.village_id)}
    if not isinstance(user_id, int) or user_id not in members:
        raise InvalidInput("出席人员必须是本村评议小组成员。")
    aid = _add_member(s, actor, rs, members[user_id], at)
    record(s, actor, "review.attend", "review_session", rs.id,
           {"attendee_id": aid, "name": members[user_id].display_name}, village_id=rs.village_id)
    return aid


def add_guest(db, actor: Actor, session_id: int, *, name: str, capacity: str, resident_id: int | None = None) -> int:
    """Record a guest as present (村民代表, 党员代表, a resident …): a name and a capacity,
    optionally the resident it is. Whether the guest votes follows setting ``guests_vote`` now."""
    with db.write() as s:
        return add_guest_in(s, actor, session_id, Guest(name, capacity, resident_id))


def add_guest_in(s: Session, actor: Actor, session_id: int, guest: Guest, at: dt.datetime | None = None) -> int:
    """:func:`add_guest` in the caller's transaction."""
    rs = session_for_update(s, actor, session_id)
    aid = _add_guest(s, actor, rs, guest, at)
    row = s.get(SessionAttendee, aid)
    record(s, actor, "review.attend", "review_session", rs.id,
           {"attendee_id": aid, "name": row.name, "attendee_capacity": row.capacity, "voting": row.voting},
           village_id=rs.village_id)
    return aid


def record_departure(db, actor: Actor, session_id: int, attendee_id: int, kind: str = "left") -> int:
    """An attendee left (``left``, 中途离席) or was recorded by mistake (``mistake``, 登记有误,
    only while they have not voted): from now on not present. Recorded, never deleted.
    Returns the attendee id."""
    with db.write() as s:
        return record_departure_in(s, actor, session_id, attendee_id, kind)


def record_departure_in(s: Session, actor: Actor, session_id: int, attendee_id: int, kind: str = "left",
                        at: dt.datetime | None = None) -> int:
    """:func:`record_departure` in the caller's transaction."""
    if kind not in DEPARTURE_NAMES:
        raise InvalidInput("请选择中途离席或登记有误。")
    rs = session_for_update(s, actor, session_id)
    who = next((a for a in attendance.attendance(s, rs.id) if a.id == attendee_id), None)
    if who is None:
        raise NotFound("找不到该出席人员。")
    if not who.present:
        raise AlreadyDone(f"{who.name}已登记为{DEPARTURE_NAMES[who.left_kind]}。")
    if kind == "mistake" and s.execute(select(Vote.decision_id).where(Vote.attendee_id == who.id)).first():
        raise InvalidInput(f"{who.name}已参与表决，不能作为登记有误撤销；如已离开，请登记为中途离席。")
    s.add(SessionDeparture(attendee_id=who.id, kind=kind, at=at or clock.now(),
                           recorded_by=actor.user_id))
    record(s, actor, "review.depart", "review_session", rs.id,
           {"attendee_id": who.id, "name": who.name, "departure": kind}, village_id=rs.village_id)
    return who.id


def close_session(db, actor: Actor, session_id: int) -> None:
    """Close the session: its decisions are final from now on."""
    with db.write() as s:
        close_session_in(s, actor, session_id)


def close_session_in(s: Session, actor: Actor, session_id: int, at: dt.datetime | None = None) -> None:
    rs = session_for_update(s, actor, session_id)
    rs.closed_at = at or clock.now()
    n = s.execute(select(func.count()).select_from(Decision).where(Decision.session_id == rs.id)).scalar_one()
    record(s, actor, "review.close", "review_session", rs.id, {"decisions": n}, village_id=rs.village_id)


def open_session_of(s: Session, village_id: int) -> ReviewSession | None:
    return s.execute(select(ReviewSession).where(ReviewSession.village_id == village_id,
                                                 ReviewSession.closed_at.is_(None))
                     .order_by(ReviewSession.id.desc()).limit(1)).scalar_one_or_none()


def sessions(s: Session, village_id: int, limit: int = 60) -> list[dict]:
    counts = (select(Decision.session_id, func.count().label("n")).group_by(Decision.session_id).subquery())
    rows = s.execute(select(ReviewSession, func.coalesce(counts.c.n, 0))
                     .outerjoin(counts, counts.c.session_id == ReviewSession.id)
                     .where(ReviewSession.village_id == village_id)
                     .order_by(ReviewSession.held_on.desc(), ReviewSession.id.desc()).limit(limit)).all()
    return [{"id": rs.id, "held_on": rs.held_on, "closed": rs.closed_at is not None, "decisions": n,
             "label": f"{rs.held_on:%Y-%m-%d} 评议会（{n} 项{'' if rs.closed_at else '，进行中'}）"}
            for rs, n in rows]
