"""Reading what a household holds (余额): its account, the points held for deductions still in
公示, what it can spend now, and its latest entries. Read-only: nothing here writes (points change
only through :mod:`core.points.posting`).

Like an authorisation hold on a card, a deduction approved but still in 公示 *holds* that many
points (:func:`held_points`): the counter shows them and cannot spend them.

Public: :func:`balance`, :func:`held_points`, :func:`spendable`, :func:`history`, :func:`entry_count`.
"""

from __future__ import annotations

from sqlalchemy import bindparam, func, select
from sqlalchemy.orm import Session

from core.platform.errors import NotFound
from db.models import Account, LedgerEntry, Proposal


def held_points(s: Session, household_ids: list[int] | None = None, *, village_id: int | None = None
                ) -> dict[int, int]:
    """Points each household holds for deductions approved but still in 公示 (or held by an
    objection): shown at the counter, not spendable, taken when the deduction posts. For the
    given households, or every household of ``village_id`` that holds any."""
    if household_ids is not None:
        if not household_ids:
            return {}
        rows = s.execute(_HELD_OF, {"ids": list(household_ids)}).all()
    else:
        rows = s.execute(_held(Proposal.village_id == village_id)).all()
    return {hid: int(n) for hid, n in rows}


def _held(which):
    return (select(Proposal.household_id, func.sum(-Proposal.decided_points))
            .where(which, Proposal.status.in_(("publicity", "objected")), Proposal.decided_points < 0)
            .group_by(Proposal.household_id))


_HELD_OF = _held(Proposal.household_id.in_(bindparam("ids", expanding=True)))  # built once: the card page's


def spendable(balance: int, held: int) -> int:
    """What a household can spend now: the balance less the points held for deductions in 公示."""
    return max(0, balance - held)


def balance(s: Session, household_id: int) -> Account:
    acc = s.get(Account, household_id)
    if acc is None:
        raise NotFound("找不到该户的积分账户。")
    return acc


def history(s: Session, household_id: int, limit: int = 50) -> list[LedgerEntry]:
    """Newest first; reads by the (household_id, id) index so it does not grow with the ledger."""
    return list(
        s.execute(
            select(LedgerEntry)
            .where(LedgerEntry.household_id == household_id)
            .order_by(LedgerEntry.id.desc())
            .limit(limit)
        ).scalars()
    )


def entry_count(s: Session) -> int:
    return s.execute(select(func.count()).select_from(LedgerEntry)).scalar_one()
