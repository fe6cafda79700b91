"""Who attended a review session (评议会出席) and how each voted (表决): only what was recorded.

Nobody is present until someone records them, and no vote is cast until someone enters it:
there are no defaults. Rows are only ever inserted — a late arrival is a new attendee row;
leaving (中途离席) or a mistaken entry (登记有误) is a departure row naming the attendee; a
member who comes back is a new row again. The writes live in :mod:`core.committee.review` (they lock the
session); this module reads attendance and holds the vote rules.

The rules, checked by :func:`check_votes` for every decision — single, bulk or objection:
- only attendees present vote, and only those with a vote: committee members always; guests
  (村民代表, 党员代表, residents …) when setting ``guests_vote`` was on when they were recorded;
- the committee members present still make the session's quorum;
- setting ``vote_recording`` = ``each``: every voting attendee present has voted;
  ``collective``: votes may be left out, and the minutes then say 未逐人表决;
- wherever votes are recorded, agree votes outnumber disagree votes.
"""

from __future__ import annotations

import datetime as dt
from collections.abc import Iterable
from dataclasses import dataclass

from sqlalchemy import select
from sqlalchemy.orm import Session

from core.platform import settings
from core.platform.errors import InvalidInput
from db.models import Household, Resident, ReviewSession, SessionAttendee, SessionDeparture

VOTE_NAMES = {"agree": "同意", "disagree": "反对", "abstain": "弃权"}
CAPACITY_NAMES = {"committee": "评议小组成员", "representative": "村民代表", "party": "党员代表",
                  "resident": "村民", "other": "其他列席人员"}
GUEST_CAPACITIES = ("representative", "party", "resident", "other")
DEPARTURE_NAMES = {"left": "中途离席", "mistake": "登记有误"}
NOT_VOTED = "未逐人表决"


@dataclass(frozen=True)
class Guest:
    """A guest to record: a name and a capacity, optionally the village's resident it is
    (then the name may be left empty and the resident's name is used)."""

    name: str
    capacity: str
    resident_id: int | None = None


@dataclass(frozen=True)
class Attendee:
    id: int
    session_id: int
    user_id: int | None
    resident_id: int | None
    name: str
    capacity: str
    voting: bool
    arrived_at: dt.datetime
    left_at: dt.datetime | None = None
    left_kind: str | None = None

    @property
    def present(self) -> bool:
        return self.left_kind is None

    @property
    def member(self) -> bool:
        return self.capacity == "committee"

    @property
    def capacity_name(self) -> str:
        return CAPACITY_NAMES.get(self.capacity, self.capacity)


# ---------------------------------------------------------------- reading


def attendance(s: Session, session_id: int) -> list[Attendee]:
    """Every attendee row of the session in the order recorded, with its departure if any."""
    rows = s.execute(select(SessionAttendee, SessionDeparture.at, SessionDeparture.kind)
                     .outerjoin(SessionDeparture, SessionDeparture.attendee_id == SessionAttendee.id)
                     .where(SessionAttendee.session_id == session_id).order_by(SessionAttendee.id)).all()
    return [Attendee(a.id, a.session_id, a.user_id, a.resident_id, a.name, a.capacity, a.voting, a.arrived_at,
                     at, kind) for a, at, kind in rows]


def present(s: Session, session_id: int) -> list[Attendee]:
    """The attendees present now (recorded and not departed)."""
    return [a for a in attendance(s, session_id) if a.present]


def residents_named(s: Session, village_id: int, name: str, limit: int = 8) -> dict[int, str]:
    """The village's residents with exactly this name (id → name and door number), so a guest
    can be linked to the resident they are."""
    name = (name or "").strip()
    if not name:
        return {}
    rows = s.execute(select(Resident.id, Resident.name, Household.door_no)
                     .join(Household, Household.id == Resident.household_id)
                     .where(Resident.village_id == village_id, Resident.name == name)
                     .order_by(Resident.id).limit(limit)).all()
    return {r.id: f"{r.name}（{r.door_no}）" for r in rows}


# ---------------------------------------------------------------- pure rules


def voters(people: Iterable[Attendee]) -> list[Attendee]:
    """Those of ``people`` who are present and have a vote."""
    return [a for a in people if a.present and a.voting]


def unanimous(people: Iterable[Attendee]) -> dict[int, str]:
    """全体同意: an agree for each voting attendee present — what the operator enters with one
    click when the whole room agrees. Never applied unless asked for."""
    return {a.id: "agree" for a in voters(people)}


def tally(votes: dict[int, str]) -> dict[str, int]:
    out = {k: 0 for k in VOTE_NAMES}
    for v in votes.values():
        out[v] += 1
    return out


def vote_summary(votes: dict[int, str], people: Iterable[Attendee]) -> str:
    """The label over the vote grid: what was entered, and how many have not voted yet."""
    eligible = voters(people)
    entered = {a.id: votes[a.id] for a in eligible if votes.get(a.id) in VOTE_NAMES}
    t = tally(entered)
    return (f"表决：同意 {t['agree']} · 反对 {t['disagree']} · 弃权 {t['abstain']} · "
            f"未表决 {len(eligible) - len(entered)}")


def recorded_summary(counts: dict[str, int] | None, dissent: dict[str, list[str]] | None = None) -> str:
    """A decision's recorded votes for the minutes: the counts (and who voted against or
    abstained), or 未逐人表决 when none were recorded — never a count nobody entered."""
    if not counts or not sum(counts.values()):
        return NOT_VOTED
    dissent = dissent or {}

    def part(key: str) -> str:
        names = dissent.get(key) if key != "agree" else None
        return f"{VOTE_NAMES[key]} {counts.get(key, 0)}" + (f"（{'、'.join(names)}）" if names else "")

    return " · ".join(part(k) for k in VOTE_NAMES)


# ---------------------------------------------------------------- the check every decision passes


def check_votes(s: Session, rs: ReviewSession, votes: object) -> dict[int, str]:
    """The votes entered for one decision (attendee id → agree / disagree / abstain), checked
    against who is present and the village's settings; returns them, or raises InvalidInput
    saying what is wrong or missing. The session row is locked by the caller."""
    if votes is None:
        votes = {}
    if not isinstance(votes, dict) or any(v not in VOTE_NAMES for v in votes.values()):
        raise InvalidInput("表决只能是同意、反对或弃权。")
    people = {a.id: a for a in attendance(s, rs.id)}
    for aid in votes:
        who = people.get(aid) if isinstance(aid, int) and not isinstance(aid, bool) else None
        if who is None or not who.present:
            raise InvalidInput("只有出席本次评议会的人员可以表决（未登记出席或已离席的不能表决）。")
        if not who.voting:
            raise InvalidInput(f"{who.name}是列席人员（{who.capacity_name}），没有表决权。")
    members = sum(1 for a in people.values() if a.present and a.member)
    if members < rs.quorum_required:
        raise InvalidInput(f"出席的评议小组成员不足法定人数：至少需要 {rs.quorum_required} 人，现只有 {members} 人，"
                           "不能作出决定。")
    if settings.get(s, rs.village_id, "vote_recording") == "each":
        missing = [a.name for a in voters(people.values()) if a.id not in votes]
        if missing:
            raise InvalidInput(f"还有 {len(missing)} 名出席人员未表决：{'、'.join(missing)}。"
                               "请逐人记下表决（全体同意时可点“全体同意”）。")
    if votes:
        t = tally(votes)
        if t["agree"] <= t["disagree"]:
            raise InvalidInput(f"表决未通过：同意 {t['agree']} 票，反对 {t['disagree']} 票；同意票须多于反对票。")
    return dict(votes)
