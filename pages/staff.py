"""工作人员: staff accounts of the village — create, roles, password reset, deactivate — and the
village's exports for the township (ledger of a period, balance list, complete archive)."""

from __future__ import annotations

import datetime as dt

import streamlit as st

from core.maintenance import archive
from core.platform.access import AREA_ROLES, ROLE_NAMES
from core.reporting import township
from core.village import staff
from ui import confirm, runtime, state
from ui.guard import page_guard
from ui.tables import Col, table
from ui.widgets import XLSX_MIME, flash, run_action, say

GRANTABLE = list(staff.VILLAGE_ROLES)
STATUS_NAMES = {True: "在用", False: "已停用"}  # an account, by active
USERS = [
    Col("username", "用户名"),
    Col("display_name", "姓名"),
    Col("roles", "角色", value=lambda u: "、".join(ROLE_NAMES.get(r, r) for r in u.roles)),
    Col("active", "状态", names=STATUS_NAMES),
    Col("must_change_password", "需改密码", names={True: "是", False: ""}),
    Col("last_login_at", "最近登录", "datetime"),
    Col("blocked_until", "登录受限至", "datetime"),
]


def render() -> None:
    actor = page_guard("staff")
    st.title("工作人员")
    db = runtime.db()
    users = staff.users(db, actor.village_id)
    c1, c2, c3 = st.columns(3)
    c1.metric("账号总数", len(users))
    c2.metric("在用", sum(u.active for u in users))
    c3.metric("村管理员", sum("admin" in u.roles for u in users))
    table(users, USERS, key="staff", download="工作人员")

    new_tab, edit_tab, export_tab = st.tabs(["新建账号", "修改账号", "数据导出（报镇街、归档）"])
    with new_tab:
        _create_form(actor)
    with edit_tab:
        _edit(actor, users)
    with export_tab:
        _exports(actor)


def _exports(actor) -> None:
    """Files for the township and the village's archive, each built only when its button is clicked."""
    db, vid = runtime.db(), actor.village_id
    today = dt.date.today()
    st.markdown("**积分流水（一个时期的全部流水）**")
    st.caption("每笔流水的户、村民、积分细则、事由、来源、评议会和决定人、经办人，另附按类型的汇总。")
    c1, c2 = st.columns(2)
    since = c1.date_input("从", value=today.replace(day=1), max_value=today, key="staff_export_since",
                          format="YYYY-MM-DD")
    until = c2.date_input("到", value=today, key="staff_export_until", format="YYYY-MM-DD")
    if since > until:
        say("error", "开始日期不能晚于结束日期。")
    else:
        st.download_button("下载积分流水（Excel）", lambda: township.ledger_workbook(db, vid, since, until),
                           f"积分流水_{since:%Y%m%d}-{until:%Y%m%d}.xlsx", mime=XLSX_MIME, on_click="ignore",
                           icon=":material/download:", key="staff_export_ledger")
    st.markdown("**全村积分余额表**")
    st.caption("每户的可用积分、公示中扣分冻结、可兑换积分、待扣积分和累计积分，另附合计。")
    st.download_button("下载全村积分余额表（Excel）", lambda: township.balance_workbook(db, vid),
                       f"全村积分余额表_{today:%Y%m%d}.xlsx", mime=XLSX_MIME, on_click="ignore",
                       icon=":material/download:", key="staff_export_balances")
    st.markdown("**村级数据归档（完整）**")
    st.caption("本村拥有的每张数据表各一页，另有清单页（每张表的行数和 SHA-256 校验和）。可交镇街存档，也可用"
               "命令 `python manage.py import-archive 文件` 导入一套空的系统，恢复为同样的数据。归档不含工作人员密码"
               "（导入后需重设）和照片文件（照片在备份文件里）。")
    st.download_button("下载村级数据归档（Excel）", lambda: archive.export_archive(db, vid),
                       f"村级数据归档_{today:%Y%m%d}.xlsx", mime=XLSX_MIME, on_click="ignore",
                       icon=":material/archive:", key="staff_export_archive")


def _create_form(actor) -> None:
    with st.form("staff_create", clear_on_submit=True, border=True):
        c1, c2 = st.columns(2)
        username = c1.text_input("用户名（登录用，字母或数字）", max_chars=40, key="staff_new_username")
        name = c2.text_input("姓名", max_chars=40, key="staff_new_name")
        password = c1.text_input("初始密码（至少 8 位）", type="password", max_chars=128, key="staff_new_password",
                                 help="首次登录时系统会要求本人修改密码。")
        roles = c2.multiselect("角色", GRANTABLE, format_func=ROLE_NAMES.get, key="staff_new_roles")
        go = st.form_submit_button("新建账号", type="primary", icon=":material/person_add:")
    if go:
        uid = run_action(lambda: staff.create_user(runtime.db(), actor, username=username, display_name=name,
                                                   password=password, roles=roles, village_id=actor.village_id))
        if uid:
            flash(f"已新建账号 {username}，首次登录需修改密码。")
            st.rerun()


def _edit(actor, users: list[staff.UserRow]) -> None:
    if not users:
        st.info("还没有工作人员账号。")
        return
    labels = {u.id: f"{u.display_name}（{u.username}，{STATUS_NAMES[u.active]}）" for u in users}
    ids = list(labels)
    current = st.session_state.get(state.STAFF_SELECTED)
    uid = st.selectbox("选择工作人员", ids, index=ids.index(current) if current in ids else 0,
                       format_func=labels.get, key="staff_pick")
    st.session_state[state.STAFF_SELECTED] = uid
    db = runtime.db()
    name, roles, active = staff.user_roles(db, uid)
    if set(roles) & set(AREA_ROLES):
        st.info("镇街、县级账号由镇街或运维人员管理。")
        return

    with st.form(f"staff_edit_{uid}", border=True):
        new_name = st.text_input("姓名", value=name, max_chars=40)
        new_roles = st.multiselect("角色", GRANTABLE, default=[r for r in roles if r in GRANTABLE],
                                   format_func=ROLE_NAMES.get)
        save = st.form_submit_button("保存姓名和角色", type="primary")
    if save:
        ok = run_action(lambda: staff.set_display_name(db, actor, uid, new_name) or True)
        ok = ok and run_action(lambda: staff.set_roles(db, actor, uid, new_roles) or True)
        if ok:
            flash("已保存。")
            st.rerun()

    st.subheader("重置密码")
    with st.form(f"staff_reset_{uid}", clear_on_submit=True, border=True):
        pw = st.text_input("临时密码（至少 8 位，告诉本人）", type="password", max_chars=128)
        reset = st.form_submit_button("重置密码", help="本人下次登录必须修改密码；已登录的电脑和手机会立即退出。")
    if reset and run_action(lambda: staff.reset_password(db, actor, uid, pw) or True):
        flash("密码已重置：本人下次登录须修改密码，已登录的设备均已退出。")
        st.rerun()

    st.subheader("停用 / 启用")
    if active:
        # Deactivating an inactive account changes nothing, so a second click does nothing twice.
        if confirm.confirm_step("staff_deact", uid, ask_label="停用此账号", kind="secondary", icon=":material/block:",
                                warning=f"确定停用“{name}”？停用后不能登录，已登录的设备会立即退出；记录全部保留，可以再启用。",
                                confirm="确认停用", back="取消") \
                and run_action(lambda: staff.set_active(db, actor, uid, False) or True):
            confirm.close()
            flash(f"已停用“{name}”。")
            st.rerun()
    elif st.button("重新启用此账号", key=f"staff_act_{uid}", icon=":material/check_circle:") and \
            run_action(lambda: staff.set_active(db, actor, uid, True) or True):
        flash(f"已启用“{name}”。")
        st.rerun()


if __name__ == "__main__":  # opened by URL on a fresh server, outside st.navigation
    from ui.frame import run

    run()
