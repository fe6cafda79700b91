"""Posting to the points ledger (记账): the only way points change. :func:`post` appends one entry,
:func:`post_many` a batch under the same rules (:mod:`core.points.entry_rules`) with set-based writes;
both run inside the caller's transaction so that, for example, a review decision and the entry it
causes commit together.

Invariants (checked by core.maintenance.verify and the tests):
- an entry is never updated or deleted (db.history guards the table); a correction is a new entry
  (:mod:`core.points.corrections`);
- ``(source_type, source_id)`` is unique: one cause posts at most once;
- ``account.balance`` / ``earned_total`` / ``outstanding`` == the sums of delta_balance /
  delta_earned / delta_outstanding over the household's entries, changed in the same transaction,
  and household_month / category_month == the entries too (an account opens at zero:
  :func:`open_account`);
- ``account.balance`` never goes below zero (checked here, backed by a CHECK constraint);
- a deduction is never lost: what the balance cannot cover stays outstanding (see
  :func:`~core.points.entry_rules.deltas_for`), and while anything is outstanding the balance is 0 —
  every point the household gets afterwards settles the outstanding first, by a ``settlement``
  entry (待扣抵扣) posted with it.

Closed months (``core.points.closes``): nothing is dated into a month the village has closed.
An entry whose act date falls in a closed month (a late decision, a reversal of an old entry, an
opening-book row) is dated the first day of the first open month instead, and its reason says
the original date: the closed month's recorded totals stay true, and no deed or sanction is
refused for being late. The check runs after the accounts are locked, and a close locks every
account of the village, so a post and a close never cross.

Public: :func:`post`, :func:`post_many` with :class:`Posting`, :func:`posted_causes`,
:func:`lock_account`, :func:`open_account`, :func:`closed_through`, :func:`first_open_day`,
:func:`settlement_reason`.
"""

from __future__ import annotations

import datetime as dt
from dataclasses import dataclass

from sqlalchemy import func, select, update
from sqlalchemy.orm import Session

from core.platform.access import Actor
from core.platform.errors import AlreadyDone, InsufficientPoints, InvalidInput, NotFound
from core.points.entry_rules import ZERO_KINDS, Deltas, deltas_for, month_of, reversal_deltas, settlement_for
from db import clock
from db.engine import upsert_insert
from db.executemany import executemany
from db.models import Account, CategoryMonth, Household, HouseholdMonth, LedgerEntry, PeriodClose


def closed_through(s: Session, village_id: int) -> int | None:
    """The last month (yyyymm) the village has closed, or None."""
    return s.execute(select(func.max(PeriodClose.period)).where(
        PeriodClose.village_id == village_id, PeriodClose.kind == "month")).scalar()


def first_open_day(closed: int | None) -> dt.date | None:
    """The first day after the closed months (None when nothing is closed)."""
    if closed is None:
        return None
    y, m = divmod(closed, 100)
    return dt.date(y + 1, 1, 1) if m == 12 else dt.date(y, m + 1, 1)


def _open_date(day: dt.date, reason: str, closed: int | None) -> tuple[dt.date, str]:
    """``day`` and ``reason`` as posted: moved to the first open day when ``day`` is in a closed month."""
    if closed is None or month_of(day) > closed:
        return day, reason
    moved = first_open_day(closed)
    note = f"（原日期 {day:%Y-%m-%d}，该月已结账，记入 {moved.year}年{moved.month}月）"
    return moved, reason + note


def _upsert(s: Session, model, keys: dict, increments: dict, inserts: dict | None = None) -> None:
    table = model.__table__
    values = {**keys, **(inserts or {}), **increments}
    insert = upsert_insert(s)
    stmt = insert(table).values(**values)
    stmt = stmt.on_conflict_do_update(
        index_elements=list(keys),
        set_={k: getattr(table.c, k) + v for k, v in increments.items()},
    )
    s.execute(stmt)


def _increments(bucket: str, delta_balance: int, delta_earned: int, sign: int = 1) -> dict[str, int]:
    """What one entry adds to its household_month row: the one place that says which kind
    of entry counts as earned, deducted, redeemed or other (``post`` and ``post_many`` share it)."""
    inc = {"earned": 0, "deducted": 0, "redeemed": 0, "other": 0}
    if bucket in ("earned", "volunteer", "base", "base_locked"):
        inc["earned"] = delta_earned
    elif bucket == "deducted":
        inc["deducted"] = -delta_earned
    elif bucket in ("adjustment", "carryover", "carryover_earned"):
        if sign * delta_earned >= 0:
            inc["earned"] = delta_earned
        else:
            inc["deducted"] = -delta_earned
    elif bucket in ("redeemed", "redeem_void", "redeem_return"):
        inc["redeemed"] = -delta_balance
    else:
        inc["other"] = delta_balance
    return inc


def _summarise(s: Session, entry: LedgerEntry, bucket: str, grid_id: int | None, sign: int) -> None:
    """Keep household_month / category_month equal to the entries (same transaction)."""
    _upsert(
        s,
        HouseholdMonth,
        {"household_id": entry.household_id, "month": entry.month},
        _increments(bucket, entry.delta_balance, entry.delta_earned, sign),
        {"village_id": entry.village_id, "grid_id": grid_id},
    )
    if entry.category_id is not None:
        _upsert(
            s,
            CategoryMonth,
            {"village_id": entry.village_id, "month": entry.month, "category_id": entry.category_id},
            {"points": entry.delta_earned, "entries": sign},
        )


def lock_account(s: Session, household_id: int) -> Account:
    """Load the account row locked for this transaction (FOR UPDATE on PostgreSQL;
    SQLite writers are already serialised by BEGIN IMMEDIATE).

    A second call in the same transaction (a checkout locks first, then posts) takes the row
    from the session instead of asking again: the lock is held while the (sub)transaction that
    took it is open, and the ledger expires its copy whenever it changes the row, so the
    session's copy is current. A savepoint rolled back releases its locks: then it asks again."""
    locked: dict = s.info.setdefault("locked_accounts", {})
    tx = locked.get(household_id)
    if tx is not None and tx.is_active:
        acc = s.get(Account, household_id)
        if acc is not None:
            return acc
    acc = s.execute(
        select(Account).where(Account.household_id == household_id).with_for_update()
    ).scalar_one_or_none()
    if acc is None:
        raise NotFound("找不到该户的积分账户。")
    locked[household_id] = s.get_nested_transaction() or s.get_transaction()
    return acc


def post(
    s: Session,
    *,
    household_id: int,
    kind: str,
    points: int,
    source_type: str,
    source_id: object,
    occurred_on: dt.date | None = None,
    actor: Actor | None = None,
    resident_id: int | None = None,
    rule_item_id: int | None = None,
    category_id: int | None = None,
    reason: str = "",
    reverses: LedgerEntry | None = None,
    allow_zero: bool = False,
) -> LedgerEntry:
    """Append one entry and change the account in the caller's transaction; when the entry
    brings points and something is outstanding, a settlement entry (待扣抵扣) follows it.

    Raises AlreadyDone if the cause was posted before, InsufficientPoints if it would
    overdraw the spendable balance (a redemption; a deduction never does: see ``deltas_for``).
    """
    source_id = str(source_id)
    # Lock first, then look: two transactions posting the same cause (to the same household)
    # queue on the account lock, and the second sees the first's entry instead of tripping
    # over the unique constraint with a raw database error.
    acc = lock_account(s, household_id)
    existing = s.execute(
        select(LedgerEntry.id).where(
            LedgerEntry.source_type == source_type, LedgerEntry.source_id == source_id
        )
    ).scalar_one_or_none()
    if existing is not None:
        raise AlreadyDone("该事项已经记账，不会重复记账。")
    if reverses is not None:
        d = reversal_deltas(reverses, acc.balance, acc.outstanding)
    elif kind == "clearing":
        d = Deltas(points, 0)
    else:
        d = deltas_for(kind, points, acc.balance)
    if acc.balance + d.balance < 0:
        raise InsufficientPoints(f"可用积分不足：余额 {acc.balance} 分，需要 {-d.balance} 分。")
    if d.balance == 0 and d.earned == 0 and d.outstanding == 0 and not allow_zero and kind not in ZERO_KINDS:
        raise InvalidInput("这笔记账不改变任何积分。")
    day, reason = _open_date(occurred_on or dt.date.today(), reason, closed_through(s, acc.village_id))
    village_id, balance, outstanding = acc.village_id, acc.balance + d.balance, acc.outstanding + d.outstanding
    grid_id = s.get(Household, household_id).grid_id  # callers have usually loaded the household already
    entry = _append(s, village_id=village_id, household_id=household_id, resident_id=resident_id, kind=kind,
                    deltas=d, source_type=source_type, source_id=source_id, rule_item_id=rule_item_id,
                    category_id=category_id, reverses_id=reverses.id if reverses is not None else None,
                    occurred_on=day, reason=reason, actor=actor)
    if reverses is not None:
        _summarise(s, entry, reverses.kind, grid_id, -1)
    else:
        _summarise(s, entry, kind, grid_id, 1)
    settle = settlement_for(balance, outstanding) if d.balance > 0 else 0
    if settle:
        settlement = _append(s, village_id=village_id, household_id=household_id, resident_id=None,
                             kind="settlement", deltas=Deltas(-settle, 0, -settle), source_type="settlement",
                             source_id=f"{source_type}:{source_id}", rule_item_id=None, category_id=None,
                             reverses_id=None, occurred_on=dt.date.today(), actor=actor,
                             reason=settlement_reason(settle, outstanding - settle))
        _summarise(s, settlement, "settlement", grid_id, 1)
    s.expire(acc)
    return entry


def settlement_reason(settled: int, left: int) -> str:
    return f"以新得积分抵扣待扣 {settled} 分" + (f"，仍待扣 {left} 分" if left else "，待扣已清")


def _append(s: Session, *, village_id: int, household_id: int, resident_id: int | None, kind: str, deltas: Deltas,
            source_type: str, source_id: str, rule_item_id: int | None, category_id: int | None,
            reverses_id: int | None, occurred_on: dt.date, reason: str, actor: Actor | None) -> LedgerEntry:
    """One entry and its account change. The conditional UPDATE is the backstop: even if the
    balance read before were stale, its WHERE clause (and the CHECK constraints) refuse an overdraft."""
    entry = LedgerEntry(
        village_id=village_id, household_id=household_id, resident_id=resident_id, kind=kind,
        delta_balance=deltas.balance, delta_earned=deltas.earned, delta_outstanding=deltas.outstanding,
        source_type=source_type, source_id=source_id, rule_item_id=rule_item_id, category_id=category_id,
        reverses_id=reverses_id, occurred_on=occurred_on, month=month_of(occurred_on), reason=reason,
        created_by=actor.user_id if actor else None,
    )
    s.add(entry)
    res = s.execute(
        update(Account)
        .where(Account.household_id == household_id, Account.balance + deltas.balance >= 0,
               Account.outstanding + deltas.outstanding >= 0)
        .values(
            balance=Account.balance + deltas.balance,
            earned_total=Account.earned_total + deltas.earned,
            outstanding=Account.outstanding + deltas.outstanding,
            entries=Account.entries + 1,
            updated_at=clock.now(),
        )
        .execution_options(synchronize_session=False)
    )
    if res.rowcount != 1:
        raise InsufficientPoints("可用积分不足。")
    s.flush()
    return entry


@dataclass(frozen=True)
class Posting:
    """One entry for :func:`post_many` (the arguments of :func:`post`, without reversals)."""

    household_id: int
    kind: str
    points: int
    source_type: str
    source_id: object
    occurred_on: dt.date | None = None
    resident_id: int | None = None
    rule_item_id: int | None = None
    category_id: int | None = None
    reason: str = ""


def _chunks(seq: list, n: int = 500):
    for i in range(0, len(seq), n):
        yield seq[i:i + n]


def posted_causes(s: Session, source_type: str, source_ids: list) -> dict[str, int]:
    """Entry ids of the causes among ``source_ids`` that are already in the ledger."""
    found: dict[str, int] = {}
    for chunk in _chunks([str(i) for i in source_ids]):
        found.update(s.execute(select(LedgerEntry.source_id, LedgerEntry.id).where(
            LedgerEntry.source_type == source_type, LedgerEntry.source_id.in_(chunk))).all())
    return found


_ENTRY_COLUMNS = ("village_id", "household_id", "resident_id", "kind", "delta_balance", "delta_earned",
                  "delta_outstanding", "source_type", "source_id", "rule_item_id", "category_id", "reverses_id", "occurred_on", "month",
                  "reason", "created_by", "created_at")
_INSERT_ENTRY = (f"INSERT INTO ledger_entry ({', '.join(_ENTRY_COLUMNS)}) "
                 f"VALUES ({', '.join(':' + c for c in _ENTRY_COLUMNS)})")
_ENTRY_TYPES = {"occurred_on": LedgerEntry.occurred_on.type, "created_at": LedgerEntry.created_at.type}
# The conditional UPDATE is the overdraft backstop: a row it skips makes the rowcount short.
_UPDATE_ACCOUNT = ("UPDATE account SET balance = balance + :db, earned_total = earned_total + :de, "
                   "outstanding = outstanding + :do, entries = entries + :n, updated_at = :now "
                   "WHERE household_id = :h AND balance + :db >= 0 AND outstanding + :do >= 0")
_UPSERT_HOUSEHOLD_MONTH = (
    "INSERT INTO household_month (household_id, month, village_id, grid_id, earned, deducted, redeemed, other) "
    "VALUES (:household_id, :month, :village_id, :grid_id, :earned, :deducted, :redeemed, :other) "
    "ON CONFLICT (household_id, month) DO UPDATE SET earned = household_month.earned + excluded.earned, "
    "deducted = household_month.deducted + excluded.deducted, redeemed = household_month.redeemed + "
    "excluded.redeemed, other = household_month.other + excluded.other")
_UPSERT_CATEGORY_MONTH = (
    "INSERT INTO category_month (village_id, month, category_id, points, entries) "
    "VALUES (:village_id, :month, :category_id, :points, :entries) "
    "ON CONFLICT (village_id, month, category_id) DO UPDATE SET points = category_month.points + excluded.points, "
    "entries = category_month.entries + excluded.entries")


def post_many(s: Session, postings: list[Posting], actor: Actor | None = None, *,
              causes_checked: bool = False, return_ids: bool = True) -> list[int]:
    """Append many entries in the caller's transaction; returns their ids in the order given.

    The same rules as :func:`post` — ``deltas_for`` entry by entry with a running balance per
    household, unique causes, no overdraft (the conditional UPDATE and the CHECK constraint are
    the backstop), household_month / category_month kept in the same transaction — but each
    kind of write is one set-based statement for the whole batch instead of ~20 per entry.
    All or nothing: a cause posted before, or twice in the batch, refuses the whole batch.
    Accounts are locked in household order, so batches and single posts cannot deadlock.
    ``causes_checked``: the caller has just looked the causes up itself (under its locks), so
    that look-up is not repeated; the unique index still refuses a duplicate. ``return_ids=False``
    returns [] and saves looking the new ids up (the caller finds them by cause in SQL).
    """
    if not postings:
        return []
    causes = [(p.source_type, str(p.source_id)) for p in postings]
    if len(set(causes)) != len(causes):
        raise AlreadyDone("同一事项在这一批里出现了两次。")
    by_type: dict[str, list[str]] = {}
    for st, sid in causes:
        by_type.setdefault(st, []).append(sid)
    for st, sids in by_type.items():
        if not causes_checked and posted_causes(s, st, sids):
            raise AlreadyDone("该事项已经记账，不会重复记账。")
    hids = sorted({p.household_id for p in postings})
    accounts: dict[int, tuple[int, int, int | None, int]] = {}  # household -> (village, balance, grid, outstanding)
    for chunk in _chunks(hids):
        for hid, vid, bal, grid, owed in s.execute(
            select(Account.household_id, Account.village_id, Account.balance, Household.grid_id, Account.outstanding)
            .join(Household, Household.id == Account.household_id)
            .where(Account.household_id.in_(chunk)).order_by(Account.household_id).with_for_update(of=Account)
        ):
            accounts[hid] = (vid, bal, grid, owed)
    if len(accounts) != len(hids):
        raise NotFound("找不到该户的积分账户。")
    balance = {h: a[1] for h, a in accounts.items()}
    outstanding = {h: a[3] for h, a in accounts.items()}
    closed = {v: closed_through(s, v) for v in {a[0] for a in accounts.values()}}
    now = clock.now()
    today = dt.date.today()
    rows: list[dict] = []
    per_account: dict[int, list[int]] = {}
    per_month: dict[tuple[int, int], dict[str, int]] = {}
    per_category: dict[tuple[int, int, int], list[int]] = {}
    actor_id = actor.user_id if actor else None

    def add(h: int, kind: str, d: Deltas, source_type: str, source_id: str, day: dt.date, resident_id, rule_item_id,
            category_id, reason: str) -> None:
        month = month_of(day)
        village = accounts[h][0]
        rows.append({"village_id": village, "household_id": h, "resident_id": resident_id, "kind": kind,
                     "delta_balance": d.balance, "delta_earned": d.earned, "delta_outstanding": d.outstanding,
                     "source_type": source_type, "source_id": source_id, "rule_item_id": rule_item_id,
                     "category_id": category_id, "reverses_id": None, "occurred_on": day, "month": month,
                     "reason": reason, "created_by": actor_id, "created_at": now})
        acc = per_account.setdefault(h, [0, 0, 0, 0])
        acc[0] += d.balance
        acc[1] += d.earned
        acc[2] += d.outstanding
        acc[3] += 1
        bucket = per_month.setdefault((h, month), {"earned": 0, "deducted": 0, "redeemed": 0, "other": 0})
        for k, v in _increments(kind, d.balance, d.earned).items():
            bucket[k] += v
        if category_id is not None:
            c = per_category.setdefault((village, month, category_id), [0, 0])
            c[0] += d.earned
            c[1] += 1

    for p in postings:
        if p.kind == "reversal":
            raise InvalidInput("冲正请逐笔办理。")
        h = p.household_id
        d = Deltas(p.points, 0) if p.kind == "clearing" else deltas_for(p.kind, p.points, balance[h])
        if balance[h] + d.balance < 0:
            raise InsufficientPoints(f"可用积分不足：余额 {balance[h]} 分，需要 {-d.balance} 分。")
        if d.balance == 0 and d.earned == 0 and d.outstanding == 0 and p.kind not in ZERO_KINDS:
            raise InvalidInput("这笔记账不改变任何积分。")
        balance[h] += d.balance
        outstanding[h] += d.outstanding
        day, reason = _open_date(p.occurred_on or today, p.reason, closed[accounts[h][0]])
        add(h, p.kind, d, p.source_type, str(p.source_id), day, p.resident_id, p.rule_item_id, p.category_id, reason)
        settle = settlement_for(balance[h], outstanding[h]) if d.balance > 0 else 0
        if settle:
            balance[h] -= settle
            outstanding[h] -= settle
            add(h, "settlement", Deltas(-settle, 0, -settle), "settlement", f"{p.source_type}:{p.source_id}", today,
                None, None, None, settlement_reason(settle, outstanding[h]))
    # A plain executemany (no RETURNING: in parameter order SQLAlchemy would run one
    # statement per row on SQLite), then the ids by the unique cause. The batch writes go
    # through db.executemany: SQLAlchemy's per-row parameter building was half the time.
    executemany(s, _INSERT_ENTRY, rows, _ENTRY_TYPES)
    ids: list[int] = []
    if return_ids:
        ids_by_cause: dict[tuple[str, str], int] = {}
        for st, sids in by_type.items():
            ids_by_cause.update({(st, sid): i for sid, i in posted_causes(s, st, sids).items()})
        ids = [ids_by_cause[c] for c in causes]
    res = executemany(s, _UPDATE_ACCOUNT, [{"h": h, "db": v[0], "de": v[1], "do": v[2], "n": v[3], "now": now}
                                           for h, v in per_account.items()], {"now": Account.updated_at.type})
    if res.rowcount != len(per_account):  # a balance would have gone below zero (the batch rolls back)
        raise InsufficientPoints("可用积分不足。")
    for obj in list(s.identity_map.values()):  # ORM copies of these accounts are stale now
        if isinstance(obj, Account) and obj.household_id in per_account:
            s.expire(obj)
    executemany(s, _UPSERT_HOUSEHOLD_MONTH,
                [{"household_id": h, "month": m, "village_id": accounts[h][0], "grid_id": accounts[h][2], **inc}
                 for (h, m), inc in per_month.items()])
    if per_category:
        executemany(s, _UPSERT_CATEGORY_MONTH,
                    [{"village_id": v, "month": m, "category_id": c, "points": x[0], "entries": x[1]}
                     for (v, m, c), x in per_category.items()])
    return ids


def open_account(s: Session, household: Household) -> Account:
    acc = Account(household_id=household.id, village_id=household.village_id, balance=0, earned_total=0)
    s.add(acc)
    return acc
