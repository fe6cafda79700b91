"""Year end (SQLite and PostgreSQL): the honour list (星级文明户 with rankings off, top
volunteers), published once as history, its certificates and Excel; month closes, postings
dated in a closed month, the annual carry-over, and verify recomputing the recorded totals."""

from __future__ import annotations

import datetime as dt
import io

import pypdfium2 as pdfium
import pytest
from openpyxl import load_workbook
from sqlalchemy import func, select, text

from core.maintenance.verify import verify
from core.platform import settings
from core.platform.errors import AlreadyDone, InvalidInput, NotAllowed
from core.points import balances, closes, posting
from core.reporting import honours
from core.volunteering import service_hours
from core.volunteering import volunteer as vol
from db.history import HistoryViolation
from db.models import HonourEntry, HonourList, HouseholdMonth, LedgerEntry, PeriodClose
from tests.factories import give_points
from tests.pdf_sizes import smallest_font_pt

TODAY = dt.date.today()
LAST_YEAR = TODAY.year - 1


def _earn(db, household_id: int, points: int, cause: str, day: dt.date) -> None:
    with db.write() as s:
        posting.post(s, household_id=household_id, kind="earned", points=points, source_type="test",
                     source_id=cause, occurred_on=day, reason="打扫村道")


def _volunteer(db, village, resident_id: int, minutes: int, day: dt.date) -> None:
    lead = village.actors["volunteer_lead"]
    aid = vol.create_activity(db, lead, title=f"清扫{minutes}", date=day, points_per_hour=0)
    service_hours.set_minutes(db, lead, aid, resident_id, minutes)
    service_hours.confirm(db, lead, aid)


def _last_year_village(db, village) -> None:
    """Last year: 户主1 210 points (四星), 户主2 60 (一星), 户主3 10 (none); 户主2 volunteered
    5 h, 户主4 3 h, 户主1 1 h."""
    h1, h2, h3, _ = village.household_ids
    day = dt.date(LAST_YEAR, 6, 1)
    _earn(db, h1, 210, "h1", day)
    _earn(db, h2, 60, "h2", day)
    _earn(db, h3, 10, "h3", day)
    r1, r2, _, r4 = village.resident_ids
    _volunteer(db, village, r2, 300, day)
    _volunteer(db, village, r4, 180, day + dt.timedelta(days=1))
    _volunteer(db, village, r1, 60, day + dt.timedelta(days=2))


# ---------------------------------------------------------------- honours


def test_the_honour_list_grades_star_households_with_rankings_off(db, village):
    _last_year_village(db, village)
    settings.change(db, village.admin, village.id, "rankings_enabled", False)
    d = honours.draft(db, village.id, LAST_YEAR, top=2)
    assert [(h.head_name, h.level, h.points) for h in d.households] == [("户主1", 4, 210), ("户主2", 1, 60)]
    assert [(v.name, v.place, v.minutes) for v in d.volunteers] == [("户主2", 1, 300), ("户主4", 2, 180)]
    settings.change(db, village.admin, village.id, "star_households_enabled", False)
    d = honours.draft(db, village.id, LAST_YEAR, top=2)
    assert d.households == [] and not d.stars_on and len(d.volunteers) == 2


def test_a_list_is_published_once_and_never_changes(db, village):
    _last_year_village(db, village)
    committee = village.actors["committee"]
    with pytest.raises(InvalidInput, match="确认"):
        honours.publish(db, committee, village.id, LAST_YEAR)
    with pytest.raises(NotAllowed):
        honours.publish(db, village.actors["cashier"], village.id, LAST_YEAR, confirm=True)
    list_id = honours.publish(db, committee, village.id, LAST_YEAR, confirm=True, top=2)
    with pytest.raises(AlreadyDone, match="已经发布"):
        honours.publish(db, village.admin, village.id, LAST_YEAR, confirm=True)
    # later points do not rewrite what was published
    _earn(db, village.household_ids[2], 500, "late", dt.date(LAST_YEAR, 12, 1))
    data = honours.list_data(db, village.id, list_id)
    assert [(c.kind, c.name, c.level) for c in data.entries] == [
        ("household", "户主1", 4), ("household", "户主2", 1), ("volunteer", "户主2", 1), ("volunteer", "户主4", 2)]
    assert len({c.number for c in data.entries}) == 4
    assert all(c.number.startswith(f"RY-T001-{LAST_YEAR}-") for c in data.entries)
    [p] = honours.published(db, village.id)
    assert (p.year, p.households, p.volunteers) == (LAST_YEAR, 2, 2)
    with pytest.raises(HistoryViolation), db.write() as s:
        s.get(HonourEntry, s.execute(select(HonourEntry.id).limit(1)).scalar()).points = 999
        s.flush()
    with pytest.raises(Exception, match="history table honour_list"):
        with db.engine.begin() as conn:
            conn.execute(text("DELETE FROM honour_list"))
    with db.read() as s:
        assert s.execute(select(func.count()).select_from(HonourList)).scalar_one() == 1


def test_an_empty_year_cannot_be_published(db, village):
    with pytest.raises(InvalidInput, match="名单为空"):
        honours.publish(db, village.admin, village.id, LAST_YEAR, confirm=True)


def test_certificates_print_one_landscape_page_each_with_the_names_and_the_excel_lists_them(db, village):
    _last_year_village(db, village)
    list_id = honours.publish(db, village.admin, village.id, LAST_YEAR, confirm=True, top=2)
    seen: list[tuple[int, int]] = []
    pdf = honours.certificates_pdf(db, village.id, list_id, progress=lambda i, n: seen.append((i, n)))
    assert seen == [(1, 4), (2, 4), (3, 4), (4, 4)]
    doc = pdfium.PdfDocument(pdf)
    assert len(doc) == 4
    w, h = doc[0].get_size()
    assert w > h  # landscape
    pages = ["".join(doc[i].get_textpage().get_text_range().split()) for i in range(4)]
    assert "荣" in pages[0] and "1-001" in pages[0] and "户主1" in pages[0] and "四星级文明户" in pages[0]
    assert "测试县测试镇测试村村民委员会" in pages[0]
    assert "户主4" in pages[3] and "优秀志愿者" in pages[3] and "3.0小时" in pages[3]
    assert smallest_font_pt(pdf) >= 11
    wb = load_workbook(io.BytesIO(honours.excel(db, village.id, list_id)))
    rows = list(wb.active.iter_rows(values_only=True))
    assert rows[0][:4] == ("证书编号", "表彰类别", "等次", "姓名（户主）")
    assert [r[3] for r in rows[1:]] == ["户主1", "户主2", "户主2", "户主4"]


# ---------------------------------------------------------------- closes


def _month(day: dt.date) -> str:
    return f"{day:%Y-%m}"


def _previous_month(day: dt.date) -> dt.date:
    return day.replace(day=1) - dt.timedelta(days=1)


def test_a_month_close_records_totals_and_later_postings_dated_in_it_move_to_the_first_open_month(db, village):
    h1, h2, *_ = village.household_ids
    last = _previous_month(TODAY)
    before = _previous_month(last)
    _earn(db, h1, 30, "a", before)
    _earn(db, h2, 20, "b", last)
    with db.write() as s:
        posting.post(s, household_id=h2, kind="deducted", points=-25, source_type="test", source_id="c",
                     occurred_on=last)
    give_points(db, h1, 7, "this-month")  # today: not in the closed month's totals
    with pytest.raises(InvalidInput, match="还没有结束"):
        closes.close_month(db, village.admin, village.id, _month(TODAY), confirm=True)
    with pytest.raises(NotAllowed):
        closes.close_month(db, village.actors["committee"], village.id, _month(last), confirm=True)
    st = closes.status(db, village.id, _month(before))
    assert st.next_month == before.year * 100 + before.month
    closes.close_month(db, village.admin, village.id, _month(before), confirm=True)
    closes.close_month(db, village.admin, village.id, _month(last), confirm=True)
    with pytest.raises(AlreadyDone, match="已经结账"):
        closes.close_month(db, village.admin, village.id, _month(last), confirm=True)
    with db.read() as s:
        rows = {c.period: c for c in s.execute(select(PeriodClose)).scalars()}
    b, m = rows[before.year * 100 + before.month], rows[last.year * 100 + last.month]
    assert (b.balance_total, b.earned_total, b.outstanding_total, b.households, b.entries) == (30, 30, 0, 1, 1)
    assert (m.balance_total, m.earned_total, m.outstanding_total, m.households, m.entries) == (30, 25, 5, 2, 3)
    # a late deed dated in the closed month posts on the first day of this month, saying so
    _earn(db, h1, 4, "late", last)
    with db.read() as s:
        late = s.execute(select(LedgerEntry).where(LedgerEntry.source_id == "late")).scalar_one()
        assert late.occurred_on == TODAY.replace(day=1) and late.month == TODAY.year * 100 + TODAY.month
        assert f"原日期 {last:%Y-%m-%d}" in late.reason and "已结账" in late.reason
        assert s.get(HouseholdMonth, (h1, last.year * 100 + last.month)) is None
    # the same through a batch
    with db.write() as s:
        posting.post_many(s, [posting.Posting(household_id=h2, kind="earned", points=3, source_type="test",
                                              source_id="late-batch", occurred_on=before)])
    with db.read() as s:
        assert s.execute(select(LedgerEntry.occurred_on).where(LedgerEntry.source_id == "late-batch")
                         ).scalar_one() == TODAY.replace(day=1)
    assert verify(db) == []


def test_verify_reports_a_close_whose_totals_do_not_match_the_ledger(db, village):
    last = _previous_month(TODAY)
    _earn(db, village.household_ids[0], 30, "a", last)
    closes.close_month(db, village.admin, village.id, _month(last), confirm=True)
    assert verify(db) == []
    # tampering: an entry slipped into the closed month behind the ledger's back (triggers only
    # guard updates and deletes, so a raw insert is what someone could still do)
    with db.engine.begin() as conn:
        conn.execute(text(
            "INSERT INTO ledger_entry (village_id, household_id, kind, delta_balance, delta_earned, "
            "delta_outstanding, source_type, source_id, occurred_on, month, reason, created_at) VALUES "
            "(:v, :h, 'earned', 5, 5, 0, 'test', 'sneak', :d, :m, '', :t)"),
            {"v": village.id, "h": village.household_ids[1], "d": last, "m": last.year * 100 + last.month,
             "t": dt.datetime.now()})
    problems = verify(db)
    assert any(f"{last.year}年{last.month}月" in p and "结账时记录 可用 30" in p and "重算为 可用 35" in p
               for p in problems), problems


def test_the_year_end_needs_december_closed_and_records_the_carry_over(db, village):
    h1, h2, *_ = village.household_ids
    _earn(db, h1, 40, "a", dt.date(LAST_YEAR, 3, 1))
    _earn(db, h2, 15, "b", dt.date(LAST_YEAR, 12, 20))
    with pytest.raises(InvalidInput, match="先把"):
        closes.close_year(db, village.admin, village.id, LAST_YEAR, str(LAST_YEAR))
    first = dt.date(LAST_YEAR, 1, 1)
    closes.close_month(db, village.admin, village.id, _month(first), confirm=True)
    with pytest.raises(InvalidInput, match="按月份顺序"):
        closes.close_month(db, village.admin, village.id, f"{LAST_YEAR}-03", confirm=True)
    for m in range(2, 13):
        closes.close_month(db, village.admin, village.id, f"{LAST_YEAR}-{m:02d}", confirm=True)
    with pytest.raises(InvalidInput, match="输入年份"):
        closes.close_year(db, village.admin, village.id, LAST_YEAR, "")
    result = closes.close_year(db, village.admin, village.id, LAST_YEAR, str(LAST_YEAR))
    assert result.policy == "carry_over" and result.totals.balance == 55 and result.cleared == 0
    with pytest.raises(AlreadyDone):
        closes.close_year(db, village.admin, village.id, LAST_YEAR, str(LAST_YEAR))
    newest = closes.closes(db, village.id)[0]
    assert (newest.kind, newest.period_label, newest.balance_total, newest.policy) == ("year", f"{LAST_YEAR}年", 55,
                                                                                       "carry_over")
    assert verify(db) == []


def test_the_year_end_with_clearing_records_the_points_cleared(db, village):
    h1 = village.household_ids[0]
    _earn(db, h1, 40, "a", dt.date(LAST_YEAR, 12, 3))
    closes.close_month(db, village.admin, village.id, f"{LAST_YEAR}-12", confirm=True)
    settings.change(db, village.admin, village.id, "year_end_policy", "clear")
    result = closes.close_year(db, village.admin, village.id, LAST_YEAR, str(LAST_YEAR))
    assert (result.policy, result.cleared, result.households_cleared, result.totals.balance) == ("clear", 40, 1, 40)
    with db.read() as s:
        assert balances.balance(s, h1).balance == 0
    assert verify(db) == []
