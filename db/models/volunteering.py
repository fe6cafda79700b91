"""Volunteer activities, outside volunteers, sign-ups, attendance, hours corrections, totals, star levels and certificates."""

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

from db.enums import ActivityStatus, CorrectionStatus, SignupStatus
from db.history import Guard
from db.models.base import Base, known, now


class Activity(Base):
    __tablename__ = "activity"
    id: Mapped[int] = mapped_column(primary_key=True)
    village_id: Mapped[int] = mapped_column(ForeignKey("village.id"), index=True)
    title: Mapped[str] = mapped_column(String(80))
    category: Mapped[str] = mapped_column(String(30), default="")
    organiser: Mapped[str] = mapped_column(String(60), default="")
    place: Mapped[str] = mapped_column(String(80), default="")
    date: Mapped[dt.date] = mapped_column(Date)
    start_time: Mapped[dt.time | None] = mapped_column()
    end_time: Mapped[dt.time | None] = mapped_column()
    capacity: Mapped[int | None] = mapped_column(Integer)
    points_per_hour: Mapped[int] = mapped_column(Integer, default=2)
    cap_minutes: Mapped[int | None] = mapped_column(Integer)  # credited per person per activity
    # counted time (计入时长): a fixed duration for everyone who attended, or the time between
    # check-in and check-out plus a travel allowance; neither set = the time on site only
    travel_minutes: Mapped[int | None] = mapped_column(Integer)
    fixed_minutes: Mapped[int | None] = mapped_column(Integer)
    status: Mapped[str] = mapped_column(String(10), default=ActivityStatus.OPEN)
    plot_id: Mapped[int | None] = mapped_column(ForeignKey("plot.id"))  # charity-field work day
    tasks: Mapped[str] = mapped_column(Text, default="")
    created_by: Mapped[int | None] = mapped_column(ForeignKey("staff_user.id"))
    created_at: Mapped[dt.datetime] = mapped_column(DateTime, default=now)
    __table_args__ = (known("status", ActivityStatus),)


class OutsideVolunteer(Base):
    """外来志愿者: a volunteer who is not a resident of the village (a 双报到 party member from a
    town unit, a helper from elsewhere). Their hours count for their unit, never for a household."""

    __tablename__ = "outside_volunteer"
    id: Mapped[int] = mapped_column(primary_key=True)
    village_id: Mapped[int] = mapped_column(ForeignKey("village.id"), index=True)
    name: Mapped[str] = mapped_column(String(40))
    unit: Mapped[str] = mapped_column(String(60), default="")  # 单位
    phone: Mapped[str] = mapped_column(String(20), default="")
    party_member: Mapped[bool] = mapped_column(Boolean, default=False)
    card_no: Mapped[str | None] = mapped_column(String(40))  # a volunteer card / QR, optional
    active: Mapped[bool] = mapped_column(Boolean, default=True)
    created_by: Mapped[int | None] = mapped_column(ForeignKey("staff_user.id"))
    created_at: Mapped[dt.datetime] = mapped_column(DateTime, default=now)
    __table_args__ = (UniqueConstraint("village_id", "card_no"),)


# A volunteering row is a resident's or an outside volunteer's: exactly one of the two.
ONE_PERSON = "(resident_id IS NULL) <> (outsider_id IS NULL)"


class Signup(Base):
    __tablename__ = "signup"
    id: Mapped[int] = mapped_column(primary_key=True)
    activity_id: Mapped[int] = mapped_column(ForeignKey("activity.id"), index=True)
    resident_id: Mapped[int | None] = mapped_column(ForeignKey("resident.id"))
    outsider_id: Mapped[int | None] = mapped_column(ForeignKey("outside_volunteer.id"))
    status: Mapped[str] = mapped_column(String(10), default=SignupStatus.SIGNED)
    created_at: Mapped[dt.datetime] = mapped_column(DateTime, default=now)
    __table_args__ = (
        UniqueConstraint("activity_id", "resident_id"),
        UniqueConstraint("activity_id", "outsider_id", name="uq_signup_activity_outsider"),
        CheckConstraint(ONE_PERSON, name="one_person"),
        known("status", SignupStatus),
    )


class Attendance(Base):
    __tablename__ = "attendance"
    id: Mapped[int] = mapped_column(primary_key=True)
    village_id: Mapped[int] = mapped_column(ForeignKey("village.id"))
    activity_id: Mapped[int] = mapped_column(ForeignKey("activity.id"), index=True)
    resident_id: Mapped[int | None] = mapped_column(ForeignKey("resident.id"), index=True)
    outsider_id: Mapped[int | None] = mapped_column(ForeignKey("outside_volunteer.id"), index=True)
    household_id: Mapped[int | None] = mapped_column(ForeignKey("household.id"))  # None for an outsider
    check_in: Mapped[dt.datetime | None] = mapped_column(DateTime)
    check_out: Mapped[dt.datetime | None] = mapped_column(DateTime)
    minutes: Mapped[int | None] = mapped_column(Integer)
    confirmed_at: Mapped[dt.datetime | None] = mapped_column(DateTime)
    confirmed_by: Mapped[int | None] = mapped_column(ForeignKey("staff_user.id"))
    __table_args__ = (
        UniqueConstraint("activity_id", "resident_id"),
        UniqueConstraint("activity_id", "outsider_id", name="uq_attendance_activity_outsider"),
        CheckConstraint("minutes IS NULL OR (minutes >= 0 AND minutes <= 1440)", name="minutes_range"),
        CheckConstraint(ONE_PERSON, name="one_person"),
        # an outsider's hours never belong to a household
        CheckConstraint("(household_id IS NULL) = (resident_id IS NULL)", name="household_with_resident"),
        # a village's volunteer hours (overview, comparison, exports) without reading other villages' rows
        Index("ix_attendance_village_activity", "village_id", "activity_id"),
        Index("ix_attendance_household", "household_id", "id"),  # the card page's service records
    )


class HoursCorrection(Base):
    __tablename__ = "hours_correction"
    __history__ = Guard.set_once(status=("open",), decided_by=(), decided_at=(), decision_note=("",))
    id: Mapped[int] = mapped_column(primary_key=True)
    attendance_id: Mapped[int] = mapped_column(ForeignKey("attendance.id"), index=True)
    requested_by: Mapped[str] = mapped_column(String(40))
    reason: Mapped[str] = mapped_column(Text)
    old_minutes: Mapped[int | None] = mapped_column(Integer)
    new_minutes: Mapped[int] = mapped_column(Integer)
    status: Mapped[str] = mapped_column(String(10), default=CorrectionStatus.OPEN)
    decided_by: Mapped[int | None] = mapped_column(ForeignKey("staff_user.id"))
    decided_at: Mapped[dt.datetime | None] = mapped_column(DateTime)
    decision_note: Mapped[str] = mapped_column(Text, default="")
    created_at: Mapped[dt.datetime] = mapped_column(DateTime, default=now)
    __table_args__ = (known("status", CorrectionStatus),)


class VolunteerTotal(Base):
    """Confirmed cumulative minutes per resident, kept with each confirmation."""

    __tablename__ = "volunteer_total"
    resident_id: Mapped[int] = mapped_column(ForeignKey("resident.id"), primary_key=True)
    village_id: Mapped[int] = mapped_column(ForeignKey("village.id"), index=True)
    minutes: Mapped[int] = mapped_column(Integer, default=0)
    star_level: Mapped[int] = mapped_column(Integer, default=0)


class StarLevelEvent(Base):
    __tablename__ = "star_level_event"
    __history__ = Guard.append_only()
    id: Mapped[int] = mapped_column(primary_key=True)
    resident_id: Mapped[int] = mapped_column(ForeignKey("resident.id"))
    level: Mapped[int] = mapped_column(Integer)
    reached_on: Mapped[dt.date] = mapped_column(Date)
    minutes_at: Mapped[int] = mapped_column(Integer)
    __table_args__ = (UniqueConstraint("resident_id", "level"),)


class Certificate(Base):
    __tablename__ = "certificate"
    __history__ = Guard.append_only()
    id: Mapped[int] = mapped_column(primary_key=True)
    number: Mapped[str] = mapped_column(String(30), unique=True)
    village_id: Mapped[int] = mapped_column(ForeignKey("village.id"))
    resident_id: Mapped[int | None] = mapped_column(ForeignKey("resident.id"))
    outsider_id: Mapped[int | None] = mapped_column(ForeignKey("outside_volunteer.id"))
    period_from: Mapped[dt.date] = mapped_column(Date)
    period_to: Mapped[dt.date] = mapped_column(Date)
    total_minutes: Mapped[int] = mapped_column(Integer)
    issued_by: Mapped[int | None] = mapped_column(ForeignKey("staff_user.id"))
    issued_at: Mapped[dt.datetime] = mapped_column(DateTime, default=now)
    __table_args__ = (CheckConstraint(ONE_PERSON, name="one_person"),)
