"""Test data for the dashboard tests, and an independent recomputation from ledger_entry.

The recomputation reads raw ledger entries and classifies each by the sign of the entry it
stands for (itself, or the original it reverses) — a different road from core.points.posting's
running summaries (household_month / category_month) that the dashboards read.
"""

from __future__ import annotations

import datetime as dt
from collections import defaultdict

from sqlalchemy import select, update

from core.points import corrections, entry_rules, posting
from db.models import (
    Activity,
    Allocation,
    Attendance,
    DistributionRound,
    Grid,
    Household,
    LedgerEntry,
    Redemption,
)
from tests.factories import V


def months_ago(today: dt.date, n: int) -> dt.date:
    y, m = today.year, today.month - n
    while m <= 0:
        y, m = y - 1, m + 12
    return dt.date(y, m, 1)


def populate(db, v: V, today: dt.date) -> dict:
    """Entries of every kind over three months and last year, in two grids."""
    h1, h2, h3, h4 = v.household_ids[:4]
    r1, r2, _r3, r4 = v.resident_ids[:4]
    cat = v.category_ids[0]
    last_month = months_ago(today, 1)
    last_year = dt.date(today.year - 1, 3, 5)
    with db.write() as s:
        g2 = Grid(village_id=v.id, name="第二网格")
        s.add(g2)
        s.flush()
        s.execute(update(Household).where(Household.id.in_([h3, h4])).values(grid_id=g2.id))
        grid2 = g2.id

    def post(hh, kind, pts, cause, day, **kw):
        with db.write() as s:
            return posting.post(s, household_id=hh, kind=kind, points=pts, source_type="t", source_id=cause,
                                occurred_on=day, **kw).id

    post(h1, "earned", 10, "a1", today, resident_id=r1, category_id=cat, rule_item_id=v.rule_ids["HJ01"])
    post(h1, "redeemed", -8, "a2", today)
    post(h1, "redeem_void", 3, "a3", today)
    post(h2, "earned", 9, "b1", last_month, resident_id=r2, category_id=cat)
    post(h2, "deducted", -5, "b2", last_month, resident_id=r2, category_id=cat, rule_item_id=v.rule_ids["HJ06"])
    post(h2, "earned", 20, "b3", last_year, category_id=cat)
    post(h3, "earned", 6, "c1", last_month)
    post(h3, "adjustment", 3, "c2", today)
    post(h3, "adjustment", -2, "c3", today)
    wrong = post(h4, "earned", 7, "d1", today, resident_id=r4, category_id=cat)
    corrections.reverse(db, v.admin, wrong, "录错了")
    post(h4, "volunteer", 4, "d2", today, resident_id=r4)

    with db.write() as s:
        act = Activity(village_id=v.id, title="清扫村道", date=today, status="done")
        old = Activity(village_id=v.id, title="去年的活动", date=last_year, status="done")
        s.add_all([act, old])
        s.flush()
        now = dt.datetime.combine(today, dt.time(10))
        s.add_all([
            Attendance(village_id=v.id, activity_id=act.id, resident_id=r1, household_id=h1, minutes=90,
                       confirmed_at=now),
            Attendance(village_id=v.id, activity_id=act.id, resident_id=r4, household_id=h4, minutes=30,
                       confirmed_at=now),
            Attendance(village_id=v.id, activity_id=act.id, resident_id=r2, household_id=h2, minutes=60),
            Attendance(village_id=v.id, activity_id=old.id, resident_id=r1, household_id=h1, minutes=120,
                       confirmed_at=now),
        ])
        rnd = DistributionRound(village_id=v.id, title="秋收", crop="小米", total_grams=5000, rule="household",
                                status="confirmed")
        s.add(rnd)
        s.flush()
        s.add_all([Allocation(round_id=rnd.id, household_id=h1, grams=2500, delivered_at=now, signed_by="本人"),
                   Allocation(round_id=rnd.id, household_id=h4, grams=1500, delivered_at=now, signed_by="本人"),
                   Allocation(round_id=rnd.id, household_id=h2, grams=1000)])
        m = entry_rules.month_of(today)
        s.add_all([Redemption(village_id=v.id, household_id=h1, receipt_no="R1", cart_key="k1", total=8, month=m),
                   Redemption(village_id=v.id, household_id=h1, receipt_no="R2", cart_key="k2", total=3, month=m,
                              status="voided")])
    return {"grid2": grid2, "grid1": v.grid_ids[0]}


def recompute(db, village_id: int, first_month: int, last_month: int, grid_id: int | None = None) -> dict:
    """Earned, deducted, redeemed, per-category, per-household and per-resident points from raw entries."""
    with db.read() as s:
        entries = s.execute(select(LedgerEntry).where(LedgerEntry.village_id == village_id)).scalars().all()
        grid_of = dict(s.execute(select(Household.id, Household.grid_id)).all())
    by_id = {e.id: e for e in entries}
    out = {"earned": 0, "deducted": 0, "redeemed": 0, "category": defaultdict(int),
           "household": defaultdict(int), "resident": defaultdict(int), "earned_by_household": defaultdict(int)}
    for e in entries:
        if not first_month <= e.month <= last_month:
            continue
        if grid_id is not None and grid_of[e.household_id] != grid_id:
            continue
        stands_for = by_id[e.reverses_id] if e.reverses_id else e
        if stands_for.kind in ("redeemed", "redeem_void"):
            out["redeemed"] -= e.delta_balance
        elif stands_for.delta_earned > 0:
            out["earned"] += e.delta_earned
            out["earned_by_household"][e.household_id] += e.delta_earned
        elif stands_for.delta_earned < 0:
            out["deducted"] -= e.delta_earned
        if e.category_id is not None:
            out["category"][e.category_id] += e.delta_earned
        out["household"][e.household_id] += e.delta_earned
        if e.resident_id is not None:
            out["resident"][e.resident_id] += e.delta_earned
    return out
