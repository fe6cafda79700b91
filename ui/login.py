"""Login, password change and the account page."""

from __future__ import annotations

import streamlit as st
from sqlalchemy import or_, select

from core.platform import auth
from core.platform.errors import DomainError
from core.village import staff
from db.models import StaffUser, Village
from startup.demo import DEMO_PASSWORD
from ui import request, runtime, state
from ui.widgets import flash, md_escape, run_action, say

SERVED_WITH_ROUTES = False  # serve.py sets this: the /auth routes exist


def _demo_accounts() -> list[tuple[str, str, str]]:
    with runtime.db().read() as s:
        demo = s.execute(select(Village.id).where(Village.is_demo.is_(True)).order_by(Village.id)).first()
        if not demo:
            return []
        from startup.demo import AREA_USERS

        # the first demo village's staff, then the demo's township and county admins (no village)
        rows = s.execute(select(StaffUser.username, StaffUser.display_name, StaffUser.roles)
                         .where(or_(StaffUser.village_id == demo[0],
                                    StaffUser.village_id.is_(None) & StaffUser.username.in_([u for u, _, _ in AREA_USERS])),
                                StaffUser.active.is_(True))
                         .order_by(StaffUser.village_id.is_(None), StaffUser.id).limit(14)).all()
        return [tuple(r) for r in rows]


def _finish_login(user_id: int) -> None:
    db = runtime.db()
    sid, code = auth.start_session(db, user_id)
    st.session_state[state.USER_ID] = user_id
    st.session_state[state.SESSION_ID] = sid
    if SERVED_WITH_ROUTES:
        st.session_state[state.HANDOFF] = code


def send_handoff() -> None:
    """Send the browser to /auth/session once, which sets the HttpOnly cookie."""
    code = st.session_state.pop(state.HANDOFF, None)
    if code:
        nxt = st.session_state.get(state.LOGIN_NEXT) or ""
        after = f"&next={nxt}" if nxt.isidentifier() and nxt.isascii() else ""
        st.html(f"<script>window.location.replace('/auth/session?code={code}{after}');</script>",
                unsafe_allow_javascript=True)


def render_login() -> None:
    left, mid, right = st.columns([1, 2, 1])
    with mid:
        st.title("村级积分制管理系统")
        st.caption("积分评议 · 积分超市 · 志愿服务 · 党员义田")
        if st.session_state.pop(state.LOGIN_ENDED, False):
            st.info("登录已结束（已退出、已过期，或密码、角色已更改），请重新登录。", icon=":material/logout:")
        with st.form("login", clear_on_submit=False, border=True):
            username = st.text_input("用户名", autocomplete="username")
            password = st.text_input("密码", type="password", autocomplete="current-password")
            submitted = st.form_submit_button("登录", type="primary", width="stretch")
        if submitted:
            try:
                user = auth.authenticate(runtime.db(), username, password, client=request.client(),
                                         device_cookie=request.cookie(auth.DEVICE_COOKIE),
                                         key=runtime.config().secret_key())
            except DomainError as e:
                say("error", e, icon=":material/error:")
            else:
                _finish_login(user.id)
                st.rerun()
        st.info("村民请扫描自家积分卡上的二维码查询积分，无需登录。", icon=":material/qr_code_2:")
        demo = _demo_accounts()
        if demo:
            with st.expander("示范村演示账号（正式使用前请删除示范数据）", expanded=True):
                from core.platform.access import ROLE_NAMES

                st.table({
                    "用户名": [u for u, _, _ in demo],
                    "姓名": [md_escape(n) for _, n, _ in demo],  # st.table cells are Markdown
                    "角色": ["、".join(ROLE_NAMES.get(r, r) for r in roles.split(",")) for _, _, roles in demo],
                })
                st.caption(f"演示密码均为 {DEMO_PASSWORD}")


def logout() -> None:
    """End this browser's login: every tab that shares its cookie is logged out at its next click."""
    auth.end_session(runtime.db(), st.session_state.get(state.SESSION_ID))
    for key in list(st.session_state.keys()):
        del st.session_state[key]
    if SERVED_WITH_ROUTES:
        st.html("<script>window.location.replace('/auth/logout');</script>", unsafe_allow_javascript=True)
        st.stop()
    st.rerun()


def render_change_password() -> None:
    st.title("请先修改密码")
    st.caption("管理员为您设置或重置了密码，首次登录需要改成只有您自己知道的密码。")
    _password_form()
    if st.button("退出登录"):
        logout()


def _password_form() -> None:
    with st.form("password", clear_on_submit=True):
        old = st.text_input("原密码", type="password")
        new = st.text_input("新密码（至少 8 位）", type="password")
        again = st.text_input("再次输入新密码", type="password")
        ok = st.form_submit_button("修改密码", type="primary")
    if ok:
        if new != again:
            st.error("两次输入的新密码不一致。")
            return
        try:
            sid, code = auth.change_own_password(runtime.db(), st.session_state[state.USER_ID], old, new)
        except DomainError as e:
            say("error", e)
        else:
            # Every login of this user has ended; this tab carries on with a new session (and cookie).
            st.session_state[state.SESSION_ID] = sid
            if SERVED_WITH_ROUTES:
                st.session_state[state.HANDOFF] = code
            flash("密码已修改。其他浏览器里的登录已全部退出。")
            st.rerun()


LARGE_TEXT_CHOICES = {None: "跟随本村设置", True: "大字", False: "标准字号"}


def _large_text_choice(user: StaffUser) -> None:
    choice = st.radio("字号（大字模式）", list(LARGE_TEXT_CHOICES), index=list(LARGE_TEXT_CHOICES).index(user.large_text),
                      format_func=LARGE_TEXT_CHOICES.get, horizontal=True, key="account_large_text",
                      help="大字：正文至少 20 像素，余额等关键数字至少 40 像素。侧边栏的“大字模式”开关也会改这里。")
    if choice != user.large_text and run_action(lambda: staff.set_own_large_text(runtime.db(), user.id, choice)):
        st.rerun()


def render_account() -> None:
    st.title("我的账号")
    uid = st.session_state.get(state.USER_ID)
    with runtime.db().read() as s:
        user = s.get(StaffUser, uid)
        village = s.get(Village, user.village_id) if user.village_id else None
    st.text(f"姓名：{user.display_name}　用户名：{user.username}")
    if village:
        st.text(f"所属村：{village.county}{village.township}{village.name}")
    _large_text_choice(user)
    with st.expander("修改密码"):
        _password_form()
    if st.button("退出登录", type="primary", icon=":material/logout:"):
        logout()
