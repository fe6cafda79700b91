"""The review session (评议会): attendance and quorum, the queue, decisions with votes.

Flow of a proposal: submitted → (session) approved → 公示 (``publicity``) → posted, or
rejected (reason required), or deferred (back in the next session's queue). An objection
during 公示 makes it ``objected`` until a later session upholds (it posts) or overturns it.

Invariants:
- a decision belongs to an open session; closing the session freezes its decisions
  (later changes go through the ledger's reversal path only);
- a proposal is decided at most once per session, and only while it waits in the queue;
- the approved score is the one the committee gave, inside the rule version's min–max
  (volunteer conversion excepted): a score outside it is refused, never replaced;
- attendance and votes are what was recorded, nothing by default (:mod:`core.committee.attendance`):
  nobody is present until recorded, every decision passes ``attendance.check_votes``, and a
  vote is inserted with its decision. Attendance rows are only inserted: a late arrival is a
  new row, leaving or a mistaken entry is a departure row.
"""

from __future__ import annotations

import datetime as dt
import re
import unicodedata
from dataclasses import dataclass, field

from sqlalchemy import and_, case, func, insert, select
from sqlalchemy.orm import Session
from sqlalchemy.orm.util import identity_key

from core.committee import attendance, publicity
from core.committee.attendance import DEPARTURE_NAMES, GUEST_CAPACITIES, Guest
from core.committee.proposals import LIVE_STATUSES, SOURCE_NAMES, check_points_for_rule
from core.platform import settings
from core.platform.access import Actor, require
from core.platform.audit import record
from core.platform.errors import AlreadyDone, InvalidInput, NotFound
from core.platform.natural import natural_key
from db import clock
from db.executemany import executemany
from db.models import (
    Decision,
    Grid,
    Household,
    LedgerEntry,
    Objection,
    Proposal,
    ProposalPhoto,
    Resident,
    ReviewSession,
    RuleCategory,
    RuleItem,
    SessionAttendee,
    SessionDeparture,
    StaffUser,
    Vote,
)

REVIEW_ROLES = ("committee", "admin")
QUEUE_STATUSES = ("submitted", "deferred")
OUTCOME_NAMES = {"approved": "通过", "rejected": "不通过", "deferred": "暂缓", "upheld": "维持（异议不成立）",
                 "overturned": "撤销（异议成立）"}
STATUS_NAMES = {"submitted": "待评议", "deferred": "暂缓待议", "rejected": "未通过", "publicity": "公示中",
                "objected": "有异议", "posted": "已记账", "overturned": "已撤销"}
CADENCE_DAYS = {"daily": 1, "weekly": 7, "monthly": 30}


# ---------------------------------------------------------------- pure rules


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


def amended_points(typed: object, rule, source: str = "grid") -> int:
    """The score the committee gave, as typed in the box (text) or passed as a number: a whole
    number inside the rule's range, or InvalidInput naming the range — never another value."""
    if isinstance(typed, str):
        text = unicodedata.normalize("NFKC", typed).replace("−", "-").strip()
        if not text:
            raise InvalidInput("请填写核定分值。")
        if not re.fullmatch(r"[+-]?\d{1,6}", text):
            raise InvalidInput(f"核定分值必须是整数（现在填的是“{typed.strip()[:20]}”）。")
        typed = int(text)
    return check_points_for_rule(typed, rule, source, what="核定分值")


# ---------------------------------------------------------------- members & sessions


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


def _session_for_update(s: Session, actor: Actor, session_id: int) -> ReviewSession:
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
    rs = _session_for_update(s, actor, session_id)
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
    rs = _session_for_update(s, actor, session_id)
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
    rs = _session_for_update(s, actor, session_id)
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
    rs = _session_for_update(s, actor, session_id)
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


# ---------------------------------------------------------------- deciding


@dataclass(frozen=True)
class Decided:
    """What one decision recorded, and the sentence that tells the room."""

    proposal_id: int
    outcome: str
    status: str
    points: int | None = None
    publicity_until: dt.date | None = None

    @property
    def message(self) -> str:
        n = f"#{self.proposal_id}"
        if self.outcome == "approved" and self.status == "posted":
            return f"{n} 通过，已记账 {self.points:+d} 分。"
        if self.outcome == "approved":
            return f"{n} 通过，核定 {self.points:+d} 分（公示至 {self.publicity_until:%m月%d日}）。"
        if self.outcome == "upheld":
            return f"{n} 异议不成立，维持原决定，已记账 {self.points:+d} 分。"
        if self.outcome == "overturned":
            return f"{n} 异议成立，已撤销，不记分。"
        if self.outcome == "rejected":
            return f"{n} 不通过，不记分。"
        return f"{n} 暂缓，下次评议会再议。"


@dataclass(frozen=True)
class Approved:
    """What a (bulk) approval recorded: each proposal's points, how many were skipped as
    already decided, and the 公示 window (None: posted at once)."""

    points: dict[int, int] = field(default_factory=dict)
    skipped: int = 0
    publicity_until: dt.date | None = None

    @property
    def approved(self) -> int:
        return len(self.points)

    @property
    def message(self) -> str:
        if not self.points:
            return f"没有新通过的事项：{self.skipped} 项此前已决定、已跳过。"
        each = "、".join(f"#{i} {p:+d} 分" for i, p in list(self.points.items())[:12])
        more = f" 等（合计 {sum(self.points.values()):+d} 分）" if len(self.points) > 12 else ""
        where = ("，已记账" if self.publicity_until is None
                 else f"，公示至 {self.publicity_until:%m月%d日}")
        skipped = f"；{self.skipped} 项此前已决定、已跳过" if self.skipped else ""
        return f"已通过 {self.approved} 项：{each}{more}{where}{skipped}。"


_INSERT_APPROVAL = ("INSERT INTO decision (session_id, proposal_id, outcome, points, reason, decided_by, decided_at) "
                    "VALUES (:s, :p, 'approved', :pts, :r, :u, :now)")
_MARK_APPROVED = ("UPDATE proposal SET status = 'publicity', publicity_until = :until, decided_points = :pts, "
                  "decision_reason = :r, session_id = :s WHERE id = :p")


def _approve(s: Session, actor: Actor, rs: ReviewSession, wanted: dict[int, object], reason: str, votes: object,
             *, skip_decided: bool) -> tuple[Approved, dict[int, str]]:
    """Approve proposals at the given scores (None: as proposed) with one set of votes — the
    single path of :func:`decide` and :func:`bulk_approve`. Checks first (each proposal in this
    village and waiting; each score in its rule's range; the votes), then writes set-based:
    one statement per kind of write, whatever the number."""

    ids = sorted(wanted)
    rows = []
    for chunk in (ids[i:i + 500] for i in range(0, len(ids), 500)):
        rows += s.execute(
            select(Proposal.id, Proposal.village_id, Proposal.status, Proposal.points, Proposal.source,
                   RuleItem.min_points, RuleItem.max_points)
            .join(RuleItem, RuleItem.id == Proposal.rule_item_id)
            .where(Proposal.id.in_(chunk)).order_by(Proposal.id).with_for_update(of=Proposal)).all()
    if len(rows) != len(ids) or any(r.village_id != rs.village_id for r in rows):
        raise NotFound("找不到该申报。")
    decided = set(s.execute(select(Decision.proposal_id).where(Decision.session_id == rs.id,
                                                               Decision.proposal_id.in_(ids))).scalars())
    todo = []
    for r in rows:
        if r.id in decided or r.status not in QUEUE_STATUSES:
            if not skip_decided:
                raise AlreadyDone(f"第 {r.id} 号申报已经作出决定（{STATUS_NAMES.get(r.status, r.status)}），不能重复决定。")
            continue
        todo.append(r)
    points = {r.id: amended_points(r.points if wanted[r.id] is None else wanted[r.id], r, r.source) for r in todo}
    clean = attendance.check_votes(s, rs, votes)
    until = publicity.publicity_until(rs.held_on, settings.get(s, rs.village_id, "publicity_days"))
    if todo:
        now = clock.now()
        executemany(s, _INSERT_APPROVAL, [{"s": rs.id, "p": i, "pts": p, "r": reason, "u": actor.user_id, "now": now}
                                          for i, p in points.items()], {"now": Decision.decided_at.type})
        if clean:  # every new decision × every vote entered, in one INSERT … SELECT
            s.execute(insert(Vote.__table__).from_select(
                ["decision_id", "attendee_id", "vote"],
                select(Decision.id, SessionAttendee.id, case(clean, value=SessionAttendee.id))
                .join(SessionAttendee, SessionAttendee.session_id == Decision.session_id)
                .where(Decision.session_id == rs.id, Decision.outcome == "approved",
                       Decision.proposal_id.in_(list(points)), SessionAttendee.id.in_(list(clean)))))
        executemany(s, _MARK_APPROVED, [{"p": i, "pts": p, "r": reason, "until": until, "s": rs.id}
                                        for i, p in points.items()], {"until": Proposal.publicity_until.type})
        if until is None:  # no 公示 window: post now, in this transaction
            publicity.post_approved(s, actor, publicity.approved_rows(s, [Proposal.id.in_(list(points))]))
        for pid in points:  # ORM copies of these proposals are stale now
            obj = s.identity_map.get(identity_key(Proposal, pid))
            if obj is not None:
                s.expire(obj)
    return Approved(points, len(ids) - len(todo), until), clean


def _record_decision(s: Session, actor: Actor, rs: ReviewSession, p: Proposal, outcome: str,
                     points: int | None, reason: str, votes: dict[int, str]) -> Decision:
    d = Decision(session_id=rs.id, proposal_id=p.id, outcome=outcome, points=points, reason=reason,
                 decided_by=actor.user_id)
    s.add(d)
    s.flush()
    s.add_all(Vote(decision_id=d.id, attendee_id=aid, vote=v) for aid, v in votes.items())
    return d


def _lock_proposal(s: Session, proposal_id: int, village_id: int) -> Proposal:
    p = s.execute(select(Proposal).where(Proposal.id == proposal_id).with_for_update()
                  ).scalar_one_or_none() if isinstance(proposal_id, int) else None
    if p is None or p.village_id != village_id:
        raise NotFound("找不到该申报。")
    return p


def decide(db, actor: Actor, session_id: int, proposal_id: int, outcome: str, *, points: object = None,
           reason: str = "", votes: dict[int, str] | None = None) -> Decided:
    """Approve (at ``points`` as typed, inside the rule's range; None: as proposed), reject
    (reason required) or defer one proposal, with the votes entered (attendee id → vote)."""
    with db.write() as s:
        return decide_in(s, actor, session_id, proposal_id, outcome, points=points, reason=reason, votes=votes)


def decide_in(s: Session, actor: Actor, session_id: int, proposal_id: int, outcome: str, *, points: object = None,
              reason: str = "", votes: dict[int, str] | None = None) -> Decided:
    """:func:`decide` in the caller's transaction."""
    reason = (reason or "").strip()[:500]
    rs = _session_for_update(s, actor, session_id)
    if outcome == "approved":
        if not isinstance(proposal_id, int) or isinstance(proposal_id, bool):
            raise NotFound("找不到该申报。")
        done, clean = _approve(s, actor, rs, {proposal_id: points}, reason, votes, skip_decided=False)
        pts = done.points[proposal_id]
        out = Decided(proposal_id, outcome, "publicity" if done.publicity_until else "posted", pts,
                      done.publicity_until)
    elif outcome in ("rejected", "deferred"):
        p = _lock_proposal(s, proposal_id, rs.village_id)
        already = s.execute(select(Decision.id).where(Decision.session_id == rs.id,
                                                      Decision.proposal_id == p.id)).first()
        if already is not None or p.status not in QUEUE_STATUSES:
            raise AlreadyDone(f"第 {p.id} 号申报已经作出决定（{STATUS_NAMES.get(p.status, p.status)}），不能重复决定。")
        if outcome == "rejected" and not reason:
            raise InvalidInput("不通过必须填写理由。")
        clean = attendance.check_votes(s, rs, votes)
        p.status, p.decision_reason, p.session_id = outcome, reason, rs.id
        _record_decision(s, actor, rs, p, outcome, None, reason, clean)
        out = Decided(p.id, outcome, p.status)
    else:
        raise InvalidInput("未知的评议结果。")
    record(s, actor, f"review.{outcome}", "proposal", proposal_id,
           {"session_id": rs.id, "points": out.points, "votes": clean}, reason, village_id=rs.village_id)
    return out


def bulk_approve(db, actor: Actor, session_id: int, proposal_ids: list[int],
                 votes: dict[int, str] | None = None) -> Approved:
    """Approve the selected proposals at their proposed points in one transaction, each with
    the one set of votes entered for the batch — the same checks as a single approval, by the
    same code. Ones already decided are skipped (a double click approves nothing twice)."""
    ids = sorted({i for i in proposal_ids or [] if isinstance(i, int) and not isinstance(i, bool)})
    if not ids:
        raise InvalidInput("请先勾选要批量通过的申报。")
    with db.write() as s:
        rs = _session_for_update(s, actor, session_id)
        done, clean = _approve(s, actor, rs, dict.fromkeys(ids), "", votes, skip_decided=True)
        record(s, actor, "review.bulk_approve", "review_session", rs.id,
               {"approved": done.approved, "skipped": done.skipped, "ids": ids, "votes": clean},
               village_id=rs.village_id)
        return done


def resolve_objection(db, actor: Actor, session_id: int, objection_id: int, outcome: str, reason: str,
                      votes: dict[int, str] | None = None) -> Decided:
    """Resolve an open objection in a session, with the votes entered: ``upheld`` (the item
    stands and posts) or ``overturned`` (the item is withdrawn). A reason is required either
    way: the resident who objected is owed an answer."""
    with db.write() as s:
        return resolve_objection_in(s, actor, session_id, objection_id, outcome, reason, votes)


def resolve_objection_in(s: Session, actor: Actor, session_id: int, objection_id: int, outcome: str, reason: str,
                         votes: dict[int, str] | None = None) -> Decided:
    """:func:`resolve_objection` in the caller's transaction."""

    reason = (reason or "").strip()[:500]
    if outcome not in ("upheld", "overturned"):
        raise InvalidInput("异议处理结果只能是维持或撤销。")
    if not reason:
        raise InvalidInput("处理异议必须填写理由。")
    rs = _session_for_update(s, actor, session_id)
    ob = s.get(Objection, objection_id) if isinstance(objection_id, int) else None
    if ob is None:
        raise NotFound("找不到该异议。")
    p = _lock_proposal(s, ob.proposal_id, rs.village_id)
    if ob.status != "open" or p.status != "objected":
        raise AlreadyDone("该异议已经处理过。")
    clean = attendance.check_votes(s, rs, votes)
    points = p.decided_points if outcome == "upheld" else None
    _record_decision(s, actor, rs, p, outcome, points, reason, clean)
    ob.status, ob.resolved_session_id, ob.resolution = outcome, rs.id, reason
    if outcome == "upheld":
        publicity.post_proposal(s, actor, p)
    else:
        p.status, p.decision_reason = "overturned", reason
    record(s, actor, f"objection.{outcome}", "objection", ob.id,
           {"proposal_id": p.id, "session_id": rs.id, "votes": clean}, reason, village_id=rs.village_id)
    return Decided(p.id, outcome, p.status, points)


# ---------------------------------------------------------------- the queue


@dataclass
class QueueItem:
    id: int
    household_id: int
    door_no: str
    head_name: str
    resident: str
    grid: str
    category: str
    rule_code: str
    rule_name: str
    points: int
    min_points: int
    max_points: int
    act_date: dt.date
    source: str
    submitted_by: str
    submitted_at: dt.datetime
    note: str
    status: str
    over_cap: bool
    duplicate_of: list[int]
    photos: int

    @property
    def flags(self) -> str:
        out = []
        if self.over_cap:
            out.append("超上限")
        if self.duplicate_of:
            out.append("疑似重复（" + "、".join(f"#{i}" for i in self.duplicate_of) + "）")
        if self.status == "deferred":
            out.append("上次暂缓")
        return "；".join(out)


def queue(s: Session, village_id: int, up_to: dt.date, session_id: int | None = None) -> list[QueueItem]:
    """Everything waiting for a decision that was submitted up to ``up_to`` (the session's
    day: the cadence decides how far back "since the last session" reaches; anything still
    waiting from earlier is carried over), minus what this session already decided."""
    end = dt.datetime.combine(up_to + dt.timedelta(days=1), dt.time())
    submitter = select(StaffUser.id, StaffUser.display_name).subquery()
    q = (select(Proposal, Household.door_no, Household.head_name, Resident.name, Grid.name, RuleCategory.name,
                RuleItem.code, RuleItem.name, RuleItem.min_points, RuleItem.max_points, submitter.c.display_name)
         .join(Household, Household.id == Proposal.household_id)
         .outerjoin(Resident, Resident.id == Proposal.resident_id)
         .outerjoin(Grid, Grid.id == Household.grid_id)
         .join(RuleItem, RuleItem.id == Proposal.rule_item_id)
         .join(RuleCategory, RuleCategory.id == RuleItem.category_id)
         .outerjoin(submitter, submitter.c.id == Proposal.submitted_by)
         .where(Proposal.village_id == village_id, Proposal.status.in_(QUEUE_STATUSES),
                Proposal.submitted_at < end)
         .order_by(Grid.name, Household.door_no, Proposal.id))
    if session_id is not None:
        decided = select(Decision.proposal_id).where(Decision.session_id == session_id)
        q = q.where(Proposal.id.not_in(decided))
    rows = s.execute(q).all()
    if not rows:
        return []
    ids = [r[0].id for r in rows]
    dups = duplicates(s, village_id, ids)
    photo_counts = dict(s.execute(select(ProposalPhoto.proposal_id, func.count())
                                  .where(ProposalPhoto.proposal_id.in_(ids))
                                  .group_by(ProposalPhoto.proposal_id)).all())
    out = []
    for p, door, head, res, grid, cat, code, rname, lo, hi, by in rows:
        out.append(QueueItem(p.id, p.household_id, door, head, res or "", grid or "未分网格", cat, code, rname, p.points,
                             lo, hi, p.act_date, SOURCE_NAMES.get(p.source, p.source),
                             by or ("村民本人" if p.source == "self" else "系统"), p.submitted_at, p.note,
                             p.status, p.over_cap, dups.get(p.id, []), photo_counts.get(p.id, 0)))
    out.sort(key=lambda q: (natural_key(q.grid), natural_key(q.door_no), q.id))  # 第二 before 第三
    return out


def duplicates(s: Session, village_id: int, proposal_ids: list[int]) -> dict[int, list[int]]:
    """For each given proposal, the other live proposals of the same household, rule code
    and act date (可能重复)."""
    if not proposal_ids:
        return {}
    a, b = Proposal.__table__.alias("a"), Proposal.__table__.alias("b")
    ra, rb = RuleItem.__table__.alias("ra"), RuleItem.__table__.alias("rb")
    q = (select(a.c.id, b.c.id)
         .select_from(a.join(ra, ra.c.id == a.c.rule_item_id)
                      .join(b, and_(b.c.household_id == a.c.household_id, b.c.act_date == a.c.act_date,
                                    b.c.id != a.c.id))
                      .join(rb, and_(rb.c.id == b.c.rule_item_id, rb.c.code == ra.c.code)))
         .where(a.c.id.in_(proposal_ids), a.c.village_id == village_id, b.c.status.in_(LIVE_STATUSES))
         .order_by(b.c.id))
    out: dict[int, list[int]] = {}
    for pid, other in s.execute(q).all():
        out.setdefault(pid, []).append(other)
    return out


def household_recent(s: Session, household_id: int, limit: int = 6) -> list[dict]:
    """The household's latest ledger entries, for the committee's context."""
    rows = s.execute(select(LedgerEntry.occurred_on, LedgerEntry.kind, LedgerEntry.delta_earned, LedgerEntry.reason)
                     .where(LedgerEntry.household_id == household_id)
                     .order_by(LedgerEntry.id.desc()).limit(limit)).all()
    from core.points.ledger import KIND_NAMES

    return [{"日期": r.occurred_on, "类型": KIND_NAMES.get(r.kind, r.kind), "分值": r.delta_earned,
             "事由": r.reason} for r in rows]



def session_decisions(s: Session, session_id: int) -> list[dict]:
    """Decisions of a session in order, each with the votes recorded for it: the counts and
    who voted against or abstained, or 未逐人表决 (counts left empty) when none were recorded."""
    rows = s.execute(
        select(Decision, Household.door_no, Household.head_name, RuleItem.code, RuleItem.name, Proposal.points)
        .join(Proposal, Proposal.id == Decision.proposal_id)
        .join(Household, Household.id == Proposal.household_id)
        .join(RuleItem, RuleItem.id == Proposal.rule_item_id)
        .where(Decision.session_id == session_id).order_by(Decision.id)).all()
    counts: dict[int, dict[str, int]] = {}
    dissent: dict[int, dict[str, list[str]]] = {}
    for did, v, name in s.execute(select(Vote.decision_id, Vote.vote, SessionAttendee.name)
                                  .join(Decision, Decision.id == Vote.decision_id)
                                  .join(SessionAttendee, SessionAttendee.id == Vote.attendee_id)
                                  .where(Decision.session_id == session_id)
                                  .order_by(Vote.decision_id, SessionAttendee.id)).all():
        c = counts.setdefault(did, dict.fromkeys(attendance.VOTE_NAMES, 0))
        c[v] += 1
        if v != "agree":
            dissent.setdefault(did, {}).setdefault(v, []).append(name)
    out = []
    for d, door, head, code, rname, proposed in rows:
        c = counts.get(d.id)
        out.append({"申报号": d.proposal_id, "门牌号": door, "户主": head, "事项": f"{code} {rname}",
                    "申报分值": proposed, "结果": OUTCOME_NAMES.get(d.outcome, d.outcome),
                    "核定分值": d.points if d.points is not None else "", "理由": d.reason,
                    "表决": attendance.recorded_summary(c, dissent.get(d.id)),
                    "同意": c["agree"] if c else None, "反对": c["disagree"] if c else None,
                    "弃权": c["abstain"] if c else None})
    return out


def session_votes(s: Session, session_id: int) -> list[dict]:
    """Every vote recorded in a session, one row each (the minutes' 表决明细)."""
    rows = s.execute(select(Decision.proposal_id, Decision.outcome, SessionAttendee.name, SessionAttendee.capacity,
                            Vote.vote)
                     .join(Vote, Vote.decision_id == Decision.id)
                     .join(SessionAttendee, SessionAttendee.id == Vote.attendee_id)
                     .where(Decision.session_id == session_id).order_by(Decision.id, SessionAttendee.id)).all()
    return [{"申报号": pid, "结果": OUTCOME_NAMES.get(o, o), "姓名": name,
             "身份": attendance.CAPACITY_NAMES.get(cap, cap), "表决": attendance.VOTE_NAMES[v]}
            for pid, o, name, cap, v in rows]
