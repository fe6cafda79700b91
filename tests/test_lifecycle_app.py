"""户籍变动 on the households page (AppTest): an admin splits a household and merges another,
each through the confirmation that names both sides; a closed household is still found and
says it is closed; the 户籍变动 tab is readable by other staff."""

from __future__ import annotations

import pytest
from sqlalchemy import select

from core.platform.access import SYSTEM
from core.platform.auth import actor_for
from core.village.roster import commit
from core.village.setup import create_village
from db.models import Account, Household, HouseholdEvent, Resident, StaffUser
from tests.app_helpers import app, db_for_env, texts, use_data_dir, user_id
from tests.factories import give_points
from ui import state

ROSTER = ("门牌号,网格,姓名,与户主关系\n"
          "1-001,一组,张大山,户主\n1-001,一组,张小山,儿子\n1-001,一组,李小花,儿媳\n"
          "1-002,一组,王老五,户主\n1-003,一组,赵六,户主\n")


@pytest.fixture
def village_db(tmp_path, monkeypatch):
    use_data_dir(monkeypatch, tmp_path / "data", demo=False)
    db = db_for_env()
    create_village(db, SYSTEM, name="新村", township="新镇", county="新县", grids=["一组"],
                   admin_username="boss", admin_name="村主任", admin_password="boss-pass-1", first_run=True)
    boss = user_id(db, "boss")
    with db.read() as s:
        actor = actor_for(s.get(StaffUser, boss))
    commit(db, actor, actor.village_id, "r.csv", ROSTER.encode())
    yield db
    db.dispose()


def _hid(db, door: str) -> int:
    with db.read() as s:
        return s.execute(select(Household.id).where(Household.door_no == door)).scalar_one()


def _rid(db, name: str) -> int:
    with db.read() as s:
        return s.execute(select(Resident.id).where(Resident.name == name)).scalar_one()


def _open(db, door: str):
    at = app(user_id(db, "boss"))
    at.session_state[state.HOUSEHOLD_VIEW] = _hid(db, door)
    at.switch_page("pages/households.py").run()
    assert not at.exception, at.exception
    return at


def _confirm(at):
    assert "hh_lc_do" in [b.key for b in at.button], texts(at)
    at.button(key="hh_lc_do").click().run()
    assert not at.exception, at.exception
    return at


def test_an_admin_splits_a_household_after_a_confirmation_naming_both_sides(village_db):
    db = village_db
    h1 = _hid(db, "1-001")
    give_points(db, h1, 50, "a")
    at = _open(db, "1-001")
    at.segmented_control(key="hh_lc_action").set_value("split").run()
    son, wife = _rid(db, "张小山"), _rid(db, "李小花")
    at.multiselect[0].set_value([son, wife])
    next(w for w in at.text_input if w.label.startswith("新户门牌号")).input("1-009")
    next(w for w in at.number_input if w.label.startswith("分给新户")).set_value(20)
    next(w for w in at.text_input if w.label.startswith("说明")).input("儿子结婚分户")
    next(b for b in at.button if b.label == "下一步…").click().run()
    assert not at.exception, at.exception
    shown = "\n".join(str(t.value) for t in at.text)
    assert "原户：1-001 张大山，留下 1 人，可用积分 50 → 30 分" in shown
    assert "新户：门牌号 1-009，张小山（儿子）、李小花（儿媳），可用积分 0 → 20 分" in shown
    with db.read() as s:
        assert s.execute(select(HouseholdEvent)).first() is None  # nothing before 确认
    _confirm(at)
    assert "已分户" in texts(at)
    with db.read() as s:
        new = s.execute(select(Household).where(Household.door_no == "1-009")).scalar_one()
        assert new.head_name == "张小山"
        assert (s.get(Account, h1).balance, s.get(Account, new.id).balance) == (30, 20)


def test_an_admin_merges_a_household_and_it_stays_readable_as_closed(village_db):
    db = village_db
    h2, h3 = _hid(db, "1-002"), _hid(db, "1-003")
    give_points(db, h2, 12, "a")
    at = _open(db, "1-002")
    at.segmented_control(key="hh_lc_action").set_value("merge").run()
    next(w for w in at.selectbox if w.label == "并入哪一户").set_value(h3)
    next(b for b in at.button if b.label == "下一步…").click().run()
    shown = "\n".join(str(t.value) for t in at.text)
    assert "1-002 王老五 并入 1-003 赵六" in shown and "全部可用积分 12 分" in shown
    _confirm(at)
    with db.read() as s:
        assert not s.get(Household, h2).active and s.get(Account, h3).balance == 12
    at = _open(db, "1-002")
    page = texts(at)
    assert "已注销" in page and "并入他户" in page
    assert any("合户（并入他户）" in df.value.to_string() for df in at.dataframe)
    assert "hh_lc_action" not in [w.key for w in at.segmented_control]  # closed: only 恢复本户 is offered
    assert "恢复本户…" in [b.label for b in at.button]


def test_cancelling_the_confirmation_records_nothing(village_db):
    db = village_db
    at = _open(db, "1-003")
    at.segmented_control(key="hh_lc_action").set_value("close").run()
    next(b for b in at.button if b.label == "下一步…").click().run()
    at.button(key="hh_lc_back").click().run()
    assert not at.exception
    with db.read() as s:
        assert s.get(Household, _hid(db, "1-003")).active
        assert s.execute(select(HouseholdEvent)).first() is None


def test_other_staff_read_the_history_but_get_no_forms(village_db):
    db = village_db
    from core.village import lifecycle

    boss = user_id(db, "boss")
    with db.read() as s:
        actor = actor_for(s.get(StaffUser, boss))
    lifecycle.close_household(db, actor, _hid(db, "1-003"), "moved", note="迁往县城")
    from core.village import staff

    cashier = staff.create_user(db, actor, username="shouyin2", display_name="收银员", password="cash-pass-12",
                                roles=["cashier"], village_id=actor.village_id, must_change_password=False)
    at = app(cashier)
    at.session_state[state.HOUSEHOLD_VIEW] = _hid(db, "1-003")
    at.switch_page("pages/households.py").run()
    assert not at.exception, at.exception
    assert "迁往县城" in "\n".join(df.value.to_string() for df in at.dataframe)
    assert "hh_lc_action" not in [w.key for w in at.segmented_control]
    assert "恢复本户…" not in [b.label for b in at.button]
