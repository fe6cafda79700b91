"""Invariant checks: every stored balance equals the sum of its entries.

Returns problems as values (a list of Chinese strings), so ``manage.py verify`` can print
them and tests can assert the list is empty. Checked: accounts (balance, earned total,
outstanding 待扣) against their entries, no deduction point lost (every deduction's uncovered
part is outstanding or was settled), household_month and category_month against the entries,
product and produce stock against their moves, the village fund's numbered chain (no gap,
balances that add up, no row changed since it was written), volunteer totals and star levels against the
confirmed attendance, the recorded month and year closes against the entries they summed
(``core.points.closes``), and every history table guarded by its triggers.
"""

from __future__ import annotations

from sqlalchemy import String, and_, case, cast, func, select
from sqlalchemy.orm import aliased

from core.points import closes
from core.supermarket.fund import chain_problems
from core.volunteering.volunteer_queries import total_mismatches
from db.history import guard_problems
from db.models import (
    HISTORY,
    Account,
    CategoryMonth,
    HouseholdMonth,
    LedgerEntry,
    ProduceMove,
    ProduceStock,
    Product,
    StockMove,
    Village,
)


def verify(db) -> list[str]:
    problems: list[str] = []
    with db.read() as s:
        sums = (
            select(
                LedgerEntry.household_id.label("hid"),
                func.coalesce(func.sum(LedgerEntry.delta_balance), 0).label("bal"),
                func.coalesce(func.sum(LedgerEntry.delta_earned), 0).label("earn"),
                func.coalesce(func.sum(LedgerEntry.delta_outstanding), 0).label("owed"),
                func.count().label("n"),
            )
            .group_by(LedgerEntry.household_id)
            .subquery()
        )
        rows = s.execute(
            select(Account.household_id, Account.balance, Account.earned_total, Account.outstanding, Account.entries,
                   sums.c.bal, sums.c.earn, sums.c.owed, sums.c.n)
            .outerjoin(sums, sums.c.hid == Account.household_id)
        )
        for hid, bal, earned, owed, n, sbal, searn, sowed, sn in rows:
            sbal, searn, sowed, sn = sbal or 0, searn or 0, sowed or 0, sn or 0
            if (bal, earned, owed, n) != (sbal, searn, sowed, sn):
                problems.append(
                    f"户 {hid}：账户余额 {bal}/累计 {earned}/待扣 {owed}/笔数 {n}，"
                    f"流水合计 {sbal}/{searn}/{sowed}/{sn}"
                )
            if bal < 0:
                problems.append(f"户 {hid}：可用积分为负 {bal}")
            if owed < 0:
                problems.append(f"户 {hid}：待扣积分为负 {owed}")
            if owed > 0 and bal > 0:
                problems.append(f"户 {hid}：有待扣 {owed} 分，却仍有可用积分 {bal} 分未抵扣")
        problems += lost_deductions(s)
        orphan = s.execute(
            select(func.count()).select_from(LedgerEntry)
            .outerjoin(Account, Account.household_id == LedgerEntry.household_id)
            .where(Account.household_id.is_(None))
        ).scalar_one()
        if orphan:
            problems.append(f"{orphan} 条流水没有对应的积分账户")

        hm = (
            select(
                LedgerEntry.household_id.label("hid"), LedgerEntry.month.label("m"),
                func.sum(LedgerEntry.delta_earned).label("earn"),
            ).group_by(LedgerEntry.household_id, LedgerEntry.month).subquery()
        )
        bad = s.execute(
            select(func.count()).select_from(hm)
            .outerjoin(HouseholdMonth, (HouseholdMonth.household_id == hm.c.hid) & (HouseholdMonth.month == hm.c.m))
            .where(func.coalesce(HouseholdMonth.earned, 0) - func.coalesce(HouseholdMonth.deducted, 0) != hm.c.earn)
        ).scalar_one()
        if bad:
            problems.append(f"{bad} 个户·月汇总与流水不一致")

        # category_month: points = sum of delta_earned; entries counts an entry +1 and its
        # reversal -1 (what posting._summarise keeps).
        cm = (
            select(
                LedgerEntry.village_id.label("v"), LedgerEntry.month.label("m"),
                LedgerEntry.category_id.label("c"), func.sum(LedgerEntry.delta_earned).label("pts"),
                func.sum(case((LedgerEntry.kind == "reversal", -1), else_=1)).label("n"),
            ).where(LedgerEntry.category_id.is_not(None))
            .group_by(LedgerEntry.village_id, LedgerEntry.month, LedgerEntry.category_id).subquery()
        )
        bad = s.execute(
            select(func.count()).select_from(cm)
            .outerjoin(CategoryMonth, (CategoryMonth.village_id == cm.c.v) & (CategoryMonth.month == cm.c.m)
                       & (CategoryMonth.category_id == cm.c.c))
            .where((func.coalesce(CategoryMonth.points, 0) != cm.c.pts)
                   | (func.coalesce(CategoryMonth.entries, 0) != cm.c.n))
        ).scalar_one()
        if bad:
            problems.append(f"{bad} 个村·月·类别汇总与流水不一致")

        moves = (
            select(StockMove.product_id.label("pid"), func.sum(StockMove.qty).label("q"))
            .group_by(StockMove.product_id).subquery()
        )
        for pid, name, stock, q in s.execute(
            select(Product.id, Product.name, Product.stock, moves.c.q)
            .outerjoin(moves, moves.c.pid == Product.id).where(Product.kind == "goods")
        ):
            if stock != (q or 0):
                problems.append(f"商品 {pid}（{name}）：库存 {stock}，出入库合计 {q or 0}")
            if stock < 0:
                problems.append(f"商品 {pid}（{name}）：库存为负")

        problems += over_returned(s)
        problems += closes.problems(s)

        pm = (
            select(ProduceMove.village_id.label("v"), ProduceMove.crop.label("c"), func.sum(ProduceMove.grams).label("g"))
            .group_by(ProduceMove.village_id, ProduceMove.crop).subquery()
        )
        for v, crop, grams, g in s.execute(
            select(ProduceStock.village_id, ProduceStock.crop, ProduceStock.grams, pm.c.g)
            .outerjoin(pm, (pm.c.v == ProduceStock.village_id) & (pm.c.c == ProduceStock.crop))
        ):
            if grams != (g or 0):
                problems.append(f"村 {v} 农产品 {crop}：库存 {grams} 克，出入合计 {g or 0} 克")
        problems += chain_problems(s)
        villages = list(s.execute(select(Village.id, Village.name).order_by(Village.id)))
    with db.engine.connect() as conn:
        problems += guard_problems(conn, HISTORY)
    for vid, name in villages:  # volunteer totals and star levels, village by village
        problems += [f"{name}：{p}" for p in total_mismatches(db, vid)]
    return problems


def over_returned(s) -> list[str]:
    """Redemption lines returned more than bought (across returns), and returns whose points did
    not come back by exactly one entry of their total — each a bug, never a user's doing."""
    from sqlalchemy import String, cast

    from db.models import LedgerEntry, RedemptionLine, RedemptionReturn, RedemptionReturnLine

    back = (select(RedemptionReturnLine.redemption_line_id.label("lid"), func.sum(RedemptionReturnLine.qty).label("q"))
            .group_by(RedemptionReturnLine.redemption_line_id).subquery())
    problems = [f"兑换明细 {lid}：兑换 {qty} 件，退货合计 {q} 件" for lid, qty, q in s.execute(
        select(RedemptionLine.id, RedemptionLine.qty, back.c.q).join(back, back.c.lid == RedemptionLine.id)
        .where(back.c.q > RedemptionLine.qty))]
    entry = (select(LedgerEntry.source_id.label("sid"), LedgerEntry.delta_balance.label("d"))
             .where(LedgerEntry.source_type == "redemption_return").subquery())
    problems += [f"退货 {no}：退回 {total} 分，流水 {d if d is not None else '缺失'}" for no, total, d in s.execute(
        select(RedemptionReturn.receipt_no, RedemptionReturn.total, entry.c.d)
        .outerjoin(entry, entry.c.sid == cast(RedemptionReturn.id, String))
        .where((entry.c.d.is_(None)) | (entry.c.d != RedemptionReturn.total)))]
    return problems


def lost_deductions(s) -> list[str]:
    """Deductions whose uncovered part is neither outstanding on the entry itself nor recorded
    later by a 待扣补记 naming it: points the household was never charged."""
    backfill = aliased(LedgerEntry)
    e = LedgerEntry
    lost = e.delta_balance - e.delta_earned - e.delta_outstanding - func.coalesce(backfill.delta_outstanding, 0)
    n, points = s.execute(
        select(func.count(), func.coalesce(func.sum(lost), 0))
        .select_from(e)
        .outerjoin(backfill, and_(backfill.source_type == "backfill", backfill.source_id == cast(e.id, String)))
        .where(e.kind.in_(("deducted", "adjustment")), e.delta_earned < 0, lost != 0)
    ).one()
    return [f"{n} 笔扣分共 {points} 分既未扣除也未记为待扣（扣分丢失）"] if n else []
