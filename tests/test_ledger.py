"""The ledger on SQLite and PostgreSQL: append-only, one cause once, no overdraft."""

from __future__ import annotations

import pytest
from sqlalchemy import select, text, update
from sqlalchemy.exc import DBAPIError, IntegrityError

from core.maintenance.verify import verify
from core.platform.errors import AlreadyDone, InsufficientPoints, InvalidInput, NotAllowed
from core.points import corrections, entry_rules, posting
from db.history import HistoryViolation as AppendOnlyViolation
from db.models import Account, HouseholdMonth, LedgerEntry
from tests.factories import give_points


def balance_of(db, hid):
    with db.read() as s:
        acc = s.get(Account, hid)
        return acc.balance, acc.earned_total


def test_earned_points_raise_both_balance_and_earned_total(db, village):
    hid = village.household_ids[0]
    give_points(db, hid, 10, "a")
    assert balance_of(db, hid) == (10, 10)
    assert verify(db) == []


def test_the_same_cause_posts_only_once(db, village):
    hid = village.household_ids[0]
    give_points(db, hid, 10, "same")
    with pytest.raises(AlreadyDone):
        give_points(db, hid, 10, "same")
    assert balance_of(db, hid) == (10, 10)


def test_the_unique_cause_constraint_backs_the_check(db, village):
    hid = village.household_ids[0]
    give_points(db, hid, 10, "dup")
    with pytest.raises(IntegrityError), db.write() as s:
        s.add(LedgerEntry(village_id=village.id, household_id=hid, kind="earned", delta_balance=1, delta_earned=1,
                          source_type="test", source_id="dup", occurred_on=__import__("datetime").date.today(),
                          month=202601))
        s.flush()


def test_redeeming_more_than_the_balance_is_refused_and_writes_nothing(db, village):
    hid = village.household_ids[0]
    give_points(db, hid, 10, "a")
    with pytest.raises(InsufficientPoints), db.write() as s:
        posting.post(s, household_id=hid, kind="redeemed", points=-11, source_type="test", source_id="r1")
    assert balance_of(db, hid) == (10, 10)
    with db.read() as s:
        assert s.execute(select(LedgerEntry).where(LedgerEntry.source_id == "r1")).first() is None


def test_redeeming_spends_the_balance_but_keeps_the_earned_total(db, village):
    hid = village.household_ids[0]
    give_points(db, hid, 30, "a")
    with db.write() as s:
        posting.post(s, household_id=hid, kind="redeemed", points=-20, source_type="test", source_id="r")
    assert balance_of(db, hid) == (10, 30)
    assert verify(db) == []


def test_a_deduction_never_overdraws_but_lowers_the_earned_total_fully(db, village):
    hid = village.household_ids[0]
    give_points(db, hid, 3, "a")
    with db.write() as s:
        e = posting.post(s, household_id=hid, kind="deducted", points=-5, source_type="test", source_id="d")
    assert (e.delta_balance, e.delta_earned) == (-3, -5)
    assert balance_of(db, hid) == (0, -2)
    assert verify(db) == []


def test_the_check_constraint_refuses_a_negative_balance_even_from_raw_sql(db, village):
    hid = village.household_ids[0]
    with pytest.raises((IntegrityError, DBAPIError)), db.write() as s:
        s.execute(update(Account).where(Account.household_id == hid).values(balance=-1))


def test_entries_cannot_be_updated_through_the_orm(db, village):
    hid = village.household_ids[0]
    give_points(db, hid, 5, "a")
    with pytest.raises(AppendOnlyViolation), db.write() as s:
        e = s.execute(select(LedgerEntry)).scalar_one()
        e.delta_balance = 500
        s.flush()


def test_entries_cannot_be_deleted_through_the_orm(db, village):
    give_points(db, village.household_ids[0], 5, "a")
    with pytest.raises(AppendOnlyViolation), db.write() as s:
        s.delete(s.execute(select(LedgerEntry)).scalar_one())
        s.flush()


@pytest.mark.parametrize("sql", ["UPDATE ledger_entry SET delta_balance = 99", "DELETE FROM ledger_entry"])
def test_entries_cannot_be_rewritten_even_with_raw_sql(db, village, sql):
    give_points(db, village.household_ids[0], 5, "a")
    with pytest.raises(DBAPIError), db.write() as s:
        s.execute(text(sql))
    with db.read() as s:
        assert s.execute(select(LedgerEntry.delta_balance)).scalar_one() == 5


def test_a_reversal_undoes_the_entry_and_names_it(db, village):
    hid = village.household_ids[0]
    give_points(db, hid, 8, "a")
    with db.read() as s:
        original = s.execute(select(LedgerEntry)).scalar_one()
    rev = corrections.reverse(db, village.admin, original.id, "误记")
    assert rev.reverses_id == original.id
    assert balance_of(db, hid) == (0, 0)
    with pytest.raises(AlreadyDone):
        corrections.reverse(db, village.admin, original.id, "再来一次")
    with db.read() as s:
        hm = s.execute(select(HouseholdMonth).where(HouseholdMonth.household_id == hid)).scalar_one()
        assert hm.earned == 0
    assert verify(db) == []


def test_a_reversal_needs_a_reason_and_an_admin(db, village):
    give_points(db, village.household_ids[0], 8, "a")
    with db.read() as s:
        eid = s.execute(select(LedgerEntry.id)).scalar_one()
    with pytest.raises(InvalidInput, match="原因"):
        corrections.reverse(db, village.admin, eid, "  ")
    with pytest.raises(NotAllowed, match="没有权限"):
        corrections.reverse(db, village.actors["cashier"], eid, "误记")


def test_reversing_spent_points_leaves_them_outstanding_rather_than_overdrawing(db, village):
    hid = village.household_ids[0]
    give_points(db, hid, 10, "a")
    with db.write() as s:
        posting.post(s, household_id=hid, kind="redeemed", points=-10, source_type="test", source_id="r")
    with db.read() as s:
        eid = s.execute(select(LedgerEntry.id).where(LedgerEntry.source_id == "a")).scalar_one()
    corrections.reverse(db, village.admin, eid, "误记")
    assert balance_of(db, hid) == (0, 0)
    with db.read() as s:
        assert s.get(Account, hid).outstanding == 10  # owed, to be settled from the next points
    assert verify(db) == []


@pytest.mark.parametrize("points", [0, 1.5, "5", 10**9, True])
def test_an_adjustment_with_a_bad_amount_is_refused(db, village, points):
    with pytest.raises(InvalidInput):
        corrections.adjust(db, village.admin, village.household_ids[0], points, "调整")
    assert balance_of(db, village.household_ids[0]) == (0, 0)


def test_an_adjustment_needs_a_reason(db, village):
    with pytest.raises(InvalidInput, match="原因"):
        corrections.adjust(db, village.admin, village.household_ids[0], 5, "")


def test_an_admin_cannot_adjust_another_villages_household(db, village):
    from tests.factories import make_village

    other = make_village(db, name="邻村", code="T002")
    with pytest.raises(NotAllowed):
        corrections.adjust(db, village.admin, other.household_ids[0], 5, "调整")


def test_verify_catches_a_tampered_balance(db, village):
    hid = village.household_ids[0]
    give_points(db, hid, 10, "a")
    with db.write() as s:
        s.execute(update(Account).where(Account.household_id == hid).values(balance=15))
    problems = verify(db)
    assert len(problems) == 1 and str(hid) in problems[0]


def test_verify_catches_tampered_summaries_and_volunteer_totals(db, village):
    from db.models import CategoryMonth, Resident, VolunteerTotal

    hid = village.household_ids[0]
    with db.write() as s:
        posting.post(s, household_id=hid, kind="earned", points=5, source_type="t", source_id="c",
                     category_id=village.category_ids[0])
    assert verify(db) == []
    with db.write() as s:
        s.execute(update(CategoryMonth).values(points=CategoryMonth.points + 1))
    assert [p for p in verify(db) if "类别" in p]
    with db.write() as s:
        s.execute(update(CategoryMonth).values(points=CategoryMonth.points - 1))
        rid = s.execute(select(Resident.id).where(Resident.household_id == hid)).scalars().first()
        s.add(VolunteerTotal(resident_id=rid, village_id=village.id, minutes=90, star_level=0))
    problems = verify(db)
    assert len(problems) == 1 and "累计时长" in problems[0]


def test_unknown_household_is_a_clear_error(db, village):
    from core.platform.errors import NotFound

    with pytest.raises(NotFound, match="找不到"), db.write() as s:
        posting.post(s, household_id=999999, kind="earned", points=5, source_type="t", source_id="x")


@pytest.mark.parametrize(
    "kind,points,balance,expected",
    [
        ("earned", 5, 0, (5, 5)),
        ("deducted", -5, 2, (-2, -5)),
        ("deducted", -5, 9, (-5, -5)),
        ("redeemed", -3, 3, (-3, 0)),
        ("redeem_void", 3, 0, (3, 0)),
        ("adjustment", -4, 1, (-1, -4)),
        ("adjustment", 4, 1, (4, 4)),
    ],
)
def test_deltas_follow_the_two_numbers_rule(kind, points, balance, expected):
    d = entry_rules.deltas_for(kind, points, balance)
    assert (d.balance, d.earned) == expected


@pytest.mark.parametrize("kind,points", [("earned", -1), ("deducted", 3), ("redeemed", 2), ("nonsense", 1)])
def test_deltas_refuse_a_sign_that_contradicts_the_kind(kind, points):
    with pytest.raises(InvalidInput):
        entry_rules.deltas_for(kind, points, 10)


def test_an_account_locked_once_in_a_transaction_is_not_asked_for_again_unless_a_savepoint_let_it_go(db, village):
    from sqlalchemy import event

    hid = village.household_ids[0]
    give_points(db, hid, 10, "lock-start")
    statements: list[str] = []

    def count(conn, cursor, statement, *args):
        statements.append(statement)

    def asks(fn) -> int:
        """How many times ``fn`` read the account table."""
        n = len(statements)
        fn()
        return sum("FROM account" in st for st in statements[n:])

    event.listen(db.engine, "before_cursor_execute", count)
    try:
        with db.write() as s:
            first = posting.lock_account(s, hid)
            if db.engine.dialect.name == "postgresql":
                assert "FOR UPDATE" in statements[-1].upper()
            assert asks(lambda: posting.lock_account(s, hid)) == 0  # no second round trip
            assert posting.lock_account(s, hid) is first
            posting.post(s, household_id=hid, kind="redeemed", points=-4, source_type="t", source_id="lock-1")
            assert posting.lock_account(s, hid).balance == 6  # the ledger's update expired the copy: re-read
            other = village.household_ids[1]
            sp = s.begin_nested()
            posting.lock_account(s, other)
            sp.rollback()  # the savepoint's row lock went with it
            assert asks(lambda: posting.lock_account(s, other)) == 1
        with db.write() as s:  # a new transaction locks afresh
            assert asks(lambda: posting.lock_account(s, hid)) == 1
    finally:
        event.remove(db.engine, "before_cursor_execute", count)
    assert verify(db) == []
