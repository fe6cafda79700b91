"""bench.explain lists the table scans of the recorded statements (no timing assertions)."""

from __future__ import annotations

from sqlalchemy import select

from bench.explain import recording, report, scans
from db.models import Household, Resident


def test_sqlite_scans_skip_covering_indexes_and_constant_rows():
    lines = ["SCAN resident", "SCAN household USING COVERING INDEX ix_household_village_head",
             "SEARCH household USING INTEGER PRIMARY KEY (rowid=?)", "SCAN CONSTANT ROW"]
    assert scans(lines, sqlite=True) == ["SCAN resident"]


def test_postgresql_seq_scans_below_min_rows_are_not_listed():
    lines = ["Hash Join  (cost=1.1..2.2 rows=10 width=8)",
             "  ->  Seq Scan on resident  (cost=0.00..1173.03 rows=61903 width=16)",
             "  ->  Seq Scan on grid  (cost=0.00..3.88 rows=5 width=17)"]
    assert scans(lines, sqlite=False, min_rows=1000) == ["->  Seq Scan on resident  (cost=0.00..1173.03 rows=61903 width=16)"]
    assert len(scans(lines, sqlite=False)) == 2


def test_the_report_names_each_recorded_statement_with_its_plan(db, village):
    with recording(db) as stats, db.read() as s:
        s.execute(select(Resident.name, Household.door_no).join(Household, Household.id == Resident.household_id)
                  .where(Resident.village_id == village.id)).all()
    text = report(db, stats, analyze=True)
    line = next(ln for ln in text.splitlines() if "FROM resident JOIN household" in ln)
    assert "×1" in line
    if not db.is_sqlite:
        assert "Execution Time" in line
