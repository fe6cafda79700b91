"""Admin corrections of the ledger: the reversal (冲正) of one entry and the manual adjustment
(管理员调整) of a household's points. Unlike :mod:`core.points.posting`, which runs in its caller's
transaction, each opens its own, needs the admin role in the household's village and a reason, and
records what it did in the audit log with the entry it posted.

Invariants:
- a reversal is a ``reversal`` entry naming the original, at most one per entry (its cause
  ``("reversal", entry id)`` posts once); a reversal is never reversed itself;
- entries posted as part of something else (redemptions and their undoing, transfers,
  settlements and back-fills, rows of the old book) are refused here, with where to correct them.

Public: :func:`reverse`, :func:`adjust`.
"""

from __future__ import annotations

import uuid

from sqlalchemy import select

from core.platform.access import Actor, require
from core.platform.audit import record
from core.platform.errors import AlreadyDone, InvalidInput, NotFound
from core.points.entry_rules import check_points
from core.points.posting import post
from db.models import Household, LedgerEntry


def reverse(db, actor: Actor, entry_id: int, reason: str) -> LedgerEntry:
    """Admin correction: append an entry that undoes ``entry_id`` (冲正)."""
    reason = (reason or "").strip()
    if not reason:
        raise InvalidInput("冲正必须填写原因。")
    with db.write() as s:
        original = s.get(LedgerEntry, entry_id)
        if original is None:
            raise NotFound("找不到这条积分流水。")
        require(actor, "admin", original.village_id)
        if original.kind == "reversal":
            raise InvalidInput("冲正流水不能再冲正；如需更正请另行调整。")
        if original.kind in ("redeemed", "redeem_void", "redeem_return"):
            raise InvalidInput("兑换流水不能冲正：请在“兑换记录”中撤销这笔兑换。")
        if original.kind == "carryover_record":
            raise InvalidInput("原账本记录只是存档，不改变积分，不能冲正；如需更正期初积分请手工调整。")
        if original.kind == "transfer":
            raise InvalidInput("积分转移是分户、合户或注销的一部分，不能单独冲正；请手工调整两户的积分并写明原因。")
        if original.kind in ("settlement", "backfill"):
            raise InvalidInput("待扣抵扣、待扣补记由系统随其他流水自动记账，不能单独冲正；请冲正引起它的那笔流水。")
        done = s.execute(select(LedgerEntry.id).where(LedgerEntry.reverses_id == entry_id)).scalar()
        if done is not None:
            raise AlreadyDone("这条流水已经冲正过。")
        entry = post(
            s,
            household_id=original.household_id,
            kind="reversal",
            points=0,
            source_type="reversal",
            source_id=entry_id,
            occurred_on=original.occurred_on,
            actor=actor,
            resident_id=original.resident_id,
            rule_item_id=original.rule_item_id,
            category_id=original.category_id,
            reason=reason,
            reverses=original,
        )
        record(s, actor, "ledger.reverse", "ledger_entry", entry_id, {"reversal_id": entry.id}, reason,
               village_id=original.village_id)
        return entry


def adjust(db, actor: Actor, household_id: int, points: int, reason: str) -> LedgerEntry:
    """Admin manual adjustment (管理员调整) with a required reason."""
    points = check_points(points)
    reason = (reason or "").strip()
    if not reason:
        raise InvalidInput("手工调整必须填写原因。")
    with db.write() as s:
        hh = s.get(Household, household_id)
        if hh is None:
            raise NotFound("找不到该户。")
        require(actor, "admin", hh.village_id)
        entry = post(
            s,
            household_id=household_id,
            kind="adjustment",
            points=points,
            source_type="adjustment",
            source_id=uuid.uuid4().hex,
            actor=actor,
            reason=reason,
        )
        record(s, actor, "ledger.adjust", "household", household_id, {"points": points}, reason,
               village_id=hh.village_id)
        return entry
