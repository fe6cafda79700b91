"""Role guards for pages. Every page calls :func:`page_guard` first.

The guard answers "may this person see this screen"; every core write still checks
roles and village itself, so a page reached some other way cannot write anything.
"""

from __future__ import annotations

import streamlit as st

from core.platform.access import ROLE_NAMES, Actor
from core.platform.auth import actor_for, user_for_session
from db.models import StaffUser
from ui import runtime, state
from ui.nav import spec_for


def current_user() -> StaffUser | None:
    """The logged-in user, read fresh with their login session on every rerun: a session that
    was logged out (in this tab or another), expired or revoked — password change or reset, role
    change, deactivation — ends this tab's login here, at its next click."""
    uid = st.session_state.get(state.USER_ID)
    if uid is None:
        return None
    user = user_for_session(runtime.db(), st.session_state.get(state.SESSION_ID))
    if user is None or user.id != uid:
        end_tab_login()
        st.session_state[state.LOGIN_ENDED] = True
        return None
    return user


def end_tab_login() -> None:
    """Forget this tab's login (the session row itself is ended by core)."""
    for key in (state.USER_ID, state.SESSION_ID, state.HANDOFF):
        st.session_state.pop(key, None)


def current_actor() -> Actor | None:
    user = current_user()
    return actor_for(user) if user else None


def page_guard(page: str) -> Actor:
    """Return the acting user if they hold one of the roles the page registry (ui.nav) gives
    ``page`` — the module name under pages/ — otherwise stop the page. The registry is the one
    place a page's roles are written: navigation and this guard both read it."""
    roles = spec_for(page).roles
    actor = current_actor()
    if actor is None:
        st.warning("请先登录。", icon=":material/lock:")
        st.stop()
    if roles and not actor.has(*roles):
        names = "、".join(ROLE_NAMES[r] for r in roles)
        st.error(f"没有权限查看此页面：需要{names}角色。", icon=":material/block:")
        st.stop()
    return actor
