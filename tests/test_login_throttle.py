"""Guessing passwords is slowed per account name and per client, without handing a stranger a way
to lock anyone out: the account's wait does not apply to a browser where that user has logged in
before, an unknown name behaves exactly like a wrong password (same messages, same waits), and
which address counts as the client is decided by the trusted-proxy setting."""

from __future__ import annotations

import datetime as dt

import pytest

from core.platform import auth, login_throttle
from core.platform.errors import LoginFailed
from tests.factories import PASSWORD

KEY = b"test-secret-key"
T0 = dt.datetime(2026, 12, 5, 9, 0, 0)


def attempt(db, username, password, client, at, device=None):
    """The message a login attempt gets ('' when it succeeds)."""
    try:
        auth.authenticate(db, username, password, client=client, device_cookie=device, key=KEY, now=at)
    except LoginFailed as e:
        return str(e)
    return ""


def test_an_unknown_name_and_a_wrong_password_get_the_same_messages_and_waits(db, village):
    known = [attempt(db, "t001_admin", "wrong-password", "10.0.0.1", T0 + dt.timedelta(seconds=i))
             for i in range(8)]
    unknown = [attempt(db, "nobody_here", "wrong-password", "10.0.0.2", T0 + dt.timedelta(seconds=i))
               for i in range(8)]
    assert known == unknown
    assert known[0] == "用户名或密码不正确。"
    assert not any("锁定" in m or "再错" in m for m in known)


def test_wrong_passwords_tell_an_outsider_nothing_about_the_name(db, village):
    def messages(name):
        out = []
        for _ in range(3):  # before any wait (the waits' timing is tested above, with a given clock)
            try:
                auth.authenticate(db, name, "wrong-password")
            except LoginFailed as e:
                out.append(str(e).split("，请")[0])
        return out

    assert messages("t001_grid_worker") == messages("no_such_user")


def test_a_stranger_cannot_lock_the_admin_out_of_a_browser_the_admin_used_before(db, village):
    admin = auth.authenticate(db, "t001_admin", PASSWORD, client="10.0.0.9", key=KEY, now=T0)
    device = auth.remember_device(None, KEY, admin)  # the cookie the admin's browser got at that login
    t = T0 + dt.timedelta(minutes=1)
    for i in range(40):  # a stranger keeps guessing, from many addresses, as fast as allowed
        t += dt.timedelta(seconds=1)
        attempt(db, "t001_admin", f"guess-{i}", f"198.51.100.{i % 20}", t)
    stranger = attempt(db, "t001_admin", PASSWORD, "198.51.100.99", t + dt.timedelta(seconds=1))
    assert "后再试" in stranger  # even the right password waits, from a browser never used by the admin
    assert attempt(db, "t001_admin", PASSWORD, "10.0.0.9", t + dt.timedelta(seconds=1), device=device) == ""


def test_the_wait_of_an_account_grows_and_is_capped_so_it_never_becomes_a_lock(db, village):
    waits, t = [], T0
    for i in range(16):
        msg = attempt(db, "t001_cashier", f"guess-{i}", f"203.0.113.{i}", t)
        assert msg == "用户名或密码不正确。", (i, msg)
        waits.append(login_throttle.seconds_left(db, [login_throttle.account_key("t001_cashier")], t))
        t += dt.timedelta(seconds=max(waits[-1], 0) + 1)
    assert waits[:2] == [0, 0] and waits[2] > 0
    assert waits == sorted(waits) and max(waits) == login_throttle.ACCOUNT_MAX_WAIT
    assert attempt(db, "t001_cashier", PASSWORD, "203.0.113.50", t) == ""  # after the wait: in


def test_one_client_trying_many_names_is_slowed_for_every_name(db, village):
    t = T0
    for i in range(login_throttle.CLIENT_FREE_FAILURES):
        attempt(db, f"name{i}", "password-1", "192.0.2.7", t)
        t += dt.timedelta(seconds=1)
    assert "后再试" in attempt(db, "t001_cashier", PASSWORD, "192.0.2.7", t)
    assert attempt(db, "t001_cashier", PASSWORD, "192.0.2.8", t) == ""  # another client is not affected


@pytest.mark.parametrize(("peer", "forwarded", "trusted", "expected"), [
    ("127.0.0.1", "10.0.0.7", "127.0.0.1,::1", "10.0.0.7"),  # a local proxy's forwarded address counts
    ("127.0.0.1", "6.6.6.6, 10.0.0.7", "127.0.0.1", "10.0.0.7"),  # a forged first entry does not
    ("127.0.0.1", "10.0.0.7", "", "127.0.0.1"),  # no trusted proxy: the header is ignored
    ("203.0.113.9", "10.0.0.7", "127.0.0.1", "203.0.113.9"),  # not from the proxy: ignored
    ("10.1.2.3", "192.0.2.44", "10.1.0.0/16", "192.0.2.44"),  # a proxy on another machine
    ("127.0.0.1", "not-an-address", "127.0.0.1", "127.0.0.1"),
])
def test_the_trusted_proxy_setting_decides_whether_forwarded_addresses_count(peer, forwarded, trusted, expected):
    from core.platform.clients import client_address, parse_trusted

    assert client_address(peer, forwarded, parse_trusted(trusted)) == expected
