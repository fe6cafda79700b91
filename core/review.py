"""The review session (评议会): attendance and quorum, the queue, decisions with votes.

Flow of a proposal: submitted → (session) approved → 公示 (``publicity``) → posted, or
rejected (reason required), or deferred (back in the next session's queue). An objection
during 公示 makes it ``objected`` until a later session upholds (it posts) or overturns it.

Invariants:
- a decision belongs to an open session; closing the session freezes its decisions
  (later changes go through the ledger's reversal path only);
- a proposal is decided at most once per session, and only while it waits in the queue;
- approved points stay within the rule version's min–max (volunteer conversion excepted);
- each decision records the attendees' votes; without explicit votes every attendee agrees.
"""

from __future__ import annotations

import datetime as dt
from dataclasses import dataclass

from sqlalchemy import and_, case, func, insert, select
from sqlalchemy.orm import Session

from core import settings
from core.access import Actor, require
from core.audit import record
from core.errors import AlreadyDone, InvalidInput, NotFound
from core.proposals import LIVE_STATUSES, SOURCE_NAMES, check_points_for_rule
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
    StaffUser,
    Vote,
)

REVIEW_ROLES = ("committee", "admin")
QUEUE_STATUSES = ("submitted", "deferred")
OUTCOME_NAMES = {"approved": "通过", "rejected": "不通过", "deferred": "暂缓", "upheld": "维持（异议不成立）",
                 "overturned": "撤销（异议成立）"}
VOTE_NAMES = {"agree": "同意", "disagree": "反对", "abstain": "弃权"}
STATUS_NAMES = {"submitted": "待评议", "deferred": "暂缓待议", "rejected": "未通过", "publicity": "公示中",
                "objected": "有异议", "posted": "已记账", "overturned": "已撤销"}
CADENCE_DAYS = {"daily": 1, "weekly": 7, "monthly": 30}


# ---------------------------------------------------------------- pure rules


def quorum_for(members_total: int, setting_value: int) -> int:
    """Attendees needed: the setting if positive, else a majority of the members."""
    if setting_value and setting_value > 0:
        return setting_value
    return members_total // 2 + 1


def publicity_until(held_on: dt.date, days: int) -> dt.date | None:
    """Last day of the 公示 window; None when there is no window (post at once)."""
    if days <= 0:
        return None
    return held_on + dt.timedelta(days=days - 1)


def tally(votes: dict[int, str]) -> dict[str, int]:
    out = {k: 0 for k in VOTE_NAMES}
    for v in votes.values():
        out[v] += 1
    return out


def next_session_due(cadence: str, last_held: dt.date | None, today: dt.date) -> dt.date:
    """When the next session is due under the cadence setting."""
    if last_held is None:
        return today
    if cadence == "monthly":
        return (last_held.replace(day=1) + dt.timedelta(days=32)).replace(day=1)
    return last_held + dt.timedelta(days=CADENCE_DAYS.get(cadence, 1))


# ---------------------------------------------------------------- members & sessions


def committee_members(s: Session, village_id: int) -> list[StaffUser]:
    users = s.execute(select(StaffUser).where(StaffUser.village_id == village_id, StaffUser.active)
                      .order_by(StaffUser.id)).scalars()
    return [u for u in users if "committee" in (u.roles or "").split(",")]


def open_session(db, actor: Actor, village_id: int, *, held_on: dt.date, attendee_ids: list[int],
                 note: str = "") -> int:
    """Open a session with the members present; refuses without a quorum."""
    with db.write() as s:
        return open_session_in(s, actor, village_id, held_on=held_on, attendee_ids=attendee_ids, note=note)


def open_session_in(s: Session, actor: Actor, village_id: int, *, held_on: dt.date, attendee_ids: list[int],
                    note: str = "") -> int:
    """:func:`open_session` in the caller's transaction (the demo builds history this way)."""
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
                           f"现只有 {len(present)} 人。")
    rs = ReviewSession(village_id=village_id, held_on=held_on, opened_by=actor.user_id,
                       quorum_required=need, members_total=len(members), note=(note or "").strip()[:500])
    s.add(rs)
    s.flush()
    s.add_all(SessionAttendee(session_id=rs.id, user_id=uid) for uid in present)
    record(s, actor, "review.open", "review_session", rs.id, {"attendees": present, "quorum": need},
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


def attendees(s: Session, session_id: int) -> list[StaffUser]:
    return list(s.execute(select(StaffUser).join(SessionAttendee, SessionAttendee.user_id == StaffUser.id)
                          .where(SessionAttendee.session_id == session_id).order_by(StaffUser.id)).scalars())


# ---------------------------------------------------------------- deciding


def _clean_votes(s: Session, rs: ReviewSession, votes: dict[int, str] | None) -> dict[int, str]:
    present = [a for a in s.execute(select(SessionAttendee.user_id)
                                    .where(SessionAttendee.session_id == rs.id)).scalars()]
    if not votes:
        return {uid: "agree" for uid in present}
    if any(uid not in present for uid in votes):
        raise InvalidInput("只有出席本次评议会的成员可以表决。")
    if any(v not in VOTE_NAMES for v in votes.values()):
        raise InvalidInput("表决只能是同意、反对或弃权。")
    t = tally(votes)
    if t["agree"] <= t["disagree"]:
        raise InvalidInput(f"表决未通过：同意 {t['agree']} 票，反对 {t['disagree']} 票；同意票须多于反对票。")
    return dict(votes)


def _record_decision(s: Session, actor: Actor, rs: ReviewSession, p: Proposal, outcome: str,
                     points: int | None, reason: str, votes: dict[int, str]) -> Decision:
    d = Decision(session_id=rs.id, proposal_id=p.id, outcome=outcome, points=points, reason=reason,
                 decided_by=actor.user_id)
    s.add(d)
    s.flush()
    s.add_all(Vote(decision_id=d.id, user_id=uid, vote=v) for uid, v in votes.items())
    return d


def _lock_proposal(s: Session, proposal_id: int, village_id: int) -> Proposal:
    p = s.execute(select(Proposal).where(Proposal.id == proposal_id).with_for_update()
                  ).scalar_one_or_none() if isinstance(proposal_id, int) else None
    if p is None or p.village_id != village_id:
        raise NotFound("找不到该申报。")
    return p


def _decide_one(s: Session, actor: Actor, rs: ReviewSession, proposal_id: int, outcome: str,
                points: object, reason: str, votes: dict[int, str]) -> Proposal:
    from core.publicity import enter_publicity

    p = _lock_proposal(s, proposal_id, rs.village_id)
    done = s.execute(select(Decision.id).where(Decision.session_id == rs.id, Decision.proposal_id == p.id)).first()
    if done is not None or p.status not in QUEUE_STATUSES:
        raise AlreadyDone(f"第 {p.id} 号申报已经作出决定（{STATUS_NAMES.get(p.status, p.status)}），不能重复决定。")
    if outcome == "approved":
        rule = s.get(RuleItem, p.rule_item_id)
        pts = check_points_for_rule(p.points if points is None else points, rule, p.source)
        p.decided_points = pts
        p.decision_reason = reason
        p.session_id = rs.id
        _record_decision(s, actor, rs, p, "approved", pts, reason, votes)
        enter_publicity(s, actor, p, rs.held_on)
    elif outcome == "rejected":
        if not reason:
            raise InvalidInput("不通过必须填写理由。")
        p.status, p.decision_reason, p.session_id = "rejected", reason, rs.id
        _record_decision(s, actor, rs, p, "rejected", None, reason, votes)
    elif outcome == "deferred":
        p.status, p.decision_reason, p.session_id = "deferred", reason, rs.id
        _record_decision(s, actor, rs, p, "deferred", None, reason, votes)
    else:
        raise InvalidInput("未知的评议结果。")
    return p


def decide(db, actor: Actor, session_id: int, proposal_id: int, outcome: str, *, points: object = None,
           reason: str = "", votes: dict[int, str] | None = None) -> str:
    """Approve (points within range), reject (reason required) or defer one proposal.
    Returns the proposal's new status."""
    with db.write() as s:
        return decide_in(s, actor, session_id, proposal_id, outcome, points=points, reason=reason, votes=votes)


def decide_in(s: Session, actor: Actor, session_id: int, proposal_id: int, outcome: str, *, points: object = None,
              reason: str = "", votes: dict[int, str] | None = None) -> str:
    """:func:`decide` in the caller's transaction."""
    reason = (reason or "").strip()[:500]
    rs = _session_for_update(s, actor, session_id)
    clean = _clean_votes(s, rs, votes)
    p = _decide_one(s, actor, rs, proposal_id, outcome, points, reason, clean)
    record(s, actor, f"review.{outcome}", "proposal", p.id,
           {"session_id": rs.id, "points": p.decided_points, "votes": clean}, reason, village_id=rs.village_id)
    return p.status


_INSERT_APPROVAL = ("INSERT INTO decision (session_id, proposal_id, outcome, points, reason, decided_by, decided_at) "
                    "VALUES (:s, :p, 'approved', :pts, '', :u, :now)")
_MARK_APPROVED = ("UPDATE proposal SET status = 'publicity', publicity_until = :until, decided_points = :pts, "
                  "decision_reason = '', session_id = :s WHERE id = :p")


def bulk_approve(db, actor: Actor, session_id: int, proposal_ids: list[int],
                 votes: dict[int, str] | None = None) -> tuple[int, int]:
    """Approve the selected proposals at their proposed points in one transaction.
    Ones already decided are skipped (a double click approves nothing twice).
    Returns (approved, skipped).

    Set-based (one statement per kind of write for the whole selection) but with the rules
    of :func:`decide`: each proposal must belong to the session's village and wait in the
    queue, its points must lie in its rule's range, and every attendee's vote is recorded."""
    from core.publicity import _approved_rows, post_approved

    ids = sorted({i for i in proposal_ids or [] if isinstance(i, int) and not isinstance(i, bool)})
    if not ids:
        raise InvalidInput("请先勾选要批量通过的申报。")
    with db.write() as s:
        rs = _session_for_update(s, actor, session_id)
        clean = _clean_votes(s, rs, votes)
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
        todo = [r for r in rows if r.id not in decided and r.status in QUEUE_STATUSES]
        points = {r.id: check_points_for_rule(r.points, r, r.source) for r in todo}
        if todo:
            now = clock.now()
            executemany(s, _INSERT_APPROVAL,
                        [{"s": rs.id, "p": r.id, "pts": points[r.id], "u": actor.user_id, "now": now} for r in todo],
                        {"now": Decision.decided_at.type})
            if clean:  # every new decision × every member who voted, in one INSERT … SELECT
                vote = case(clean, value=SessionAttendee.user_id)
                s.execute(insert(Vote.__table__).from_select(
                    ["decision_id", "user_id", "vote"],
                    select(Decision.id, SessionAttendee.user_id, vote)
                    .join(SessionAttendee, SessionAttendee.session_id == Decision.session_id)
                    .where(Decision.session_id == rs.id, Decision.proposal_id.in_([r.id for r in todo]),
                           SessionAttendee.user_id.in_(list(clean)))))
            until = publicity_until(rs.held_on, settings.get(s, rs.village_id, "publicity_days"))
            executemany(s, _MARK_APPROVED, [{"p": r.id, "pts": points[r.id], "until": until, "s": rs.id} for r in todo],
                        {"until": Proposal.publicity_until.type})
            if until is None:  # no 公示 window: post now, in this transaction
                post_approved(s, actor, _approved_rows(s, [Proposal.id.in_([r.id for r in todo])]))
        record(s, actor, "review.bulk_approve", "review_session", rs.id,
               {"approved": len(todo), "skipped": len(ids) - len(todo), "ids": ids}, village_id=rs.village_id)
        return len(todo), len(ids) - len(todo)


def resolve_objection(db, actor: Actor, session_id: int, objection_id: int, outcome: str, reason: str,
                      votes: dict[int, str] | None = None) -> str:
    """Resolve an open objection in a session: ``upheld`` (the item stands and posts) or
    ``overturned`` (the item is withdrawn). A reason is required either way: the resident
    who objected is owed an answer."""
    with db.write() as s:
        return resolve_objection_in(s, actor, session_id, objection_id, outcome, reason, votes)


def resolve_objection_in(s: Session, actor: Actor, session_id: int, objection_id: int, outcome: str, reason: str,
                         votes: dict[int, str] | None = None) -> str:
    """:func:`resolve_objection` in the caller's transaction."""
    from core.publicity import post_proposal

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
    clean = _clean_votes(s, rs, votes)
    _record_decision(s, actor, rs, p, outcome, p.decided_points if outcome == "upheld" else None, reason, clean)
    ob.status, ob.resolved_session_id, ob.resolution = outcome, rs.id, reason
    if outcome == "upheld":
        post_proposal(s, actor, p)
    else:
        p.status, p.decision_reason = "overturned", reason
    record(s, actor, f"objection.{outcome}", "objection", ob.id,
           {"proposal_id": p.id, "session_id": rs.id, "votes": clean}, reason, village_id=rs.village_id)
    return p.status


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
    from core.ledger import KIND_NAMES

    return [{"日期": r.occurred_on, "类型": KIND_NAMES.get(r.kind, r.kind), "分值": r.delta_earned,
             "事由": r.reason} for r in rows]


def session_decisions(s: Session, session_id: int) -> list[dict]:
    """Decisions of a session with their votes, in order (for the screen and the minutes)."""
    rows = s.execute(
        select(Decision, Household.door_no, Household.head_name, RuleItem.code, RuleItem.name, Proposal.points)
        .join(Proposal, Proposal.id == Decision.proposal_id)
        .join(Household, Household.id == Proposal.household_id)
        .join(RuleItem, RuleItem.id == Proposal.rule_item_id)
        .where(Decision.session_id == session_id).order_by(Decision.id)).all()
    ids = [r[0].id for r in rows]
    tallies: dict[int, dict[str, int]] = {}
    for did, v, n in s.execute(select(Vote.decision_id, Vote.vote, func.count()).where(Vote.decision_id.in_(ids))
                               .group_by(Vote.decision_id, Vote.vote)).all() if ids else []:
        tallies.setdefault(did, {k: 0 for k in VOTE_NAMES})[v] = n
    out = []
    for d, door, head, code, rname, proposed in rows:
        t = tallies.get(d.id, {k: 0 for k in VOTE_NAMES})
        out.append({"申报号": d.proposal_id, "门牌号": door, "户主": head, "事项": f"{code} {rname}",
                    "申报分值": proposed, "结果": OUTCOME_NAMES.get(d.outcome, d.outcome),
                    "核定分值": d.points if d.points is not None else "", "理由": d.reason,
                    "同意": t["agree"], "反对": t["disagree"], "弃权": t["abstain"]})
    return out
