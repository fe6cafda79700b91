"""``db.executemany`` (the batch writes of deciding and posting) must store what the ORM
stores — dates and datetimes in the same text form on SQLite, so that they compare and
sort with every other row — and report the rows it changed over the whole batch, which
the ledger's overdraft backstop relies on."""

from __future__ import annotations

import datetime as dt

import pytest
from sqlalchemy import text

from core.points import posting
from db.executemany import executemany
from db.models import Account, LedgerEntry
from tests.factories import give_points, make_village

DAY = dt.date(2026, 3, 9)
AT = dt.datetime(2026, 3, 9, 8, 30, 5)


def _raw(db, cause: str) -> tuple:
    with db.read() as s:
        return tuple(s.execute(text("SELECT CAST(occurred_on AS TEXT), CAST(created_at AS TEXT) FROM ledger_entry "
                                    "WHERE source_id = :c"), {"c": cause}).one())


def test_dates_are_stored_as_the_orm_stores_them(db):
    v = make_village(db, households=1)
    h = v.household_ids[0]
    with db.write() as s:
        s.add(LedgerEntry(village_id=v.id, household_id=h, kind="earned", delta_balance=1, delta_earned=1,
                          source_type="t", source_id="orm", occurred_on=DAY, month=202603, reason="", created_at=AT))
    with db.write() as s:
        executemany(s, "INSERT INTO ledger_entry (village_id, household_id, kind, delta_balance, delta_earned, "
                       "source_type, source_id, occurred_on, month, reason, created_at) VALUES (:v, :h, 'earned', "
                       "1, 1, 't', :c, :day, 202603, '', :at)",
                    [{"v": v.id, "h": h, "c": "many", "day": DAY, "at": AT}],
                    {"day": LedgerEntry.occurred_on.type, "at": LedgerEntry.created_at.type})
    assert _raw(db, "many") == _raw(db, "orm")
    with db.read() as s:
        rows = s.query(LedgerEntry).filter(LedgerEntry.occurred_on == DAY, LedgerEntry.created_at == AT).all()
        assert {e.source_id for e in rows} == {"orm", "many"}


def test_rowcount_is_the_total_over_the_batch_and_skipped_rows_do_not_count(db):
    v = make_village(db, households=3)
    for i, h in enumerate(v.household_ids):
        give_points(db, h, 10, f"start:{i}")
    with db.write() as s:
        res = executemany(s, "UPDATE account SET balance = balance + :d WHERE household_id = :h AND balance + :d >= 0",
                          [{"h": v.household_ids[0], "d": -4}, {"h": v.household_ids[1], "d": -11},
                           {"h": v.household_ids[2], "d": 3}])
        assert res.rowcount == 2
    with db.read() as s:
        assert [s.get(Account, h).balance for h in v.household_ids] == [6, 10, 13]


def test_a_batch_posted_through_it_reads_back_by_day(db):
    v = make_village(db, households=2)
    with db.write() as s:
        posting.post_many(s, [posting.Posting(household_id=v.household_ids[i], kind="earned", points=3, source_type="t",
                                              source_id=f"d{i}", occurred_on=DAY) for i in range(2)])
    with db.read() as s:
        n = s.query(LedgerEntry).filter(LedgerEntry.occurred_on.between(DAY, DAY + dt.timedelta(days=1))).count()
    assert n == 2


def test_an_empty_batch_is_refused_rather_than_run_once_without_parameters(db):
    with pytest.raises(ValueError), db.write() as s:
        executemany(s, "UPDATE account SET balance = balance + :d WHERE household_id = :h", [])
