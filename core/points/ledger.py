"""The points ledger (积分流水): append-only entries and the balances they add up to.

Invariants (checked by core.maintenance.verify and the tests):
- an entry is never updated or deleted (db.history guards the table); a correction is a
  ``reversal`` entry naming the original (at most one reversal per entry);
- ``(source_type, source_id)`` is unique: one cause posts at most once;
- ``account.balance`` / ``earned_total`` / ``outstanding`` == the sums of delta_balance /
  delta_earned / delta_outstanding over the household's entries, changed in the same transaction;
- ``account.balance`` never goes below zero (checked here, backed by a CHECK constraint);
- a deduction is never lost: what the balance cannot cover is outstanding (待扣), and while
  anything is outstanding the balance is 0 — every point the household gets afterwards settles
  the outstanding first, by a ``settlement`` entry (待扣抵扣) posted with it.

Spendable balance vs earned total: redemptions spend the balance but never reduce the
earned total, so redeeming does not push a family down the rankings. A deduction lowers
the earned total by its full amount; the balance by as much as there is, and the rest
becomes outstanding. Like an authorisation hold on a card, a deduction approved but still in
公示 *holds* that many points (:func:`held_points`): the counter shows them and cannot spend them.

:func:`post` and :func:`post_many` run inside the caller's transaction so that, for example,
a review decision and the entry it causes commit together.

Closed months (``core.points.closes``): nothing is dated into a month the village has closed.
An entry whose act date falls in a closed month (a late decision, a reversal of an old entry, an
opening-book row) is dated the first day of the first open month instead, and its reason says
the original date: the closed month's recorded totals stay true, and no deed or sanction is
refused for being late. The check runs after the accounts are locked, and a close locks every
account of the village, so a post and a close never cross.
"""

from __future__ import annotations

import datetime as dt
import uuid
from dataclasses import dataclass

from sqlalchemy import bindparam, func, select, update
from sqlalchemy.orm import Session

from core.platform.access import Actor, require
from core.platform.audit import record
from core.platform.errors import AlreadyDone, InsufficientPoints, InvalidInput, NotFound
from db import clock
from db.engine import upsert_insert
from db.executemany import executemany
from db.models import Account, CategoryMonth, Household, HouseholdMonth, LedgerEntry, PeriodClose, Proposal

KIND_NAMES: dict[str, str] = {
    "earned": "加分",
    "deducted": "扣分",
    "base": "底分",
    "base_locked": "底分（不可兑换）",
    "redeemed": "兑换",
    "redeem_void": "兑换撤销",
    "redeem_return": "兑换退货",
    "reversal": "冲正",
    "clearing": "清零",
    "adjustment": "管理员调整",
    "volunteer": "志愿服务",
    "settlement": "待扣抵扣",
    "backfill": "待扣补记",
    "carryover": "期初结转",
    "carryover_earned": "期初结转（累计积分）",
    "carryover_record": "原账本记录",
    "transfer": "积分转移",
}
# Kinds that may post an entry that changes no number: an opening balance of 0 still records
# that the household was carried over, and a row of the old book is kept for the record only.
ZERO_KINDS = ("carryover", "carryover_record")
KINDS = tuple(KIND_NAMES)
MAX_POINTS = 100_000  # one entry; anything larger is a typo, not a deed


def month_of(day: dt.date) -> int:
    return day.year * 100 + day.month


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


@dataclass(frozen=True)
class Deltas:
    balance: int
    earned: int
    outstanding: int = 0


def take(amount: int, balance: int) -> tuple[int, int]:
    """(taken from the balance, left outstanding) when ``amount`` points are taken from a household
    holding ``balance``: the balance never goes below zero and nothing is lost."""
    covered = min(amount, max(balance, 0))
    return covered, amount - covered


def deltas_for(kind: str, points: int, balance: int) -> Deltas:
    """What an entry of ``kind`` for ``points`` changes, given the current balance.

    ``points`` is the signed amount the user means: +5 earned, -3 deducted, -20 redeemed.
    Pure function: the rules of the three numbers in one place. A deduction takes what the
    balance holds and leaves the rest outstanding (待扣).
    """
    if kind in ("earned", "volunteer", "base"):
        if points <= 0:
            raise InvalidInput("加分必须是正数。")
        return Deltas(points, points)
    if kind == "base_locked":
        # A base score the village does not let families spend: it counts towards the
        # earned total (ranks, stars) but never raises the spendable balance.
        if points <= 0:
            raise InvalidInput("加分必须是正数。")
        return Deltas(0, points)
    if kind == "deducted":
        if points >= 0:
            raise InvalidInput("扣分必须是负数。")
        covered, left = take(-points, balance)
        return Deltas(-covered, points, left)
    if kind == "redeemed":
        if points >= 0:
            raise InvalidInput("兑换必须扣减积分。")
        return Deltas(points, 0)
    if kind in ("redeem_void", "redeem_return"):
        if points <= 0:
            raise InvalidInput("撤销兑换或退货必须退回积分。")
        return Deltas(points, 0)
    if kind == "clearing":
        return Deltas(points, 0)
    if kind == "carryover":
        # The opening balance from the village's old points book: spendable and earned alike.
        if points < 0:
            raise InvalidInput("期初积分不能是负数。")
        return Deltas(points, points)
    if kind == "carryover_earned":
        # The book's earned total differs from its balance (points redeemed before): only 累计积分.
        return Deltas(0, points)
    if kind == "carryover_record":
        return Deltas(0, 0)  # a row of the old book, already counted in the opening balance
    if kind == "transfer":
        # Spendable points moved between households (split, merge, a closed household's balance);
        # the earned total (ranks, stars) stays with the household that earned it. The giving
        # side must hold them.
        if points == 0:
            raise InvalidInput("转移分值不能为 0。")
        return Deltas(points, 0)
    if kind == "adjustment":
        if points == 0:
            raise InvalidInput("调整分值不能为 0。")
        if points < 0:
            covered, left = take(-points, balance)
            return Deltas(-covered, points, left)
        return Deltas(points, points)
    raise InvalidInput(f"未知的流水类型：{kind}")


def reversal_deltas(original: LedgerEntry, balance: int, outstanding: int) -> Deltas:
    """The entry that undoes ``original``: the earned total back by exactly its amount, and the
    points it moved back too — what it took from the balance is returned, what it left outstanding
    is cancelled (as far as it is still outstanding; what later points already settled of it is
    returned to the balance); points it gave are taken back, the part the balance no longer holds
    left outstanding."""
    net = -(original.delta_balance - original.delta_outstanding)  # the points the reversal moves
    if net < 0:
        covered, left = take(-net, balance)
        return Deltas(-covered, -original.delta_earned, left)
    cancel = min(max(original.delta_outstanding, 0), outstanding)
    return Deltas(net - cancel, -original.delta_earned, -cancel)


def settlement_for(balance: int, outstanding: int) -> int:
    """Points to move from the balance to settle the outstanding (待扣抵扣): as many as both allow."""
    return max(0, min(balance, outstanding))


def check_points(points: object) -> int:
    """Validate a user-entered amount: a whole number, not zero, not absurd."""
    if isinstance(points, bool) or not isinstance(points, int):
        if isinstance(points, float) and points.is_integer():
            points = int(points)
        else:
            raise InvalidInput("积分必须是整数。")
    if points == 0:
        raise InvalidInput("积分不能为 0。")
    if abs(points) > MAX_POINTS:
        raise InvalidInput(f"积分数值过大（单笔不超过 {MAX_POINTS}）。")
    return points


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


def open_account(s: Session, household: Household) -> Account:
    acc = Account(household_id=household.id, village_id=household.village_id, balance=0, earned_total=0)
    s.add(acc)
    return acc


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
