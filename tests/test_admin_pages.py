"""The admin screens through AppTest: first-run set-up, settings, staff, cycles, audit,
and removing the demo data."""

from __future__ import annotations

import json

import pytest
from sqlalchemy import func, select

from core.platform import settings
from core.platform.access import SYSTEM
from core.points import cycles
from core.village.setup import create_village
from db.models import Account, AuditLog, LedgerEntry, StaffUser, Village
from tests.app_helpers import app, db_for_env, texts, use_data_dir, user_id
from tests.factories import give_points


@pytest.fixture
def empty_db(tmp_path, monkeypatch):
    use_data_dir(monkeypatch, tmp_path / "data", demo=False)
    return db_for_env()


@pytest.fixture
def village_db(empty_db):
    create_village(empty_db, SYSTEM, name="新村", township="新镇", county="新县", grids=["一组", "二组"],
                   admin_username="boss", admin_name="村主任", admin_password="boss-pass-1", first_run=True)
    return empty_db


def _vid(db):
    with db.read() as s:
        return s.execute(select(Village.id)).scalar_one()


def test_an_empty_installation_shows_the_set_up_page_and_creates_the_village(empty_db):
    at = app().run()
    assert not at.exception
    assert "首次设置" in texts(at)
    form = {w.label: w for w in at.text_input}
    form["村名（必填）"].input("文祖北村")
    form["镇（街道）"].input("文祖街道")
    at.text_area[0].input("第一网格\n第二网格")
    form["用户名（登录用，字母或数字）"].input("cunguan")
    form["姓名"].input("李书记")
    form["密码（至少 8 位）"].input("good-pass-1")
    form["再输一次密码"].input("good-pass-1")
    at.button[0].click().run()
    assert not at.exception
    assert "cunguan" in texts(at)
    with empty_db.read() as s:
        v = s.execute(select(Village)).scalar_one()
        admin = s.execute(select(StaffUser).where(StaffUser.username == "cunguan")).scalar_one()
        assert (v.name, v.township, v.is_demo) == ("文祖北村", "文祖街道", False)
        assert "admin" in admin.roles and not admin.must_change_password
    at.button[0].click().run()  # 去登录
    assert "登录" in [b.label for b in at.button]


def test_the_set_up_page_refuses_once_a_village_exists(village_db):
    from core.platform.errors import AlreadyDone

    with pytest.raises(AlreadyDone):
        create_village(village_db, SYSTEM, name="第二村", township="", county="", grids=[], admin_username="x_admin",
                       admin_name="x", admin_password="good-pass-1", first_run=True)
    at = app().run()
    assert "首次设置" not in texts(at)


def test_a_setting_saved_on_the_page_is_audited_and_in_effect(village_db):
    at = app(user_id(village_db, "boss"))
    at.switch_page("pages/settings.py").run()
    assert not at.exception
    at.number_input(key="settings_publicity_days").set_value(5)
    at.button[0].click().run()  # the first tab's save button
    assert not at.exception
    vid = _vid(village_db)
    with village_db.read() as s:
        assert settings.get(s, vid, "publicity_days") == 5
        row = s.execute(select(AuditLog).where(AuditLog.action == "setting.change")).scalar_one()
    assert json.loads(row.detail) == {"old": 3, "new": 5}


def test_an_admin_creates_a_staff_account_on_the_page(village_db):
    at = app(user_id(village_db, "boss"))
    at.switch_page("pages/staff.py").run()
    at.text_input(key="staff_new_username").input("cashier2")
    at.text_input(key="staff_new_name").input("小周")
    at.text_input(key="staff_new_password").input("temp-pass-99")
    at.multiselect(key="staff_new_roles").select("cashier")
    next(b for b in at.button if b.label == "新建账号").click().run()
    assert not at.exception
    with village_db.read() as s:
        user = s.execute(select(StaffUser).where(StaffUser.username == "cashier2")).scalar_one()
    assert user.roles == "cashier" and user.must_change_password


def test_granting_the_base_score_twice_on_the_page_posts_once(village_db):
    vid = _vid(village_db)
    boss = user_id(village_db, "boss")
    from core.platform.auth import actor_for

    with village_db.read() as s:
        actor = actor_for(s.get(StaffUser, boss))
    settings.change(village_db, actor, vid, "base_score", 10)
    from core.village.roster import commit

    commit(village_db, actor, vid, "r.csv", "门牌号,网格,姓名,与户主关系\n1,一组,甲,户主\n2,二组,乙,户主\n".encode())
    at = app(boss)
    at.switch_page("pages/cycles.py").run()
    assert not at.exception
    at.button(key="cycles_base_start").click().run()
    at.button(key="cycles_base_do").click().run()
    assert not at.exception
    at.run()  # a rerun after the write
    with village_db.read() as s:
        n = s.execute(select(func.count()).select_from(LedgerEntry).where(LedgerEntry.source_type == "base")
                      ).scalar_one()
    assert n == 2
    assert "已发放" in texts(at)


def test_year_end_clearing_on_the_page_asks_with_the_year_and_the_figures_first(village_db):
    vid = _vid(village_db)
    boss = user_id(village_db, "boss")
    from core.platform.auth import actor_for
    from core.village.roster import commit

    with village_db.read() as s:
        actor = actor_for(s.get(StaffUser, boss))
    commit(village_db, actor, vid, "r.csv", "门牌号,网格,姓名,与户主关系\n1,一组,甲,户主\n".encode())
    settings.change(village_db, actor, vid, "year_end_policy", "clear")
    with village_db.read() as s:
        hid = s.execute(select(Account.household_id)).scalar_one()
    give_points(village_db, hid, 30, "p")
    at = app(boss)
    at.switch_page("pages/cycles.py").run()
    year = int(at.number_input(key="cycles_ye_year").value)
    preview = at.dataframe[0].value
    assert list(preview["door_no"]) == ["1"] and list(preview["to_clear"]) == [30]
    assert list(preview["action"]) == ["清零"]
    at.button(key="cycles_ye_clear_start").click().run()
    assert f"确认做{year}年年终清零吗？将给 1 户各记一笔清零流水，共清除 30 分" in texts(at)
    with village_db.read() as s:
        assert s.get(Account, hid).balance == 30  # nothing before 确认
    at.button(key="cycles_ye_clear_do").click().run()
    assert not at.exception
    with village_db.read() as s:
        assert s.get(Account, hid).balance == 0
    assert f"{year}年年终处理完成：1 户清零，共 30 分。" in texts(at)
    assert sum(r.to_clear for r in cycles.year_end_preview(village_db, vid, year)) == 0
    assert list(at.dataframe[0].value["action"]) == [f"{year}年已清零"]


def test_the_audit_page_finds_a_settings_change_by_text(village_db):
    vid = _vid(village_db)
    boss = user_id(village_db, "boss")
    from core.platform.auth import actor_for

    with village_db.read() as s:
        actor = actor_for(s.get(StaffUser, boss))
    settings.change(village_db, actor, vid, "public_url", "http://10.0.0.5:8501")
    at = app(boss)
    at.switch_page("pages/audit.py").run()
    assert not at.exception
    next(w for w in at.text_input if "包含文字" in w.label).input("10.0.0.5")
    at.button[0].click().run()
    assert not at.exception
    df = at.dataframe[0].value
    assert len(df) == 1 and (df.iloc[0]["action"], df.iloc[0]["target_type"]) == ("修改设置", "设置")
    assert df.iloc[0]["user_name"].endswith("（boss）")  # 操作人: the staff account, name and username


def test_removing_the_demo_resets_to_the_set_up_page(tmp_path, monkeypatch):
    use_data_dir(monkeypatch, tmp_path / "data", demo=False)
    db = db_for_env()
    create_village(db, SYSTEM, name="示范", township="", county="", grids=[], admin_username="demoadmin",
                   admin_name="x", admin_password="good-pass-1", first_run=True)
    from sqlalchemy import update

    with db.write() as s:
        s.execute(update(Village).values(is_demo=True))
    at = app(user_id(db, "demoadmin"))
    at.switch_page("pages/settings.py").run()
    next(w for w in at.text_input if "以确认" in w.label).input("删除示范数据")
    next(b for b in at.button if b.label == "删除示范数据").click().run()
    assert not at.exception
    assert "确认删除 1 个示范村的全部数据" in texts(at)  # the question says how much goes
    with db.read() as s:
        assert s.execute(select(func.count()).select_from(Village)).scalar_one() == 1  # not before 确认
    at.button(key="settings_remove_demo_back").click().run()  # 取消 keeps everything and closes the question
    assert "settings_remove_demo_do" not in [b.key for b in at.button]
    with db.read() as s:
        assert s.execute(select(func.count()).select_from(Village)).scalar_one() == 1
    next(w for w in at.text_input if "以确认" in w.label).input("删除示范数据")
    next(b for b in at.button if b.label == "删除示范数据").click().run()
    at.button(key="settings_remove_demo_do").click().run()
    assert not at.exception
    with db.read() as s:
        assert s.execute(select(func.count()).select_from(Village)).scalar_one() == 0
    assert (tmp_path / "data" / "demo-removed").exists()
    at.run()
    assert "首次设置" in texts(at)


def test_list_and_weight_settings_are_saved_from_their_forms(village_db):
    at = app(user_id(village_db, "boss"))
    at.switch_page("pages/settings.py").run()
    at.number_input(key="settings_star_household_thresholds_4").set_value(400)
    next(b for b in at.button if "排名与公示栏" in b.label).click().run()
    at.number_input(key="settings_beneficiary_weights_wubao").set_value(2.5)
    next(b for b in at.button if "党员义田" in b.label).click().run()
    assert not at.exception and not at.error
    vid = _vid(village_db)
    with village_db.read() as s:
        assert settings.get(s, vid, "star_household_thresholds") == [50, 100, 150, 200, 400]
        assert settings.get(s, vid, "beneficiary_weights")["wubao"] == 2.5
