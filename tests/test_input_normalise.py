"""What people type through a Chinese input method reaches the same household: full-width digits
and dashes in a door number, a birth year or a phone are normalised (NFKC) before matching; a
cell too long or a roster on another sheet is explained in Chinese naming row and column; new
card numbers carry a check digit that catches every swap of two neighbouring digits, and cards
printed with the old check digit keep working."""

from __future__ import annotations

import io
import secrets

import pytest
from openpyxl import Workbook
from sqlalchemy import func, select

from core.platform.errors import InvalidInput, NotFound
from core.public import resident
from core.village import cards, roster
from db.models import Card, Household, Resident

HEADER = "门牌号,网格,姓名,性别,出生年份,与户主关系,党员,电话\n"


def _households(db, village_id):
    with db.read() as s:
        return list(s.execute(select(Household.door_no).where(Household.village_id == village_id)
                              .order_by(Household.door_no)).scalars())


def test_full_width_digits_and_dashes_in_a_door_number_find_the_same_household(db, village):
    roster.commit(db, village.admin, village.id, "a.csv", (HEADER + "1-0001,第一网格,王大山,男,1958,户主,是,\n").encode())
    before = _households(db, village.id)
    for door in ("１－０００１", "1—0001", "1－0001", " 1 - 0001 ".strip(), "1‐0001"):
        typed = (HEADER + f"{door},第一网格,王大山,男,1958,户主,是,\n").encode()
        plan = roster.preview(db, village.admin, village.id, "b.csv", typed)
        assert plan.ok, plan.errors
        assert (plan.new_households, plan.new_residents) == (0, 0), door
        roster.commit(db, village.admin, village.id, "b.csv", typed)
    assert _households(db, village.id) == before


def test_a_full_width_birth_year_and_phone_are_stored_as_plain_digits(db, village):
    typed = HEADER + "9-001,第一网格,赵桂芳,女,１９４５,户主,否,１３９１２３４５６７８\n"
    roster.commit(db, village.admin, village.id, "c.csv", typed.encode())
    with db.read() as s:
        r = s.execute(select(Resident).where(Resident.name == "赵桂芳")).scalar_one()
        hh = s.get(Household, r.household_id)
    assert (r.birth_year, r.phone, hh.phone) == (1945, "13912345678", "13912345678")


def test_digits_of_other_scripts_are_refused_naming_row_and_column(db, village):
    typed = HEADER + "9-001,第一网格,赵桂芳,女,١٩٤٥,户主,否,\n"  # Arabic-Indic digits
    plan = roster.preview(db, village.admin, village.id, "d.csv", typed.encode())
    assert plan.errors == [f"第 2 行“出生年份”列：应为 1900 到 {__import__('datetime').date.today().year} 之间的四位年份，"
                           "不能是“١٩٤٥”。"]


def test_a_one_megabyte_cell_is_refused_in_chinese_naming_its_row_and_column(db, village):
    typed = HEADER + "9-001,第一网格,赵桂芳,女,1945,户主,否,\n" + "9-002,第一网格," + "王" * 1_000_000 + ",男,1950,户主,否,\n"
    plan = roster.preview(db, village.admin, village.id, "e.csv", typed.encode())
    assert not plan.ok
    assert any(e.startswith("第 3 行“姓名”列：") for e in plan.errors), plan.errors
    assert all(len(e) < 300 for e in plan.errors)
    assert not any(ch.isascii() and ch.isalpha() for e in plan.errors for ch in e)  # no English


def _xlsx(sheets: dict[str, list[list[object]]]) -> bytes:
    wb = Workbook()
    wb.remove(wb.active)
    for name, rows in sheets.items():
        ws = wb.create_sheet(name)
        for row in rows:
            ws.append(row)
    buf = io.BytesIO()
    wb.save(buf)
    return buf.getvalue()


def test_a_roster_on_the_second_sheet_is_found(db, village):
    data = _xlsx({"说明": [["请在第二张表填写"]],
                  "花名册": [roster.COLUMNS, ["9-001", "第一网格", "赵桂芳", "女", 1945, "户主", "否", ""]]})
    plan = roster.preview(db, village.admin, village.id, "f.xlsx", data)
    assert plan.ok, plan.errors
    assert plan.new_households == 1


def test_a_workbook_without_a_header_names_the_sheets_it_looked_at(db, village):
    data = _xlsx({"说明": [["请在第二张表填写"]], "空表": [["张三", "李四"]]})
    plan = roster.preview(db, village.admin, village.id, "g.xlsx", data)
    assert len(plan.errors) == 1
    assert "找不到表头" in plan.errors[0] and "说明" in plan.errors[0] and "空表" in plan.errors[0]


# ---------------------------------------------------------------- card numbers


def _transpositions(token: str):
    for i in range(len(token) - 1):
        if token[i] != token[i + 1]:
            yield token[:i] + token[i + 1] + token[i] + token[i + 2:]


def test_every_swap_of_two_neighbouring_digits_of_a_new_card_is_caught(db, village):
    token = cards.issue_card(db, village.admin, village.household_ids[0])
    while "09" not in token and "90" not in token:  # make sure the swap the old digit missed is among them
        token = cards.reissue_card(db, village.admin, village.household_ids[0], "换一张含 0、9 相邻的卡")
    swaps = list(_transpositions(token))
    with db.read() as s:
        assert cards.resolve(s, village.id, token)[1].id == village.household_ids[0]
        for typo in swaps:
            with pytest.raises(InvalidInput, match="不是有效的积分卡号"):
                cards.resolve(s, village.id, typo)
    for typo in swaps:
        with pytest.raises(InvalidInput):  # the resident page says "卡号有误", not "no such card"
            resident.view(db, typo, client=f"swap-{typo}")


def test_a_zero_nine_swap_is_caught_on_many_new_cards():
    checked = 0
    for _ in range(3000):
        token = cards.new_token()
        for typo in _transpositions(token):
            if {token[i] for i in range(26) if token[i] != typo[i]} == {"0", "9"}:
                # not a valid new card number (at most a candidate for an old card, looked up as such)
                assert not cards.is_new_format(typo)
                checked += 1
    assert checked > 100


def test_every_neighbour_swap_of_every_digit_pair_changes_the_new_check_digit():
    for _ in range(200):
        body = "".join(secrets.choice("0123456789") for _ in range(cards.RANDOM_DIGITS))
        token = body + cards.check_digit(body)
        for typo in _transpositions(token):
            assert typo[:-1] + cards.check_digit(typo[:-1]) != typo


def test_a_card_printed_with_the_old_luhn_check_digit_keeps_working(db, village):
    while True:  # an old card whose number is not by chance valid under the new scheme
        body = "".join(secrets.choice("0123456789") for _ in range(cards.RANDOM_DIGITS))
        old = body + cards.luhn_digit(body)
        if not cards.is_new_format(old):
            break
    hid = village.household_ids[1]
    with db.write() as s:
        s.add(Card(village_id=village.id, household_id=hid, token=old, issued_by=village.admin.user_id))
    with db.read() as s:
        assert cards.resolve(s, village.id, old)[1].id == hid
        assert cards.resolve(s, village.id, f"http://x/me?card={old}")[1].id == hid
    assert resident.view(db, old, client="old-card").household_id == hid
    wrong = next(w for d in "0123456789" if not cards.is_well_formed(w := old[:-1] + d))
    with db.read() as s, pytest.raises(InvalidInput):
        cards.resolve(s, village.id, wrong)


def test_a_card_number_typed_with_full_width_digits_spaces_and_dashes_is_read(db, village):
    token = cards.issue_card(db, village.admin, village.household_ids[2])
    wide = "　".join(token[i:i + 4] for i in range(0, 26, 4)).translate(
        str.maketrans("0123456789", "０１２３４５６７８９"))
    assert cards.extract_token(wide) == token
    assert cards.extract_token("－".join(token[i:i + 4] for i in range(0, 26, 4))) == token
    other_script = token.translate(str.maketrans("0123456789", "٠١٢٣٤٥٦٧٨٩"))
    assert cards.extract_token(other_script) is None
    with db.read() as s:
        assert cards.resolve(s, village.id, wide)[1].id == village.household_ids[2]
        with pytest.raises(NotFound):
            cards.resolve(s, village.id, cards.new_token())
    with db.read() as s:
        assert s.execute(select(func.count()).select_from(Card)).scalar_one() == 1
