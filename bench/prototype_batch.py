"""PROTOTYPE, not used by the app: set-based deciding and posting, to measure what batching
would buy over the per-item path (review.bulk_approve → publicity.post_due → ledger.post per
proposal, ~20 statements each, 95 % of the time spent in SQLAlchemy's Python layer).

Same rules and the same rows as the real path — ``ledger.deltas_for`` per entry in order with a
running balance, the conditional account update as backstop, household_month/category_month
kept in the same transaction, one audit row — but each kind of write is ONE executemany
statement for the whole batch. The owners (ledger.py: lead; review.py / publicity.py: review
helper) may take it over; BENCHMARKS.md reports its numbers next to the real path's.
"""

from __future__ import annotations

import datetime as dt
from collections import defaultdict

from sqlalchemy import bindparam, insert, literal, select, update
from sqlalchemy.dialects.postgresql import insert as pg_insert
from sqlalchemy.dialects.sqlite import insert as sqlite_insert
from sqlalchemy.orm import Session

from core.access import Actor, require
from core.audit import record
from core.errors import AlreadyDone, InsufficientPoints, NotFound
from core.ledger import deltas_for, month_of
from db.models import (
    Account,
    CategoryMonth,
    Decision,
    Household,
    HouseholdMonth,
    LedgerEntry,
    Proposal,
    ReviewSession,
    RuleItem,
    SessionAttendee,
    Vote,
)

EARNED_KINDS = ("earned", "volunteer", "base")


def _chunks(seq: list, n: int = 500):
    for i in range(0, len(seq), n):
        yield seq[i:i + n]


def post_many(s: Session, items: list[dict], actor: Actor | None = None) -> list[int]:
    """Post many entries (kinds earned / deducted / volunteer / base) in the caller's
    transaction; returns their ids in the order of ``items``. All or nothing."""
    if not items:
        return []
    causes = [(it["source_type"], str(it["source_id"])) for it in items]
    if len(set(causes)) != len(causes):
        raise AlreadyDone("同一事项在这一批里出现了两次。")
    by_type: dict[str, list[str]] = defaultdict(list)
    for st, sid in causes:
        by_type[st].append(sid)
    for st, sids in by_type.items():
        for chunk in _chunks(sids):
            if s.execute(select(LedgerEntry.id).where(LedgerEntry.source_type == st,
                                                      LedgerEntry.source_id.in_(chunk)).limit(1)).first():
                raise AlreadyDone("该事项已经记账，不会重复记账。")
    hids = sorted({it["household_id"] for it in items})
    acc: dict[int, tuple[int, int]] = {}
    grids: dict[int, int | None] = {}
    for chunk in _chunks(hids):
        for hid, vid, bal, grid in s.execute(
            select(Account.household_id, Account.village_id, Account.balance, Household.grid_id)
            .join(Household, Household.id == Account.household_id)
            .where(Account.household_id.in_(chunk)).with_for_update(of=Account)
        ):
            acc[hid] = (vid, bal)
            grids[hid] = grid
    if len(acc) != len(hids):
        raise NotFound("找不到该户的积分账户。")
    balance = {h: acc[h][1] for h in hids}
    now = dt.datetime.now().replace(microsecond=0)
    rows, per_acc = [], defaultdict(lambda: [0, 0, 0])
    hm: dict[tuple[int, int], list[int]] = defaultdict(lambda: [0, 0])
    cm: dict[tuple[int, int, int], list[int]] = defaultdict(lambda: [0, 0])
    for it in items:
        h = it["household_id"]
        d = deltas_for(it["kind"], it["points"], balance[h])
        if balance[h] + d.balance < 0:
            raise InsufficientPoints(f"可用积分不足：余额 {balance[h]} 分，需要 {-d.balance} 分。")
        balance[h] += d.balance
        day = it.get("occurred_on") or dt.date.today()
        m = month_of(day)
        vid = acc[h][0]
        rows.append({"village_id": vid, "household_id": h, "resident_id": it.get("resident_id"), "kind": it["kind"],
                     "delta_balance": d.balance, "delta_earned": d.earned, "source_type": it["source_type"],
                     "source_id": str(it["source_id"]), "rule_item_id": it.get("rule_item_id"),
                     "category_id": it.get("category_id"), "reverses_id": None, "occurred_on": day, "month": m,
                     "reason": it.get("reason", ""), "created_by": actor.user_id if actor else None,
                     "created_at": now})
        a = per_acc[h]
        a[0] += d.balance
        a[1] += d.earned
        a[2] += 1
        b = hm[(h, m)]
        if it["kind"] in EARNED_KINDS:
            b[0] += d.earned
        else:
            b[1] += -d.earned
        if it.get("category_id") is not None:
            c = cm[(vid, m, it["category_id"])]
            c[0] += d.earned
            c[1] += 1
    ids = list(s.execute(insert(LedgerEntry).returning(LedgerEntry.id, sort_by_parameter_order=True), rows).scalars())
    t = Account.__table__
    res = s.execute(
        update(t).where(t.c.household_id == bindparam("h"), t.c.balance + bindparam("db") >= 0)
        .values(balance=t.c.balance + bindparam("db"), earned_total=t.c.earned_total + bindparam("de"),
                entries=t.c.entries + bindparam("n"), updated_at=now),
        [{"h": h, "db": v[0], "de": v[1], "n": v[2]} for h, v in per_acc.items()])
    if res.rowcount != len(per_acc):
        raise InsufficientPoints("可用积分不足。")
    ins = pg_insert if s.get_bind().dialect.name == "postgresql" else sqlite_insert
    ht = HouseholdMonth.__table__
    stmt = ins(ht)
    s.execute(stmt.on_conflict_do_update(
        index_elements=["household_id", "month"],
        set_={"earned": ht.c.earned + stmt.excluded.earned, "deducted": ht.c.deducted + stmt.excluded.deducted}),
        [{"household_id": h, "month": m, "village_id": acc[h][0], "grid_id": grids[h], "earned": v[0],
          "deducted": v[1], "redeemed": 0, "other": 0} for (h, m), v in hm.items()])
    if cm:
        ct = CategoryMonth.__table__
        stmt = ins(ct)
        s.execute(stmt.on_conflict_do_update(
            index_elements=["village_id", "month", "category_id"],
            set_={"points": ct.c.points + stmt.excluded.points, "entries": ct.c.entries + stmt.excluded.entries}),
            [{"village_id": v, "month": m, "category_id": c, "points": x[0], "entries": x[1]}
             for (v, m, c), x in cm.items()])
    return ids


def approve_and_post(db, actor: Actor, session_id: int, proposal_ids: list[int]) -> int:
    """Approve the proposals at their proposed points and post them at once (a village with
    公示 of 0 days), in one transaction with one statement per kind of write."""
    ids = sorted({int(i) for i in proposal_ids})
    with db.write() as s:
        rs = s.execute(select(ReviewSession).where(ReviewSession.id == session_id).with_for_update()).scalar_one()
        require(actor, ("committee", "admin"), rs.village_id)
        present = s.execute(select(SessionAttendee.user_id).where(SessionAttendee.session_id == rs.id)).first()
        props = list(s.execute(select(Proposal.id, Proposal.household_id, Proposal.resident_id, Proposal.points,
                                      Proposal.act_date, Proposal.status, Proposal.rule_item_id, RuleItem.category_id)
                               .join(RuleItem, RuleItem.id == Proposal.rule_item_id)
                               .where(Proposal.id.in_(ids), Proposal.village_id == rs.village_id)
                               .order_by(Proposal.id).with_for_update(of=Proposal)))
        todo = [p for p in props if p.status in ("submitted", "deferred")]
        if not todo:
            return 0
        now = dt.datetime.now().replace(microsecond=0)
        s.execute(insert(Decision.__table__),
                  [{"session_id": rs.id, "proposal_id": p.id, "outcome": "approved", "points": p.points,
                    "reason": "", "decided_by": actor.user_id, "decided_at": now} for p in todo])
        if present:  # every member present agrees (what bulk_approve records without explicit votes)
            s.execute(insert(Vote.__table__).from_select(
                ["decision_id", "user_id", "vote"],
                select(Decision.id, SessionAttendee.user_id, literal("agree"))
                .join(SessionAttendee, SessionAttendee.session_id == Decision.session_id)
                .where(Decision.session_id == rs.id, Decision.proposal_id.in_([p.id for p in todo]))))
        entry_ids = post_many(s, [
            {"household_id": p.household_id, "kind": "earned" if p.points > 0 else "deducted", "points": p.points,
             "source_type": "proposal", "source_id": p.id, "occurred_on": p.act_date, "resident_id": p.resident_id,
             "rule_item_id": p.rule_item_id, "category_id": p.category_id} for p in todo], actor)
        pt = Proposal.__table__
        s.execute(update(pt).where(pt.c.id == bindparam("pid"))
                  .values(status="posted", decided_points=bindparam("pts"), session_id=rs.id,
                          posted_entry_id=bindparam("eid")),
                  [{"pid": p.id, "pts": p.points, "eid": e} for p, e in zip(todo, entry_ids, strict=True)])
        record(s, actor, "review.bulk_approve", "review_session", rs.id, {"approved": len(todo), "ids": ids},
               village_id=rs.village_id)
        return len(todo)
