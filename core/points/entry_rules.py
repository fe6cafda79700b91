"""What a ledger entry changes (积分流水的规则): the kinds of entry, and for each the change to a
household's three numbers — spendable balance, earned total and outstanding (待扣) — as pure functions
of the amount and the current balance, with no session. :mod:`core.points.posting` applies them to
the accounts; nothing else decides what an entry changes.

Spendable balance vs earned total: redemptions spend the balance but never reduce the
earned total, so redeeming does not push a family down the rankings. A deduction lowers
the earned total by its full amount; the balance by as much as there is, and the rest
becomes outstanding.

Public: ``KIND_NAMES`` / ``KINDS`` / ``ZERO_KINDS``, ``MAX_POINTS`` and :func:`check_points` (a typed
amount), :func:`month_of`, :class:`Deltas`, :func:`take`, :func:`deltas_for`, :func:`reversal_deltas`,
:func:`settlement_for`.
"""

from __future__ import annotations

import datetime as dt
from dataclasses import dataclass

from core.platform.errors import InvalidInput
from db.models import LedgerEntry

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
