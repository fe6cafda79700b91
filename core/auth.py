"""Staff login: argon2id passwords, throttling and lockout, database-backed sessions.

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

from core.access import ROLES, Actor
from core.audit import record
from core.errors import AccountLocked, InvalidInput, LoginFailed
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
FREE_ATTEMPTS = 3  # then each failure doubles a wait: 2, 4 s ...
LOCK_AFTER = 5  # failures in a row
LOCK_MINUTES = 15
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
    )


def authenticate(db, username: str, password: str) -> StaffUser:
    """Check a username and password; count failures, throttle and lock.

    The failure counter is written in its own transaction, so it sticks even though
    the caller sees an exception.
    """
    username = (username or "").strip()
    if not username or not password:
        raise LoginFailed("请输入用户名和密码。")
    now = _now()
    with db.write() as s:
        user = s.execute(select(StaffUser).where(func.lower(StaffUser.username) == username.lower())).scalar()
        if user is None or not user.active:
            try:
                _hasher.verify(_dummy_hash(), password)
            except VerificationError:
                pass
            raise LoginFailed("用户名或密码不正确。")
        if user.locked_until and user.locked_until > now:
            wait = int((user.locked_until - now).total_seconds())
            if user.failed_logins >= LOCK_AFTER:
                raise AccountLocked(f"密码错误次数过多，账号已锁定，请 {max(1, wait // 60)} 分钟后再试或联系管理员。")
            raise AccountLocked(f"尝试过于频繁，请 {max(1, wait)} 秒后再试。")
        try:
            _hasher.verify(user.password_hash, password)
        except (VerificationError, InvalidHashError):
            user.failed_logins += 1
            if user.failed_logins >= LOCK_AFTER:
                user.locked_until = now + dt.timedelta(minutes=LOCK_MINUTES)
            elif user.failed_logins >= FREE_ATTEMPTS:
                user.locked_until = now + dt.timedelta(seconds=2 ** (user.failed_logins - FREE_ATTEMPTS + 1))
            record(s, Actor(user.id, user.display_name), "auth.failed", "staff_user", user.id,
                   {"failed": user.failed_logins}, village_id=user.village_id)
            s.commit()
            left = LOCK_AFTER - user.failed_logins
            if left <= 0:
                raise AccountLocked(f"密码错误次数过多，账号已锁定 {LOCK_MINUTES} 分钟。") from None
            raise LoginFailed(f"用户名或密码不正确（再错 {left} 次将锁定账号）。") from None
        if _hasher.check_needs_rehash(user.password_hash):
            user.password_hash = _hasher.hash(password)
        user.failed_logins = 0
        user.locked_until = None
        user.last_login_at = now
        record(s, actor_for(user), "auth.login", "staff_user", user.id, village_id=user.village_id)
        return user


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
