"""Beneficiaries (受助对象): the register of households the charity field's produce goes to.

The register lists households by category, each approved by a staff member and valid until a date;
households with a member aged 70 or more are suggested for staff to confirm, never added
automatically. Distribution rounds and signed delivery,
which read the register on the day of a round, are in :mod:`core.charity.distribution`.
"""

from __future__ import annotations

import datetime as dt
from dataclasses import dataclass
from enum import StrEnum

from sqlalchemy import func, select
from sqlalchemy.orm import Session

from core.charity import allocation
from core.charity.field import FIELD_ROLES, _id, _village
from core.platform import validate
from core.platform.access import Actor, require
from core.platform.audit import record
from core.platform.errors import AlreadyDone, InvalidInput, NotFound
from core.village.templates import BENEFICIARY_CATEGORIES
from db.models import (
    Beneficiary,
    Household,
    Resident,
    StaffUser,
    now,
)

ROUND_STATUS = {"draft": "草稿", "confirmed": "已确认", "closed": "已完成", "cancelled": "已作废"}
ELDERLY_AGE = 70
MAX_VALID_YEARS = 5


# ---------------------------------------------------------------- register


def _category(value: object) -> str:
    if value not in BENEFICIARY_CATEGORIES:
        raise InvalidInput("受助类别无效。")
    return value  # type: ignore[return-value]


def _valid_until(value: object) -> dt.date | None:
    if value is None:
        return None
    if not isinstance(value, dt.date) or isinstance(value, dt.datetime):
        raise InvalidInput("有效期格式不对。")
    if value < dt.date.today():
        raise InvalidInput("有效期不能早于今天。")
    if value > dt.date.today() + dt.timedelta(days=366 * MAX_VALID_YEARS):
        raise InvalidInput(f"有效期最长 {MAX_VALID_YEARS} 年，到期请复核后续期。")
    return value


def _household(s: Session, household_id: object, village_id: int) -> Household:
    hh = s.get(Household, _id(household_id, "户"))
    if hh is None or hh.village_id != village_id:
        raise NotFound("找不到该户（或不是本村的户）。")
    if not hh.active:
        raise InvalidInput("该户已注销，不能登记为受助对象。")
    return hh


def _upsert_beneficiary(s: Session, actor: Actor, hh: Household, category: str, reason: str,
                        valid_until: dt.date | None, approve: bool) -> Beneficiary:
    b = s.execute(select(Beneficiary).where(Beneficiary.household_id == hh.id, Beneficiary.category == category)
                  .with_for_update()).scalar_one_or_none()
    if b is None:
        b = Beneficiary(village_id=hh.village_id, household_id=hh.id, category=category)
        s.add(b)
    b.reason, b.valid_until, b.active = reason, valid_until, True
    if approve:
        b.approved_by, b.approved_at = actor.user_id, now()
    else:
        b.approved_by, b.approved_at = None, None
    s.flush()
    return b


def register(db, actor: Actor, *, household_id: int, category: str, reason: str = "",
             valid_until: dt.date | None = None, approve: bool = False) -> int:
    """Put a household on the register (or renew its entry). 其他困难户 needs a reason.
    With ``approve`` the acting staff member approves it now. Returns the entry id."""
    category = _category(category)
    reason = validate.text(reason, "原因", 500, required=(category == "hardship"))
    valid_until = _valid_until(valid_until)
    village_id = _village(actor)
    require(actor, FIELD_ROLES, village_id)
    with db.write() as s:
        hh = _household(s, household_id, village_id)
        b = _upsert_beneficiary(s, actor, hh, category, reason, valid_until, approve)
        record(s, actor, "beneficiary.register", "beneficiary", b.id,
               {"household_id": hh.id, "category": category, "valid_until": valid_until, "approved": approve},
               reason, village_id=village_id)
        return b.id


def approve(db, actor: Actor, beneficiary_id: int) -> None:
    with db.write() as s:
        b = _entry(s, actor, beneficiary_id)
        if b.approved_at is not None:
            raise AlreadyDone("该条已审核。")
        b.approved_by, b.approved_at = actor.user_id, now()
        record(s, actor, "beneficiary.approve", "beneficiary", b.id, village_id=b.village_id)


def renew(db, actor: Actor, beneficiary_id: int, valid_until: dt.date | None) -> None:
    """Renew an entry after review (复核续期): new end date, approved now by the actor."""
    valid_until = _valid_until(valid_until)
    with db.write() as s:
        b = _entry(s, actor, beneficiary_id)
        hh = _household(s, b.household_id, b.village_id)
        old = b.valid_until
        _upsert_beneficiary(s, actor, hh, b.category, b.reason, valid_until, approve=True)
        record(s, actor, "beneficiary.renew", "beneficiary", b.id, {"old": old, "new": valid_until},
               village_id=b.village_id)


def deactivate(db, actor: Actor, beneficiary_id: int, reason: str) -> None:
    """Take an entry off the register (moved away, no longer eligible); kept for history."""
    reason = validate.text(reason, "原因", 500, required=True)
    with db.write() as s:
        b = _entry(s, actor, beneficiary_id)
        if not b.active:
            raise AlreadyDone("该条已停用。")
        b.active = False
        record(s, actor, "beneficiary.deactivate", "beneficiary", b.id, reason=reason, village_id=b.village_id)


def _entry(s: Session, actor: Actor, beneficiary_id: object) -> Beneficiary:
    b = s.get(Beneficiary, _id(beneficiary_id, "受助对象"))
    if b is None:
        raise NotFound("找不到该受助对象。")
    require(actor, FIELD_ROLES, b.village_id)
    return b


@dataclass(frozen=True)
class SuggestionRow:
    """One household suggested as elderly: its members aged 70+ as (name, age) pairs."""

    household_id: int
    door_no: str
    head_name: str
    elderly: tuple[tuple[str, int], ...]

    @property
    def elderly_text(self) -> str:
        return "、".join(f"{name}（{age}岁）" for name, age in self.elderly)


def suggestions(db, village_id: int, on: dt.date | None = None) -> list[SuggestionRow]:
    """Households with an active member aged 70+ (from the birth year) not yet on the
    register as elderly: for staff to confirm, never added automatically."""
    year = (on or dt.date.today()).year - ELDERLY_AGE
    with db.read() as s:
        listed = select(Beneficiary.household_id).where(Beneficiary.village_id == village_id,
                                                        Beneficiary.category == "elderly", Beneficiary.active)
        rows = s.execute(
            select(Household.id, Household.door_no, Household.head_name, Resident.name, Resident.birth_year)
            .join(Resident, Resident.household_id == Household.id)
            .where(Household.village_id == village_id, Household.active, Resident.active,
                   Resident.birth_year.is_not(None), Resident.birth_year <= year, Household.id.not_in(listed))
            .order_by(Household.door_no, Resident.birth_year)).all()
    today_year = (on or dt.date.today()).year
    heads: dict[int, tuple[str, str]] = {}
    members: dict[int, list[tuple[str, int]]] = {}
    for hid, door, head, name, birth in rows:
        heads.setdefault(hid, (door, head))
        members.setdefault(hid, []).append((name, today_year - birth))
    return [SuggestionRow(hid, door, head, tuple(members[hid])) for hid, (door, head) in heads.items()]


def confirm_suggestions(db, actor: Actor, household_ids: list[int], valid_until: dt.date | None) -> int:
    """Register the chosen suggested households as elderly, approved now. Returns how many."""
    valid_until = _valid_until(valid_until)
    if not household_ids:
        raise InvalidInput("请至少选择一户。")
    village_id = _village(actor)
    require(actor, FIELD_ROLES, village_id)
    with db.write() as s:
        for hid in household_ids:
            hh = _household(s, hid, village_id)
            _upsert_beneficiary(s, actor, hh, "elderly", f"家中有{ELDERLY_AGE}岁以上老人（花名册出生年份）",
                                valid_until, approve=True)
        record(s, actor, "beneficiary.confirm_suggestions", "village", village_id,
               {"households": list(household_ids)}, village_id=village_id)
        return len(household_ids)


def households_of(db, village_id: int, resident_ids: list[int]) -> list[tuple[int, str]]:
    """The households of some residents (found by name): (id, '门牌号 户主')."""
    with db.read() as s:
        return [(hid, f"{door} {head}") for hid, door, head in s.execute(
            select(Household.id, Household.door_no, Household.head_name).distinct()
            .join(Resident, Resident.household_id == Household.id)
            .where(Household.village_id == village_id, Household.active, Resident.id.in_(resident_ids))
            .order_by(Household.door_no)).all()]


class EntryStatus(StrEnum):
    """A register entry's status on a day: computed from active, approved and valid_until, never stored."""

    VALID = "valid"
    PENDING = "pending"
    EXPIRED = "expired"
    INACTIVE = "inactive"


ENTRY_STATUS = {EntryStatus.VALID: "有效", EntryStatus.PENDING: "待审核", EntryStatus.EXPIRED: "已过期",
                EntryStatus.INACTIVE: "已停用"}


@dataclass(frozen=True)
class EntryRow:
    """One register entry: ``category`` is the BENEFICIARY_CATEGORIES code, ``status`` the
    EntryStatus on the day asked."""

    id: int
    door_no: str
    head_name: str
    persons: int
    category: str
    reason: str
    approved_by: str | None
    approved_at: dt.datetime | None
    valid_until: dt.date | None
    status: EntryStatus


def register_entries(db, village_id: int, on: dt.date | None = None) -> list[EntryRow]:
    """Every entry of the register by door number and category, with its status on ``on`` (default today)."""
    on = on or dt.date.today()
    with db.read() as s:
        persons = _persons_subquery(village_id)
        rows = s.execute(
            select(Beneficiary, Household.door_no, Household.head_name, Household.active, StaffUser.display_name,
                   persons.c.n)
            .join(Household, Household.id == Beneficiary.household_id)
            .outerjoin(StaffUser, StaffUser.id == Beneficiary.approved_by)
            .outerjoin(persons, persons.c.household_id == Beneficiary.household_id)
            .where(Beneficiary.village_id == village_id).order_by(Household.door_no, Beneficiary.category)).all()
    return [EntryRow(b.id, door, head, n or 0, b.category, b.reason, who, b.approved_at, b.valid_until,
                     _status(b, hh_active, on))
            for b, door, head, hh_active, who, n in rows]


def _status(b: Beneficiary, household_active: bool, on: dt.date) -> EntryStatus:
    if not b.active or not household_active:
        return EntryStatus.INACTIVE
    if b.approved_at is None:
        return EntryStatus.PENDING
    if b.valid_until is not None and b.valid_until < on:
        return EntryStatus.EXPIRED
    return EntryStatus.VALID


def _persons_subquery(village_id: int):
    return (select(Resident.household_id, func.count().label("n"))
            .where(Resident.village_id == village_id, Resident.active).group_by(Resident.household_id).subquery())


def register_summary(db, village_id: int, on: dt.date | None = None) -> dict[str, tuple[int, int]]:
    """Valid entries per category → (households, people)."""
    claims = _claims(db, village_id, on or dt.date.today())
    out: dict[str, list[int]] = {c: [0, 0] for c in BENEFICIARY_CATEGORIES}
    for c in claims:
        for cat in c.categories:
            out[cat][0] += 1
            out[cat][1] += c.persons
    return {k: (v[0], v[1]) for k, v in out.items()}


def _claims_in(s: Session, village_id: int, on: dt.date, categories: tuple[str, ...] | None = None
               ) -> list[allocation.Claim]:
    rows = s.execute(
        select(Beneficiary.household_id, Beneficiary.category, Beneficiary.approved_at, Beneficiary.active,
               Beneficiary.valid_until, Household.active)
        .join(Household, Household.id == Beneficiary.household_id)
        .where(Beneficiary.village_id == village_id)).all()
    regs = [allocation.Register(h, c, appr is not None, act, vu, hact) for h, c, appr, act, vu, hact in rows
            if categories is None or c in categories]
    eligible = allocation.eligible_households(regs, on)
    if not eligible:
        return []
    persons = dict(s.execute(select(Resident.household_id, func.count()).where(
        Resident.village_id == village_id, Resident.active, Resident.household_id.in_(list(eligible)))
        .group_by(Resident.household_id)).all())
    return [allocation.Claim(h, persons.get(h, 1) or 1, cats) for h, cats in sorted(eligible.items())]


def _claims(db, village_id: int, on: dt.date, categories: tuple[str, ...] | None = None) -> list[allocation.Claim]:
    with db.read() as s:
        return _claims_in(s, village_id, on, categories)
