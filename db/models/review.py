"""Proposals and their photos, review sessions with attendance, departures, decisions and votes, and objections to 公示."""

from __future__ import annotations

import datetime as dt

from sqlalchemy import (
    Boolean,
    CheckConstraint,
    Date,
    DateTime,
    ForeignKey,
    Index,
    Integer,
    String,
    Text,
    UniqueConstraint,
)
from sqlalchemy.orm import Mapped, mapped_column

from db.enums import DecisionOutcome, DepartureKind, ObjectionStatus, ProposalStatus, VoteChoice
from db.history import Guard
from db.models.base import Base, BigId, known, now


class Proposal(Base):
    """积分申报. status (db.enums.ProposalStatus): submitted → rejected / deferred / publicity
    (or posted at once without publicity) → (objected) → posted | overturned."""

    __tablename__ = "proposal"
    id: Mapped[int] = mapped_column(BigId, primary_key=True)
    village_id: Mapped[int] = mapped_column(ForeignKey("village.id"))
    household_id: Mapped[int] = mapped_column(ForeignKey("household.id"), index=True)
    resident_id: Mapped[int | None] = mapped_column(ForeignKey("resident.id"))
    rule_item_id: Mapped[int] = mapped_column(ForeignKey("rule_item.id"))
    points: Mapped[int] = mapped_column(Integer)  # proposed
    act_date: Mapped[dt.date] = mapped_column(Date)
    note: Mapped[str] = mapped_column(Text, default="")
    source: Mapped[str] = mapped_column(String(20))  # grid / self / proxy / volunteer
    source_ref: Mapped[str | None] = mapped_column(String(60), unique=True)  # e.g. attendance:12
    submitted_by: Mapped[int | None] = mapped_column(ForeignKey("staff_user.id"))
    submitted_at: Mapped[dt.datetime] = mapped_column(DateTime, default=now)
    status: Mapped[str] = mapped_column(String(20), default=ProposalStatus.SUBMITTED)
    over_cap: Mapped[bool] = mapped_column(Boolean, default=False)
    decided_points: Mapped[int | None] = mapped_column(Integer)
    decision_reason: Mapped[str] = mapped_column(Text, default="")
    session_id: Mapped[int | None] = mapped_column(ForeignKey("review_session.id"))
    publicity_until: Mapped[dt.date | None] = mapped_column(Date)
    posted_entry_id: Mapped[int | None] = mapped_column(ForeignKey("ledger_entry.id"))
    # "我最近的申报" (a user's latest proposals) reads the newest by submitter: without this index
    # PostgreSQL scanned every proposal of the table.
    __table_args__ = (Index("ix_proposal_village_status", "village_id", "status"),
                      Index("ix_proposal_submitted_by", "submitted_by", "id"),
                      known("status", ProposalStatus))


class ProposalPhoto(Base):
    __tablename__ = "proposal_photo"
    __history__ = Guard.append_only()
    id: Mapped[int] = mapped_column(primary_key=True)
    proposal_id: Mapped[int] = mapped_column(ForeignKey("proposal.id"), index=True)
    path: Mapped[str] = mapped_column(String(200))  # relative to the data dir
    mime: Mapped[str] = mapped_column(String(40))
    size: Mapped[int] = mapped_column(Integer)
    sha256: Mapped[str] = mapped_column(String(64))


class ReviewSession(Base):
    __tablename__ = "review_session"
    __history__ = Guard.until("closed_at")
    id: Mapped[int] = mapped_column(primary_key=True)
    village_id: Mapped[int] = mapped_column(ForeignKey("village.id"), index=True)
    held_on: Mapped[dt.date] = mapped_column(Date)
    opened_by: Mapped[int | None] = mapped_column(ForeignKey("staff_user.id"))
    opened_at: Mapped[dt.datetime] = mapped_column(DateTime, default=now)
    closed_at: Mapped[dt.datetime | None] = mapped_column(DateTime)
    quorum_required: Mapped[int] = mapped_column(Integer)
    members_total: Mapped[int] = mapped_column(Integer)
    note: Mapped[str] = mapped_column(Text, default="")


class SessionAttendee(Base):
    """Someone recorded as present at a session: a committee member (``user_id``) or a guest
    named with a capacity (村民代表, 党员代表, a resident …, optionally the resident's id).
    Insert-only: a late arrival is a new row; leaving or a mistaken entry is a SessionDeparture.
    ``name`` is kept as it was when recorded; ``voting`` says whether this attendee had a vote."""

    __tablename__ = "session_attendee"
    __history__ = Guard.append_only()
    id: Mapped[int] = mapped_column(primary_key=True)
    session_id: Mapped[int] = mapped_column(ForeignKey("review_session.id"), index=True)
    user_id: Mapped[int | None] = mapped_column(ForeignKey("staff_user.id"))
    resident_id: Mapped[int | None] = mapped_column(ForeignKey("resident.id"))
    name: Mapped[str] = mapped_column(String(40))
    capacity: Mapped[str] = mapped_column(String(20))  # committee / representative / party / resident / other
    voting: Mapped[bool] = mapped_column(Boolean)
    arrived_at: Mapped[dt.datetime] = mapped_column(DateTime, default=now)
    recorded_by: Mapped[int | None] = mapped_column(ForeignKey("staff_user.id"))
    __table_args__ = (
        CheckConstraint("capacity <> 'committee' OR user_id IS NOT NULL", name="committee_member_is_staff"),
    )


class SessionDeparture(Base):
    """An attendee who left the session (``left``) or was recorded by mistake (``mistake``):
    from then on not present. At most one per attendee row; coming back is a new attendee row."""

    __tablename__ = "session_departure"
    __history__ = Guard.append_only()
    attendee_id: Mapped[int] = mapped_column(ForeignKey("session_attendee.id"), primary_key=True)
    kind: Mapped[str] = mapped_column(String(10))
    at: Mapped[dt.datetime] = mapped_column(DateTime, default=now)
    recorded_by: Mapped[int | None] = mapped_column(ForeignKey("staff_user.id"))
    __table_args__ = (known("kind", DepartureKind),)


class Decision(Base):
    __tablename__ = "decision"
    __history__ = Guard.append_only()
    id: Mapped[int] = mapped_column(BigId, primary_key=True)
    session_id: Mapped[int] = mapped_column(ForeignKey("review_session.id"), index=True)
    proposal_id: Mapped[int] = mapped_column(ForeignKey("proposal.id"), index=True)
    outcome: Mapped[str] = mapped_column(String(20))  # approved / rejected / deferred / upheld / overturned
    points: Mapped[int | None] = mapped_column(Integer)
    reason: Mapped[str] = mapped_column(Text, default="")
    decided_by: Mapped[int | None] = mapped_column(ForeignKey("staff_user.id"))
    decided_at: Mapped[dt.datetime] = mapped_column(DateTime, default=now)
    __table_args__ = (UniqueConstraint("session_id", "proposal_id", "outcome"), known("outcome", DecisionOutcome))


class Vote(Base):
    """One attendee's vote on one decision, as entered; inserted with the decision."""

    __tablename__ = "vote"
    __history__ = Guard.append_only()
    decision_id: Mapped[int] = mapped_column(ForeignKey("decision.id"), primary_key=True)
    attendee_id: Mapped[int] = mapped_column(ForeignKey("session_attendee.id"), primary_key=True)
    vote: Mapped[str] = mapped_column(String(10))  # agree / disagree / abstain
    __table_args__ = (known("vote", VoteChoice),)


class Objection(Base):
    __tablename__ = "objection"
    __history__ = Guard.set_once(status=("open",), resolved_session_id=(), resolution=("",))
    id: Mapped[int] = mapped_column(primary_key=True)
    proposal_id: Mapped[int] = mapped_column(ForeignKey("proposal.id"), index=True)
    raised_by: Mapped[str] = mapped_column(String(40))
    reason: Mapped[str] = mapped_column(Text)
    logged_by: Mapped[int | None] = mapped_column(ForeignKey("staff_user.id"))
    logged_at: Mapped[dt.datetime] = mapped_column(DateTime, default=now)
    status: Mapped[str] = mapped_column(String(20), default=ObjectionStatus.OPEN)
    resolved_session_id: Mapped[int | None] = mapped_column(ForeignKey("review_session.id"))
    resolution: Mapped[str] = mapped_column(Text, default="")
    __table_args__ = (known("status", ObjectionStatus),)
