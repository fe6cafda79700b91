"""期初积分导入: a village's old points book into the ledger — preview, per-row Chinese errors,
all or nothing, twice is once, carried-over entries, the reconciliation sheet."""

from __future__ import annotations

import datetime as dt
import io

import pytest
from openpyxl import Workbook, load_workbook
from sqlalchemy import func, select

from core.maintenance.verify import verify
from core.platform.errors import InvalidInput, NotAllowed
from core.points import corrections, entry_rules, posting
from core.village import opening, reconciliation
from db.models import Account, AuditLog, HouseholdMonth, ImportBatch, LedgerEntry
from tests.factories import make_village

CUTOVER = dt.date.today().replace(day=1) - dt.timedelta(days=1)


def book(balances: list[list] | None, history: list[list] | None = None, *, notes: bool = True) -> bytes:
    """An .xlsx points book as a village keeps it: an instructions sheet, a title row, then the table."""
    wb = Workbook()
    ws = wb.active
    ws.title = "说明"
    if notes:
        ws.append(["本账本由村委会保管"])
    if balances is not None:
        b = wb.create_sheet("期初余额")
        b.append(["某某村积分台账"])
        b.append(opening.BALANCE_COLUMNS)
        for row in balances:
            b.append(row)
    if history is not None:
        h = wb.create_sheet("历史明细")
        h.append(opening.HISTORY_COLUMNS)
        for row in history:
            h.append(row)
    buf = io.BytesIO()
    wb.save(buf)
    return buf.getvalue()


GOOD = book([["1-001", "户主1", 120, 150], ["1-002", "户主2", 0, None], ["１－００３", "", "35", None]],
            [["1-001", dt.datetime(2025, 3, 12), "HJ01", 5], ["1-001", "2025/6/1", "兑换洗衣粉", -30],
             ["1-004", "2025年5月20日", "参加义务劳动", 10], ["1-004", "2025-05-21", "HJ06", -4]])


def _accounts(db, village) -> dict[int, tuple[int, int]]:
    with db.read() as s:
        return {a.household_id: (a.balance, a.earned_total) for a in s.execute(
            select(Account).where(Account.village_id == village.id)).scalars()}


def _entries(db) -> int:
    with db.read() as s:
        return s.execute(select(func.count()).select_from(LedgerEntry)).scalar_one()


def test_a_points_book_is_previewed_then_carried_over_through_the_ledger(db, village):
    plan = opening.preview(db, village.admin, village.id, "账本.xlsx", GOOD, CUTOVER)
    assert plan.ok, plan.errors
    assert (plan.new, plan.unchanged, plan.book_total, plan.history_rows) == (4, 0, 120 + 0 + 35 + 6, 4)
    assert _entries(db) == 0  # a preview writes nothing
    opening.commit(db, village.admin, village.id, "账本.xlsx", GOOD, CUTOVER)
    h1, h2, h3, h4 = village.household_ids
    assert _accounts(db, village) == {h1: (120, 150), h2: (0, 0), h3: (35, 35), h4: (6, 6)}
    with db.read() as s:
        kinds = s.execute(select(LedgerEntry.household_id, LedgerEntry.kind, LedgerEntry.delta_balance,
                                 LedgerEntry.occurred_on, LedgerEntry.rule_item_id)
                          .order_by(LedgerEntry.id)).all()
        batches = s.execute(select(func.count()).select_from(ImportBatch)).scalar_one()
        audit = s.execute(select(AuditLog.action).where(AuditLog.action == "opening.import")).scalars().all()
    by_h1 = [(k, d, day, r) for h, k, d, day, r in kinds if h == h1]
    assert by_h1 == [("carryover_record", 0, dt.date(2025, 3, 12), village.rule_ids["HJ01"]),
                     ("carryover_record", 0, dt.date(2025, 6, 1), None),
                     ("carryover", 120, CUTOVER, None), ("carryover_earned", 0, CUTOVER, None)]
    assert {k for _, k, *_ in kinds} <= set(opening.SOURCES)
    assert (batches, audit) == (1, ["opening.import"])
    assert verify(db) == []


def test_importing_the_book_twice_does_not_double_a_balance(db, village):
    opening.commit(db, village.admin, village.id, "账本.xlsx", GOOD, CUTOVER)
    before, n = _accounts(db, village), _entries(db)
    again = opening.preview(db, village.admin, village.id, "账本.xlsx", GOOD, CUTOVER)
    assert again.ok and again.imported_before and (again.new, again.unchanged) == (0, 4)
    opening.commit(db, village.admin, village.id, "账本.xlsx", GOOD, CUTOVER)
    # the same book saved again (another file) with one more household carries over only that one
    more = book([["1-001", "户主1", 120, 150], ["1-005", "户主5", 8, None]])
    from db.models import Household

    with db.write() as s:
        hh = Household(village_id=village.id, grid_id=village.grid_ids[0], door_no="1-005", head_name="户主5")
        s.add(hh)
        s.flush()
        posting.open_account(s, hh)
        h5 = hh.id
    opening.commit(db, village.admin, village.id, "账本2.xlsx", more, CUTOVER)
    after = _accounts(db, village)
    assert {h: v for h, v in after.items() if h != h5} == before and after[h5] == (8, 8)
    assert _entries(db) == n + 1
    assert verify(db) == []


def test_a_different_balance_for_a_household_already_carried_over_is_refused(db, village):
    opening.commit(db, village.admin, village.id, "账本.xlsx", GOOD, CUTOVER)
    changed = book([["1-001", "户主1", 125, 150]])
    plan = opening.preview(db, village.admin, village.id, "改.xlsx", changed, CUTOVER)
    assert "已导入过期初积分 120 分" in "\n".join(plan.errors)
    with pytest.raises(InvalidInput, match="没有导入任何数据"):
        opening.commit(db, village.admin, village.id, "改.xlsx", changed, CUTOVER)


BAD = {
    "unknown household": (book([["9-999", "", 5, None]]), "期初余额表第 3 行“门牌号”列：本村花名册里没有“9-999”"),
    "wrong head (shifted rows)": (book([["1-001", "户主2", 5, None]]), "期初余额表第 3 行“户主”列"),
    "bad number": (book([["1-001", "", "十二", None]]), "期初余额表第 3 行“期初积分”列"),
    "fraction": (book([["1-001", "", 12.5, None]]), "期初余额表第 3 行“期初积分”列"),
    "negative balance": (book([["1-001", "", -3, None]]), "期初余额表第 3 行“期初积分”列"),
    "duplicate household": (book([["1-001", "", 5, None], ["1-002", "", 1, None], ["1-001", "", 6, None]]),
                            "期初余额表第 5 行“门牌号”列：“1-001”与第 3 行重复"),
    "bad date": (book([["1-001", "", 5, None]], [["1-001", "去年春天", "HJ01", 5]]), "历史明细表第 2 行“日期”列"),
    "date after cut-over": (book(None, [["1-001", dt.date.today().isoformat(), "HJ01", 5]]),
                            "历史明细表第 2 行“日期”列"),
    "zero points in history": (book(None, [["1-001", "2025-01-02", "HJ01", 0]]), "历史明细表第 2 行“积分”列"),
    "empty item": (book(None, [["1-001", "2025-01-02", None, 3]]), "历史明细表第 2 行“事项”列"),
    "history sums below zero": (book(None, [["1-002", "2025-01-02", "HJ06", -5]]), "明细合计 -5 分为负数"),
    "no table at all": (book(None, None), "找不到表头"),
    "not a workbook": (b"PK\x03\x04 this is not a zip", "Excel 文件已损坏"),
    "old xls": (b"\xd0\xcf\x11\xe0" + b"\0" * 100, ""),
    "empty file": (b"", "文件是空的"),
}


def _missing_column_book() -> bytes:
    wb = Workbook()
    ws = wb.active
    ws.append(["门牌号", "日期", "积分"])
    ws.append(["1-001", "2025-01-02", 3])
    buf = io.BytesIO()
    wb.save(buf)
    return buf.getvalue()


BAD["missing column"] = (_missing_column_book(), "")  # no 事项 and no 期初积分: no recognisable table


@pytest.mark.parametrize("name", sorted(BAD))
def test_a_bad_book_is_refused_naming_the_row_and_column_and_writes_nothing(db, village, name):
    data, expected = BAD[name]
    fname = "账本.xls" if name == "old xls" else "账本.xlsx"
    plan = opening.preview(db, village.admin, village.id, fname, data, CUTOVER)
    assert not plan.ok
    assert expected in "\n".join(plan.errors)
    assert all(any("\u4e00" <= ch <= "\u9fff" for ch in e) for e in plan.errors)  # Chinese, every one
    with pytest.raises(InvalidInput, match="没有导入任何数据"):
        opening.commit(db, village.admin, village.id, fname, data, CUTOVER)
    assert _entries(db) == 0


def test_one_bad_row_among_three_hundred_households_writes_nothing(db):
    v = make_village(db, households=300, code="T300")
    rows = [[f"1-{i + 1:03d}", f"户主{i + 1}", i % 50, None] for i in range(300)]
    rows[257][2] = "5分"
    data = book(rows)
    plan = opening.preview(db, v.admin, v.id, "a.xlsx", data, CUTOVER)
    assert plan.errors == ["期初余额表第 260 行“期初积分”列：应为 0 到 1000000 之间的整数，不能是“5分”。"]
    with pytest.raises(InvalidInput):
        opening.commit(db, v.admin, v.id, "a.xlsx", data, CUTOVER)
    assert _entries(db) == 0
    rows[257][2] = 5
    opening.commit(db, v.admin, v.id, "a.xlsx", book(rows), CUTOVER)
    with db.read() as s:
        total = s.execute(select(func.sum(Account.balance)).where(Account.village_id == v.id)).scalar_one()
    assert total == sum(r[2] for r in rows)
    assert verify(db) == []


def test_a_failure_half_way_through_the_postings_leaves_no_household_carried_over(db, village):
    """The last household's first history row collides with an entry already in the ledger
    (what a concurrent writer could leave): the whole import rolls back, not just that row."""
    h4 = village.household_ids[3]
    with db.write() as s:
        posting.post(s, household_id=h4, kind="earned", points=1, source_type="carryover_record", source_id=f"{h4}:0")
    before = _accounts(db, village)
    with pytest.raises(Exception, match="同时导入"):
        opening.commit(db, village.admin, village.id, "账本.xlsx", GOOD, CUTOVER)
    assert _accounts(db, village) == before
    with db.read() as s:
        assert s.execute(select(func.count()).select_from(LedgerEntry)
                         .where(LedgerEntry.source_type == "carryover")).scalar_one() == 0
        assert s.execute(select(func.count()).select_from(ImportBatch)).scalar_one() == 0


def test_the_opening_counts_in_the_cutover_month_not_the_first_month_of_use(db, village):
    opening.commit(db, village.admin, village.id, "账本.xlsx", GOOD, CUTOVER)
    with db.read() as s:
        months = set(s.execute(select(HouseholdMonth.month).where(HouseholdMonth.earned != 0)).scalars())
    assert months == {entry_rules.month_of(CUTOVER)}


def test_history_rows_cannot_be_reversed_and_the_opening_can(db, village):
    opening.commit(db, village.admin, village.id, "账本.xlsx", GOOD, CUTOVER)
    with db.read() as s:
        rec = s.execute(select(LedgerEntry.id).where(LedgerEntry.kind == "carryover_record")).scalars().first()
        carry = s.execute(select(LedgerEntry.id).where(LedgerEntry.kind == "carryover",
                                                       LedgerEntry.delta_balance == 35)).scalar_one()
    with pytest.raises(InvalidInput, match="原账本记录"):
        corrections.reverse(db, village.admin, rec, "试试")
    corrections.reverse(db, village.admin, carry, "账本抄错了")
    assert _accounts(db, village)[village.household_ids[2]] == (0, 0)
    assert verify(db) == []


def test_the_reconciliation_sets_the_book_against_the_ledger(db, village):
    before = reconciliation.reconciliation(db, village.admin, village.id, "账本.xlsx", GOOD, CUTOVER)
    assert (before.book_total, before.imported_total, before.mismatches) == (161, 0, 4)
    opening.commit(db, village.admin, village.id, "账本.xlsx", GOOD, CUTOVER)
    r = reconciliation.reconciliation(db, village.admin, village.id, "账本.xlsx", GOOD, CUTOVER)
    assert (r.book_total, r.imported_total, r.mismatches, r.ledger_total, r.ledger_households) == (161, 161, 0, 161, 4)
    plan = opening.preview(db, village.admin, village.id, "账本.xlsx", GOOD, CUTOVER)
    assert reconciliation.reconciliation(db, village.admin, village.id, "账本.xlsx", GOOD, CUTOVER, plan=plan) == r
    wb = load_workbook(io.BytesIO(reconciliation.reconciliation_xlsx(r)))
    summary = dict(wb["对账汇总"].iter_rows(min_row=2, values_only=True))
    assert summary["差额"] == "0" and "村务监督委员会签字" in summary
    detail = list(wb["逐户核对"].iter_rows(values_only=True))
    assert detail[0][-1] == "核对" and [row[-1] for row in detail[1:]] == ["一致"] * 4


def test_the_reconciliation_prints_with_the_totals_and_signature_lines(db, village):
    pypdfium2 = pytest.importorskip("pypdfium2")
    opening.commit(db, village.admin, village.id, "账本.xlsx", GOOD, CUTOVER)
    r = reconciliation.reconciliation(db, village.admin, village.id, "账本.xlsx", GOOD, CUTOVER)
    pdf = pypdfium2.PdfDocument(reconciliation.reconciliation_pdf(r))
    text = "".join(pdf[i].get_textpage().get_text_range() for i in range(len(pdf)))
    assert "账本期初积分合计：161" in text and "系统已导入合计：161" in text and "差额：0" in text
    assert "村务监督委员会签字" in text and "户主1" in text


def test_the_template_reads_back_as_a_valid_book(db, village):
    with db.write() as s:  # the template's door numbers and heads
        from db.models import Household
        s.get(Household, village.household_ids[0]).head_name = "张三"
        s.get(Household, village.household_ids[1]).head_name = "王五"
    tpl = opening.template_xlsx()
    plan = opening.preview(db, village.admin, village.id, "模板.xlsx", tpl, CUTOVER)
    assert plan.ok, plan.errors
    assert (plan.new, plan.book_total, plan.history_rows) == (2, 155, 3)


def test_only_the_villages_admin_imports_openings(db, village):
    other = make_village(db, name="乙村", code="T002")
    with pytest.raises(NotAllowed):
        opening.commit(db, other.admin, village.id, "a.xlsx", GOOD, CUTOVER)
    with pytest.raises(NotAllowed):
        opening.preview(db, village.actors["cashier"], village.id, "a.xlsx", GOOD, CUTOVER)
    assert _entries(db) == 0


def test_numbers_and_dates_as_books_write_them_are_read():
    assert [opening.read_int(x) for x in ("１２", "1,200", "12.0", "+5", "-3", "12.5", "", "五")] == \
        [12, 1200, 12, 5, -3, None, None, None]
    assert opening.read_date("2025年3月1日") == dt.date(2025, 3, 1)
    assert opening.read_date("2025/3/1") == dt.date(2025, 3, 1)
    assert opening.read_date("2025-02-30") is None


def test_two_admins_importing_the_same_book_at_once_carry_it_over_once(db, village):
    import threading

    from core.platform.errors import AlreadyDone

    barrier = threading.Barrier(2)
    outcomes = []

    def run():
        barrier.wait()
        try:
            outcomes.append(opening.commit(db, village.admin, village.id, "账本.xlsx", GOOD, CUTOVER).new)
        except AlreadyDone:
            outcomes.append("retry")

    threads = [threading.Thread(target=run) for _ in range(2)]
    for t in threads:
        t.start()
    for t in threads:
        t.join()
    assert 4 in outcomes and len(outcomes) == 2
    h1, h2, h3, h4 = village.household_ids
    assert _accounts(db, village) == {h1: (120, 150), h2: (0, 0), h3: (35, 35), h4: (6, 6)}
    with db.read() as s:
        assert s.execute(select(func.count()).select_from(ImportBatch)).scalar_one() == 1
    assert verify(db) == []
