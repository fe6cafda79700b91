"""村庄管理: a county or township admin lists, creates, renames and moves villages."""

from __future__ import annotations

import pandas as pd
import streamlit as st

from core.village import villages
from ui import confirm, runtime
from ui.guard import page_guard
from ui.widgets import flash, md_escape, run_action, say, show_flash

NEW_TOWNSHIP = "（另填一个镇街）"


def _ask(action: tuple) -> None:
    confirm.open_question("villages", action)


def _confirm(actor, rows: dict[int, villages.VillageRow]) -> bool:
    """The write waiting for 确认; True while one waits (the forms are hidden then)."""
    pending = confirm.token("villages")
    if not pending:
        return False
    kind = pending[0]
    if kind == "create":
        _, name, township, username, admin_name = pending
        what = f"在{township}新建“{name}”，首位村管理员账号 {username}（{admin_name or '村管理员'}）"
    elif kind == "rename":
        _, vid, name = pending
        what = f"把“{rows[vid].name if vid in rows else vid}”改名为“{name}”"
    else:
        _, vid, township = pending
        what = f"把“{rows[vid].name if vid in rows else vid}”调整到{township}"  # said as typed (say)
    question = st.empty()  # the question goes once answered: the result stands alone
    with question.container():
        # once: a second click must not create a second village (its name is the only thing to refuse on)
        go = confirm.confirmed("villages", pending, warning=f"确认{what}吗？此操作会记入操作日志。", confirm="确认",
                               back="取消", once=True)
    if go:
        question.empty()
        db = runtime.db()
        if kind == "create":
            done = run_action(lambda: villages.create_village(db, actor, name=name, township=township,
                                                              admin_username=username, admin_name=admin_name))
            if done:
                # Shown here once, never stored: the admin writes it down and changes it at first login.
                st.success(f"已新建“{md_escape(name)}”。请把下面的账号和初始密码交给该村管理员，"
                           "首次登录后须修改密码。初始密码只显示这一次。", icon=":material/check_circle:")
                st.text(f"用户名：{done.admin_username}")
                st.code(done.initial_password, language=None)
                st.button("知道了", key="villages_done")
                return True
        elif kind == "rename":
            if run_action(lambda: villages.rename_village(db, actor, vid, name) or True):
                flash(f"已改名为“{name}”。")
                st.rerun()
        elif run_action(lambda: villages.move_village(db, actor, vid, township) or True):
            flash(f"已调整到{township}。")
            st.rerun()
        return False  # refused: the error above, the forms below
    return True


def render() -> None:
    actor = page_guard("villages")
    st.title("村庄管理")
    show_flash()
    db = runtime.db()
    rows = run_action(lambda: villages.managed_villages(db, actor))
    if rows is None:
        return
    by_id = {r.id: r for r in rows}
    area = actor.county if "county_admin" in actor.roles else actor.township
    st.caption(f"{md_escape(actor.name)} · 管辖：{md_escape(area or '')} · 共 {len(rows)} 个村")
    if _confirm(actor, by_id):
        return
    tabs = st.tabs(["村庄名单", "新建村", "改名与调整"])
    with tabs[0]:
        _list(rows)
    with tabs[1]:
        _create_form(actor)
    with tabs[2]:
        _edit_forms(actor, rows)


def _list(rows: list[villages.VillageRow]) -> None:
    if not rows:
        st.info("还没有村。在“新建村”里添加第一个村。")
        return
    df = pd.DataFrame([{"县（区）": r.county, "镇（街道）": r.township, "村": r.name, "编号": r.code,
                        "户数": r.households, "示范": "是" if r.is_demo else ""} for r in rows])
    st.dataframe(df, hide_index=True, width="stretch", column_config={
        "户数": st.column_config.NumberColumn("户数", format="%d", help="在册户数"),
        "示范": st.column_config.TextColumn("示范", help="示范数据的村"),
    })


def _township_input(actor, key: str, label: str) -> str:
    names = run_action(lambda: villages.townships(runtime.db(), actor)) or []
    if "county_admin" not in actor.roles:
        return st.selectbox(label, names, key=key) or ""
    options = [*names, NEW_TOWNSHIP]
    pick = st.selectbox(label, options, key=key)
    if pick == NEW_TOWNSHIP or not names:
        return st.text_input("新镇街名称", max_chars=60, key=f"{key}_new").strip()
    return pick or ""


def _create_form(actor) -> None:
    st.caption("新建的村带有一个网格和积分细则模板；首位村管理员兼评议小组成员，初始密码由系统生成、只显示一次。")
    township = _township_input(actor, "villages_new_township", "所属镇（街道）")
    with st.form("villages_create"):
        name = st.text_input("村名", max_chars=60)
        username = st.text_input("首位村管理员用户名", max_chars=40, help="3–40 位字母、数字、下划线、点或横线")
        admin_name = st.text_input("村管理员姓名", max_chars=40)
        go = st.form_submit_button("新建村…", type="primary")
    if go:
        if not name.strip():
            say("error", "请填写村名。")
        elif not township:
            say("error", "请选择或填写所属镇（街道）。")
        elif not username.strip():
            say("error", "请填写首位村管理员用户名。")
        else:
            _ask(("create", name.strip(), township, username.strip(), admin_name.strip()))


def _edit_forms(actor, rows: list[villages.VillageRow]) -> None:
    if not rows:
        st.info("还没有村。")
        return
    labels = {r.id: f"{r.township} · {r.name}" for r in rows}
    vid = st.selectbox("选择村", list(labels), format_func=labels.get, key="villages_pick")
    with st.form("villages_rename"):
        name = st.text_input("新村名", max_chars=60)
        go = st.form_submit_button("改名…")
    if go:
        if not name.strip():
            say("error", "请填写新村名。")
        else:
            _ask(("rename", vid, name.strip()))
    if "county_admin" in actor.roles:
        st.subheader("调整所属镇街")
        township = _township_input(actor, "villages_move_township", "调整到镇（街道）")
        if st.button("调整…", key="villages_move"):
            if not township:
                say("error", "请选择或填写要调整到的镇（街道）。")
            else:
                _ask(("move", vid, township))
    else:
        st.caption("把村调整到别的镇街，需要县级管理员操作。")


if __name__ == "__main__":  # opened by URL on a fresh server, outside st.navigation
    from ui.frame import run

    run()
