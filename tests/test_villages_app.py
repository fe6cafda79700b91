"""村庄管理 and 村际比较 in AppTest on the demo data: a county admin creates, renames and moves a
village (each after a confirmation), sees Chinese errors, and compares by level."""

from __future__ import annotations

from sqlalchemy import func, select

from db.models import AuditLog, StaffUser, Village
from tests.app_helpers import app, texts, user_id


def _by_label(widgets, label: str):
    return next(w for w in widgets if w.label == label)


def _button(at, label: str):
    return next(b for b in at.button if b.label == label)


def _create(at, name: str, username: str):
    _by_label(at.text_input, "村名").input(name)
    _by_label(at.text_input, "首位村管理员用户名").input(username)
    _by_label(at.text_input, "村管理员姓名").input("赵村长")
    return _button(at, "新建村…").click().run()


def test_a_county_admin_creates_a_village_after_confirming_and_sees_the_password_once(demo_db):
    at = app(user_id(demo_db, "quguan")).switch_page("pages/villages.py").run()
    assert not at.exception
    assert "文祖北村" in list(at.dataframe[0].value["村"])
    at = _create(at, "文祖南村", "wznc_admin")
    assert "确认在文祖街道新建“文祖南村”" in texts(at)
    with demo_db.read() as s:  # nothing written before 确认
        assert s.execute(select(func.count()).select_from(Village)).scalar_one() == 1
    at = _button(at, "确认").click().run()
    assert not at.exception
    assert "初始密码只显示这一次" in texts(at)
    password = at.code[0].value
    from core.platform.auth import authenticate

    assert authenticate(demo_db, "wznc_admin", password).username == "wznc_admin"
    with demo_db.read() as s:
        v = s.execute(select(Village).where(Village.name == "文祖南村")).scalar_one()
        assert (v.township, v.county) == ("文祖街道", "章丘区")
        assert s.execute(select(StaffUser.must_change_password).where(StaffUser.username == "wznc_admin")
                         ).scalar_one() is True
        assert s.execute(select(func.count()).select_from(AuditLog)
                         .where(AuditLog.action == "village.create", AuditLog.village_id == v.id)).scalar_one() == 1
    at = _button(at, "知道了").click().run()  # gone at the next click: shown once
    assert not at.code and "文祖南村" in list(at.dataframe[0].value["村"])

    # the same name again: a Chinese error, nothing written
    at = _create(at, "文祖南村", "another_admin")
    at = _button(at, "确认").click().run()
    assert "文祖街道已经有名为“文祖南村”的村" in texts(at)
    with demo_db.read() as s:
        assert s.execute(select(func.count()).select_from(Village)).scalar_one() == 2

    # an empty name is refused before any question
    at = _create(at, "  ", "third_admin")
    assert "请填写村名" in texts(at) and "确认在" not in texts(at)


def test_rename_and_move_ask_first_and_cancel_writes_nothing(demo_db):
    at = app(user_id(demo_db, "quguan")).switch_page("pages/villages.py").run()
    _by_label(at.text_input, "新村名").input("文祖北村（新）")
    at = _button(at, "改名…").click().run()
    at = _button(at, "取消").click().run()
    with demo_db.read() as s:
        assert s.execute(select(Village.name)).scalar_one() == "文祖北村"
    _by_label(at.text_input, "新村名").input("文祖北村（新）")
    at = _button(at, "改名…").click().run()
    at = _button(at, "确认").click().run()
    assert not at.exception and "已改名为“文祖北村（新）”" in texts(at)
    at.selectbox(key="villages_move_township").select("（另填一个镇街）").run()
    at.text_input(key="villages_move_township_new").input("埠村街道").run()
    at = _button(at, "调整…").click().run()
    at = _button(at, "确认").click().run()
    assert not at.exception
    with demo_db.read() as s:
        assert s.execute(select(Village.name, Village.township)).one() == ("文祖北村（新）", "埠村街道")


def test_a_township_admin_cannot_move_villages_and_compares_by_township(demo_db):
    at = app(user_id(demo_db, "zhenguan")).switch_page("pages/villages.py").run()
    assert not at.exception
    assert "需要县级管理员" in texts(at) and not [b for b in at.button if b.label == "调整…"]
    at = app(user_id(demo_db, "zhenguan")).switch_page("pages/compare.py").run()
    assert not at.exception
    level = at.segmented_control(key="compare_level")
    assert list(level.options) == ["镇（街道）", "村"]
    # the period defaults to the last complete month, not the one that has just begun
    import datetime as dt

    from core.reporting import periods

    assert at.selectbox(key="compare_period_month").value == periods.last_complete("month", dt.date.today())
    at = level.set_value("township").run()
    assert list(at.dataframe[0].value["镇（街道）"]) == ["文祖街道"]
