"""户积分查询: one household's account, members and ledger history, read for the screen.

A reversal (冲正) is shown beside the entry it undoes: each row carries the id of its
reversal (or of the entry it reverses), so the page can put them side by side.

The functions taking ``db`` read what one part of the page shows in one transaction, so a page
never opens a session and the figures of one screen come from one snapshot.
"""

from __future__ import annotations

import datetime as dt
from dataclasses import dataclass
from typing import NamedTuple

from sqlalchemy import or_, select, true
from sqlalchemy.orm import Session, aliased

from core.platform.errors import NotFound
from core.platform.natural import natural_key
from core.points.balances import held_points
from core.points.entry_rules import KIND_NAMES
from core.village import lifecycle
from db.models import Account, Grid, Household, LedgerEntry, Resident, StaffUser


@dataclass(frozen=True)
class HouseholdView:
    id: int
    village_id: int
    door_no: str
    head_name: str
    grid: str
    phone: str
    balance: int
    earned_total: int
    entries: int
    outstanding: int = 0  # 待扣
    held: int = 0  # held for deductions in 公示
    active: bool = True  # False: closed (注销); its history stays readable


def household(s: Session, village_id: int, household_id: int) -> HouseholdView:
    row = s.execute(select(Household, Account, Grid.name).join(Account, Account.household_id == Household.id)
                    .outerjoin(Grid, Grid.id == Household.grid_id).where(Household.id == household_id)).first()
    if row is None or row[0].village_id != village_id:
        raise NotFound("找不到该户。")
    hh, acc, grid = row
    return HouseholdView(hh.id, hh.village_id, hh.door_no, hh.head_name, grid or "", hh.phone, acc.balance,
                         acc.earned_total, acc.entries, acc.outstanding, held_points(s, [hh.id]).get(hh.id, 0),
                         hh.active)


class Member(NamedTuple):
    """A resident living in the household now (the pickers of 积分申报 and 户籍变动)."""

    id: int
    name: str
    relation: str


def members(s: Session, household_id: int) -> list[Member]:
    rows = s.execute(select(Resident.id, Resident.name, Resident.relation)
                     .where(Resident.household_id == household_id, Resident.active).order_by(Resident.id)).all()
    return [Member(i, name, relation) for i, name, relation in rows]


def members_of(db, household_id: int) -> list[Member]:
    with db.read() as s:
        return members(s, household_id)


class MemberDetail(NamedTuple):
    """A member as the 家庭成员 tab lists them."""

    name: str
    relation: str
    gender: str | None
    birth_year: int | None
    party_member: bool


def member_details(s: Session, household_id: int) -> list[MemberDetail]:
    rows = s.execute(select(Resident.name, Resident.relation, Resident.gender, Resident.birth_year,
                            Resident.party_member).where(Resident.household_id == household_id, Resident.active)
                     .order_by(Resident.id)).all()
    return [MemberDetail(r.name, r.relation, r.gender, r.birth_year, bool(r.party_member)) for r in rows]


@dataclass(frozen=True)
class HistoryRow:
    """One ledger entry of the household as its history shows it."""

    id: int
    occurred_on: dt.date
    kind: str  # in Chinese (KIND_NAMES)
    delta_earned: int
    delta_balance: int
    delta_outstanding: int
    person: str  # the resident it concerns, "" for the whole household
    reason: str
    link: str  # "冲正第 n 号" on a reversal, "已被第 n 号冲正" on a reversed entry, else ""
    by: str  # who recorded it, 系统 for the system
    created_at: dt.datetime
    reverses_id: int | None  # the entry this one reverses


def history(s: Session, household_id: int, limit: int = 200) -> list[HistoryRow]:
    """Newest first; a reversed entry says so and names its reversal, and vice versa."""
    rev = aliased(LedgerEntry)
    rows = s.execute(
        select(LedgerEntry, Resident.name, StaffUser.display_name, rev.id)
        .outerjoin(Resident, Resident.id == LedgerEntry.resident_id)
        .outerjoin(StaffUser, StaffUser.id == LedgerEntry.created_by)
        .outerjoin(rev, rev.reverses_id == LedgerEntry.id)
        .where(LedgerEntry.household_id == household_id)
        .order_by(LedgerEntry.id.desc()).limit(limit)).all()
    out = []
    for e, person, by, reversal_id in rows:
        if e.reverses_id is not None:
            link = f"冲正第 {e.reverses_id} 号"
        elif reversal_id is not None:
            link = f"已被第 {reversal_id} 号冲正"
        else:
            link = ""
        out.append(HistoryRow(e.id, e.occurred_on, KIND_NAMES.get(e.kind, e.kind), e.delta_earned, e.delta_balance,
                              e.delta_outstanding, person or "", e.reason, link, by or "系统", e.created_at,
                              e.reverses_id))
    return out


def side_by_side(rows: list[HistoryRow]) -> list[HistoryRow]:
    """The history reordered so each reversal sits right below the entry it reverses."""
    ids = {r.id for r in rows}
    reversal_of = {r.reverses_id: r for r in rows if r.reverses_id is not None}
    out = []
    for r in rows:
        if r.reverses_id in ids:
            continue  # shown below its original
        out.append(r)
        if r.id in reversal_of:
            out.append(reversal_of[r.id])
    return out


def reversible(s: Session, household_id: int, limit: int = 200) -> list[dict]:
    """Entries an admin may reverse: not reversals themselves and not yet reversed."""
    rev = aliased(LedgerEntry)
    rows = s.execute(select(LedgerEntry.id, LedgerEntry.occurred_on, LedgerEntry.kind, LedgerEntry.delta_earned,
                            LedgerEntry.delta_balance, LedgerEntry.reason)
                     .outerjoin(rev, rev.reverses_id == LedgerEntry.id)
                     .where(LedgerEntry.household_id == household_id,
                            LedgerEntry.kind.not_in(("reversal", "settlement", "backfill", "carryover_record", "transfer")), rev.id.is_(None))
                     .order_by(LedgerEntry.id.desc()).limit(limit)).all()
    return [{"id": r.id, "label": f"#{r.id} {r.occurred_on} {KIND_NAMES.get(r.kind, r.kind)} "
             f"{r.delta_balance:+d}（可用）{r.reason[:30]}"} for r in rows]


def reversible_entries(db, household_id: int) -> list[dict]:
    """``reversible`` in a read of its own: the choices of the reversal form."""
    with db.read() as s:
        return reversible(s, household_id)


@dataclass(frozen=True)
class BalanceRow:
    """One household's points as the counter sees them (全村积分余额表)."""

    household_id: int
    door_no: str
    head_name: str
    grid: str
    balance: int  # 可用积分 (spendable balance before holds)
    held: int  # held for deductions in 公示
    outstanding: int  # 待扣
    earned_total: int  # 累计积分

    @property
    def spendable(self) -> int:
        return max(0, self.balance - self.held)


def balances(s: Session, village_id: int) -> list[BalanceRow]:
    """Every active household of the village with its balance, held and outstanding points and
    earned total, in grid and door-number order: two queries, whatever the village's size."""
    rows = s.execute(select(Household.id, Household.door_no, Household.head_name, Grid.name, Account.balance,
                            Account.outstanding, Account.earned_total)
                     .join(Account, Account.household_id == Household.id)
                     .outerjoin(Grid, Grid.id == Household.grid_id)
                     .where(Household.village_id == village_id, Household.active.is_(True))
                     .order_by(Grid.name, Household.door_no)).all()
    held = held_points(s, village_id=village_id)
    rows = sorted(rows, key=lambda r: (natural_key(r[3]), natural_key(r[1])))  # 第二网格 before 第三网格
    return [BalanceRow(hid, door, head, grid or "", bal, held.get(hid, 0), owed, earned)
            for hid, door, head, grid, bal, owed, earned in rows]



@dataclass(frozen=True)
class HouseholdScreen:
    """Everything the household page shows of one household, read in one transaction."""

    view: HouseholdView
    members: list[MemberDetail]
    history: list[HistoryRow]  # newest first (side_by_side puts reversals beside their entries)
    events: list[lifecycle.EventRow]  # 户籍变动, newest first
    closed: tuple[dt.date, str] | None  # (date, reason) of the closing; None while active


def household_screen(db, village_id: int, household_id: int) -> HouseholdScreen:
    """The household's account, members, history and 户籍变动; NotFound outside the village."""
    with db.read() as s:
        view = household(s, village_id, household_id)
        return HouseholdScreen(view, member_details(s, household_id), history(s, household_id),
                               lifecycle.events(s, household_id),
                               None if view.active else lifecycle.close_info(s, household_id))


@dataclass(frozen=True)
class LifecycleChoices:
    """What the 办理户籍变动 forms offer for one household."""

    members: list[Member]  # living in it now
    former: list[tuple[int, str, str]]  # (id, name, relation) of those who left
    # (the other households to merge into or move points to come from the household picker's read)


def lifecycle_choices(db, village_id: int, household_id: int) -> LifecycleChoices:
    with db.read() as s:
        return LifecycleChoices(members(s, household_id), lifecycle.former_members(s, household_id))


# ---------------------------------------------------------------- the household picker's reads


@dataclass(frozen=True)
class HouseholdChoice:
    """One household as every picker shows it: door number and head, closed ones marked."""

    id: int
    door_no: str
    head_name: str
    active: bool = True

    @property
    def label(self) -> str:
        return f"{self.door_no} {self.head_name}" + ("" if self.active else "（已注销）")


def _choices(s: Session, village_id: int, include_closed: bool, ids: list[int] | None = None) -> list[HouseholdChoice]:
    q = select(Household.id, Household.door_no, Household.head_name, Household.active).where(
        Household.village_id == village_id, true() if include_closed else Household.active.is_(True))
    if ids is not None:
        q = q.where(Household.id.in_(ids))
    rows = [HouseholdChoice(hid, door, head, bool(active)) for hid, door, head, active in s.execute(q)]
    # 2-009 before 10-001: the order a person reads door numbers in, not the database's text order
    return sorted(rows, key=lambda c: (natural_key(c.door_no), natural_key(c.head_name), c.id))


def find_choices_in(s: Session, village_id: int, text: str, limit: int = 20,
                    include_closed: bool = False) -> list[HouseholdChoice]:
    """Households whose head or a member's name, door number or card number matches ``text``
    (a scanned card finds its household, even where a drop-down could not); closed households
    (注销) only when ``include_closed`` (to read their history)."""
    text = (text or "").strip()
    if not text:
        return []
    from core.village.cards import extract_token

    if extract_token(text):
        from core.village.cards import resolve

        _card, hh = resolve(s, village_id, text)
        ids = [hh.id]
    else:
        like = f"%{text[:40]}%"
        member = select(Resident.household_id).where(Resident.village_id == village_id, Resident.name.like(like))
        ids = list(s.execute(
            select(Household.id).where(Household.village_id == village_id,
                                       true() if include_closed else Household.active,
                                       or_(Household.head_name.like(like), Household.door_no.like(like),
                                           Household.id.in_(member)))
            .order_by(Household.door_no).limit(limit)).scalars())
    return _choices(s, village_id, True, ids) if ids else []


def household_choices(db, village_id: int, *, include_closed: bool = False) -> list[HouseholdChoice]:
    """Every household of the village for a picker, in natural door-number order; closed ones
    (marked 已注销) only when ``include_closed``."""
    with db.read() as s:
        return _choices(s, village_id, include_closed)


def find_choices(db, village_id: int, text: str, *, include_closed: bool = False,
                 limit: int = 20) -> list[HouseholdChoice]:
    """:func:`find_choices_in` in a read of its own: what a picker's search box (or the till's
    forgotten-card look-up) finds. A card of another village or a revoked card raises in Chinese."""
    with db.read() as s:
        return find_choices_in(s, village_id, text, limit=limit, include_closed=include_closed)
