"""A login lives in the database, not in the browser tab: every rerun checks the login session row,
so logging out, expiry, a password change, a role change, deactivation and an admin's password
reset end the session in an open tab at its very next click (AppTest; tests/e2e/test_security_browser.py
does the same with two real browser tabs)."""

from __future__ import annotations

import datetime as dt

import pytest
from sqlalchemy import select, update

from core.platform import auth
from core.village import staff
from db.models import AuthSession, StaffUser
from tests.app_helpers import app, db_for_env, texts, use_data_dir
from tests.factories import PASSWORD, make_village
from ui import state


@pytest.fixture
def small(tmp_path, monkeypatch):
    use_data_dir(monkeypatch, tmp_path / "data", demo=False)
    db = db_for_env()
    yield db, make_village(db, households=2)
    db.dispose()


def login_form(username: str):
    """A tab where the user has logged in through the form."""
    at = app().run()
    at.text_input[0].input(username)
    at.text_input[1].input(PASSWORD)
    at.button[0].click().run()
    assert not at.exception
    assert at.session_state[state.SESSION_ID]
    return at


def logged_in(db, username: str):
    """A tab where the user has logged in (the calls the login form makes) and opened the counter."""
    user = auth.authenticate(db, username, PASSWORD)
    sid, _code = auth.start_session(db, user.id)
    at = app()
    at.session_state[state.USER_ID] = user.id
    at.session_state[state.SESSION_ID] = sid
    at.switch_page("pages/checkout.py").run()
    assert "收银台" in [t.value for t in at.title]
    return at


def shows_login(at) -> bool:
    return [t.label for t in at.text_input][:2] == ["用户名", "密码"] and "收银台" not in texts(at)


def next_click(at):
    """The tab's next interaction (any rerun), e.g. a scan at the counter."""
    at.run()
    assert not at.exception
    return at


def _sid(at) -> str:
    return at.session_state[state.SESSION_ID]


def test_logging_out_in_another_tab_ends_this_one(small):
    db, v = small
    tab = logged_in(db, "t001_cashier")
    auth.end_session(db, _sid(tab))  # what 退出登录 in the second tab of this browser does
    assert shows_login(next_click(tab))


def test_an_expired_login_ends_at_the_next_click(small):
    db, v = small
    tab = logged_in(db, "t001_cashier")
    with db.write() as s:
        s.execute(update(AuthSession).where(AuthSession.id == _sid(tab))
                  .values(expires_at=dt.datetime.now() - dt.timedelta(seconds=1)))
    assert shows_login(next_click(tab))


def test_changing_ones_own_password_ends_every_other_session(small):
    db, v = small
    with db.write() as s:  # first login after an admin set the password: the change-password page
        s.execute(update(StaffUser).where(StaffUser.id == v.actors["cashier"].user_id)
                  .values(must_change_password=True))
    phone = login_form("t001_cashier")
    office = login_form("t001_cashier")
    form = {t.label: t for t in office.text_input}
    form["原密码"].input(PASSWORD)
    form["新密码（至少 8 位）"].input("a-new-password-7")
    form["再次输入新密码"].input("a-new-password-7")
    next(b for b in office.button if b.label == "修改密码").click().run()
    assert not office.exception
    assert "工作台" in [t.value for t in next_click(office).title]  # the tab that changed it carries on
    assert shows_login(next_click(phone))


def test_a_role_change_ends_every_session_of_that_user(small):
    db, v = small
    tab = logged_in(db, "t001_cashier")
    staff.set_roles(db, v.admin, v.actors["cashier"].user_id, ["cashier", "grid_worker"])
    assert shows_login(next_click(tab))


def test_deactivation_ends_every_session_of_that_user(small):
    db, v = small
    tab = logged_in(db, "t001_cashier")
    staff.set_active(db, v.admin, v.actors["cashier"].user_id, False)
    assert shows_login(next_click(tab))


def test_an_admins_password_reset_ends_every_session_of_that_user(small):
    db, v = small
    tab = logged_in(db, "t001_cashier")
    staff.reset_password(db, v.admin, v.actors["cashier"].user_id, "temporary-pass-1")
    assert shows_login(next_click(tab))
    with db.read() as s:
        assert all(r.revoked_at for r in s.execute(select(AuthSession)).scalars())


def test_a_tab_holding_only_a_user_id_is_not_logged_in(small):
    db, v = small
    at = app()
    at.session_state[state.USER_ID] = v.actors["admin"].user_id  # no login session behind it
    at.run()
    assert shows_login(at)
    with db.read() as s:
        assert s.execute(select(StaffUser.id)).first() is not None
