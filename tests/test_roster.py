"""Roster import (村民花名册): preview, validation naming row and column, all-or-nothing
commit, idempotent re-import; crafted bad files and a hypothesis fuzz."""

from __future__ import annotations

import io
import itertools
from pathlib import Path

import pytest
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st
from openpyxl import Workbook
from sqlalchemy import func, select

from core.maintenance.verify import verify
from core.platform.errors import InvalidInput, NotAllowed
from core.village import roster
from db.models import Account, Household, ImportBatch, Resident
from tests.factories import make_village

DATA = Path(__file__).parent / "data" / "roster"
HEADER = "门牌号,网格,姓名,性别,出生年份,与户主关系,党员,电话\n"
GOOD = HEADER + (
    "8-001,第一网格,王大山,男,1958,户主,是,13912345678\n"
    "8-001,第一网格,刘秀兰,女,1960,配偶,否,\n"
    "8-001,第一网格,王小明,男,1988,子女,否,\n"
    "8-002,第一网格,赵桂芳,女,1945,户主,否,0531-83451234\n"
)


def _counts(db):
    with db.read() as s:
        return tuple(s.execute(select(func.count()).select_from(m)).scalar_one()
                     for m in (Household, Resident, Account, ImportBatch))


def test_a_good_roster_is_previewed_then_imported_in_full(db, village):
    before = _counts(db)
    plan = roster.preview(db, village.admin, village.id, "花名册.csv", GOOD.encode("utf-8"))
    assert plan.ok and (plan.new_households, plan.new_residents) == (2, 4)
    assert _counts(db) == before  # a preview writes nothing
    roster.commit(db, village.admin, village.id, "花名册.csv", GOOD.encode("utf-8"))
    assert _counts(db) == (before[0] + 2, before[1] + 4, before[2] + 2, 1)
    with db.read() as s:
        hh = s.execute(select(Household).where(Household.door_no == "8-001")).scalar_one()
        assert (hh.head_name, hh.phone) == ("王大山", "13912345678")
        ming = s.execute(select(Resident).where(Resident.name == "王小明")).scalar_one()
        assert (ming.household_id, ming.birth_year, ming.relation) == (hh.id, 1988, "子女")
    assert verify(db) == []


def test_re_importing_the_same_file_changes_nothing(db, village):
    roster.commit(db, village.admin, village.id, "a.csv", GOOD.encode("utf-8"))
    before = _counts(db)
    plan = roster.preview(db, village.admin, village.id, "a.csv", GOOD.encode("utf-8"))
    assert plan.imported_before and plan.changes == 0 and plan.unchanged == 4
    again = roster.commit(db, village.admin, village.id, "a.csv", GOOD.encode("utf-8"))
    assert again.changes == 0 and _counts(db) == before


def test_a_changed_roster_updates_matching_people_and_adds_new_ones(db, village):
    roster.commit(db, village.admin, village.id, "a.csv", GOOD.encode("utf-8"))
    changed = GOOD.replace("王小明,男,1988", "王小明,男,1989") + "8-002,第一网格,赵小芳,女,1970,子女,否,\n"
    plan = roster.commit(db, village.admin, village.id, "b.csv", changed.encode("utf-8"))
    assert (plan.new_households, plan.new_residents, plan.updated) == (0, 1, 1)
    with db.read() as s:
        assert s.execute(select(Resident.birth_year).where(Resident.name == "王小明")).scalar_one() == 1989


@pytest.mark.parametrize("encoding", ["utf-8", "utf-8-sig", "gbk"])
def test_csv_in_utf8_with_or_without_bom_and_gbk_is_read(db, village, encoding):
    plan = roster.commit(db, village.admin, village.id, "a.csv", GOOD.encode(encoding))
    assert plan.new_residents == 4


def test_an_excel_roster_with_a_title_row_is_read(db, village):
    wb = Workbook()
    ws = wb.active
    ws.append(["测试村村民花名册"])
    for line in GOOD.strip().split("\n"):
        ws.append([int(c) if c.isdigit() and len(c) == 4 else c for c in line.split(",")])
    buf = io.BytesIO()
    wb.save(buf)
    plan = roster.commit(db, village.admin, village.id, "花名册.xlsx", buf.getvalue())
    assert (plan.new_households, plan.new_residents) == (2, 4)


EXPECTED = {
    "missing_name.csv": "第 2 行“姓名”列",
    "bad_birth_year.csv": "第 2 行“出生年份”列",
    "future_birth_year.csv": "第 2 行“出生年份”列",
    "duplicate_door_number.csv": "有 2 位户主",
    "duplicate_person.csv": "第 3 行“姓名”列",
    "unknown_grid.csv": "第 2 行“网格”列",
    "household_without_head.csv": "没有户主",
    "bad_phone.csv": "第 2 行“电话”列",
    "bad_gender.csv": "第 2 行“性别”列",
    "bad_party.csv": "第 2 行“党员”列",
    "unknown_relation.csv": "第 3 行“与户主关系”列",
    "missing_columns.csv": "表头缺少",
    "no_header.csv": "找不到表头",
    "two_grids_one_household.csv": "不同的网格",
    "header_only.csv": "没有村民数据",
    "html_in_name.csv": "第 2 行“姓名”列",
    "bad_row_among_good.csv": "第 31 行“出生年份”列",
    "latin1_garbage.csv": "",
    "empty.csv": "空的",
    "not_really.xlsx": "Excel",
    "binary.csv": "",
    "bad_year.xlsx": "第 4 行“出生年份”列",
}


def test_every_crafted_bad_file_is_listed_here():
    assert {p.name for p in DATA.iterdir() if p.name != "README.md"} == set(EXPECTED)


@pytest.mark.parametrize("name", sorted(EXPECTED))
def test_a_crafted_bad_roster_is_refused_naming_the_problem_and_writes_nothing(db, village, name):
    data = (DATA / name).read_bytes()
    plan = roster.preview(db, village.admin, village.id, name, data)
    assert not plan.ok
    assert EXPECTED[name] in "\n".join(plan.errors)
    before = _counts(db)
    with pytest.raises(InvalidInput, match="没有导入任何数据"):
        roster.commit(db, village.admin, village.id, name, data)
    assert _counts(db) == before


def test_only_the_villages_admin_imports(db, village):
    other = make_village(db, name="乙村", code="T002")
    with pytest.raises(NotAllowed):
        roster.commit(db, other.admin, village.id, "a.csv", GOOD.encode())
    with pytest.raises(NotAllowed):
        roster.preview(db, village.actors["grid_worker"], village.id, "a.csv", GOOD.encode())


# ---------------------------------------------------------------- fuzz

cell = st.text(alphabet=st.characters(blacklist_categories=("Cs",)), max_size=12)


@settings(max_examples=150, deadline=None)
@given(st.lists(st.lists(cell, max_size=10), max_size=8), st.sampled_from(["a.csv", "a.xlsx", "a.txt"]))
def test_any_table_is_parsed_into_rows_or_chinese_errors_never_a_crash(table, _name):
    rows, errors = roster.parse_rows([["门牌号", "网格", "姓名", "性别", "出生年份", "与户主关系", "党员", "电话"],
                                      *table])
    assert rows or errors
    assert all(isinstance(e, str) and e for e in errors)


@settings(max_examples=150, deadline=None)
@given(st.binary(max_size=600), st.sampled_from(["a.csv", "a.xlsx", "a.xls", "b"]))
def test_any_bytes_are_read_or_refused_with_a_domain_error(data, name):
    try:
        table = roster.read_table(name, data)
    except InvalidInput as e:
        assert str(e)
        return
    roster.parse_rows(table)


_codes = itertools.count(1)
person = st.tuples(st.sampled_from(["张", "王", "李", "赵"]), st.sampled_from(["一", "二", "三", "四", "五"]))


@settings(max_examples=15, deadline=None, suppress_health_check=[HealthCheck.function_scoped_fixture])
@given(st.dictionaries(st.integers(1, 30), st.lists(person, min_size=1, max_size=4, unique=True),
                       min_size=1, max_size=6))
def test_a_generated_valid_roster_imports_exactly_and_twice_is_once(sqlite_db, households):
    v = make_village(sqlite_db, code=f"F{next(_codes)}")
    lines = [HEADER.strip()]
    for door, people in households.items():
        for i, (a, b) in enumerate(people):
            lines.append(f"F-{door},第一网格,{a}{b},男,1970,{'户主' if i == 0 else '子女'},否,")
    data = ("\n".join(lines) + "\n").encode("gbk")
    before = _counts(sqlite_db)
    roster.commit(sqlite_db, v.admin, v.id, "f.csv", data)
    after = _counts(sqlite_db)
    assert after[0] - before[0] == len(households)
    assert after[1] - before[1] == sum(len(p) for p in households.values())
    roster.commit(sqlite_db, v.admin, v.id, "f.csv", data)
    assert _counts(sqlite_db) == after


def test_two_admins_importing_the_same_roster_at_once_import_it_once(db, village):
    import threading

    from core.platform.errors import AlreadyDone

    barrier = threading.Barrier(2)
    outcomes = []

    def run():
        barrier.wait()
        try:
            outcomes.append(roster.commit(db, village.admin, village.id, "a.csv", GOOD.encode()).changes)
        except AlreadyDone:
            outcomes.append("retry")

    before = _counts(db)
    threads = [threading.Thread(target=run) for _ in range(2)]
    for t in threads:
        t.start()
    for t in threads:
        t.join()
    assert 6 in outcomes and len(outcomes) == 2
    assert _counts(db) == (before[0] + 2, before[1] + 4, before[2] + 2, 1)
    assert verify(db) == []
