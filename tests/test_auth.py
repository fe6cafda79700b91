"""Staff login on both databases: passwords, throttling, lockout, sessions, roles."""

from __future__ import annotations

import datetime as dt

import pytest
from sqlalchemy import select, update

from core.platform import auth
from core.platform.access import SYSTEM
from core.platform.errors import AccountLocked, AlreadyDone, InvalidInput, LoginFailed, NotAllowed
from core.village.staff import create_user
from db.models import AuditLog, StaffUser
from tests.factories import PASSWORD


def username(village, role):
    return f"t001_{role}"


def test_the_right_password_logs_in(db, village):
    user = auth.authenticate(db, username(village, "cashier"), PASSWORD)
    assert user.roles == "cashier"


def test_usernames_are_case_insensitive(db, village):
    assert auth.authenticate(db, "T001_CASHIER", PASSWORD).username == "t001_cashier"


def test_a_wrong_password_is_refused_without_saying_how_many_tries_are_left(db, village):
    with pytest.raises(LoginFailed, match="^用户名或密码不正确。$"):
        auth.authenticate(db, username(village, "cashier"), "nope-nope")


def test_an_unknown_user_gets_the_same_message_as_a_wrong_password(db, village):
    with pytest.raises(LoginFailed, match="^用户名或密码不正确。$"):
        auth.authenticate(db, "nobody", "whatever1")


def test_empty_credentials_are_refused(db, village):
    with pytest.raises(LoginFailed, match="请输入"):
        auth.authenticate(db, " ", "")


def test_repeated_failures_make_the_next_try_wait_but_never_lock_the_account(db, village):
    name = username(village, "cashier")
    t = dt.datetime(2026, 12, 5, 9, 0, 0)
    for i in range(3):
        with pytest.raises(LoginFailed, match="^用户名或密码不正确。$"):
            auth.authenticate(db, name, "bad-password", client=f"10.9.0.{i}", now=t)
    with pytest.raises(AccountLocked, match="秒后再试"):
        auth.authenticate(db, name, PASSWORD, client="10.9.0.9", now=t)  # even the right password waits
    later = t + dt.timedelta(seconds=3)
    assert auth.authenticate(db, name, PASSWORD, client="10.9.0.9", now=later).username == name


def test_a_deactivated_user_cannot_log_in(db, village):
    name = username(village, "cashier")
    with db.write() as s:
        s.execute(update(StaffUser).where(StaffUser.username == name).values(active=False))
    with pytest.raises(LoginFailed):
        auth.authenticate(db, name, PASSWORD)


def test_failed_and_successful_logins_are_audited_without_the_password(db, village):
    name = username(village, "cashier")
    with pytest.raises(LoginFailed):
        auth.authenticate(db, name, "secret-typo-1")
    auth.authenticate(db, name, PASSWORD)
    with db.read() as s:
        rows = s.execute(select(AuditLog.action, AuditLog.detail)).all()
    assert [a for a, _ in rows] == ["auth.failed", "auth.login"]
    assert all("secret-typo-1" not in d and PASSWORD not in d for _, d in rows)


def test_a_session_survives_until_logout(db, village):
    uid = village.actors["cashier"].user_id
    sid, code = auth.start_session(db, uid)
    assert auth.redeem_handoff(db, code) == sid
    assert auth.user_for_session(db, sid).id == uid
    auth.end_session(db, sid)
    assert auth.user_for_session(db, sid) is None


def test_a_handoff_code_works_once(db, village):
    sid, code = auth.start_session(db, village.actors["cashier"].user_id)
    assert auth.redeem_handoff(db, code) == sid
    assert auth.redeem_handoff(db, code) is None
    assert auth.redeem_handoff(db, "made-up") is None


def test_an_expired_session_is_not_accepted(db, village):
    from db.models import AuthSession

    sid, _ = auth.start_session(db, village.actors["cashier"].user_id)
    with db.write() as s:
        s.execute(update(AuthSession).where(AuthSession.id == sid)
                  .values(expires_at=dt.datetime.now() - dt.timedelta(minutes=1)))
    assert auth.user_for_session(db, sid) is None


def test_ending_all_sessions_logs_a_user_out_everywhere(db, village):
    uid = village.actors["cashier"].user_id
    a, _ = auth.start_session(db, uid)
    b, _ = auth.start_session(db, uid)
    with db.write() as s:
        auth.end_all_sessions(s, uid)
    assert auth.user_for_session(db, a) is None and auth.user_for_session(db, b) is None


def test_a_signed_cookie_cannot_be_forged():
    key = b"k" * 32
    cookie = auth.sign("abc", key)
    assert auth.unsign(cookie, key) == "abc"
    assert auth.unsign("abc.deadbeef", key) is None
    assert auth.unsign(cookie, b"other-key") is None
    assert auth.unsign(None, key) is None
    assert auth.unsign("x" * 500, key) is None


def test_changing_ones_password_needs_the_old_one_and_a_strong_new_one(db, village):
    uid = village.actors["cashier"].user_id
    with pytest.raises(LoginFailed, match="原密码"):
        auth.change_own_password(db, uid, "wrong-old-1", "new-password-1")
    with pytest.raises(InvalidInput, match="至少 8 位"):
        auth.change_own_password(db, uid, PASSWORD, "short")
    auth.change_own_password(db, uid, PASSWORD, "new-password-1")
    assert auth.authenticate(db, "t001_cashier", "new-password-1")


def test_passwords_are_stored_as_argon2id_hashes(db, village):
    with db.read() as s:
        h = s.execute(select(StaffUser.password_hash).where(StaffUser.username == "t001_cashier")).scalar_one()
    assert h.startswith("$argon2id$") and PASSWORD not in h


def test_only_an_admin_of_the_village_creates_staff(db, village):
    with pytest.raises(NotAllowed, match="没有权限"):
        create_user(db, village.actors["cashier"], username="newbie", display_name="新人", password="pass-word-1",
                    roles=["cashier"], village_id=village.id)
    uid = create_user(db, village.admin, username="newbie", display_name="新人", password="pass-word-1",
                      roles=["cashier"], village_id=village.id)
    assert uid
    with pytest.raises(AlreadyDone, match="已被使用"):
        create_user(db, SYSTEM, username="NEWBIE", display_name="重复", password="pass-word-1", roles=["cashier"],
                    village_id=village.id)


@pytest.mark.parametrize(
    "kwargs,message",
    [
        ({"username": "a"}, "用户名"),
        ({"username": "有中文"}, "用户名"),
        ({"display_name": " "}, "姓名"),
        ({"roles": []}, "角色"),
        ({"roles": ["king"]}, "未知的角色"),
        ({"password": "1234567"}, "至少 8 位"),
        ({"village_id": None}, "所属村"),
    ],
)
def test_bad_staff_input_gets_a_clear_chinese_error_and_writes_nothing(db, village, kwargs, message):
    args = {"username": "okname", "display_name": "好人", "password": "pass-word-1", "roles": ["cashier"],
            "village_id": village.id} | kwargs
    with pytest.raises((InvalidInput, NotAllowed), match=message):
        create_user(db, SYSTEM, **args)
    with db.read() as s:
        assert s.execute(select(StaffUser).where(StaffUser.username == args["username"])).first() is None
