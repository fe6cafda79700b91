"""Role guards for pages. Every page calls :func:`page_guard` first.

The guard answers "may this person see this screen"; every core write still checks
roles and village itself, so a page reached some other way cannot write anything.
"""

from __future__ import annotations

import streamlit as st

from core.access import ROLE_NAMES, Actor
from core.auth import actor_for
from db.models import StaffUser
from ui import runtime, state


def current_user() -> StaffUser | None:
    uid = st.session_state.get(state.USER_ID)
    if uid is None:
        return None
    with runtime.db().read() as s:
        user = s.get(StaffUser, uid)
        if user is None or not user.active:
            return None
        return user


def current_actor() -> Actor | None:
    user = current_user()
    return actor_for(user) if user else None


def page_guard(*roles: str) -> Actor:
    """Return the acting user if they hold one of ``roles``; otherwise stop the page."""
    actor = current_actor()
    if actor is None:
        st.warning("请先登录。", icon=":material/lock:")
        st.stop()
    if roles and not actor.has(*roles):
        names = "、".join(ROLE_NAMES[r] for r in roles)
        st.error(f"没有权限查看此页面：需要{names}角色。", icon=":material/block:")
        st.stop()
    return actor
