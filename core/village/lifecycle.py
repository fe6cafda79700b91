"""户籍变动: households and residents that move away, die, split and merge, over the years.

Every step is one transaction that appends a ``household_event`` (what, when it happened, why,
who recorded it) and changes the working state (``Household.active``, ``Resident.active``, which
household a resident belongs to). Nothing is deleted; a step is undone by another step
(reopen, a resident coming back), never by editing history.

Points move only through the ledger: a ``transfer`` entry out of one household and one into the
other, both caused by the event (``source_type = "household_event"``, ids ``<event>:out`` and
``<event>:in``) and each naming the other household in its reason. A transfer moves spendable
points (可用积分); the earned total (累计积分: ranks, stars) stays with the household that earned
it. Points held for deductions in 公示 and outstanding points (待扣) never move: a household with
either must settle them first.

A closed household (注销): its cards are revoked; it cannot redeem, is not ranked, and a scan of
its card is refused naming the date and the reason; its history stays readable.
"""

from __future__ import annotations

import datetime as dt
from dataclasses import dataclass

from sqlalchemy import func, select, update

from core.platform.access import Actor, require
from core.platform.audit import record
from core.platform.errors import InvalidInput, NotFound
from core.platform.validate import door_number
from core.points import balances, posting
from db import clock
from db.enums import CardStatus
from db.models import Card, Grid, Household, HouseholdEvent, Resident

CLOSE_REASONS = {"moved": "整户迁出", "died": "户内人员均已去世", "merged": "并入他户", "other": "其他"}
LEAVE_REASONS = {"moved": "迁出", "died": "去世", "married": "婚嫁迁出", "other": "其他"}
KIND_NAMES = {
    "close": "注销", "reopen": "恢复", "resident_leave": "成员迁出/去世", "resident_return": "成员恢复",
    "split_out": "分户（分出）", "split_in": "分户（新立户）", "merge_out": "合户（并入他户）",
    "merge_in": "合户（接收）", "head_change": "变更户主",
}
SOURCE = "household_event"
MAX_NOTE = 200


@dataclass(frozen=True)
class Done:
    """What a step recorded, for the page's message."""

    event_id: int
    household_id: int
    other_household_id: int | None
    points: int
    message: str


# ---------------------------------------------------------------- shared checks


def _day(on: dt.date | None) -> dt.date:
    on = on or dt.date.today()
    if on > dt.date.today():
        raise InvalidInput("变动日期不能晚于今天。")
    return on


def _note(note: str) -> str:
    note = (note or "").strip()
    if len(note) > MAX_NOTE:
        raise InvalidInput(f"说明不能超过 {MAX_NOTE} 个字。")
    return note


def _household(s, actor: Actor, household_id: int, *, active: bool | None = True) -> Household:
    hh = s.execute(select(Household).where(Household.id == household_id).with_for_update()).scalar_one_or_none() \
        if isinstance(household_id, int) else None
    if hh is None:
        raise NotFound("找不到该户。")
    require(actor, "admin", hh.village_id)
    if active is True and not hh.active:
        raise InvalidInput(f"{hh.door_no} {hh.head_name} 已注销，不能办理；如需恢复请先“恢复本户”。")
    if active is False and hh.active:
        raise InvalidInput(f"{hh.door_no} {hh.head_name} 没有注销。")
    return hh


def _label(hh: Household) -> str:
    return f"{hh.door_no} {hh.head_name}"


def _movable(s, hh: Household, points: int) -> None:
    """Refuse moving ``points`` out of ``hh`` unless it holds them free of holds and debts."""
    acc = posting.lock_account(s, hh.id)
    held = balances.held_points(s, [hh.id]).get(hh.id, 0)
    if acc.outstanding:
        raise InvalidInput(f"{_label(hh)} 还有待扣积分 {acc.outstanding} 分，积分不能转出：请先处理待扣。")
    if points > balances.spendable(acc.balance, held):
        extra = f"（其中 {held} 分因扣分公示冻结）" if held else ""
        raise InvalidInput(f"{_label(hh)} 可用积分只有 {acc.balance} 分{extra}，不能转出 {points} 分。")


def _settled(s, hh: Household) -> None:
    """Refuse closing ``hh`` into another while a deduction of it waits in 公示 or is outstanding:
    it would post to, or stay on, a household no one uses."""
    acc = posting.lock_account(s, hh.id)
    if acc.outstanding:
        raise InvalidInput(f"{_label(hh)} 还有待扣积分 {acc.outstanding} 分：请先处理待扣，再合户。")
    held = balances.held_points(s, [hh.id]).get(hh.id, 0)
    if held:
        raise InvalidInput(f"{_label(hh)} 有 {held} 分扣分正在公示：请公示期满记账后再合户。")


def _transfer(s, actor: Actor, event: HouseholdEvent, giver: Household, taker: Household, points: int,
              what: str, on: dt.date) -> None:
    """The two ledger entries of a move, naming each other's household."""
    if points <= 0:
        return
    _movable(s, giver, points)
    posting.post(s, household_id=giver.id, kind="transfer", points=-points, source_type=SOURCE,
                 source_id=f"{event.id}:out", occurred_on=on, actor=actor,
                 reason=f"{what}：转出至 {_label(taker)}")
    posting.post(s, household_id=taker.id, kind="transfer", points=points, source_type=SOURCE,
                 source_id=f"{event.id}:in", occurred_on=on, actor=actor,
                 reason=f"{what}：由 {_label(giver)} 转入")


def _event(s, actor: Actor, hh: Household, kind: str, on: dt.date, *, reason: str = "", note: str = "",
           resident_id: int | None = None, other: Household | None = None, points: int = 0) -> HouseholdEvent:
    ev = HouseholdEvent(village_id=hh.village_id, household_id=hh.id, resident_id=resident_id, kind=kind,
                        reason=reason, note=note, happened_on=on, other_household_id=other.id if other else None,
                        points=points, created_by=actor.user_id)
    s.add(ev)
    s.flush()
    return ev


def _revoke_cards(s, hh: Household, why: str) -> int:
    res = s.execute(update(Card).where(Card.household_id == hh.id, Card.status == CardStatus.ACTIVE)
                    .values(status=CardStatus.REVOKED, revoked_at=clock.now(), revoke_reason=why)
                    .execution_options(synchronize_session=False))
    return res.rowcount or 0


def _residents(s, household_id: int, ids: list[int] | None = None) -> list[Resident]:
    q = select(Resident).where(Resident.household_id == household_id, Resident.active.is_(True))
    if ids is not None:
        q = q.where(Resident.id.in_(ids))
    return list(s.execute(q.order_by(Resident.id).with_for_update()).scalars())


# ---------------------------------------------------------------- closing and reopening


def close_household(db, actor: Actor, household_id: int, reason: str, *, note: str = "",
                    on: dt.date | None = None, balance_to: int | None = None) -> Done:
    """注销: the whole household moved away or no one is left. Its balance is kept on the closed
    account (frozen, still shown) or, as the village decides, moved to ``balance_to``."""
    if reason not in CLOSE_REASONS or reason == "merged":
        raise InvalidInput("请选择注销原因。")
    on, note = _day(on), _note(note)
    with db.write() as s:
        if balance_to == household_id:
            raise InvalidInput("积分只能转给本村的另一户。")
        # Lock in id order, as the ledger does, so two closings moving points both ways cannot deadlock.
        order = sorted({household_id, balance_to} - {None})
        locked = {i: _household(s, actor, i) for i in order}
        hh, to = locked[household_id], locked.get(balance_to)
        if to is not None and to.village_id != hh.village_id:
            raise InvalidInput("积分只能转给本村的另一户。")
        points = balances.balance(s, hh.id).balance if to is not None else 0
        ev = _event(s, actor, hh, "close", on, reason=reason, note=note, other=to, points=points)
        if to is not None:
            _transfer(s, actor, ev, hh, to, points, "注销", on)
        hh.active = False
        cards = _revoke_cards(s, hh, f"该户已注销（{CLOSE_REASONS[reason]}）")
        record(s, actor, "household.close", "household", hh.id,
               {"reason": reason, "on": on.isoformat(), "balance_to": balance_to, "points": points, "cards": cards},
               note, village_id=hh.village_id)
        moved = f"，{points} 分转入 {_label(to)}" if to is not None and points else ""
        return Done(ev.id, hh.id, to.id if to else None, points,
                    f"已注销 {_label(hh)}（{CLOSE_REASONS[reason]}）{moved}，积分卡 {cards} 张已作废。")


def reopen_household(db, actor: Actor, household_id: int, *, note: str = "", on: dt.date | None = None) -> Done:
    """恢复: undo a closing by a new step (a card must be issued again; moved points stay moved)."""
    on, note = _day(on), _note(note)
    if not note:
        raise InvalidInput("恢复必须写明原因。")
    with db.write() as s:
        hh = _household(s, actor, household_id, active=False)
        ev = _event(s, actor, hh, "reopen", on, note=note)
        hh.active = True
        record(s, actor, "household.reopen", "household", hh.id, {"on": on.isoformat()}, note,
               village_id=hh.village_id)
        return Done(ev.id, hh.id, None, 0, f"已恢复 {_label(hh)}。如需使用积分卡，请重新发卡。")


def close_info(s, household_id: int) -> tuple[dt.date, str] | None:
    """(date, reason in Chinese) of the household's latest closing, if it is closed."""
    row = s.execute(select(HouseholdEvent.happened_on, HouseholdEvent.kind, HouseholdEvent.reason)
                    .where(HouseholdEvent.household_id == household_id,
                           HouseholdEvent.kind.in_(("close", "reopen", "merge_out")))
                    .order_by(HouseholdEvent.id.desc()).limit(1)).first()
    if row is None or row.kind == "reopen":
        return None
    return row.happened_on, "并入他户" if row.kind == "merge_out" else CLOSE_REASONS.get(row.reason, "其他")


# ---------------------------------------------------------------- residents


def resident_leaves(db, actor: Actor, resident_id: int, reason: str, *, note: str = "", on: dt.date | None = None,
                    new_head_id: int | None = None) -> Done:
    """A resident moved away, married out or died. When it is the head (户主) and others remain,
    ``new_head_id`` names the new head; the last resident leaving is refused (close the household)."""
    if reason not in LEAVE_REASONS:
        raise InvalidInput("请选择原因（迁出、去世、婚嫁迁出或其他）。")
    on, note = _day(on), _note(note)
    with db.write() as s:
        res = s.get(Resident, resident_id) if isinstance(resident_id, int) else None
        if res is None:
            raise NotFound("找不到这位村民。")
        hh = _household(s, actor, res.household_id)
        if not res.active:
            raise InvalidInput(f"{res.name} 已不在本户。")
        others = [r for r in _residents(s, hh.id) if r.id != res.id]
        if not others:
            raise InvalidInput(f"{res.name} 是 {hh.door_no} 的最后一位成员：请注销这一户。")
        ev = _event(s, actor, hh, "resident_leave", on, reason=reason, note=note, resident_id=res.id)
        res.active = False
        head = ""
        if res.relation == "户主" or res.name == hh.head_name:
            new = next((r for r in others if r.id == new_head_id), None)
            if new is None:
                raise InvalidInput(f"{res.name} 是户主：请选择新的户主。")
            _set_head(s, actor, hh, new, on)
            head = f"，新户主为 {new.name}"
        record(s, actor, "resident.leave", "resident", res.id, {"reason": reason, "on": on.isoformat()}, note,
               village_id=hh.village_id)
        return Done(ev.id, hh.id, None, 0, f"已登记 {res.name}（{hh.door_no}）{LEAVE_REASONS[reason]}{head}。")


def _set_head(s, actor: Actor, hh: Household, new: Resident, on: dt.date) -> None:
    _event(s, actor, hh, "head_change", on, resident_id=new.id, note=f"户主由 {hh.head_name} 变更为 {new.name}")
    new.relation = "户主"
    hh.head_name = new.name


def resident_returns(db, actor: Actor, resident_id: int, *, note: str = "", on: dt.date | None = None) -> Done:
    """Undo a leaving (recorded by mistake, or the person came back) by a new step."""
    on, note = _day(on), _note(note)
    with db.write() as s:
        res = s.get(Resident, resident_id) if isinstance(resident_id, int) else None
        if res is None:
            raise NotFound("找不到这位村民。")
        hh = _household(s, actor, res.household_id)
        if res.active:
            raise InvalidInput(f"{res.name} 仍在本户。")
        ev = _event(s, actor, hh, "resident_return", on, note=note, resident_id=res.id)
        res.active = True
        if res.relation == "户主" and res.name != hh.head_name:
            res.relation = "其他"  # the household has a head already
        record(s, actor, "resident.return", "resident", res.id, {"on": on.isoformat()}, note,
               village_id=hh.village_id)
        return Done(ev.id, hh.id, None, 0, f"已恢复 {res.name} 为 {hh.door_no} 的成员。")


# ---------------------------------------------------------------- split and merge


def split(db, actor: Actor, household_id: int, resident_ids: list[int], *, door_no: str, points: int = 0,
          grid_id: int | None = None, head_id: int | None = None, note: str = "", on: dt.date | None = None) -> Done:
    """分户: some residents leave to form a new household (new door number) and take ``points`` of
    the spendable balance, as agreed. The old household keeps its other members and head."""
    on, note = _day(on), _note(note)
    door = door_number(door_no)
    if not door or len(door) > 30:
        raise InvalidInput("请填写新户的门牌号（不超过 30 个字）。")
    if isinstance(points, bool) or not isinstance(points, int) or points < 0:
        raise InvalidInput("分出的积分应为 0 或正整数。")
    ids = sorted(set(resident_ids or []))
    if not ids:
        raise InvalidInput("请选择分出去的成员。")
    with db.write() as s:
        old = _household(s, actor, household_id)
        movers = _residents(s, old.id, ids)
        if len(movers) != len(ids):
            raise InvalidInput("所选成员不都在这一户。")
        stay = [r for r in _residents(s, old.id) if r.id not in ids]
        if not stay:
            raise InvalidInput("不能把全部成员都分出去：请改用“合户”或直接变更户主。")
        if any(r.relation == "户主" or r.name == old.head_name for r in movers):
            raise InvalidInput(f"户主 {old.head_name} 留在原户：分出去的成员中不能有户主。如户主要分出，请先变更户主。")
        if s.execute(select(Household.id).where(Household.village_id == old.village_id,
                                                Household.door_no == door)).first():
            raise InvalidInput(f"门牌号“{door}”已有一户，请换一个门牌号。")
        grid = grid_id if grid_id is not None else old.grid_id
        if grid is not None and s.get(Grid, grid) is None:
            raise NotFound("找不到这个网格。")
        head = next((r for r in movers if r.id == head_id), movers[0])
        new = Household(village_id=old.village_id, grid_id=grid, door_no=door, head_name=head.name,
                        phone=head.phone, address="")
        s.add(new)
        s.flush()
        posting.open_account(s, new)
        s.flush()
        ev = _event(s, actor, old, "split_out", on, note=note, other=new, points=points)
        _event(s, actor, new, "split_in", on, note=note, other=old, points=points)
        for r in movers:
            r.household_id = new.id
            r.relation = "户主" if r.id == head.id else (r.relation if r.relation != "户主" else "其他")
        _transfer(s, actor, ev, old, new, points, "分户", on)
        record(s, actor, "household.split", "household", old.id,
               {"new_household": new.id, "door_no": door, "residents": ids, "points": points, "on": on.isoformat()},
               note, village_id=old.village_id)
        return Done(ev.id, old.id, new.id, points,
                    f"已分户：{'、'.join(r.name for r in movers)} 从 {_label(old)} 分出，新立 {_label(new)}"
                    + (f"，带走 {points} 分" if points else "") + "。新户需要发卡。")


def merge(db, actor: Actor, from_id: int, into_id: int, *, note: str = "", on: dt.date | None = None) -> Done:
    """合户: every resident and the whole spendable balance of ``from_id`` move into ``into_id``;
    ``from_id`` is closed (its cards revoked). Refused while it has outstanding or held points."""
    on, note = _day(on), _note(note)
    if from_id == into_id:
        raise InvalidInput("不能把一户并入它自己。")
    with db.write() as s:
        # Lock in id order, as the ledger does, so two merges cannot deadlock.
        first, second = sorted((from_id, into_id))
        locked = {first: _household(s, actor, first), second: _household(s, actor, second)}
        old, into = locked[from_id], locked[into_id]
        if old.village_id != into.village_id:
            raise InvalidInput("只能与本村的另一户合户。")
        _settled(s, old)
        points = balances.balance(s, old.id).balance
        ev = _event(s, actor, old, "merge_out", on, reason="merged", note=note, other=into, points=points)
        _event(s, actor, into, "merge_in", on, note=note, other=old, points=points)
        _transfer(s, actor, ev, old, into, points, "合户", on)
        movers = _residents(s, old.id)
        for r in movers:
            r.household_id = into.id
            if r.relation == "户主":
                r.relation = "其他"
        old.active = False
        cards = _revoke_cards(s, old, f"已并入 {_label(into)}")
        record(s, actor, "household.merge", "household", old.id,
               {"into": into.id, "residents": [r.id for r in movers], "points": points, "cards": cards,
                "on": on.isoformat()}, note, village_id=old.village_id)
        return Done(ev.id, old.id, into.id, points,
                    f"已合户：{_label(old)} 的 {len(movers)} 位成员和 {points} 分并入 {_label(into)}，"
                    f"原户已注销，积分卡 {cards} 张已作废。")


# ---------------------------------------------------------------- reading


@dataclass(frozen=True)
class EventRow:
    id: int
    happened_on: dt.date
    kind: str
    what: str
    resident: str
    other: str
    points: int
    note: str
    recorded_at: dt.datetime


def events(s, household_id: int) -> list[EventRow]:
    """The household's 户籍变动, newest first."""
    from sqlalchemy.orm import aliased

    other = aliased(Household)
    rows = s.execute(select(HouseholdEvent, Resident.name, other.door_no, other.head_name)
                     .outerjoin(Resident, Resident.id == HouseholdEvent.resident_id)
                     .outerjoin(other, other.id == HouseholdEvent.other_household_id)
                     .where(HouseholdEvent.household_id == household_id)
                     .order_by(HouseholdEvent.id.desc())).all()
    out = []
    for ev, person, odoor, ohead in rows:
        why = CLOSE_REASONS.get(ev.reason, "") if ev.kind == "close" else LEAVE_REASONS.get(ev.reason, "") \
            if ev.kind == "resident_leave" else ""
        what = KIND_NAMES.get(ev.kind, ev.kind) + (f"（{why}）" if why else "")
        out.append(EventRow(ev.id, ev.happened_on, ev.kind, what, person or "",
                            f"{odoor} {ohead}" if odoor else "", ev.points, ev.note, ev.created_at))
    return out


def former_members(s, household_id: int) -> list[tuple[int, str, str]]:
    """(id, name, relation) of residents recorded as having left this household."""
    return [tuple(r) for r in s.execute(select(Resident.id, Resident.name, Resident.relation)
                                        .where(Resident.household_id == household_id, Resident.active.is_(False))
                                        .order_by(Resident.id)).all()]


def closed_count(s, village_id: int) -> int:
    return s.execute(select(func.count()).select_from(Household)
                     .where(Household.village_id == village_id, Household.active.is_(False))).scalar_one()


def closed_message(s, hh: Household) -> str:
    """What a counter, a scan or the card page says about a closed household's card."""
    info = close_info(s, hh.id)
    when = f"已于 {info[0].isoformat()} 注销（{info[1]}）" if info else "已注销"
    return f"该户（{hh.door_no} {hh.head_name}）{when}，积分卡已作废，不能兑换或使用。积分记录仍可由村管理员查询。"
