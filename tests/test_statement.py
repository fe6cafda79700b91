"""积分对账单 on paper: a page per household with the card page's figures and the period's
entries, for one household, a grid or the whole village, on SQLite and PostgreSQL."""

from __future__ import annotations

import datetime as dt

import pypdfium2 as pdfium
import pytest

from core.platform.errors import NotAllowed
from core.points import posting
from core.public import statement
from core.reporting import periods
from tests.factories import make_village
from tests.pdf_sizes import smallest_font_pt

TODAY = dt.date.today()
MONTH = periods.period_of("month", TODAY)


def pages_text(pdf: bytes) -> list[str]:
    doc = pdfium.PdfDocument(pdf)
    return [doc[i].get_textpage().get_text_range().replace("\r", "") for i in range(len(doc))]


def post(db, hid, points, cause, day, kind="earned", reason=""):
    with db.write() as s:
        posting.post(s, household_id=hid, kind=kind, points=points, source_type="test", source_id=cause,
                     occurred_on=day, reason=reason)


@pytest.fixture
def v(db):
    return make_village(db, name="文祖北村", households=3)


def test_a_village_prints_one_page_per_household_with_its_own_figures(db, v):
    a, b, c = v.household_ids
    post(db, a, 20, "a1", TODAY, reason="打扫村道")
    post(db, a, -5, "a2", TODAY, kind="deducted", reason="乱倒垃圾")
    post(db, a, 7, "a0", MONTH.start - dt.timedelta(days=1), reason="上月的事")
    post(db, b, 3, "b1", TODAY)
    post(db, b, -10, "b2", TODAY, kind="deducted", reason="毁坏绿化")
    seen = []
    pdf = statement.statements_pdf(db, v.admin, v.id, MONTH, progress=lambda n, total: seen.append((n, total)))
    text = pages_text(pdf)
    assert len(text) == 3 and seen == [(1, 3), (2, 3), (3, 3)]
    first, second, third = text
    assert "户主1" in first and "打扫村道" in first and "乱倒垃圾" in first
    assert "上月的事" not in first  # only the period's entries
    assert "合计 +15 分" in first and "22 分" in first  # spendable today counts last month too
    assert "户主2" in second and "待扣积分" in second and "7 分" in second and "打扫村道" not in second
    assert "本期没有积分记录" in third
    assert smallest_font_pt(pdf) >= 11  # for residents without a phone, often older


def test_a_grid_or_one_household_prints_only_those(db, v):
    pdf = statement.statements_pdf(db, v.admin, v.id, MONTH, household_ids=[v.household_ids[1]])
    (only,) = pages_text(pdf)
    assert "户主2" in only and "户主1" not in only
    assert len(pages_text(statement.statements_pdf(db, v.admin, v.id, MONTH, grid_id=v.grid_ids[0]))) == 3


def test_a_year_statement_lists_the_years_entries_in_date_order(db, v):
    a = v.household_ids[0]
    post(db, a, 5, "late", dt.date(TODAY.year, 1, 20), reason="一月的事")
    post(db, a, 5, "early", dt.date(TODAY.year, 1, 5), reason="元旦的事")
    (page, *_) = pages_text(statement.statements_pdf(db, v.admin, v.id, periods.period_of("year", TODAY)))
    assert page.index("元旦的事") < page.index("一月的事")
    assert f"{TODAY.year}年积分" in page


def test_staff_of_another_village_or_role_cannot_print_statements(db, v):
    other = make_village(db, name="别村", code="T002")
    with pytest.raises(NotAllowed):
        statement.statements_pdf(db, other.admin, v.id, MONTH)
    with pytest.raises(NotAllowed):
        statement.statements_pdf(db, v.actors["field_lead"], v.id, MONTH)


def test_the_households_page_prints_the_whole_villages_statements_with_progress(tmp_path, monkeypatch):
    from tests.app_helpers import app, db_for_env, use_data_dir, user_id

    use_data_dir(monkeypatch, tmp_path / "data", demo=False)
    db = db_for_env()
    v = make_village(db, name="文祖北村", households=3)
    post(db, v.household_ids[0], 9, "a1", TODAY, reason="打扫村道")
    admin = user_id(db, "t001_admin")
    db.dispose()
    at = app(admin)
    at.switch_page("pages/households.py").run()
    assert not at.exception
    next(b for b in at.button if b.key == "hh_stmt_build").click()
    at.run()
    assert not at.exception and not at.error
    assert [d.proto.label for d in at.get("download_button")].count("下载对账单 PDF") == 1
    assert [p.proto.text for p in at.get("progress")] == ["已生成 3 / 3 户"]


def test_the_star_grade_is_printed_with_rankings_off_and_not_when_stars_are_off(db, v):
    from core.platform import settings

    post(db, v.household_ids[0], 60, "a1", TODAY)  # 60 this year: 一星 at the default thresholds
    settings.change(db, v.admin, v.id, "rankings_enabled", False)
    first = pages_text(statement.statements_pdf(db, v.admin, v.id, MONTH, household_ids=[v.household_ids[0]]))[0]
    assert "一星文明户" in first
    settings.change(db, v.admin, v.id, "star_households_enabled", False)
    first = pages_text(statement.statements_pdf(db, v.admin, v.id, MONTH, household_ids=[v.household_ids[0]]))[0]
    assert "文明户" not in first
