"""村集体资金 page (AppTest): an admin records a donation through the confirmation dialog, reverses it
through its own dialog, and filters the list; a cashier records purchases only and cannot reverse;
the 五公开 page shows the month's money."""

from __future__ import annotations

import datetime as dt

import pytest

from core.platform.access import SYSTEM
from core.platform.auth import actor_for
from core.supermarket import fund
from core.village import staff
from core.village.setup import create_village
from db.models import StaffUser
from tests.app_helpers import app, db_for_env, texts, use_data_dir, user_id
from ui import state


@pytest.fixture
def village_db(tmp_path, monkeypatch):
    use_data_dir(monkeypatch, tmp_path / "data", demo=False)
    db = db_for_env()
    create_village(db, SYSTEM, name="新村", township="新镇", county="新县", grids=["一组"],
                   admin_username="boss", admin_name="村主任", admin_password="boss-pass-1", first_run=True)
    with db.read() as s:
        boss = actor_for(s.get(StaffUser, user_id(db, "boss")))
    staff.create_user(db, boss, username="cash", display_name="收银员", password="cash-pass-12", roles=["cashier"], must_change_password=False,
                      village_id=boss.village_id)
    yield db, boss.village_id
    db.dispose()


def _open(db, who: str):
    at = app(user_id(db, who))
    at.switch_page("pages/fund.py").run()
    assert not at.exception, at.exception
    return at


def _submit(at):
    next(b for b in at.button if b.label == "登记…").click().run()
    assert not at.exception, at.exception
    return at


def test_an_admin_records_a_donation_after_confirming_and_reverses_it(village_db):
    db, vid = village_db
    at = _open(db, "boss")
    at.selectbox(key="fund_kind").set_value("donation").run()
    at.text_input(key="fund_amount").input("1200.50")
    at.text_input(key="fund_counterparty").input("章丘区爱心企业联合会")
    _submit(at)
    assert fund.balance(db, vid) == 0  # nothing yet: the dialog asks first
    assert "fund_record_do" in [b.key for b in at.button], texts(at)
    assert "章丘区爱心企业联合会" in texts(at) and "不能修改或删除" in texts(at)
    at.button(key="fund_record_do").click().run()
    assert not at.exception, at.exception
    assert fund.balance(db, vid) == 120_050
    assert "1,200.50" in texts(at) and state.CONFIRM_OPEN not in at.session_state
    table = at.dataframe[0].value
    assert table["counterparty"].tolist() == ["章丘区爱心企业联合会"] and table["income"].tolist() == [1200.5]
    assert table.loc[0, "kind"] == "现金捐赠" and table.loc[0, "balance"] == 1200.5 and table.loc[0, "reversal"] == ""

    entry = fund.entries(db, vid)[0]
    at.selectbox(key="fund_reverse_pick").set_value(entry.id).run()
    at.button(key="fund_reverse_open").click().run()
    at.text_input(key="fund_reverse_reason").input("捐赠款未到账")
    at.button(key="fund_reverse_do").click().run()
    assert not at.exception, at.exception
    assert fund.balance(db, vid) == 0
    rows = fund.entries(db, vid)
    assert rows[0].kind == "reversal" and rows[0].reverses_seq == 1 and not rows[1].reversible
    assert at.selectbox(key="fund_reverse_pick").options == []  # nothing left to reverse

    table = at.dataframe[0].value
    assert table["reversal"].tolist() == ["冲正第 1 号", "已被第 2 号冲正"]
    assert table.loc[0, "spending"] == 1200.5 and table.loc[0, "source_or_purpose"] == "冲正第 1 号：捐赠款未到账"
    at.multiselect(key="fund_kinds").set_value(["reversal"]).run()
    assert at.dataframe[0].value["kind"].tolist() == ["冲正"]


def test_a_wrong_amount_is_refused_in_chinese_and_nothing_is_recorded(village_db):
    db, vid = village_db
    at = _open(db, "boss")
    at.selectbox(key="fund_kind").set_value("other_spending").run()
    at.text_input(key="fund_amount").input("50")
    at.text_input(key="fund_purpose").input("买扫帚")
    _submit(at)
    at.button(key="fund_record_do").click().run()
    assert any("余额不足" in e.value for e in at.error), texts(at)
    assert fund.entries(db, vid) == []


def test_a_cashier_records_purchases_only_and_cannot_reverse(village_db):
    db, vid = village_db
    with db.read() as s:
        boss = actor_for(s.get(StaffUser, user_id(db, "boss")))
    fund.record_entry(db, boss, vid, kind="opening", date=dt.date.today(), amount_yuan="500",
                      entry_key="opening-1")
    at = _open(db, "cash")
    assert "fund_kind" in [w.key for w in at.selectbox], texts(at)
    assert at.selectbox(key="fund_kind").options == ["超市采购"]
    at.text_input(key="fund_amount").input("120")
    at.text_input(key="fund_counterparty").input("镇供销社")
    at.text_area(key="fund_items").input("食用油 10 桶")
    _submit(at)
    at.button(key="fund_record_do").click().run()
    assert not at.exception, at.exception
    assert fund.balance(db, vid) == 38_000
    assert "fund_reverse_open" not in [b.key for b in at.button]


def test_the_transparency_page_shows_the_months_money(village_db):
    db, vid = village_db
    with db.read() as s:
        boss = actor_for(s.get(StaffUser, user_id(db, "boss")))
    fund.record_entry(db, boss, vid, kind="donation", date=dt.date.today(), amount_yuan="300", counterparty="王大爷",
                      entry_key="d-1")
    at = app(user_id(db, "boss"))
    at.switch_page("pages/transparency.py").run()
    assert not at.exception, at.exception
    shown = texts(at)
    assert "五、资金收支" in shown and "300.00" in shown
    money, entries = (df.value for df in at.dataframe[-2:])
    assert dict(zip(money["item"], money["amount_fen"], strict=True))["收入：现金捐赠"] == "300.00"
    assert entries.loc[0, "kind"] == "现金捐赠" and entries.loc[0, "amount_fen"] == "+300.00"
    assert entries.loc[0, "counterparty"] == "王大爷"
