"""A field lead runs a distribution in the app (AppTest): draft → adjust → confirm once →
sign for by card and by proxy, a second scan of the same card refused."""

from __future__ import annotations

import datetime as dt

import pytest
from sqlalchemy import select

from core.charity import distribution, field, field_aid, produce
from core.village import cards
from db.models import Allocation, ProduceStock
from tests.app_helpers import app, db_for_env, texts, use_data_dir
from tests.factories import make_village
from ui import state

TODAY = dt.date.today()


@pytest.fixture
def field_app(tmp_path, monkeypatch):
    use_data_dir(monkeypatch, tmp_path / "data", demo=False)
    db = db_for_env()
    v = make_village(db, name="文祖北村", code="T200", households=3)
    lead = v.actors["field_lead"]
    pid = field.save_plot(db, lead, name="老义田", area_mu="3")
    sid = field.add_season(db, lead, pid, crop="土豆", sown_on=TODAY - dt.timedelta(days=100))
    produce.record_harvest(db, lead, season_id=sid, date=TODAY, kg="100")
    for hid in v.household_ids:
        field_aid.register(db, lead, household_id=hid, category="elderly", approve=True)
    token = cards.issue_card(db, v.admin, v.household_ids[0])
    yield db, v, token
    db.dispose()


def _stock(db):
    with db.read() as s:
        return s.execute(select(ProduceStock.grams)).scalar()


def _button(at, label):
    return next(b for b in at.button if b.label == label)


def test_a_field_lead_drafts_confirms_and_hands_out_a_round(field_app):
    db, v, token = field_app
    at = app(v.actors["field_lead"].user_id)
    at.switch_page("pages/distribution.py").run()
    assert not at.exception
    at.number_input[0].set_value(10.0)  # total kg
    next(b for b in at.button if b.label == "生成分配草稿").click().run()
    assert not at.exception
    assert "合计 10.0 公斤，与总量一致" in texts(at)
    _button(at, "确认分配…").click().run()
    _button(at, "确认出库并分配").click().run()
    assert not at.exception
    assert _stock(db) == 90_000
    with db.read() as s:
        assert sorted(s.execute(select(Allocation.grams)).scalars()) == [3_300, 3_300, 3_400]
    # sign for by card; the same card again is refused
    at.text_input(key="dist_scan_input").input(token)
    _button(at, "确定").click().run()
    assert "已签领" in texts(at)
    at.text_input(key="dist_scan_input").input(token)
    _button(at, "确定").click().run()
    assert "不能重复发放" in texts(at)
    assert _stock(db) == 90_000


def test_a_draft_can_be_discarded_without_touching_the_stock(field_app):
    db, v, _ = field_app
    rid = distribution.create_round(db, v.actors["field_lead"], title="测试轮", crop="土豆", total_kg="10",
                                 rule="household")
    at = app(v.actors["field_lead"].user_id)
    at.switch_page("pages/distribution.py").run()
    assert "合计 10.0 公斤，与总量一致" in texts(at)
    draft = at.dataframe[0].value  # the adjustment table: 户ID hidden, 分配（公斤） editable
    assert list(draft.columns) == ["household_id", "door_no", "head_name", "category", "persons", "kg"]
    assert sorted(draft["kg"]) == [3.3, 3.3, 3.4] and set(draft["category"]) == {"70岁以上老人"}
    _button(at, "作废草稿").click().run()
    assert not at.exception
    assert distribution.round_info(db, v.id, rid).status == "cancelled"
    assert _stock(db) == 100_000


def test_the_field_page_records_a_harvest_into_the_stock(field_app):
    db, v, _ = field_app
    at = app(v.actors["field_lead"].user_id)
    at.switch_page("pages/field.py").run()
    assert not at.exception
    assert not any(n.label == "过秤重量（公斤）" for n in at.number_input)  # lazy tabs: only 地块 ran
    at.session_state[state.FIELD_TAB] = "收获过秤"  # the lead opens the tab
    at.run()
    kg = next(n for n in at.number_input if n.label == "过秤重量（公斤）")
    kg.set_value(12.3)
    next(b for b in at.button if b.label == "记录收获").click().run()
    assert not at.exception
    assert _stock(db) == 112_300
    assert "年度报告" in [t.label for t in at.tabs]
    # the same weighing submitted again (a double click) is not recorded twice ...
    next(n for n in at.number_input if n.label == "过秤重量（公斤）").set_value(12.3)
    next(b for b in at.button if b.label == "记录收获").click().run()
    assert "未重复保存" in texts(at)
    assert _stock(db) == 112_300
    # ... unless the lead says it is another bag of the same weight
    next(n for n in at.number_input if n.label == "过秤重量（公斤）").set_value(12.3)
    next(c for c in at.checkbox if c.label.startswith("与上一条重量相同")).check()
    next(b for b in at.button if b.label == "记录收获").click().run()
    assert _stock(db) == 124_600


def test_a_work_day_is_created_filled_by_picking_names_and_confirmed_as_volunteer_hours(field_app):
    from sqlalchemy import update

    from db.models import Resident, VolunteerTotal

    db, v, _ = field_app
    with db.write() as s:
        s.execute(update(Resident).values(party_member=True))
    at = app(v.actors["field_lead"].user_id)
    at.session_state[state.FIELD_TAB] = "义务劳动"
    at.switch_page("pages/field.py").run()
    next(t for t in at.text_area if t.label == "劳动任务").input("除草")
    next(b for b in at.button if b.label == "创建劳动日").click().run()
    assert not at.exception
    assert "已创建劳动日" in texts(at)
    picker = next(m for m in at.multiselect if m.label == "参加劳动的人")
    picker.set_value(v.resident_ids[:2])
    next(b for b in at.button if b.label == "为所选人员记录时长").click().run()
    assert "已为 2 人记录时长" in texts(at)
    _button(at, "确认时长…").click().run()
    _button(at, "确认，计入志愿时长").click().run()
    assert not at.exception
    with db.read() as s:
        minutes = dict(s.execute(select(VolunteerTotal.resident_id, VolunteerTotal.minutes)).all())
    assert minutes == {v.resident_ids[0]: 180, v.resident_ids[1]: 180}


def test_a_round_is_ended_early_from_the_page_and_the_rest_returns_to_the_stock(field_app):
    db, v, token = field_app
    lead = v.actors["field_lead"]
    rid = distribution.create_round(db, lead, title="冬至土豆", crop="土豆", total_kg="9", rule="household")
    distribution.confirm_round(db, lead, rid)
    distribution.deliver_by_card(db, lead, rid, token)
    assert _stock(db) == 91_000
    at = app(lead.user_id)
    at.switch_page("pages/distribution.py").run()
    assert not at.exception
    _button(at, "结束发放…").click().run()
    assert "2 户未领的 6.0 公斤土豆退回库存" in texts(at)
    _button(at, "确认结束并退库").click().run()  # no reason given: refused, nothing moves
    assert "请填写结束原因" in texts(at)
    assert _stock(db) == 91_000 and distribution.round_info(db, v.id, rid).status == "confirmed"
    at.text_input(key=f"dist_close_reason_{rid}").input("两户外出务工，土豆不宜久放")
    _button(at, "确认结束并退库").click().run()
    assert not at.exception
    assert "6.0 公斤土豆已退回库存" in texts(at)
    assert _stock(db) == 97_000 and distribution.round_info(db, v.id, rid).status == "closed"
    assert not any(b.label.startswith("结束发放") for b in at.button)  # a closed round cannot be ended again
    assert not any(t.key == "dist_scan_input" for t in at.text_input)  # nor signed for


def test_the_field_report_lists_the_village_fund_from_surplus_sales(field_app):
    db, v, _ = field_app
    at = app(v.actors["field_lead"].user_id)
    at.session_state[state.FIELD_TAB] = "年度报告"
    at.switch_page("pages/field.py").run()
    assert "这段时间没有出售收入" in texts(at)
    produce.sell_surplus(db, v.actors["field_lead"], crop="土豆", kg="20", amount_yuan="64.5", date=TODAY,
                       buyer="镇农贸市场")
    produce.sell_surplus(db, v.actors["field_lead"], crop="土豆", kg="10", amount_yuan="30", date=TODAY)
    at.run()
    assert not at.exception
    assert "2 笔，合计 94.50 元" in texts(at)
    by_crop, by_category, fund = (d.value for d in at.dataframe)
    assert by_crop.loc[0, "crop"] == "土豆" and by_crop.loc[0, "harvested_kg"] == 100.0
    assert by_crop.loc[0, "sold_kg"] == 30.0
    assert by_category.loc[0, "category"] == "70岁以上老人" and by_category.loc[0, "households"] == 0
    assert list(fund.columns) == ["date", "source", "yuan", "note", "staff"]  # 编号 only in the workbook
    assert sorted(fund["yuan"].tolist()) == [30.0, 64.5]
    assert "土豆 20.0 公斤，购买方：镇农贸市场" in fund["note"].tolist()


def _frames(at):
    return [d.value for d in at.dataframe]


def test_the_field_page_tables_show_the_typed_rows_with_codes_in_words(field_app):
    db, v, _ = field_app
    lead = v.actors["field_lead"]
    produce.record_loss(db, lead, crop="土豆", kg="1.5", reason="储存中腐烂")
    field.create_work_day(db, lead, plot_id=field.plot_choices(db, v.id)[0][0], date=TODAY, tasks="除草")
    at = app(lead.user_id)
    at.switch_page("pages/field.py").run()
    assert not at.exception
    (plots,) = _frames(at)
    assert list(plots.columns) == ["id", "name", "area_mu", "location", "party_group", "members", "active"]
    assert (plots.loc[0, "name"], plots.loc[0, "area_mu"], plots.loc[0, "active"]) == ("老义田", 3.0, "在用")
    at.session_state[state.FIELD_TAB] = "种植季"
    at.run()
    (seasons,) = _frames(at)
    assert (seasons.loc[0, "crop"], seasons.loc[0, "harvested_kg"]) == ("土豆", 100.0)
    at.session_state[state.FIELD_TAB] = "义务劳动"
    at.run()
    days = _frames(at)[0]
    assert (days.loc[0, "tasks"], days.loc[0, "status"], days.loc[0, "people"]) == ("除草", "报名中", 0)
    at.session_state[state.FIELD_TAB] = "收获过秤"
    at.run()
    (harvests,) = _frames(at)
    assert (harvests.loc[0, "kg"], harvests.loc[0, "has_photo"]) == (100.0, "")
    at.session_state[state.FIELD_TAB] = "库存与余量"
    at.run()
    assert not at.exception
    stock, moves = _frames(at)
    assert (stock.loc[0, "crop"], stock.loc[0, "kg"]) == ("土豆", 98.5)
    assert list(moves["kind"]) == ["损耗调整", "收获入库"] and list(moves["kg"]) == [-1.5, 100.0]


def test_the_distribution_page_lists_who_signed_and_the_rounds_in_words(field_app):
    db, v, token = field_app
    lead = v.actors["field_lead"]
    rid = distribution.create_round(db, lead, title="冬至土豆", crop="土豆", total_kg="9", rule="household")
    distribution.confirm_round(db, lead, rid)
    distribution.deliver_by_card(db, lead, rid, token)
    at = app(lead.user_id)
    at.switch_page("pages/distribution.py").run()
    assert not at.exception
    left, everyone, rounds = _frames(at)
    assert list(left.columns) == ["door_no", "head_name", "phone", "category", "persons", "kg", "has_card"]
    assert len(left) == 2 and set(left["has_card"]) == {"无"} and set(left["category"]) == {"70岁以上老人"}
    signed = everyone[everyone["via"] == "扫卡"]
    assert len(signed) == 1 and signed.iloc[0]["has_card"] == "有" and signed.iloc[0]["kg"] == 3.0
    assert set(everyone[everyone["via"] != "扫卡"]["via"]) == {""}
    assert (rounds.loc[0, "title"], rounds.loc[0, "rule"], rounds.loc[0, "status"]) == ("冬至土豆", "按户平均", "已确认")
    assert (rounds.loc[0, "households"], rounds.loc[0, "delivered"], rounds.loc[0, "total_kg"]) == (3, 1, 9.0)


def test_the_beneficiaries_page_lists_the_register_and_the_suggestions_in_words(field_app):
    from db.models import Beneficiary, Resident

    db, v, _ = field_app
    with db.write() as s:
        s.add(Resident(village_id=v.id, household_id=v.household_ids[0], name="老奶奶", gender="女",
                       birth_year=TODAY.year - 75, relation="父母"))
        first = s.execute(select(Beneficiary).where(Beneficiary.household_id == v.household_ids[0])).scalar_one()
        first.active = False  # taken off the register: suggested again
    at = app(v.actors["field_lead"].user_id)
    at.switch_page("pages/beneficiaries.py").run()
    assert not at.exception
    register, suggested = _frames(at)
    assert len(register) == 2 and set(register["status"]) == {"有效"}  # 已停用 is filtered out by default
    assert set(register["category"]) == {"70岁以上老人"} and register["approved_by"].all()
    assert list(suggested.columns) == ["confirm", "household_id", "door_no", "head_name", "elderly_text"]
    assert list(suggested["household_id"]) == [v.household_ids[0]]
    assert suggested.loc[0, "elderly_text"] == "老奶奶（75岁）"
