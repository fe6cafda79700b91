"""首次设置: on an empty installation (no village yet), set up the real village — names,
grids, first admin, the rules catalogue from the template — instead of the login page.

No one is logged in here, so the page has no role guard; instead it refuses to do anything
once any village exists, and core.village.setup.create_village(first_run=True) checks the same
inside its transaction.
"""

from __future__ import annotations

import streamlit as st

from core.platform.access import SYSTEM
from core.village import setup
from ui import runtime, state
from ui.widgets import run_action


def render() -> None:
    db = runtime.db()
    done_user = st.session_state.get(state.SETUP_DONE)
    if setup.has_village(db):
        st.title("村级积分制管理系统")
        if done_user:
            st.success(f"本村已建立。请用管理员账号“{done_user}”登录，然后在“管理 → 花名册导入”中导入村民花名册、"
                       "批量发卡并打印。积分细则可在“积分评议 → 积分细则”中修改。")
        else:
            st.info("系统已经设置好，请登录。")
        if st.button("去登录", type="primary", key="setup_to_login"):
            st.session_state.pop(state.SETUP_DONE, None)
            st.rerun()
        return

    st.title("首次设置")
    st.markdown("欢迎使用村级积分制管理系统。这是一个全新的系统，请先建立本村："
                "填写村名、网格和首位村管理员；积分细则会从示范模板复制一份，之后可以随时修改。"
                "建好后登录，再导入村民花名册、发卡。")
    with st.form("setup_form", border=True):
        st.subheader("1. 本村")
        c1, c2, c3 = st.columns(3)
        name = c1.text_input("村名（必填）", max_chars=60, placeholder="例如：文祖北村")
        township = c2.text_input("镇（街道）", max_chars=60, placeholder="例如：文祖街道")
        county = c3.text_input("县（区）", max_chars=60, placeholder="例如：章丘区")
        st.subheader("2. 网格")
        grids = st.text_area("网格名称，每行一个（不填则建一个“第一网格”）", height=120,
                             placeholder="第一网格\n第二网格\n第三网格")
        st.subheader("3. 首位村管理员")
        c1, c2 = st.columns(2)
        username = c1.text_input("用户名（登录用，字母或数字）", max_chars=40, autocomplete="off")
        admin_name = c2.text_input("姓名", max_chars=40)
        pw1 = c1.text_input("密码（至少 8 位）", type="password", max_chars=128, autocomplete="new-password")
        pw2 = c2.text_input("再输一次密码", type="password", max_chars=128, autocomplete="new-password")
        st.subheader("4. 积分细则与积分超市")
        rules = st.checkbox("从示范模板复制积分细则（环境卫生、孝老爱亲、移风易俗等，之后可修改）", value=True)
        products = st.checkbox("从示范模板复制积分超市商品（17 种，含初始库存，之后可修改）", value=False)
        st.subheader("5. 积分卡链接地址")
        public_url = st.text_input(
            "村民手机扫积分卡二维码打开的网址（可以以后在“系统设置”中填写）", max_chars=200,
            placeholder="例如：http://192.168.1.10:8501（村委会电脑的局域网地址）或县里统一的网址",
            help="不填时用服务器的 JIFEN_PUBLIC_URL（默认 http://localhost:8501，手机打不开）；"
                 "打印积分卡前系统会检查这个地址。")
        go = st.form_submit_button("建立本村", type="primary", icon=":material/rocket_launch:")
    if not go:
        return
    if pw1 != pw2:
        st.error("两次输入的密码不一致。")
        return
    vid = run_action(lambda: setup.create_village(
        db, SYSTEM, name=name, township=township, county=county, grids=grids.splitlines(),
        admin_username=username, admin_name=admin_name, admin_password=pw1, rules_template=rules,
        products_template=products, first_run=True, public_url=public_url))
    if vid:
        st.session_state[state.SETUP_DONE] = username.strip()
        st.rerun()


if __name__ == "__main__":  # opened by URL on a fresh server, outside st.navigation
    from ui.frame import run

    run()
