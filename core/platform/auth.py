"""Staff login: argon2id passwords, throttled guessing (core.platform.login_throttle), database-backed sessions.

A browser session survives a reload through an HttpOnly cookie holding a random
session id and its HMAC. The login form cannot set an HttpOnly cookie itself, so it
creates the session with a one-time hand-off code; the browser is sent to
``/auth/session?code=...`` (a route of ``serve.py``) which swaps the code for the cookie.
Every rerun of every tab reads the row (ui.guard): revoking it (logout) ends that browser's
login in all its tabs at their next click; a password change or reset, a role change and a
deactivation revoke every row of the user; an expired row counts as revoked.
"""

from __future__ import annotations

import datetime as dt
import functools
import hashlib
import hmac
import secrets

from argon2 import PasswordHasher
from argon2.exceptions import InvalidHashError, VerificationError
from sqlalchemy import func, select, update

from core.platform import login_throttle
from core.platform.access import ROLES, Actor
from core.platform.audit import record
from core.platform.errors import AccountLocked, InvalidInput, LoginFailed
from db.models import AuthSession, StaffUser

_hasher = PasswordHasher()  # argon2id with the library's current defaults


@functools.cache
def _dummy_hash() -> str:
    """A hash of a random password: verifying against it for unknown users keeps
    "unknown user" and "wrong password" equally slow. Made on first use, not at import
    (an argon2 hash costs 64 MiB and a quarter second; most processes never need it)."""
    return _hasher.hash(secrets.token_hex(8))

SESSION_HOURS = 12
HANDOFF_SECONDS = 60
DEVICE_COOKIE = "jifen_device"  # "this browser has logged in as these users before" (signed)
DEVICE_DAYS = 365
DEVICE_ENTRIES = 8  # users remembered per browser (a shared office PC)
WRONG = "用户名或密码不正确。"
MIN_PASSWORD = 8


def _now() -> dt.datetime:
    return dt.datetime.now().replace(microsecond=0)


def hash_password(password: str) -> str:
    check_password_strength(password)
    return _hasher.hash(password)


def check_password_strength(password: str) -> None:
    if not isinstance(password, str) or len(password) < MIN_PASSWORD:
        raise InvalidInput(f"密码至少 {MIN_PASSWORD} 位。")
    if len(password) > 128:
        raise InvalidInput("密码不能超过 128 位。")
    if password.isdigit() and len(set(password)) <= 2:
        raise InvalidInput("密码过于简单。")


def actor_for(user: StaffUser) -> Actor:
    return Actor(
        user_id=user.id,
        name=user.display_name,
        roles=frozenset(r for r in user.roles.split(",") if r in ROLES),
        village_id=user.village_id,
        township=user.township,
        county=user.county,
    )


def authenticate(db, username: str, password: str, *, client: str | None = None,
                 device_cookie: str | None = None, key: bytes | None = None,
                 now: dt.datetime | None = None) -> StaffUser:
    """Check a username and password from ``client`` (an address, core.platform.clients), slowing guessing
    per account name and per client (core.platform.login_throttle).

    The same message and the same waits for an unknown name and a wrong password. The account's
    wait is skipped when ``device_cookie`` (signed with ``key``) shows that this browser has
    logged in as that user before: a stranger can slow guesses at the admin's account but cannot
    keep the admin out of the office PC. Failures are counted in their own transaction, so they
    stick although the caller sees an exception."""
    username = (username or "").strip()
    if not username or not password:
        raise LoginFailed("请输入用户名和密码。")
    if len(username) > 100 or len(password) > 1024:
        raise LoginFailed(WRONG)
    now = now or _now()
    account = login_throttle.account_key(username)
    client_key = login_throttle.client_key(client)
    with db.read() as s:
        user = s.execute(select(StaffUser).where(func.lower(StaffUser.username) == username.lower(),
                                                 StaffUser.active.is_(True))).scalar()
        stored = user.password_hash if user else None
    known = user is not None and key is not None and is_known_device(device_cookie, key, user)
    wait = login_throttle.seconds_left(db, [client_key] if known else [client_key, account], now)
    if wait:
        raise AccountLocked(f"尝试过于频繁，请 {wait} 秒后再试。")
    try:
        _hasher.verify(stored or _dummy_hash(), password)
        ok = stored is not None
    except (VerificationError, InvalidHashError):
        ok = False
    if not ok:
        counts = login_throttle.failed(
            db, now, (account, login_throttle.ACCOUNT_FREE_FAILURES, login_throttle.ACCOUNT_MAX_WAIT),
            (client_key, login_throttle.CLIENT_FREE_FAILURES, login_throttle.CLIENT_MAX_WAIT))
        if user is not None:
            with db.write() as s:
                record(s, Actor(user.id, user.display_name), "auth.failed", "staff_user", user.id,
                       {"failed": counts[account]}, village_id=user.village_id)
        raise LoginFailed(WRONG)
    with db.write() as s:
        user = s.get(StaffUser, user.id)
        if _hasher.check_needs_rehash(user.password_hash):
            user.password_hash = _hasher.hash(password)
        user.failed_logins = 0
        user.locked_until = None
        user.last_login_at = now
        record(s, actor_for(user), "auth.login", "staff_user", user.id, village_id=user.village_id)
    login_throttle.cleared(db, account)
    return user


# ---------------------------------------------------------------- sessions


def _new_session(s, user_id: int) -> tuple[str, str]:
    sid = secrets.token_hex(32)
    code = secrets.token_urlsafe(24)
    s.add(AuthSession(
        id=sid,
        user_id=user_id,
        expires_at=_now() + dt.timedelta(hours=SESSION_HOURS),
        handoff_hash=hashlib.sha256(code.encode()).hexdigest(),
        handoff_expires_at=_now() + dt.timedelta(seconds=HANDOFF_SECONDS),
    ))
    return sid, code


def start_session(db, user_id: int) -> tuple[str, str]:
    """Create a browser session; returns (session_id, one-time hand-off code)."""
    with db.write() as s:
        return _new_session(s, user_id)


def redeem_handoff(db, code: str) -> str | None:
    """Swap a hand-off code for its session id, once."""
    if not code or len(code) > 100:
        return None
    digest = hashlib.sha256(code.encode()).hexdigest()
    with db.write() as s:
        row = s.execute(select(AuthSession).where(AuthSession.handoff_hash == digest)).scalar()
        if row is None:
            return None
        ok = row.handoff_expires_at and row.handoff_expires_at >= _now() and row.revoked_at is None
        row.handoff_hash = None
        row.handoff_expires_at = None
        return row.id if ok else None


def sign(session_id: str, key: bytes) -> str:
    mac = hmac.new(key, session_id.encode(), hashlib.sha256).hexdigest()
    return f"{session_id}.{mac}"


def unsign(cookie: str | None, key: bytes) -> str | None:
    if not cookie or "." not in cookie or len(cookie) > 200:
        return None
    sid, mac = cookie.rsplit(".", 1)
    good = hmac.new(key, sid.encode(), hashlib.sha256).hexdigest()
    return sid if hmac.compare_digest(mac, good) else None


def user_for_session(db, session_id: str | None) -> StaffUser | None:
    """The active user behind a session id, or None if it is unknown, expired or revoked.

    Called on every rerun of every tab (one indexed read): this is what makes a logout, an
    expiry, a password change, a role change or a deactivation end an open tab at once."""
    if not session_id or not isinstance(session_id, str) or len(session_id) > 64:
        return None
    with db.read() as s:
        user = s.execute(
            select(StaffUser).join(AuthSession, AuthSession.user_id == StaffUser.id)
            .where(AuthSession.id == session_id, AuthSession.revoked_at.is_(None),
                   AuthSession.expires_at >= _now(), StaffUser.active.is_(True))
        ).scalar_one_or_none()
        if user is not None:
            s.expunge(user)
        return user


def end_session(db, session_id: str | None) -> None:
    if not session_id:
        return
    with db.write() as s:
        s.execute(update(AuthSession).where(AuthSession.id == session_id, AuthSession.revoked_at.is_(None))
                  .values(revoked_at=_now()))


def end_all_sessions(s, user_id: int) -> None:
    """Inside the caller's transaction: every login of this user, in every browser, ends (password
    change or reset, role change, deactivation)."""
    s.execute(update(AuthSession).where(AuthSession.user_id == user_id, AuthSession.revoked_at.is_(None))
              .values(revoked_at=_now()))


# ---------------------------------------------------------------- known browsers


def _device_mac(key: bytes, user: StaffUser) -> str:
    """Bound to the password hash: a password change or reset forgets every browser."""
    msg = f"device:{user.id}:{user.password_hash}".encode()
    return hmac.new(key, msg, hashlib.sha256).hexdigest()[:32]


def _device_entries(cookie: str | None) -> list[tuple[str, str]]:
    out = []
    for part in (cookie or "")[:1000].split("_"):
        uid, _, mac = part.partition(".")
        if uid.isdigit() and len(mac) == 32:
            out.append((uid, mac))
    return out


def is_known_device(cookie: str | None, key: bytes, user: StaffUser) -> bool:
    """Whether the browser's device cookie says it has logged in as ``user`` before."""
    good = _device_mac(key, user)
    return any(uid == str(user.id) and hmac.compare_digest(mac, good) for uid, mac in _device_entries(cookie))


def remember_device(cookie: str | None, key: bytes, user: StaffUser) -> str:
    """The device cookie after ``user`` logged in on this browser (newest first, a few users)."""
    keep = [(uid, mac) for uid, mac in _device_entries(cookie) if uid != str(user.id)]
    entries = [(str(user.id), _device_mac(key, user)), *keep][:DEVICE_ENTRIES]
    return "_".join(f"{uid}.{mac}" for uid, mac in entries)


def change_own_password(db, user_id: int, old: str, new: str) -> tuple[str, str]:
    """Change one's own password. Every login of the user ends (another browser where the old
    password was used, perhaps not by them); the tab that made the change gets a new session,
    returned as (session_id, one-time hand-off code) like :func:`start_session`."""
    check_password_strength(new)
    if old == new:
        raise InvalidInput("新密码不能与旧密码相同。")
    with db.write() as s:
        user = s.get(StaffUser, user_id)
        if user is None or not user.active:
            raise LoginFailed("登录已失效，请重新登录。")
        try:
            _hasher.verify(user.password_hash, old)
        except (VerificationError, InvalidHashError):
            raise LoginFailed("原密码不正确。") from None
        user.password_hash = _hasher.hash(new)
        user.must_change_password = False
        end_all_sessions(s, user.id)
        record(s, actor_for(user), "auth.password_changed", "staff_user", user.id, village_id=user.village_id)
        return _new_session(s, user.id)
