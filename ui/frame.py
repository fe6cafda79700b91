"""The picture frame around every page: who is logged in, navigation by role, run the page.

app.py calls :func:`run`. A tab's login is the id of a row in auth_session, kept in session_state
and, when the app is served through serve.py, in an HttpOnly cookie so that a reload keeps it;
every rerun reads the row again (ui.guard.current_user).
"""

from __future__ import annotations

import gc
import html
import sys
import threading
from pathlib import Path

import streamlit as st
from streamlit.runtime.scriptrunner import get_script_run_ctx

from core.platform import auth
from core.platform.access import ROLE_NAMES
from core.village import staff
from ui import login, runtime, state, style
from ui.guard import current_user
from ui.nav import PAGES, PUBLIC_PAGES, PageSpec, pages_for, render_function
from ui.widgets import md_escape, run_action, show_flash

COOKIE = "jifen_session"
FAVICON = Path(__file__).parent / "assets" / "favicon.png"


# Streamlit's own English where a widget has no Chinese option (docs/ARCHITECTURE.md "Chinese everywhere"):
# the "Press Enter to apply / submit form" hints are hidden (every form has its own button); the
# uploader's "Upload" button reads 选择文件 and its "5MB per file • JPG" line is replaced by the label's
# own limit (each uploader's label states it).
CHINESE_CSS = """<style>
[data-testid="InputInstructions"] { display: none !important; }
[data-testid="stFileUploaderDropzoneInstructions"] { display: none !important; }
[data-testid="stFileUploaderDropzone"] button [data-testid="stMarkdownContainer"] p { display: none; }
[data-testid="stFileUploaderDropzone"] button [data-testid="stMarkdownContainer"]::after { content: "选择文件"; }
</style>"""


def _page(spec: PageSpec, default: bool = False) -> st.Page:
    return st.Page(render_function(spec.module), title=spec.title, icon=spec.icon,
                   url_path=spec.module, default=default)


def _alias(spec: PageSpec) -> st.Page:
    page = render_function(spec.module)

    def render() -> None:
        page()

    render.__name__ = f"{spec.module}_as_start_page"
    return st.Page(render, title=spec.title, icon=spec.icon, url_path="start", default=True)


def _login_then(module: str):
    def render() -> None:
        st.session_state[state.LOGIN_NEXT] = module
        login.render_login()

    render.__name__ = f"login_then_{module}"
    return render


def _no_access(spec: PageSpec):
    def render() -> None:
        names = "、".join(ROLE_NAMES.get(r, r) for r in spec.roles)
        st.title(spec.title)
        st.error(f"无权访问：“{spec.title}”只对{names}开放，您的账号没有这个角色。", icon=":material/block:")
        st.markdown("如需使用这个页面，请村管理员在“工作人员”中为您的账号加上相应角色；"
                    "或者从左侧菜单打开您能用的页面。")
        _home_link("回到工作台")

    render.__name__ = f"no_access_{spec.module}"
    return st.Page(render, title=spec.title, icon=spec.icon, url_path=spec.module, visibility="hidden")


def _home_link(text: str) -> None:
    # "./" from any page's address is the app's root (behind a proxy's path prefix too).
    st.html(f'<p><a href="./" target="_self">{html.escape(text)}</a></p>')


def _not_found() -> None:
    st.title("页面不存在")
    st.error("您打开的网址没有对应的页面：可能是网址输错了，或者链接已经过时。", icon=":material/link_off:")
    st.markdown("请从左侧菜单选择页面，或回到首页。")
    _home_link("回到首页")


def _asked_path() -> str | None:
    """The address a browser asked for by name (a typed URL, a bookmark): Streamlit's page
    manager keeps it for the run (``intended_page_name``); a click inside the app asks by page
    hash instead and gives None."""
    ctx = get_script_run_ctx()
    manager = getattr(ctx, "pages_manager", None)
    name = getattr(manager, "intended_page_name", None)
    return name.strip("/") or None if isinstance(name, str) else None


def _unknown_pages(known: set[str]) -> list[st.Page]:
    """A hidden 页面不存在 page at each address this tab asked for that no page has, so that
    Streamlit finds a page there instead of showing its English “Page not found” dialog and the
    start page. Remembered for the tab: the reruns of that page ask by hash, not by name.
    An address with a "/" inside (``/a/b``) cannot be a page's address and still gets
    Streamlit's dialog (docs/ARCHITECTURE.md "Chinese everywhere")."""
    seen: list[str] = st.session_state.setdefault(state.UNKNOWN_PATHS, [])
    asked = _asked_path()
    if asked and asked not in known and "/" not in asked and asked not in seen:
        seen.append(asked)
    pages = []
    for path in seen:
        if path in known:
            continue

        def render() -> None:
            _not_found()

        render.__name__ = f"not_found_{len(pages)}"
        pages.append(st.Page(render, title="页面不存在", icon=":material/link_off:", url_path=path,
                             visibility="hidden"))
    return pages


# Every address the app gives a page under some login (a staff page, the public board, the
# account, the start alias, the login and first-set-up pages): none of them is "not found".
_KNOWN = {*(p.module for p in PAGES), *(p.module for p in PUBLIC_PAGES), "start", "login", "setup",
          "password", "account"}


def _restore_from_cookie() -> None:
    if st.session_state.get(state.USER_ID) is not None:
        return
    sid = auth.unsign(st.context.cookies.get(COOKIE), runtime.config().secret_key())
    user = auth.user_for_session(runtime.db(), sid)
    if user is not None:
        st.session_state[state.USER_ID] = user.id
        st.session_state[state.SESSION_ID] = sid
        st.session_state.pop(state.LOGIN_ENDED, None)


_frozen_modules = 0


def _freeze_long_lived() -> None:
    """Move what the process has loaded so far (modules, classes, SQLAlchemy metadata …) out
    of the cyclic garbage collector's reach, each time new modules were imported.

    A full collection walks every tracked object: with pandas, SQLAlchemy, altair and
    Streamlit loaded that is ~180,000 objects and 150–300 ms, a pause that lands on some
    unlucky rerun. Frozen objects are still freed by reference counting; only cycles among
    them would stay, and freezing happens a few dozen times in a process's life (each first
    import), not per rerun. Measured in BENCHMARKS.md."""
    global _frozen_modules
    if len(sys.modules) != _frozen_modules:
        _frozen_modules = len(sys.modules)
        gc.freeze()


ACCESSIBILITY_FIXES = """<script>
if (!window.jfSidebarWatch) {
  window.jfSidebarWatch = true;
  const fix = () => {
    const s = document.querySelector('[data-testid="stSidebarContent"]');
    if (s && s.getAttribute('tabindex') !== '0') {
      s.setAttribute('tabindex', '0'); s.setAttribute('role', 'region'); s.setAttribute('aria-label', '侧边栏');
    }
    // the uploader's button shows 选择文件 through CSS only; give it the same name for screen readers
    document.querySelectorAll('[data-testid="stFileUploaderDropzone"] button:not([aria-label])')
      .forEach((b) => b.setAttribute('aria-label', '选择文件'));
  };
  new MutationObserver(fix).observe(document.body, {childList: true, subtree: true});
  fix();
}
</script>"""


def _sidebar_links(sections: dict[str, list]) -> None:
    """The navigation as plain links under section headings. Streamlit's own sidebar list puts
    its items in wrappers a list may not hold (axe-core: list, listitem), so screen readers
    announce a broken list; links under headings read correctly and keep the same look."""
    for section, pages in sections.items():
        st.html(f'<h2 class="jf-nav-section">{html.escape(section)}</h2>')
        for p in pages:
            st.page_link(p, label=p.title, icon=p.icon)
    # A long sidebar scrolls: keyboard users must be able to focus it to scroll it (axe-core:
    # scrollable-region-focusable). Streamlit gives no attribute for this; one line of script does.
    st.html(ACCESSIBILITY_FIXES, unsafe_allow_javascript=True)


def _large_text_switch(user) -> None:
    """One switch for 大字模式, remembered with the account (the village default applies until used)."""
    with runtime.db().read() as s:
        on = staff.large_text(s, user)

    def changed() -> None:
        run_action(lambda: staff.set_own_large_text(runtime.db(), user.id, st.session_state[state.LARGE_TEXT]))

    st.session_state[state.LARGE_TEXT] = on
    st.toggle("大字模式", key=state.LARGE_TEXT, on_change=changed, help="放大全部文字；余额等关键数字更大。会记在您的账号里。")


_warm_started = False


def _warm_up() -> None:
    """What the first visit of a page would otherwise pay, done once per process while the
    first user is still logging in (measured in changes/h-chinese.md, bench/first_visits.py):
    altair's import and first chart (≈1.3 s: 村情总览, 排行与星级户) and Streamlit's emoji table, a regular
    expression of every emoji compiled on the first segmented control or pills (≈0.9 s)."""
    from streamlit.string_util import extract_leading_emoji

    extract_leading_emoji("村")
    import altair as alt
    import pandas as pd

    # the first chart also compiles altair's shorthand patterns and loads its schema
    alt.Chart(pd.DataFrame({"月份": ["2026-01"], "积分": [1]})).mark_line().encode(x="月份:N", y="积分:Q").to_dict()


def _warm_up_in_background() -> None:
    global _warm_started
    if not _warm_started:
        _warm_started = True
        threading.Thread(target=_warm_up, name="jifen-warm-up", daemon=True).start()


def run() -> None:
    try:
        _run()
    finally:
        _freeze_long_lived()
        _warm_up_in_background()


def _run() -> None:
    # A local icon: a Material icon name here would make the browser fetch it from outside.
    st.set_page_config(page_title="村级积分制管理系统", page_icon=str(FAVICON), layout="wide")
    st.html(CHINESE_CSS)
    runtime.db()  # migrate and seed before anything reads
    demo = runtime.demo_state()
    if demo:
        st.info("示范村的历史数据（评议、兑换、志愿服务、义田）正在后台生成，约需一两分钟；期间页面上的数字会陆续出现。"
                if demo == "building" else
                "示范村的历史数据没有生成完整（生成时程序被关闭）。示范数据只供试用，可在“系统设置”中删除。",
                icon=":material/hourglass_top:")
    _restore_from_cookie()
    user = current_user()
    public = [_page(p) for p in PUBLIC_PAGES]
    if user is None:
        style.apply(large=False)
    else:
        with runtime.db().read() as s:
            style.apply(large=staff.large_text(s, user))

    if user is None:
        # First run (empty database, e.g. JIFEN_NO_DEMO=1): the set-up page instead of the login.
        from core.village.setup import has_village

        if st.session_state.get(state.SETUP_DONE) or not has_village(runtime.db()):
            setup_page = st.Page(render_function("setup"), title="首次设置", icon=":material/rocket_launch:", url_path="setup",
                                 default=True)
            st.navigation([setup_page, *public, *_unknown_pages(_KNOWN)], position="hidden").run()
            return
        login_page = st.Page(login.render_login, title="登录", icon=":material/login:", url_path="login",
                             default=True)
        # A staff page's address opened while logged out shows the login there; after the login
        # the same address shows the page (a link in a message, a bookmark, a till's start page).
        asked = [st.Page(_login_then(spec.module), title=spec.title, icon=spec.icon, url_path=spec.module)
                 for spec in PAGES]
        nav = st.navigation([login_page, *public, *asked, *_unknown_pages(_KNOWN)], position="hidden")
        nav.run()
        return

    if user.must_change_password:
        page = st.Page(login.render_change_password, title="修改密码", icon=":material/password:",
                       url_path="password", default=True)
        st.navigation([page, *public, *_unknown_pages(_KNOWN)], position="hidden").run()
        return

    login.send_handoff()
    roles = frozenset(r for r in user.roles.split(",") if r)
    specs = pages_for(roles)
    sections: dict[str, list[st.Page]] = {}
    for spec in specs:
        sections.setdefault(spec.section, []).append(_page(spec))
    account = st.Page(login.render_account, title="我的账号", icon=":material/person:", url_path="account")
    sections.setdefault("账号", []).append(account)
    sections["公开页面"] = public

    st.session_state.pop(state.LOGIN_NEXT, None)
    # The links are drawn by the app (_sidebar_links), not by st.navigation: with
    # client.showSidebarNavigation off (so that Streamlit never lists the files of pages/ while the
    # first run starts) it draws none.
    # "/" shows the user's first page through a default alias that is not drawn in the sidebar: a
    # registry page made the default is served at "/" only, and its own address (/home, where a
    # link or a login's return leads) ends in Streamlit's English "Page not found".
    alias = {"": [_alias(specs[0])]} if specs else {}
    # A page outside the user's roles (a link sent by a colleague, an old bookmark) is a hidden
    # page saying 无权访问 and what to do, and an address no page has says 页面不存在: both
    # instead of Streamlit's English "Page not found" dialog.
    hidden = [_no_access(spec) for spec in PAGES if spec not in specs] + _unknown_pages(_KNOWN)
    nav = st.navigation({**sections, **alias, **({" ": hidden} if hidden else {})}, position="hidden")
    with st.sidebar:
        st.markdown(f"**{md_escape(user.display_name)}**")
        st.caption("、".join(ROLE_NAMES.get(r, r) for r in sorted(roles)))
        # One click from every page: a till PC or an office PC is shared.
        if st.button("退出登录", key="sidebar_logout", icon=":material/logout:"):
            login.logout()
        _large_text_switch(user)
        _sidebar_links(sections)
    show_flash()
    nav.run()
