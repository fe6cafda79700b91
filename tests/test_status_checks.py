"""Status and kind columns hold only their enum's values (db.enums), and it is the database that
refuses any other: a row written past the core (raw SQL, a bug, an import) with an unknown status
or kind fails at the write, on SQLite and PostgreSQL alike."""

from __future__ import annotations

import datetime as dt
import itertools
import re

import pytest
from sqlalchemy import CheckConstraint
from sqlalchemy.exc import IntegrityError

from db.enums import CODE_COLUMNS, KIND_COLUMNS, STATUS_COLUMNS, check_in
from db.models import (
    Activity,
    Attendance,
    Base,
    Card,
    Decision,
    DistributionRound,
    FundEntry,
    HonourEntry,
    HonourList,
    HoursCorrection,
    HouseholdEvent,
    LedgerEntry,
    Objection,
    PeriodClose,
    ProduceMove,
    Product,
    Proposal,
    Redemption,
    ReviewSession,
    SessionAttendee,
    SessionDeparture,
    Signup,
    StockMove,
    Vote,
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


def _decision(s, v, outcome: str = "approved") -> Decision:
    rs = ReviewSession(village_id=v.id, held_on=DAY, quorum_required=1, members_total=1)
    s.add(rs)
    s.flush()
    d = Decision(session_id=rs.id, proposal_id=_proposal(s, v, status="posted").id, outcome=outcome)
    s.add(d)
    s.flush()
    return d


def _attendee(s, session_id: int) -> SessionAttendee:
    a = SessionAttendee(session_id=session_id, name="村民代表甲", capacity="representative", voting=True)
    s.add(a)
    s.flush()
    return a


def _kind_row(s, v, table: str, column: str, value: str, n: int):
    """A row of a kind-held table (KIND_COLUMNS) whose ``column`` is ``value``, not yet added."""
    if table == "ledger_entry":
        return LedgerEntry(village_id=v.id, household_id=v.household_ids[0], kind=value, delta_balance=0,
                           delta_earned=0, source_type="test", source_id=f"k{n}", occurred_on=DAY, month=202612)
    if table == "household_event":
        return HouseholdEvent(village_id=v.id, household_id=v.household_ids[0], kind=value, happened_on=DAY)
    if table == "period_close":
        return PeriodClose(village_id=v.id, kind=value, period=200000 + n, balance_total=0, earned_total=0,
                           outstanding_total=0, households=0, entries=0)
    if table == "honour_entry":
        lst = HonourList(village_id=v.id, year=1000 + n, title="年度表彰")
        s.add(lst)
        s.flush()
        return HonourEntry(list_id=lst.id, kind=value, name="村民甲", number=f"BZ{n:06d}")
    if table == "produce_move":
        return ProduceMove(village_id=v.id, crop="玉米", grams=1000, kind=value)
    if table == "product":
        return Product(village_id=v.id, name=f"商品{n}", kind=value, price=5)
    if table == "stock_move":
        product = Product(village_id=v.id, name=f"肥皂{n}", price=5)
        s.add(product)
        s.flush()
        return StockMove(village_id=v.id, product_id=product.id, kind=value, qty=1)
    if table == "decision":
        return Decision(session_id=_decision(s, v).session_id, proposal_id=_proposal(s, v, status="posted").id,
                        outcome=value)
    if table == "fund_entry":
        return FundEntry(village_id=v.id, seq=n, kind=value, date=DAY, amount_fen=0, balance_after=0, source="",
                         entry_key=f"f{n}", digest="0" * 64)
    if table == "session_departure":
        return SessionDeparture(attendee_id=_attendee(s, _decision(s, v).session_id).id, kind=value)
    if table == "vote":
        d = _decision(s, v)
        return Vote(decision_id=d.id, attendee_id=_attendee(s, d.session_id).id, vote=value)
    raise AssertionError(f"no test row for {table}.{column}")  # pragma: no cover - a new column needs a row here


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
    else:
        row = _kind_row(s, v, table, column, value, n)
    s.add(row)
    s.flush()
    return row


@pytest.mark.parametrize(("table", "column"), list(CODE_COLUMNS))
def test_every_value_of_the_enum_is_written_and_any_other_is_refused_by_the_database(db, village, table, column):
    enum = CODE_COLUMNS[table, column]
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
    for (table, column), enum in CODE_COLUMNS.items():
        checks = {c.name: c for c in Base.metadata.tables[table].constraints if isinstance(c, CheckConstraint)}
        check = checks[f"ck_{table}_{column}_known"]
        assert _listed(check) == (column, [v.value for v in enum])
        assert str(check.sqltext) == check_in(column, enum)


def _migration(filename: str):
    import importlib.util
    from pathlib import Path

    path = Path(__file__).resolve().parent.parent / "db" / "migrations" / "versions" / filename
    spec = importlib.util.spec_from_file_location(path.stem, path)
    module = importlib.util.module_from_spec(spec)
    spec.loader.exec_module(module)
    return module


# The kind CHECKs written by hand before db.enums, in the migrations that created them; the enums now
# build them with the same names and text, so no migration replaces them.
OLDER_CHECKS = {
    ("fund_entry", "kind"): ("0012_fund_ledger.py", "kind IN ('opening', 'donation', 'other_income', 'field_sale', "
                                                    "'purchase', 'other_spending', 'reversal')"),
    ("session_departure", "kind"): ("0003_review_attendance.py", "kind IN ('left', 'mistake')"),
    ("vote", "vote"): ("0003_review_attendance.py", "vote IN ('agree', 'disagree', 'abstain')"),
}


def test_the_migrations_froze_the_same_values_as_the_enums():
    """0016 (statuses) and 0017 (kinds) keep their own copies (an enum that grows needs a new
    migration); today they agree, and the CHECKs written by hand earlier read as the enums write them."""
    from pathlib import Path

    statuses, kinds = _migration("0016_status_checks.py").CHECKS, _migration("0017_kind_checks.py").CHECKS
    assert {k: tuple(v) for k, v in statuses.items()} == {k: tuple(e) for k, e in STATUS_COLUMNS.items()}
    assert {k: tuple(v) for k, v in kinds.items()} == \
           {k: tuple(e) for k, e in KIND_COLUMNS.items() if k not in OLDER_CHECKS}
    versions = Path(__file__).resolve().parent.parent / "db" / "migrations" / "versions"
    for (table, column), (filename, sql) in OLDER_CHECKS.items():
        assert check_in(column, KIND_COLUMNS[table, column]) == sql
        assert sql[sql.index("(") + 1:-1] in (versions / filename).read_text(encoding="utf-8")
        assert f"ck_{table}_{column}_known" in (versions / filename).read_text(encoding="utf-8")


def test_every_status_and_kind_column_of_the_models_is_held_by_an_enum():
    """A new ``status`` or ``kind`` column (or one renamed) must get its enum and CHECK too."""
    found = {(t.name, c.name) for t in Base.metadata.tables.values() for c in t.columns
             if c.name in ("status", "delivery", "kind", "outcome", "vote")}
    assert found == set(CODE_COLUMNS)
