"""The one confirm component and the one household picker, through the real pages (AppTest).

Every irreversible action asks through ui.confirm: 取消 leaves everything as it was and closes the
question; 确认 acts once, and a second click on it finds no question left to confirm. Every page that
picks a household offers the same drop-down, door number + head in natural order, and its search box
finds a household by door number, by name and by a member's name."""

from __future__ import annotations

import pytest
from sqlalchemy import func, select

from core.platform import settings
from core.platform.access import SYSTEM
from core.platform.auth import actor_for
from core.village.roster import commit
from core.village.setup import create_village
from db.models import Card, Household, ImportBatch, LedgerEntry, StaffUser
from tests.app_helpers import app, db_for_env, texts, use_data_dir, user_id
from ui import state

# door numbers whose text order (10-001, 2-009, 2-010) is not the order people read them in
ROSTER = ("门牌号,网格,姓名,与户主关系\n"
          "10-001,一组,张大山,户主\n10-001,一组,张小山,儿子\n"
          "2-010,一组,王老五,户主\n2-009,一组,赵六,户主\n")
NATURAL = ["2-009 赵六", "2-010 王老五", "10-001 张大山"]


@pytest.fixture
def village_db(tmp_path, monkeypatch):
    use_data_dir(monkeypatch, tmp_path / "data", demo=False)
    db = db_for_env()
    create_village(db, SYSTEM, name="新村", township="新镇", county="新县", grids=["一组"],
                   admin_username="boss", admin_name="村主任", admin_password="boss-pass-1", first_run=True)
    with db.read() as s:
        actor = actor_for(s.get(StaffUser, user_id(db, "boss")))
    commit(db, actor, actor.village_id, "r.csv", ROSTER.encode())
    yield db
    db.dispose()


def _hid(db, door: str) -> int:
    with db.read() as s:
        return s.execute(select(Household.id).where(Household.door_no == door)).scalar_one()


def _count(db, model, *where) -> int:
    with db.read() as s:
        return s.execute(select(func.count()).select_from(model).where(*where)).scalar_one()


def _open(db, page: str, **session):
    at = app(user_id(db, "boss"))
    for k, v in session.items():
        at.session_state[k] = v
    at.switch_page(page).run()
    assert not at.exception, at.exception
    return at


def _keys(at) -> list[str]:
    return [b.key for b in at.button]


def _press(at, key: str):
    at.button(key=key).click().run()
    assert not at.exception, at.exception
    return at


def _double_click(at, key: str) -> None:
    """确认, then the same button again if the page still offers it, then a rerun."""
    _press(at, key)
    if key in _keys(at):
        _press(at, key)
    at.run()
    assert not at.exception, at.exception


# ---------------------------------------------------------------- confirm: cancel changes nothing, 确认 acts once


def test_the_base_score_question_says_the_figures_and_cancelling_grants_nothing(village_db):
    db = village_db
    with db.read() as s:
        actor = actor_for(s.get(StaffUser, user_id(db, "boss")))
    settings.change(db, actor, actor.village_id, "base_score", 10)
    at = _open(db, "pages/cycles.py")
    _press(at, "cycles_base_start")
    assert "将给 3 户各记 10 分" in texts(at)
    _press(at, "cycles_base_back")
    assert _count(db, LedgerEntry, LedgerEntry.source_type == "base") == 0
    assert "cycles_base_do" not in _keys(at) and "cycles_base_start" in _keys(at)
    _press(at, "cycles_base_start")
    _double_click(at, "cycles_base_do")
    assert _count(db, LedgerEntry, LedgerEntry.source_type == "base") == 3


def test_an_adjustment_cancelled_is_not_posted_and_one_confirmed_twice_is_posted_once(village_db):
    db = village_db
    hid = _hid(db, "2-009")
    at = _open(db, "pages/households.py", **{state.HOUSEHOLD_VIEW: hid})
    adjustments = (LedgerEntry.household_id == hid, LedgerEntry.kind == "adjustment")
    for cancel in (True, False):
        box = next(w for w in at.number_input if w.label.startswith("调整分值"))
        box.set_value(7)
        next(w for w in at.text_input if w.label.startswith("调整原因")).input("补记")
        _press(at, "FormSubmitter:hh_adjust-调整…")
        assert "确认为 2-009 赵六 调整 +7 分吗？原因：补记。" in texts(at)
        assert _count(db, LedgerEntry, *adjustments) == 0  # nothing before 确认
        if cancel:
            _press(at, "hh_correct_back")
            assert _count(db, LedgerEntry, *adjustments) == 0
            assert "hh_correct_do" not in _keys(at)
    _double_click(at, "hh_correct_do")
    assert _count(db, LedgerEntry, *adjustments) == 1


def test_a_split_confirmed_with_a_double_click_makes_one_new_household(village_db):
    db = village_db
    at = _open(db, "pages/households.py", **{state.HOUSEHOLD_VIEW: _hid(db, "10-001")})
    at.segmented_control(key="hh_lc_action").set_value("split").run()
    at.multiselect(key="hh_lc_movers").set_value([_resident(db, "张小山")])
    at.text_input(key="hh_lc_door").input("10-002")
    next(b for b in at.button if b.label == "下一步…").click().run()
    assert "hh_lc_do" in _keys(at), texts(at)
    _double_click(at, "hh_lc_do")
    assert _count(db, Household, Household.door_no == "10-002") == 1


def _resident(db, name: str) -> int:
    from db.models import Resident

    with db.read() as s:
        return s.execute(select(Resident.id).where(Resident.name == name)).scalar_one()


def test_a_card_issue_cancelled_issues_nothing_and_confirmed_twice_issues_one_card(village_db):
    db = village_db
    hid = _hid(db, "2-010")
    at = _open(db, "pages/cards.py")
    for cancel in (True, False):
        at.selectbox(key="cards_household").set_value(hid)
        next(b for b in at.button if b.label == "下一步").click().run()
        assert "发卡：2-010 王老五　[未办卡]" in "\n".join(str(t.value) for t in at.text), texts(at)
        if cancel:
            _press(at, "cards_back")
            assert _count(db, Card, Card.household_id == hid) == 0
    _double_click(at, "cards_do")
    assert _count(db, Card, Card.household_id == hid) == 1


def test_a_roster_import_asks_naming_the_file_and_counts_and_confirmed_twice_imports_once(village_db):
    db = village_db
    new = (Household.door_no == "3-001",)
    at = _open(db, "pages/roster.py")
    at.file_uploader(key="roster_file").upload("新花名册.csv", (ROSTER + "3-001,一组,李四,户主\n").encode(), "text/csv")
    at.run()
    assert "新增户" in texts(at) and "roster_import_do" not in _keys(at)  # the preview, nothing asked yet
    _press(at, "roster_import_start")
    assert "文件：新花名册.csv" in texts(at) and "将新增 1 户、1 位村民，更新 0 处信息" in texts(at)
    assert at.button(key="roster_import_do").label == "确认导入"
    _press(at, "roster_import_back")
    assert _count(db, Household, *new) == 0 and _count(db, ImportBatch) == 1  # the fixture's import only
    assert "roster_import_do" not in _keys(at)
    _press(at, "roster_import_start")
    _double_click(at, "roster_import_do")
    assert _count(db, Household, *new) == 1 and _count(db, ImportBatch) == 2
    assert "无需导入" in texts(at)


# ---------------------------------------------------------------- the household picker


def test_the_picker_lists_households_in_natural_door_order_and_finds_by_door_name_and_member(village_db):
    db = village_db
    at = _open(db, "pages/households.py")
    pick = at.selectbox(key="hh_pick")
    assert pick.options == NATURAL and pick.placeholder == "输入门牌号或户主查找"
    for typed, door in [("2-010", "2-010"), ("赵六", "2-009"), ("张小山", "10-001")]:
        at.text_input(key="hh_search").input(typed).run()
        assert not at.exception, at.exception
        assert at.selectbox(key="hh_pick").value == _hid(db, door), typed
        assert at.session_state[state.HOUSEHOLD_VIEW] == _hid(db, door)
    at.text_input(key="hh_search").input("不存在").run()
    assert "没有找到这一户。" in texts(at)


def test_the_entry_form_finds_a_household_by_door_number_and_by_name(village_db):
    db = village_db
    at = _open(db, "pages/proposal_new.py")
    assert at.selectbox(key="pn_household_pick").options == NATURAL
    for typed, door in [("2-009", "2-009"), ("王老五", "2-010")]:
        at.text_input(key="pn_search").input(typed).run()
        assert at.selectbox(key="pn_household_pick").value == _hid(db, door), typed
        assert at.session_state[state.PROPOSAL_HOUSEHOLD] == _hid(db, door)


def test_the_merge_picker_offers_the_other_households_in_the_same_order(village_db):
    db = village_db
    at = _open(db, "pages/households.py", **{state.HOUSEHOLD_VIEW: _hid(db, "2-010")})
    at.segmented_control(key="hh_lc_action").set_value("merge").run()
    into = at.selectbox(key="hh_lc_into")
    assert into.options == ["2-009 赵六", "10-001 张大山"] and into.placeholder == "输入门牌号或户主查找"


def test_the_forgotten_card_search_at_the_till_finds_a_member_by_name(village_db):
    db = village_db
    at = _open(db, "pages/checkout.py")
    at.text_input(key="checkout_find").input("张小山").run()
    assert not at.exception, at.exception
    assert f"checkout_pick_{_hid(db, '10-001')}" in _keys(at)


# ---------------------------------------------------------------- the other questions moved onto ui.confirm


@pytest.fixture
def small(tmp_path, monkeypatch):
    use_data_dir(monkeypatch, tmp_path / "data", demo=False)
    from tests.factories import make_village

    db = db_for_env()
    yield db, make_village(db, households=3)
    db.dispose()


def _as(db, user: int, page: str, **session):
    at = app(user)
    for k, v in session.items():
        at.session_state[k] = v
    at.switch_page(page).run()
    assert not at.exception, at.exception
    return at


def test_closing_last_month_cancelled_closes_nothing_and_confirmed_twice_closes_it_once(village_db):
    import datetime as dt

    from core.points import posting
    from db.models import PeriodClose

    db = village_db
    last_month = dt.date.today().replace(day=1) - dt.timedelta(days=1)
    with db.write() as s:
        posting.post(s, household_id=_hid(db, "2-009"), kind="earned", points=12, source_type="test",
                    source_id="c", occurred_on=last_month, reason="环境整治")
    at = _open(db, "pages/cycles.py")
    _press(at, "cycles_close_start")
    assert "全村可用积分合计 12 分" in texts(at) and "月结不能撤销" in texts(at)
    _press(at, "cycles_close_back")
    assert _count(db, PeriodClose) == 0 and "cycles_close_do" not in _keys(at)
    _press(at, "cycles_close_start")
    _double_click(at, "cycles_close_do")
    assert _count(db, PeriodClose) == 1


def test_deactivating_a_rule_item_cancelled_keeps_it_and_confirmed_deactivates_it(small):
    from db.models import RuleItem

    db, v = small
    at = _as(db, v.actors["admin"].user_id, "pages/rules.py")
    code = at.selectbox(key="rl_rev_code").value
    active = (RuleItem.code == code, RuleItem.active.is_(True))
    _press(at, "rl_act_start")
    assert f"确认停用“{code}" in texts(at)
    _press(at, "rl_act_back")
    assert _count(db, RuleItem, *active) == 1
    _press(at, "rl_act_start")
    _double_click(at, "rl_act_do")
    assert _count(db, RuleItem, *active) == 0


def test_deactivating_a_staff_account_cancelled_keeps_it_and_confirmed_deactivates_it(small):
    db, v = small
    cashier = v.actors["cashier"].user_id
    at = _as(db, v.actors["admin"].user_id, "pages/staff.py", **{state.STAFF_SELECTED: cashier})

    def active() -> bool:
        with db.read() as s:
            return s.get(StaffUser, cashier).active

    _press(at, "staff_deact_start")
    assert "停用后不能登录" in texts(at)
    _press(at, "staff_deact_back")
    assert active() and "staff_deact_do" not in _keys(at)
    _press(at, "staff_deact_start")
    _double_click(at, "staff_deact_do")
    assert not active()


def test_a_fund_entry_cancelled_is_not_recorded(small):
    from core.supermarket import fund

    db, v = small
    at = _as(db, v.actors["admin"].user_id, "pages/fund.py")
    at.selectbox(key="fund_kind").set_value("donation").run()
    at.text_input(key="fund_amount").input("300")
    at.text_input(key="fund_counterparty").input("王大爷")
    next(b for b in at.button if b.label == "登记…").click().run()
    assert "对方：王大爷" in "\n".join(str(t.value) for t in at.text)
    _press(at, "fund_record_back")
    assert fund.entries(db, v.id) == [] and "fund_record_do" not in _keys(at)


def test_a_void_cancelled_refunds_nothing(small):
    from core.supermarket import shop, stock
    from tests.factories import give_points

    db, v = small
    hid = v.household_ids[0]
    give_points(db, hid, 50, "start")
    pid = stock.save_product(db, v.admin, v.id, stock.ProductInput(name="挂面", price=10, unit="把"))
    stock.receive_stock(db, v.admin, pid, 5)
    rid = shop.checkout(db, v.actors["cashier"], household_id=hid, card_id=None, cart={pid: 1}, cart_key="k")
    at = _as(db, v.actors["cashier"].user_id, "pages/redemptions.py")
    at.selectbox(key="redemptions_void_pick").set_value(rid).run()
    _press(at, "redemptions_void_open")
    assert "redemptions_void_do" in _keys(at)
    _press(at, "redemptions_void_back")
    refunds = (LedgerEntry.source_type == "redemption_void",)
    assert _count(db, LedgerEntry, *refunds) == 0 and "redemptions_void_do" not in _keys(at)


def test_cancelling_an_activity_asks_first_and_cancelling_the_question_keeps_it_open(small):
    import datetime as dt

    from core.volunteering import volunteer as vol
    from db.models import Activity

    db, v = small
    lead = v.actors["volunteer_lead"]
    aid = vol.create_activity(db, lead, title="清扫村道", date=dt.date.today() + dt.timedelta(days=1))
    at = _as(db, lead.user_id, "pages/activities.py", **{state.ACTIVITY_SELECTED: aid})

    def status() -> str:
        with db.read() as s:
            return s.get(Activity, aid).status

    for answer in ("act_cancel_back", "act_cancel_do"):
        next(w for w in at.text_input if w.label.startswith("取消原因")).input("下雨")
        _press(at, "FormSubmitter:act_cancel_form-取消活动…")
        assert "确认取消活动“清扫村道”" in texts(at) and status() == "open"
        if answer == "act_cancel_back":
            _press(at, answer)
            assert status() == "open" and "act_cancel_do" not in _keys(at)
    _double_click(at, "act_cancel_do")
    assert status() == "cancelled"


def test_taking_a_household_off_the_aid_register_asks_first(small):
    from core.charity import field_aid
    from db.models import Beneficiary

    db, v = small
    lead = v.actors["field_lead"]
    bid = field_aid.register(db, lead, household_id=v.household_ids[0], category="elderly", approve=True)
    at = _as(db, lead.user_id, "pages/beneficiaries.py")

    def active() -> bool:
        with db.read() as s:
            return s.get(Beneficiary, bid).active

    for answer in ("ben_deactivate_back", "ben_deactivate_do"):
        next(w for w in at.text_input if w.label.startswith("原因")).input("迁出")
        _press(at, "FormSubmitter:ben_deactivate_form-停用…")
        assert "不再参与分配" in texts(at) and active()
        if answer == "ben_deactivate_back":
            _press(at, answer)
            assert active()
    _double_click(at, "ben_deactivate_do")
    assert not active()


def test_an_hours_correction_cancelled_stays_open_and_one_accepted_twice_is_decided_once(small):
    import datetime as dt

    from core.volunteering import service_hours
    from core.volunteering import volunteer as vol
    from db.models import Attendance, AuditLog, HoursCorrection

    db, v = small
    lead = v.actors["volunteer_lead"]
    today = dt.date.today()
    aid = vol.create_activity(db, lead, title="河道清理", date=today)
    att = service_hours.set_minutes(db, lead, aid, v.resident_ids[0], 60)
    cid = service_hours.request_correction(db, lead, att, 90, "漏记半小时")
    at = _as(db, lead.user_id, "pages/volunteers.py", **{state.VOLUNTEERS_TAB: "时长更正"})

    def status() -> str:
        with db.read() as s:
            return s.get(HoursCorrection, cid).status

    for answer in ("correction_decide_back", "correction_decide_do"):
        _press(at, "FormSubmitter:correction_decide_form-提交处理…")
        asked = "\n".join(str(t.value) for t in at.text)
        assert "志愿者：户主1" in asked and f"活动：{today:%Y-%m-%d} 河道清理" in asked, asked
        assert "时长：60 分钟 → 90 分钟" in asked and "更正原因：漏记半小时" in asked
        assert "确认采纳 户主1 的时长更正吗" in texts(at) and status() == "open"  # nothing before 确认
        if answer == "correction_decide_back":
            _press(at, answer)
            assert status() == "open" and "correction_decide_do" not in _keys(at)
    _double_click(at, "correction_decide_do")
    assert status() == "accepted"
    with db.read() as s:
        assert s.get(Attendance, att).minutes == 90
    assert _count(db, AuditLog, AuditLog.action == "correction.decide") == 1
