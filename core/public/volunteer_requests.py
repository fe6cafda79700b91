"""Residents' own correction requests for volunteer time (志愿时长更正申请), from the card link.

The card stands in for the login, as for self-reports and sign-ups (core.public.resident,
core.volunteering.volunteer.resident_sign_up): a request may concern only a member of the card's household,
for an activity of the card's village. It enters the same queue as the requests staff record
(``hours_correction``, status open), which the activity's organiser accepts — time, totals, stars
and points follow — or refuses with a reason (core.volunteering.service_hours.decide_correction). The resident then
sees the decision and the reason on the card page (:func:`service_records`).

For the resident page (server-rendered, another module):

- ``request_correction(db, card_token, attendance_id, minutes, reason)`` → the request's id;
  raises a DomainError with a Chinese message (unknown card, another household's record, the same
  time as recorded, one request already open for the record, a reason missing or too long);
- ``service_records(db, card_token)`` → the household's service records, newest first, each with
  its counting rule, the time counted, whether the organiser confirmed it and its requests with
  their status and the organiser's reason.

Pass ``client`` to request_correction to count a wrong card against the client's guessing limit,
as the other card writes do (core.public.resident).
"""

from __future__ import annotations

import datetime as dt
from dataclasses import dataclass

from sqlalchemy import bindparam, select

from core.platform import validate
from core.platform.audit import record
from core.platform.errors import AlreadyDone, InvalidInput, NotFound
from core.volunteering.volunteer import CORRECTION_NAMES, VIA_CARD, card_holder, check_minutes, time_rule
from db.enums import CorrectionStatus
from db.models import Activity, Attendance, Card, HoursCorrection, Resident

REQUESTER_PREFIX = "村民本人（积分卡）："


def _card(s, card_token: str):
    """The active card and its household, whichever village (the token is unique)."""
    from core.village.cards import extract_token, resolve

    token = extract_token(card_token or "")
    village_id = s.execute(select(Card.village_id).where(Card.token == token)).scalar() if token else None
    if village_id is None:
        raise NotFound("积分卡无效，请核对卡号或联系村委会。")
    return resolve(s, village_id, token)


def request_correction(db, card_token: str, attendance_id: int, minutes: int, reason: str, *,
                       client: str | None = None) -> int:
    """A resident asks, through the household card, for a service record's time to be changed to
    ``minutes`` (e.g. forgot to check out), giving a reason; returns the request's id. ``client``
    (the caller's address, core.platform.clients): the card is checked under the page's guessing limit."""
    minutes = check_minutes(minutes)
    reason = validate.text(reason, "更正原因", 500, required=True)
    if client is not None:
        from core.public.resident import _card_checked

        card_token = _card_checked(db, card_token, client)
    with db.write() as s:
        card, household = _card(s, card_token)
        valid = isinstance(attendance_id, int) and not isinstance(attendance_id, bool)
        att = s.execute(select(Attendance).where(Attendance.id == attendance_id).with_for_update()
                        ).scalar_one_or_none() if valid else None
        if att is None or att.household_id != household.id:
            raise NotFound("找不到本户的这条志愿服务记录。")
        if att.minutes == minutes:
            raise InvalidInput("申请的时长与现有记录相同，无需更正。")
        pending = s.execute(select(HoursCorrection.id).where(HoursCorrection.attendance_id == att.id,
                                                             HoursCorrection.status == CorrectionStatus.OPEN)).scalar()
        if pending is not None:
            raise AlreadyDone("这条记录已有待处理的更正申请，请等待负责人处理。")
        person = s.get(Resident, att.resident_id)
        c = HoursCorrection(attendance_id=att.id, requested_by=f"{REQUESTER_PREFIX}{person.name}"[:40],
                            reason=reason, old_minutes=att.minutes, new_minutes=minutes, status=CorrectionStatus.OPEN)
        s.add(c)
        s.flush()
        record(s, card_holder(att.village_id), "correction.self_request", "hours_correction", c.id,
               {"attendance_id": att.id, "old": att.minutes, "new": minutes, "card_id": card.id,
                "household_id": household.id, "via": "card"}, f"{VIA_CARD}：{reason}"[:500],
               village_id=att.village_id)
        return c.id


@dataclass(frozen=True)
class CorrectionView:
    id: int
    minutes: int
    reason: str
    requested_by: str
    requested_at: dt.datetime
    status: str  # open / accepted / refused
    status_name: str
    decision_note: str  # the organiser's reason (required when refused)
    decided_at: dt.datetime | None


@dataclass(frozen=True)
class ServiceRecord:
    attendance_id: int
    resident: str
    activity: str
    date: dt.date
    rule: str  # how this activity counts time
    check_in: dt.datetime | None
    check_out: dt.datetime | None
    minutes: int | None  # counted
    confirmed: bool
    corrections: list[CorrectionView]

    @property
    def can_request(self) -> bool:
        return not any(c.status == CorrectionStatus.OPEN for c in self.corrections)


def service_records(db, card_token: str, limit: int = 100) -> list[ServiceRecord]:
    """The card household's volunteer service records, newest first, with their correction requests."""
    with db.read() as s:
        _, household = _card(s, card_token)
        return service_records_in(s, household.id, limit)


def service_records_in(s, household_id: int, limit: int = 100) -> list[ServiceRecord]:
    """:func:`service_records` of a household whose card the caller has already checked, inside the
    caller's read transaction (the card page reads everything in one)."""
    rows = s.execute(_RECORDS, {"hid": household_id, "limit": limit}).all()
    corrections: dict[int, list[CorrectionView]] = {}
    if rows:
        for c in s.execute(_CORRECTIONS, {"ids": [r.id for r in rows]}):
            corrections.setdefault(c.attendance_id, []).append(CorrectionView(
                c.id, c.new_minutes, c.reason, c.requested_by, c.created_at, c.status,
                CORRECTION_NAMES[c.status], c.decision_note, c.decided_at))
    return [ServiceRecord(r.id, r.name, r.title, r.date, time_rule(r.travel_minutes, r.fixed_minutes), r.check_in,
                          r.check_out, r.minutes, r.confirmed_at is not None, corrections.get(r.id, []))
            for r in rows]


# built once, with bound parameters (the card page asks on every visit)
_RECORDS = (select(Attendance.id, Attendance.check_in, Attendance.check_out, Attendance.minutes,
                   Attendance.confirmed_at, Resident.name, Activity.title, Activity.date, Activity.travel_minutes,
                   Activity.fixed_minutes)
            .join(Resident, Resident.id == Attendance.resident_id)
            .join(Activity, Activity.id == Attendance.activity_id)
            .where(Attendance.household_id == bindparam("hid"))
            .order_by(Activity.date.desc(), Attendance.id.desc()).limit(bindparam("limit")))
_CORRECTIONS = (select(HoursCorrection.id, HoursCorrection.attendance_id, HoursCorrection.new_minutes,
                       HoursCorrection.reason, HoursCorrection.requested_by, HoursCorrection.created_at,
                       HoursCorrection.status, HoursCorrection.decision_note, HoursCorrection.decided_at)
                .where(HoursCorrection.attendance_id.in_(bindparam("ids", expanding=True)))
                .order_by(HoursCorrection.id))
