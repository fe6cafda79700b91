"""Deciding in the review session (评议会): approve, amend, reject, defer, resolve objections —
each with the votes entered. Opening, attendance and closing are core.committee.sessions; the
queue and the record of a session are core.committee.agenda.

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

from sqlalchemy import case, insert, select
from sqlalchemy.orm import Session
from sqlalchemy.orm.util import identity_key

from core.committee import attendance, publicity
from core.committee.proposals import check_points_for_rule
from core.committee.sessions import session_for_update
from core.platform import settings
from core.platform.access import Actor
from core.platform.audit import record
from core.platform.errors import AlreadyDone, InvalidInput, NotFound
from db import clock
from db.enums import ObjectionStatus, ProposalStatus
from db.executemany import executemany
from db.models import (
    Decision,
    Objection,
    Proposal,
    ReviewSession,
    RuleItem,
    SessionAttendee,
    Vote,
)

QUEUE_STATUSES = (ProposalStatus.SUBMITTED, ProposalStatus.DEFERRED)
STATUS_NAMES = {"submitted": "待评议", "deferred": "暂缓待议", "rejected": "未通过", "publicity": "公示中",
                "objected": "有异议", "posted": "已记账", "overturned": "已撤销"}


# ---------------------------------------------------------------- pure rules


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
        if self.outcome == "approved" and self.status == ProposalStatus.POSTED:
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
    rs = session_for_update(s, actor, session_id)
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
        rs = session_for_update(s, actor, session_id)
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
    rs = session_for_update(s, actor, session_id)
    ob = s.get(Objection, objection_id) if isinstance(objection_id, int) else None
    if ob is None:
        raise NotFound("找不到该异议。")
    p = _lock_proposal(s, ob.proposal_id, rs.village_id)
    if ob.status != ObjectionStatus.OPEN or p.status != ProposalStatus.OBJECTED:
        raise AlreadyDone("该异议已经处理过。")
    clean = attendance.check_votes(s, rs, votes)
    points = p.decided_points if outcome == "upheld" else None
    _record_decision(s, actor, rs, p, outcome, points, reason, clean)
    ob.status, ob.resolved_session_id, ob.resolution = outcome, rs.id, reason
    if outcome == "upheld":
        publicity.post_proposal(s, actor, p)
    else:
        p.status, p.decision_reason = ProposalStatus.OVERTURNED, reason
    record(s, actor, f"objection.{outcome}", "objection", ob.id,
           {"proposal_id": p.id, "session_id": rs.id, "votes": clean}, reason, village_id=rs.village_id)
    return Decided(p.id, outcome, p.status, points)
