"""The county-scale bulk seeder, at a small scale: consistent, deterministic, verify-clean."""

from __future__ import annotations

import datetime as dt

from sqlalchemy import func, select, text

from core.maintenance.verify import verify
from db.models import (
    Account,
    CategoryMonth,
    HouseholdMonth,
    LedgerEntry,
    Product,
    Proposal,
    Redemption,
    StaffUser,
    Village,
)
from startup.bulk_plan import Plan
from startup.bulk_village import generate_village
from startup.bulkseed import bulk_seed, raw_insert_rate

TODAY = dt.date(2026, 6, 30)


def _seed(db, villages=2, households=6, entries=25, seed=7):
    return bulk_seed(db, villages=villages, households=households, days=90, entries=entries, seed=seed,
                     today=TODAY, progress=False)


def test_a_bulk_seeded_database_passes_verify(db):
    stats = _seed(db)
    assert stats.rows["ledger_entry"] > 100
    assert verify(db) == []


def test_every_account_equals_the_sum_of_its_entries_and_no_balance_went_negative(db):
    _seed(db)
    with db.read() as s:
        sums = dict((hid, (b, e, n)) for hid, b, e, n in s.execute(
            select(LedgerEntry.household_id, func.sum(LedgerEntry.delta_balance), func.sum(LedgerEntry.delta_earned),
                   func.count()).group_by(LedgerEntry.household_id)))
        accounts = s.execute(select(Account.household_id, Account.balance, Account.earned_total,
                                    Account.entries)).all()
        # replay each household's entries in id order: the balance never dips below zero
        running: dict[int, int] = {}
        for hid, delta in s.execute(select(LedgerEntry.household_id, LedgerEntry.delta_balance)
                                    .order_by(LedgerEntry.id)):
            running[hid] = running.get(hid, 0) + delta
            assert running[hid] >= 0
    assert len(accounts) == 12
    for hid, bal, earned, n in accounts:
        assert sums[hid] == (bal, earned, n)


def test_the_summary_tables_match_the_ledger(db):
    _seed(db)
    with db.read() as s:
        cat = dict(((v, m, c), (p, n)) for v, m, c, p, n in s.execute(
            select(LedgerEntry.village_id, LedgerEntry.month, LedgerEntry.category_id,
                   func.sum(LedgerEntry.delta_earned), func.count())
            .where(LedgerEntry.category_id.is_not(None))
            .group_by(LedgerEntry.village_id, LedgerEntry.month, LedgerEntry.category_id)))
        stored = {(r.village_id, r.month, r.category_id): (r.points, r.entries)
                  for r in s.execute(select(CategoryMonth)).scalars()}
        redeemed = dict(((h, m), -v) for h, m, v in s.execute(
            select(LedgerEntry.household_id, LedgerEntry.month, func.sum(LedgerEntry.delta_balance))
            .where(LedgerEntry.kind == "redeemed").group_by(LedgerEntry.household_id, LedgerEntry.month)))
        hm = {(r.household_id, r.month): r.redeemed for r in s.execute(select(HouseholdMonth)).scalars()}
    assert stored == cat
    assert {k: v for k, v in hm.items() if v} == redeemed


def test_posted_proposals_and_redemptions_point_at_their_entries(db):
    _seed(db)
    with db.read() as s:
        bad = s.execute(select(func.count()).select_from(Proposal).join(
            LedgerEntry, LedgerEntry.id == Proposal.posted_entry_id)
            .where((LedgerEntry.source_type != "proposal") | (LedgerEntry.source_id != func.cast(Proposal.id, LedgerEntry.source_id.type)))
        ).scalar_one()
        n_prop = s.execute(select(func.count()).select_from(Proposal)).scalar_one()
        n_prop_entries = s.execute(select(func.count()).select_from(LedgerEntry)
                                   .where(LedgerEntry.source_type == "proposal")).scalar_one()
        n_red = s.execute(select(func.count()).select_from(Redemption)).scalar_one()
        n_red_entries = s.execute(select(func.count()).select_from(LedgerEntry)
                                  .where(LedgerEntry.source_type == "redemption")).scalar_one()
        stock_ok = all(p.stock >= 0 for p in s.execute(select(Product)).scalars())
    assert bad == 0
    assert n_prop == n_prop_entries > 0
    assert n_red == n_red_entries > 0
    assert stock_ok


def test_foreign_keys_hold_although_checks_were_off_while_seeding(sqlite_db):
    _seed(sqlite_db)
    with sqlite_db.engine.connect() as conn:
        assert conn.execute(text("PRAGMA foreign_key_check")).all() == []


def test_the_same_seed_gives_the_same_rows():
    plan = Plan(villages=1, households=5, days=60, entries=20, seed=3, today=TODAY)
    from startup.bulk_plan import TABLE_ORDER, Bases

    bases = Bases({t: 1 for t in TABLE_ORDER})
    assert generate_village(plan, bases, 0, "h") == generate_village(plan, bases, 0, "h")
    other = Plan(villages=1, households=5, days=60, entries=20, seed=4, today=TODAY)
    assert generate_village(other, bases, 0, "h")["ledger_entry"] != generate_village(plan, bases, 0, "h")["ledger_entry"]


def test_seeding_twice_appends_new_villages_with_fresh_ids_and_usernames(db):
    _seed(db, villages=1)
    _seed(db, villages=1, seed=8)
    with db.read() as s:
        codes = list(s.execute(select(Village.code).order_by(Village.id)).scalars())
        names = list(s.execute(select(StaffUser.username)).scalars())
    assert codes == ["BULK00001", "BULK00002"]
    assert len(names) == len(set(names))
    assert "admin" in names
    assert verify(db) == []


def test_the_app_can_write_after_a_bulk_seed(db):
    """Sequences (PostgreSQL) were moved past the seeded ids: a normal insert works."""
    from core.points import posting

    _seed(db, villages=1)
    with db.read() as s:
        hid = s.execute(select(Account.household_id).order_by(Account.household_id).limit(1)).scalar_one()
    with db.write() as s:
        entry = posting.post(s, household_id=hid, kind="earned", points=5, source_type="test", source_id="after-seed")
    assert entry.id is not None
    assert verify(db) == []


def test_the_raw_insert_rate_is_measured_and_leaves_no_table_behind(db):
    rate = raw_insert_rate(db, rows=500)
    assert rate > 0
    with db.engine.connect() as conn:
        from sqlalchemy import inspect

        assert "zz_bench_raw_ledger" not in inspect(conn).get_table_names()
