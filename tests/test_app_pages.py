"""Every page renders for every role it is meant for, on the demo data and on an empty
database, and a role never sees a page it is not meant for."""

from __future__ import annotations

import pytest

from tests.app_helpers import DEMO_ROLES, app, db_for_env, log_in, use_data_dir, user_id
from ui import state
from ui.nav import PAGES

CASES = [(role, spec.module) for role in DEMO_ROLES for spec in PAGES if role in spec.roles]


@pytest.mark.parametrize("role,module", CASES)
def test_every_page_renders_for_every_role_on_the_demo_data(demo_db, role, module):
    at = app(user_id(demo_db, DEMO_ROLES[role]))
    at.switch_page(f"pages/{module}.py").run()
    assert not at.exception, f"{role} → {module}: {at.exception}"
    assert not [e for e in at.error if "没有权限" in str(e.value)]


def _render_page_directly(module: str):
    """Run one page's render() as its own script, the way a hand-typed URL would reach it."""
    import importlib

    importlib.import_module(f"pages.{module}").render()


@pytest.mark.parametrize("role", list(DEMO_ROLES))
def test_a_role_is_neither_shown_nor_served_pages_not_meant_for_it(demo_db, role):
    from streamlit.testing.v1 import AppTest


    uid = user_id(demo_db, DEMO_ROLES[role])
    at = app(uid).run()
    for spec in PAGES:
        if role in spec.roles:
            continue
        # the address is a hidden page saying 无权访问 (not Streamlit's English "Page not found"),
        # and the page itself does not run
        # (its function lives in ui/frame.py, so AppTest.switch_page cannot name it by file: open it
        # by its address, as a browser does)
        at._page_hash = next(h for h, info in at._registered_pages.items() if info.get("url_pathname") == spec.module)
        at.run()
        assert not at.exception
        assert any("无权访问" in str(e.value) for e in at.error), f"{role} → {spec.module}"
        assert spec.title in [t.value for t in at.title] and len(at.title) == 1
        assert not at.dataframe and not at.text_input and not at.number_input
        direct = AppTest.from_function(_render_page_directly, args=(spec.module,), default_timeout=30)
        log_in(direct, uid)
        direct.run()
        assert not direct.exception
        assert any("没有权限" in str(e.value) for e in direct.error), f"{role} was served {spec.module}"


def test_the_login_page_is_chinese_and_lists_demo_accounts(demo_db):
    at = app().run()
    assert not at.exception
    assert at.title[0].value == "村级积分制管理系统"
    assert [t.label for t in at.text_input] == ["用户名", "密码"]


def test_logging_in_through_the_form_opens_the_workbench(demo_db):
    at = app().run()
    at.text_input[0].input("admin")
    at.text_input[1].input("demo12345")
    at.button[0].click().run()
    assert not at.exception
    assert "工作台" in [t.value for t in at.title]


def test_a_wrong_password_shows_a_chinese_error(demo_db):
    at = app().run()
    at.text_input[0].input("admin")
    at.text_input[1].input("wrong-password")
    at.button[0].click().run()
    assert "用户名或密码不正确" in at.error[0].value


@pytest.fixture
def empty_app_db(tmp_path, monkeypatch):
    use_data_dir(monkeypatch, tmp_path / "data", demo=False)
    from core.platform.access import SYSTEM
    from core.village.setup import create_village
    from core.village.staff import create_user

    db = db_for_env()
    vid = create_village(db, SYSTEM, name="新村", township="新镇", county="新县", grids=["一组"],
                         admin_username="boss", admin_name="村主任", admin_password="boss-pass-1")
    for role in DEMO_ROLES:
        if role == "admin":
            continue
        create_user(db, SYSTEM, username=f"u_{role}", display_name=role, password="pass-word-1", roles=[role],
                    village_id=vid, township="新镇" if role == "township_viewer" else None,
                    must_change_password=False)
    from sqlalchemy import update

    from db.models import StaffUser

    with db.write() as s:
        s.execute(update(StaffUser).values(must_change_password=False))
    return db


@pytest.mark.parametrize("role,module", CASES)
def test_every_page_renders_for_every_role_on_an_empty_village(empty_app_db, role, module):
    username = "boss" if role == "admin" else f"u_{role}"
    at = app(user_id(empty_app_db, username))
    at.switch_page(f"pages/{module}.py").run()
    assert not at.exception, f"{role} → {module}: {at.exception}"


def test_the_frame_freezes_what_a_first_visit_loaded_and_nothing_on_later_reruns(demo_db, monkeypatch):
    """gc.freeze() keeps full garbage collections short (BENCHMARKS.md); it must run when new
    modules arrived, not on every rerun (each freeze would pin that moment's garbage)."""
    import gc

    import ui.frame as frame

    calls = []
    real_freeze = gc.freeze
    monkeypatch.setattr(gc, "freeze", lambda: (calls.append(1), real_freeze()))
    gc.unfreeze()
    frame._frozen_modules = 0
    at = app(user_id(demo_db, DEMO_ROLES["admin"]))
    at.run()
    assert not at.exception
    assert len(calls) == 1 and gc.get_freeze_count() > 10_000  # the modules, classes and metadata loaded so far
    at.run()
    at.run()
    assert len(calls) == 1


LAZY_TABS = {"overview": state.OVERVIEW_TAB, "rankings": state.RANKINGS_TAB, "field": state.FIELD_TAB,
             "volunteers": state.VOLUNTEERS_TAB}


@pytest.mark.parametrize("module", LAZY_TABS)
def test_every_lazy_tab_opens_and_only_the_open_tab_runs(demo_db, module):
    at = app(user_id(demo_db, DEMO_ROLES["admin"])).switch_page(f"pages/{module}.py").run()
    assert not at.exception
    labels = [t.label for t in at.tabs]
    assert len(labels) >= 4
    for label in labels:
        at.session_state[LAZY_TABS[module]] = label
        at.run()
        assert not at.exception, (label, at.exception)
        assert [t.label for t in at.tabs if len(t.children)] == [label]


def test_the_overview_of_a_village_without_points_says_so_instead_of_an_empty_chart(monkeypatch, tmp_path):
    from tests.factories import give_points, make_village

    use_data_dir(monkeypatch, tmp_path, demo=False)
    db = db_for_env()
    v = make_village(db)
    at = app(v.actors["admin"].user_id).switch_page("pages/overview.py")
    at.session_state[state.OVERVIEW_TAB] = "网格对比"
    at.run()
    assert not at.exception
    assert any("各网格还没有加分或扣分" in i.value for i in at.info)
    assert not at.get("vega_lite_chart")
    give_points(db, v.household_ids[0], 5, "first")
    at.run()
    assert not at.info and len(at.get("vega_lite_chart")) == 1
