"""The village fund (村集体资金): an append-only numbered chain of money in and out (issue 22),
on SQLite and PostgreSQL."""

from __future__ import annotations

import datetime as dt
import threading
import uuid

import pytest
from sqlalchemy import delete, select, text, update

from core.charity import field, produce
from core.maintenance.verify import verify
from core.platform import settings
from core.platform.errors import AlreadyDone, InvalidInput, NotAllowed
from core.supermarket import fund
from db.history import install
from db.models import HISTORY, AuditLog, FundEntry

TODAY = dt.date.today()


def _key() -> str:
    return uuid.uuid4().hex


def _donate(db, v, yuan="1000", donor="爱心企业", key=None):
    return fund.record_entry(db, v.admin, v.id, kind="donation", date=TODAY, amount_yuan=yuan, counterparty=donor,
                             entry_key=key or _key())


def test_entries_form_a_numbered_chain_with_balances_in_fen(db, village):
    fund.record_entry(db, village.admin, village.id, kind="opening", date=TODAY, amount_yuan="5,000", source="账本结余",
                      entry_key=_key())
    _donate(db, village, "1200.50", "章丘区爱心企业联合会")
    fund.record_entry(db, village.actors["cashier"], village.id, kind="purchase", date=TODAY, amount_yuan="800.25",
                      counterparty="镇供销社", items="食用油 20 桶、洗衣粉 30 袋", entry_key=_key())
    fund.record_entry(db, village.admin, village.id, kind="other_spending", date=TODAY, amount_yuan="100",
                      purpose="购买公示栏展板", entry_key=_key())
    rows = fund.entries(db, village.id)
    assert [(r.seq, r.kind_name, r.amount_fen, r.balance_after) for r in reversed(rows)] == [
        (1, "期初余额", 500_000, 500_000), (2, "现金捐赠", 120_050, 620_050), (3, "超市采购", -80_025, 540_025),
        (4, "其他支出", -10_000, 530_025)]
    assert fund.balance(db, village.id) == 530_025
    assert rows[1].counterparty == "镇供销社" and "食用油" in rows[1].items
    with db.read() as s:
        actions = s.execute(select(AuditLog.action).where(AuditLog.action.like("fund.%"))).scalars().all()
    assert actions == ["fund.record"] * 4
    assert verify(db) == []


def test_the_opening_balance_is_only_the_first_entry_and_donations_name_the_donor(db, village):
    _donate(db, village)
    with pytest.raises(InvalidInput, match="期初余额只能作为第一笔"):
        fund.record_entry(db, village.admin, village.id, kind="opening", date=TODAY, amount_yuan="1", entry_key=_key())
    with pytest.raises(InvalidInput, match="捐赠人"):
        _donate(db, village, donor="")
    with pytest.raises(InvalidInput, match="采购物品"):
        fund.record_entry(db, village.admin, village.id, kind="purchase", date=TODAY, amount_yuan="5",
                          counterparty="供销社", entry_key=_key())
    for bad in ("0", "-5", "1.234", "abc", "20000000"):
        with pytest.raises(InvalidInput):
            _donate(db, village, bad)
    with pytest.raises(InvalidInput, match="不能晚于今天"):
        fund.record_entry(db, village.admin, village.id, kind="donation", date=TODAY + dt.timedelta(days=1),
                          amount_yuan="5", counterparty="某人", entry_key=_key())
    assert len(fund.entries(db, village.id)) == 1


def test_spending_never_takes_the_balance_below_zero_unless_the_village_allows(db, village):
    _donate(db, village, "100")
    with pytest.raises(InvalidInput, match="余额不足"):
        fund.record_entry(db, village.admin, village.id, kind="other_spending", date=TODAY, amount_yuan="100.01",
                          purpose="修路", entry_key=_key())
    assert fund.balance(db, village.id) == 10_000
    settings.change(db, village.admin, village.id, "fund_allow_negative", True)
    fund.record_entry(db, village.admin, village.id, kind="other_spending", date=TODAY, amount_yuan="100.01",
                      purpose="修路", entry_key=_key())
    assert fund.balance(db, village.id) == -1
    assert verify(db) == []


def test_a_double_submit_posts_once(db, village):
    key = _key()
    first = _donate(db, village, "50", key=key)
    assert _donate(db, village, "50", key=key) == first
    assert fund.balance(db, village.id) == 5_000 and len(fund.entries(db, village.id)) == 1


def test_two_submits_at_once_with_the_same_key_post_once(db, village):
    key, out, errors = _key(), [], []

    def go():
        try:
            out.append(_donate(db, village, "50", key=key))
        except Exception as e:
            errors.append(e)

    threads = [threading.Thread(target=go) for _ in range(4)]
    for t in threads:
        t.start()
    for t in threads:
        t.join()
    assert errors == [] and len(set(out)) == 1
    assert fund.balance(db, village.id) == 5_000 and verify(db) == []


def test_concurrent_entries_keep_the_chain_unbroken(db, village):
    errors = []

    def go():
        try:
            for _ in range(3):
                _donate(db, village, "1")
        except Exception as e:
            errors.append(e)

    threads = [threading.Thread(target=go) for _ in range(3)]
    for t in threads:
        t.start()
    for t in threads:
        t.join()
    assert errors == []
    assert sorted(r.seq for r in fund.entries(db, village.id)) == list(range(1, 10))
    assert fund.balance(db, village.id) == 900 and verify(db) == []


def test_a_reversal_corrects_an_entry_once_and_is_not_reversed_itself(db, village):
    _donate(db, village, "300")
    spent = fund.record_entry(db, village.admin, village.id, kind="other_spending", date=TODAY, amount_yuan="120",
                              purpose="买扫帚", entry_key=_key())
    rid = fund.reverse_entry(db, village.admin, spent, "金额记错")
    assert fund.balance(db, village.id) == 30_000
    with pytest.raises(AlreadyDone, match="已经冲正过"):
        fund.reverse_entry(db, village.admin, spent, "再冲一次")
    with pytest.raises(InvalidInput, match="冲正记录不能再冲正"):
        fund.reverse_entry(db, village.admin, rid, "冲正冲正")
    with pytest.raises(InvalidInput, match="冲正原因"):
        fund.reverse_entry(db, village.admin, spent, " ")
    rows = {r.id: r for r in fund.entries(db, village.id)}
    assert rows[rid].reverses_seq == 2 and rows[spent].reversed_by_seq == 3 and not rows[spent].reversible
    assert rows[rid].amount_fen == 12_000 and "金额记错" in rows[rid].purpose
    with db.read() as s:
        assert s.execute(select(AuditLog.reason).where(AuditLog.action == "fund.reverse")).scalar() == "金额记错"
    assert verify(db) == []


def test_reversing_income_that_was_spent_would_overdraw_and_is_refused(db, village):
    gift = _donate(db, village, "100")
    fund.record_entry(db, village.admin, village.id, kind="other_spending", date=TODAY, amount_yuan="60",
                      purpose="买灯泡", entry_key=_key())
    with pytest.raises(InvalidInput, match="余额不足"):
        fund.reverse_entry(db, village.admin, gift, "捐赠未到账")
    assert fund.balance(db, village.id) == 4_000


def test_roles_and_villages(db, village):
    from tests.factories import make_village

    other = make_village(db, name="邻村", code="T002")
    with pytest.raises(NotAllowed):
        fund.record_entry(db, village.admin, other.id, kind="donation", date=TODAY, amount_yuan="1",
                          counterparty="某人", entry_key=_key())  # this village's admin, the other village's fund
    with pytest.raises(NotAllowed):
        fund.record_entry(db, village.actors["cashier"], village.id, kind="donation", date=TODAY, amount_yuan="1",
                          counterparty="某人", entry_key=_key())
    gift = _donate(db, village, "10")
    with pytest.raises(NotAllowed):
        fund.reverse_entry(db, village.actors["cashier"], gift, "错")
    with pytest.raises(NotAllowed):
        fund.reverse_entry(db, other.admin, gift, "错")


def _tamper(db, sql: str, params: dict):
    """Run ``sql`` with the history guard of fund_entry off, as someone with database access could."""
    with db.engine.begin() as conn:
        if db.is_sqlite:
            conn.exec_driver_sql("DROP TRIGGER fund_entry_no_update")
            conn.exec_driver_sql("DROP TRIGGER fund_entry_no_delete")
        else:
            conn.exec_driver_sql("DROP TRIGGER fund_entry_history_guard ON fund_entry")
        conn.execute(text(sql), params)
        install(conn, {"fund_entry": HISTORY["fund_entry"]})


@pytest.mark.parametrize("change", ["amount", "note", "gap"])
def test_verify_finds_an_edited_or_missing_entry(db, village, change):
    ids = [_donate(db, village, y) for y in ("10", "20", "30")]
    assert verify(db) == []
    if change == "amount":  # the amount and its balance changed together: the digest still tells
        _tamper(db, "UPDATE fund_entry SET amount_fen = 2500, balance_after = 3500 WHERE id = :i", {"i": ids[1]})
    elif change == "note":
        _tamper(db, "UPDATE fund_entry SET counterparty = '别人' WHERE id = :i", {"i": ids[0]})
    else:
        _tamper(db, "DELETE FROM fund_entry WHERE id = :i", {"i": ids[1]})
    problems = verify(db)
    assert problems and all("村集体资金" in p for p in problems), problems
    if change == "gap":
        assert any("编号不连续" in p for p in problems)
    else:
        assert any("校验码不符" in p for p in problems)


def test_fund_entries_cannot_be_changed_or_deleted(db, village):
    from db.history import HistoryViolation

    gift = _donate(db, village, "10")
    with pytest.raises(HistoryViolation), db.write() as s:
        s.get(FundEntry, gift).amount_fen = 1
    with pytest.raises(HistoryViolation), db.write() as s:
        s.execute(update(FundEntry).where(FundEntry.id == gift).values(note="x"))
    with pytest.raises(Exception), db.engine.begin() as conn:
        conn.execute(text("DELETE FROM fund_entry WHERE id = :i"), {"i": gift})
    with pytest.raises(HistoryViolation), db.write() as s:
        s.execute(delete(FundEntry).where(FundEntry.id == gift))
    assert fund.balance(db, village.id) == 1_000 and verify(db) == []


def test_a_sale_of_field_produce_joins_the_chain(db, village):
    _donate(db, village, "10")
    lead = village.actors["field_lead"]
    plot = field.save_plot(db, lead, name="东坡地", area_mu="2")
    season = field.add_season(db, lead, plot, crop="小麦", sown_on=TODAY)
    produce.record_harvest(db, lead, season_id=season, date=TODAY, kg="50")
    produce.sell_surplus(db, lead, crop="小麦", kg="10", amount_yuan="35.5", date=TODAY, buyer="镇粮站")
    rows = fund.entries(db, village.id)
    assert (rows[0].seq, rows[0].kind_name, rows[0].balance_after, rows[0].counterparty) == (2, "义田出售", 4_550, "镇粮站")
    assert [e.yuan for e in produce.fund_entries(db, village.id)] == [35.5]  # the field report lists its own sales
    assert verify(db) == []


def test_the_month_summary_has_opening_income_spending_by_kind_and_closing(db, village):
    last_month = (TODAY.replace(day=1) - dt.timedelta(days=1)).replace(day=5)
    fund.record_entry(db, village.admin, village.id, kind="opening", date=last_month, amount_yuan="1000",
                      entry_key=_key())
    _donate(db, village, "200")
    buy = fund.record_entry(db, village.admin, village.id, kind="purchase", date=TODAY, amount_yuan="150",
                            counterparty="供销社", items="毛巾 30 条", entry_key=_key())
    fund.record_entry(db, village.admin, village.id, kind="purchase", date=TODAY, amount_yuan="50",
                      counterparty="供销社", items="香皂 20 块", entry_key=_key())
    fund.reverse_entry(db, village.admin, buy, "退货")
    start = TODAY.replace(day=1)
    end = (start + dt.timedelta(days=32)).replace(day=1)
    m = fund.month_summary(db, village.id, start, end)
    assert m.opening == 100_000 and m.income == {"现金捐赠": 20_000} and m.spending == {"超市采购": 5_000}
    assert m.closing == 115_000 == fund.balance(db, village.id)
    lines = {ln.item: ln.amount_fen for ln in fund.summary_lines(m)}
    assert lines["月初余额"] == 100_000 and lines["支出：超市采购"] == 5_000 and lines["月末余额"] == 115_000
    assert len(m.entries) == 4 and m.entries[-1].kind == "reversal"
    assert [e.source_or_purpose for e in m.entries[-2:]] == ["", "冲正第 3 号：退货"]


def test_filters_by_kind_date_and_word(db, village):
    _donate(db, village, "10", donor="王大爷")
    fund.record_entry(db, village.admin, village.id, kind="other_income", date=TODAY - dt.timedelta(days=40),
                      amount_yuan="5", source="上级补助", entry_key=_key())
    assert [r.kind for r in fund.entries(db, village.id, kinds=["donation"])] == ["donation"]
    assert [r.source for r in fund.entries(db, village.id, date_to=TODAY - dt.timedelta(days=1))] == ["上级补助"]
    assert [r.counterparty for r in fund.entries(db, village.id, text="王大")] == ["王大爷"]
    assert fund.entries(db, village.id, text="100%") == []
    rows = fund.entries(db, village.id)
    assert [r.amount_fen for r in rows] == [500, 1000] and [r.balance_after for r in rows] == [1500, 1000]


@pytest.mark.parametrize("kind", ["sqlite", "postgresql"])
def test_sales_recorded_before_the_chain_are_numbered_by_the_upgrade(kind, tmp_path):
    from sqlalchemy import MetaData, insert

    from core.platform.access import SYSTEM
    from tests.dbs import empty_database
    from tests.test_migrations import upgrade_to

    with empty_database(kind, tmp_path) as database:
        upgrade_to(database, "0010")
        meta = MetaData()
        meta.reflect(database.engine)
        t = meta.tables
        now = dt.datetime.now().replace(microsecond=0)
        with database.engine.begin() as conn:
            vid = conn.execute(insert(t["village"]).values(name="老村", township="镇", county="县", code="OLD1",
                                                           is_demo=False, created_at=now)
                               .returning(t["village"].c.id)).scalar_one()
            for fen, src in ((12_050, "义田出售"), (3_000, "义田出售")):
                conn.execute(insert(t["fund_entry"]).values(village_id=vid, date=TODAY, amount_fen=fen, source=src,
                                                            note="小麦", created_at=now))
        upgrade_to(database, "head")
        assert verify(database) == []
        rows = fund.entries(database, vid)
        assert [(r.seq, r.kind, r.balance_after) for r in rows] == [(2, "field_sale", 15_050), (1, "field_sale", 12_050)]
        fund.record_entry(database, SYSTEM, vid, kind="other_spending", date=TODAY, amount_yuan="50", purpose="运费",
                          entry_key=_key())
        assert fund.balance(database, vid) == 10_050 and verify(database) == []
        with pytest.raises(Exception), database.engine.begin() as conn:  # the guard is back after the upgrade
            conn.execute(text("UPDATE fund_entry SET note = 'x'"))


def test_the_monthly_transparency_pdf_and_excel_carry_the_money(db, village):
    import io

    import pandas as pd
    import pypdfium2 as pdfium

    from core.supermarket import transparency
    from tests.pdf_sizes import smallest_font_pt

    _donate(db, village, "2000", donor="章丘区爱心企业联合会")
    fund.record_entry(db, village.actors["cashier"], village.id, kind="purchase", date=TODAY, amount_yuan="860.40",
                      counterparty="镇供销社", items="食用油 20 桶", entry_key=_key())
    r = transparency.monthly_report(db, village.id, TODAY.year * 100 + TODAY.month)
    data = transparency.report_pdf(r)
    doc = pdfium.PdfDocument(data)
    try:
        pdf = "".join(page.get_textpage().get_text_range() for page in doc)
    finally:
        doc.close()
    pdf = "".join(pdf.split())
    for line in ("五、资金收支", "月初余额", "收入：现金捐赠", "2,000.00", "支出：超市采购", "860.40", "月末余额",
                 "1,139.60", "章丘区爱心企业联合会", "镇供销社", "食用油20桶"):
        assert line in pdf, line
    assert smallest_font_pt(data) >= 11
    from core.platform import exports

    book = pd.read_excel(io.BytesIO(exports.excel_bytes(r.sheets())), sheet_name=None)
    assert book["资金收支"]["金额（元）"].tolist()[-1] == "1,139.60"
    assert book["资金明细"]["对方"].tolist() == ["章丘区爱心企业联合会", "镇供销社"]


def test_the_public_board_shows_the_fund_balance_and_the_months_money(db, village):
    from core.public import board

    with db.read() as s:
        assert board.content(s, village.id, TODAY).fund is None  # no fund kept: nothing to show
    _donate(db, village, "500")
    fund.record_entry(db, village.admin, village.id, kind="other_spending", date=TODAY, amount_yuan="120",
                      purpose="修路灯", entry_key=_key())
    with db.read() as s:
        c = board.content(s, village.id, TODAY)
    assert c.fund == {"余额": 38_000, "本月收入": 50_000, "本月支出": 12_000}
    from pages.board import slides

    money = [lines for title, _, lines in slides(c) if title == "村集体资金"]
    assert money == [["当前余额　**380.00 元**", "本月收入　**500.00 元**", "本月支出　**120.00 元**"]]
