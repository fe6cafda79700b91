"""What the committee reads in a session: the queue of items waiting (with flags for caps,
possible duplicates and photos), a household's recent entries, and the session's record of
decisions and votes (the minutes). Read-only; deciding is core.committee.review.
"""

from __future__ import annotations

import datetime as dt
from dataclasses import dataclass

from sqlalchemy import and_, func, select
from sqlalchemy.orm import Session

from core.committee import attendance, publicity, sessions
from core.committee.proposals import LIVE_STATUSES, SOURCE_NAMES, photos_of
from core.committee.review import QUEUE_STATUSES
from core.platform import settings
from core.platform.natural import natural_key
from core.points.entry_rules import KIND_NAMES
from db.enums import ObjectionStatus, ProposalStatus
from db.models import (
    Decision,
    Grid,
    Household,
    LedgerEntry,
    Proposal,
    ProposalPhoto,
    Resident,
    RuleCategory,
    RuleItem,
    SessionAttendee,
    StaffUser,
    Vote,
)

OUTCOME_NAMES = {"approved": "通过", "rejected": "不通过", "deferred": "暂缓", "upheld": "维持（异议不成立）",
                 "overturned": "撤销（异议成立）"}


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
        if self.status == ProposalStatus.DEFERRED:
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
    return [{"日期": r.occurred_on, "类型": KIND_NAMES.get(r.kind, r.kind), "分值": r.delta_earned,
             "事由": r.reason} for r in rows]


@dataclass(frozen=True)
class DecisionRow:
    """One decision of a session with the votes recorded for it: ``outcome`` an OUTCOME_NAMES code, the
    counts None (not 0) when nobody's vote was recorded, and who voted against or abstained."""

    proposal_id: int
    door_no: str
    head_name: str
    rule: str  # "code name"
    proposed: int  # the points asked for
    outcome: str
    points: int | None  # the points given
    reason: str
    agree: int | None = None
    disagree: int | None = None
    abstain: int | None = None
    against: tuple[str, ...] = ()
    abstained: tuple[str, ...] = ()

    @property
    def voted(self) -> bool:
        return self.agree is not None

    @property
    def votes(self) -> str:
        """The votes as the minutes print them, or 未逐人表决."""
        if not self.voted:
            return attendance.NOT_VOTED
        return attendance.recorded_summary({"agree": self.agree, "disagree": self.disagree, "abstain": self.abstain},
                                           {"disagree": list(self.against), "abstain": list(self.abstained)})


def session_decisions(s: Session, session_id: int) -> list[DecisionRow]:
    """Decisions of a session in order, each with the votes recorded for it: the counts and
    who voted against or abstained, or none (未逐人表决) when none were recorded."""
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
        names = dissent.get(d.id, {})
        out.append(DecisionRow(d.proposal_id, door, head, f"{code} {rname}", proposed, d.outcome, d.points, d.reason,
                               c["agree"] if c else None, c["disagree"] if c else None, c["abstain"] if c else None,
                               tuple(names.get("disagree", ())), tuple(names.get("abstain", ()))))
    return out


@dataclass(frozen=True)
class VoteRow:
    """One vote recorded in a session: ``outcome``, ``capacity`` and ``vote`` are stored codes
    (OUTCOME_NAMES, attendance.CAPACITY_NAMES, attendance.VOTE_NAMES)."""

    proposal_id: int
    outcome: str
    name: str
    capacity: str
    vote: str


def session_votes(s: Session, session_id: int) -> list[VoteRow]:
    """Every vote recorded in a session, one row each (the minutes' 表决明细)."""
    rows = s.execute(select(Decision.proposal_id, Decision.outcome, SessionAttendee.name, SessionAttendee.capacity,
                            Vote.vote)
                     .join(Vote, Vote.decision_id == Decision.id)
                     .join(SessionAttendee, SessionAttendee.id == Vote.attendee_id)
                     .where(Decision.session_id == session_id).order_by(Decision.id, SessionAttendee.id)).all()
    return [VoteRow(*r) for r in rows]


# ---------------------------------------------------------------- what the 评议会 page reads
# One function per part of the screen, each one read transaction; the page opens none itself.


@dataclass(frozen=True)
class OpenSession:
    id: int
    held_on: dt.date
    members_total: int
    quorum_required: int


@dataclass(frozen=True)
class Member:
    id: int
    name: str


@dataclass(frozen=True)
class Opening:
    """What the committee sees before a session: who may attend, the quorum, the cadence."""

    members: list[Member]
    quorum: int
    last_held: dt.date | None
    due: dt.date
    waiting: int


@dataclass(frozen=True)
class SessionScreen:
    everyone: list[attendance.Attendee]
    items: list[QueueItem]
    objections: list[dict]
    done: list[DecisionRow]


@dataclass(frozen=True)
class ItemContext:
    history: list[dict]
    photos: list


def open_session(db, village_id: int) -> OpenSession | None:
    """The village's session in progress, if any."""
    with db.read() as s:
        rs = sessions.open_session_of(s, village_id)
        return None if rs is None else OpenSession(rs.id, rs.held_on, rs.members_total, rs.quorum_required)


def members(s: Session, village_id: int) -> list[Member]:
    return [Member(u.id, u.display_name) for u in sessions.committee_members(s, village_id)]


def opening(db, village_id: int, today: dt.date) -> Opening:
    with db.read() as s:
        ms = members(s, village_id)
        quorum = sessions.quorum_for(len(ms), settings.get(s, village_id, "quorum"))
        cadence = settings.get(s, village_id, "review_cadence")
        past = sessions.sessions(s, village_id, limit=1)
        waiting = len(queue(s, village_id, today))
    last = past[0]["held_on"] if past else None
    return Opening(ms, quorum, last, sessions.next_session_due(cadence, last, today), waiting)


def session_screen(db, village_id: int, session: OpenSession) -> SessionScreen:
    with db.read() as s:
        return SessionScreen(attendance.attendance(s, session.id),
                             queue(s, village_id, session.held_on, session.id),
                             publicity.objections(s, village_id, status=ObjectionStatus.OPEN),
                             session_decisions(s, session.id))


def attendance_choices(db, village_id: int) -> tuple[list[Member], bool]:
    """The committee's members, and whether guests vote (setting ``guests_vote``)."""
    with db.read() as s:
        return members(s, village_id), bool(settings.get(s, village_id, "guests_vote"))


def residents_named(db, village_id: int, name: str) -> dict[int, str]:
    with db.read() as s:
        return attendance.residents_named(s, village_id, name)


def item_context(db, household_id: int, proposal_id: int) -> ItemContext:
    """The household's recent entries and the item's photos, shown beside it."""
    with db.read() as s:
        return ItemContext(household_recent(s, household_id), photos_of(s, [proposal_id]).get(proposal_id, []))


def past_sessions(db, village_id: int) -> list[dict]:
    with db.read() as s:
        return [p for p in sessions.sessions(s, village_id) if p["closed"]]
