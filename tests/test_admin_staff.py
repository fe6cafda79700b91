"""Staff accounts: create, roles, password reset, deactivate; the last admin is protected."""

from __future__ import annotations

import pytest
from sqlalchemy import select

from core.platform import auth
from core.platform.errors import InvalidInput, LoginFailed, NotAllowed
from core.village import staff
from db.models import AuditLog, AuthSession, StaffUser
from tests.factories import PASSWORD, make_village


def _user(db, uid):
    with db.read() as s:
        return s.get(StaffUser, uid)


def _new(db, v, roles=("cashier",), username="newbie"):
    return staff.create_user(db, v.admin, username=username, display_name="新人", password="temp-pass-123",
                             roles=list(roles), village_id=v.id)


def test_an_admin_creates_and_edits_a_staff_account(db, village):
    uid = _new(db, village)
    assert _user(db, uid).must_change_password
    staff.set_roles(db, village.admin, uid, ["cashier", "grid_worker"])
    assert set(_user(db, uid).roles.split(",")) == {"cashier", "grid_worker"}
    staff.set_display_name(db, village.admin, uid, "收银员小王")
    assert _user(db, uid).display_name == "收银员小王"
    users = staff.users(db, village.id)
    mine = next(u for u in users if u.id == uid)
    assert (mine.display_name, set(mine.roles), mine.active) == ("收银员小王", {"cashier", "grid_worker"}, True)
    assert "password_hash" not in staff.UserRow.__dataclass_fields__
    with db.read() as s:
        actions = set(s.execute(select(AuditLog.action).where(AuditLog.target_id == str(uid))).scalars())
    assert {"staff.create", "staff.roles", "staff.rename"} <= actions


def test_a_password_reset_forces_a_change_and_ends_every_session(db, village):
    uid = _new(db, village)
    auth.start_session(db, uid)
    auth.start_session(db, uid)
    staff.reset_password(db, village.admin, uid, "another-pass-456")
    user = _user(db, uid)
    assert user.must_change_password
    with db.read() as s:
        open_ = s.execute(select(AuthSession).where(AuthSession.user_id == uid,
                                                    AuthSession.revoked_at.is_(None))).all()
        details = list(s.execute(select(AuditLog.detail).where(AuditLog.action == "staff.reset_password")).scalars())
    assert open_ == []
    assert all("another-pass-456" not in d for d in details)
    assert auth.authenticate(db, "newbie", "another-pass-456").id == uid


def test_a_deactivated_account_cannot_log_in_and_is_logged_out(db, village):
    uid = _new(db, village)
    sid, _ = auth.start_session(db, uid)
    staff.set_active(db, village.admin, uid, False)
    assert auth.user_for_session(db, sid) is None
    with pytest.raises(LoginFailed):
        auth.authenticate(db, "newbie", "temp-pass-123")
    staff.set_active(db, village.admin, uid, True)
    assert auth.authenticate(db, "newbie", "temp-pass-123").id == uid


def test_the_last_admin_of_a_village_cannot_be_demoted_or_deactivated(db, village):
    admin_id = village.admin.user_id
    with pytest.raises(NotAllowed, match="最后一位"):
        staff.set_roles(db, village.admin, admin_id, ["committee"])
    other = make_village(db, name="乙村", code="T002")
    second = _new(db, village, roles=("admin",), username="second")
    with pytest.raises(NotAllowed, match="自己"):
        staff.set_active(db, village.admin, admin_id, False)
    staff.set_active(db, village.admin, second, False)  # two admins → one may go
    with pytest.raises(NotAllowed, match="最后一位"):
        staff.set_roles(db, village.admin, admin_id, ["cashier"])
    assert "admin" in _user(db, admin_id).roles
    # Another village's admins do not count for this village.
    assert other.admin.user_id != admin_id


def test_an_admin_can_demote_another_admin_while_one_remains(db, village):
    second = _new(db, village, roles=("admin", "committee"), username="second")
    staff.set_roles(db, village.admin, second, ["committee"])
    assert _user(db, second).roles == "committee"


def test_an_admin_cannot_manage_users_of_another_village(db, village):
    other = make_village(db, name="乙村", code="T002")
    target = other.actors["cashier"].user_id
    for call in (lambda: staff.set_roles(db, village.admin, target, ["admin"]),
                 lambda: staff.reset_password(db, village.admin, target, "hijack-pass-1"),
                 lambda: staff.set_active(db, village.admin, target, False),
                 lambda: staff.set_display_name(db, village.admin, target, "x")):
        with pytest.raises(NotAllowed):
            call()
    with pytest.raises(NotAllowed):
        staff.create_user(db, village.admin, username="intruder", display_name="x", password="temp-pass-123",
                          roles=["admin"], village_id=other.id)
    assert _user(db, target).roles == "cashier" and _user(db, target).active


def test_an_admin_cannot_grant_the_township_viewer_role(db, village):
    uid = _new(db, village)
    with pytest.raises(NotAllowed, match="镇街"):
        staff.set_roles(db, village.admin, uid, ["township_viewer"])
    with pytest.raises(NotAllowed):
        staff.create_user(db, village.admin, username="viewer2", display_name="x", password="temp-pass-123",
                          roles=["township_viewer"], village_id=village.id)
    with pytest.raises(NotAllowed):
        staff.set_roles(db, village.admin, village.actors["township_viewer"].user_id, ["admin"])


def test_non_admins_cannot_manage_staff(db, village):
    uid = _new(db, village)
    for role in ("committee", "cashier", "grid_worker"):
        with pytest.raises(NotAllowed):
            staff.set_roles(db, village.actors[role], uid, ["admin"])


def test_bad_input_is_refused_in_chinese(db, village):
    uid = _new(db, village)
    with pytest.raises(InvalidInput):
        staff.set_roles(db, village.admin, uid, [])
    with pytest.raises(InvalidInput):
        staff.set_roles(db, village.admin, uid, ["boss"])
    with pytest.raises(InvalidInput):
        staff.reset_password(db, village.admin, uid, "short")
    with pytest.raises(InvalidInput):
        staff.set_display_name(db, village.admin, uid, " ")
    assert PASSWORD  # the factory's users keep their password


def test_two_admins_demoting_each_other_at_once_leave_one_admin(db, village):
    import threading

    from core.platform.auth import actor_for

    second = _new(db, village, roles=("admin",), username="second")
    with db.read() as s:
        second_actor = actor_for(s.get(StaffUser, second))
    first = village.admin.user_id
    barrier = threading.Barrier(2)
    outcomes: list[str] = []

    def demote(actor, target):
        barrier.wait()
        try:
            staff.set_roles(db, actor, target, ["committee"])
            outcomes.append("ok")
        except NotAllowed:
            outcomes.append("refused")

    threads = [threading.Thread(target=demote, args=(village.admin, second)),
               threading.Thread(target=demote, args=(second_actor, first))]
    for t in threads:
        t.start()
    for t in threads:
        t.join()
    assert sorted(outcomes) == ["ok", "refused"]
    with db.read() as s:
        admins = [u for u in s.execute(select(StaffUser).where(StaffUser.village_id == village.id)).scalars()
                  if "admin" in u.roles.split(",")]
    assert len(admins) == 1
