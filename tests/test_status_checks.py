"""Status columns hold only their enum's values (db.enums), and it is the database that refuses
any other: a row written past the core (raw SQL, a bug, an import) with an unknown status fails
at the write, on SQLite and PostgreSQL alike."""

from __future__ import annotations

import datetime as dt
import itertools
import re

import pytest
from sqlalchemy import CheckConstraint
from sqlalchemy.exc import IntegrityError

from db.enums import STATUS_COLUMNS, check_in
from db.models import (
    Activity,
    Attendance,
    Base,
    Card,
    DistributionRound,
    HoursCorrection,
    Objection,
    Proposal,
    Redemption,
    Signup,
)

DAY = dt.date(2026, 12, 3)
_n = itertools.count(1)  # unique tokens, receipt numbers and keys across the rows a test writes


def _proposal(s, v, **kw) -> Proposal:
    p = Proposal(village_id=v.id, household_id=v.household_ids[0], rule_item_id=v.rule_ids["HJ01"], points=5,
                 act_date=DAY, source="grid", **kw)
    s.add(p)
    s.flush()
    return p


def _activity(s, v, **kw) -> Activity:
    a = Activity(village_id=v.id, title="清扫村道", date=DAY, **kw)
    s.add(a)
    s.flush()
    return a


def _row(s, v, table: str, column: str, value: str):
    """Write one row of ``table`` whose ``column`` is ``value`` (its parents made as needed)."""
    n = next(_n)
    if table == "proposal":
        return _proposal(s, v, status=value)
    if table == "objection":
        row = Objection(proposal_id=_proposal(s, v, status="objected").id, raised_by="村民甲", reason="不属实",
                        status=value)
    elif table == "card":
        # a test writes one active card (uq_card_one_active allows one per household)
        row = Card(village_id=v.id, household_id=v.household_ids[0], token=f"C{n:06d}", status=value)
    elif table == "redemption":
        row = Redemption(village_id=v.id, household_id=v.household_ids[0], receipt_no=f"R{n:06d}", cart_key=f"k{n}",
                         total=0, month=202612, **{column: value})
    elif table == "activity":
        return _activity(s, v, status=value)
    elif table == "signup":
        row = Signup(activity_id=_activity(s, v).id, resident_id=v.resident_ids[0], status=value)
    elif table == "hours_correction":
        att = Attendance(village_id=v.id, activity_id=_activity(s, v).id, resident_id=v.resident_ids[0],
                         household_id=v.household_ids[0], minutes=60)
        s.add(att)
        s.flush()
        row = HoursCorrection(attendance_id=att.id, requested_by="工作人员：甲", reason="漏记", old_minutes=60,
                              new_minutes=90, status=value)
    elif table == "distribution_round":
        row = DistributionRound(village_id=v.id, crop="玉米", total_grams=1000, rule="household", status=value)
    else:  # pragma: no cover - a new enum-held column needs a row here
        raise AssertionError(f"no test row for {table}.{column}")
    s.add(row)
    s.flush()
    return row


@pytest.mark.parametrize(("table", "column"), list(STATUS_COLUMNS))
def test_every_value_of_the_enum_is_written_and_any_other_is_refused_by_the_database(db, village, table, column):
    enum = STATUS_COLUMNS[table, column]
    for value in enum:
        with db.write() as s:
            row = _row(s, village, table, column, value)
            assert getattr(row, column) == value.value
    for wrong in ("bogus", "", value.value.upper(), f"{value.value} "):
        with pytest.raises(IntegrityError) as refused, db.write() as s:
            _row(s, village, table, column, wrong)
        assert f"ck_{table}_{column}_known" in str(refused.value)


def _listed(check: CheckConstraint) -> tuple[str, list[str]]:
    sql = str(check.sqltext)
    m = re.fullmatch(r"(\w+) IN \((.*)\)", sql)
    assert m, sql
    return m.group(1), re.findall(r"'([^']*)'", m.group(2))


def test_each_models_check_lists_exactly_its_enums_values():
    for (table, column), enum in STATUS_COLUMNS.items():
        checks = {c.name: c for c in Base.metadata.tables[table].constraints if isinstance(c, CheckConstraint)}
        check = checks[f"ck_{table}_{column}_known"]
        assert _listed(check) == (column, [v.value for v in enum])
        assert str(check.sqltext) == check_in(column, enum)


def test_the_migration_froze_the_same_values_as_the_enums():
    """0016 keeps its own copy (an enum that grows needs a new migration); today they agree."""
    import importlib.util
    from pathlib import Path

    path = Path(__file__).resolve().parent.parent / "db" / "migrations" / "versions" / "0016_status_checks.py"
    spec = importlib.util.spec_from_file_location("m0016", path)
    module = importlib.util.module_from_spec(spec)
    spec.loader.exec_module(module)
    assert {k: tuple(v) for k, v in module.CHECKS.items()} == {k: tuple(e) for k, e in STATUS_COLUMNS.items()}


def test_every_status_column_of_the_models_is_held_by_an_enum():
    """A new ``status`` column (or one renamed) must get its enum and CHECK too."""
    found = {(t.name, c.name) for t in Base.metadata.tables.values() for c in t.columns
             if c.name in ("status", "delivery")}
    assert found == set(STATUS_COLUMNS)
