"""积分细则: the catalogue as adopted (who adopted it and when), its versions, and — for
the admin — adding, revising (a new version) and deactivating items."""

from __future__ import annotations

import datetime as dt

import pandas as pd
import streamlit as st

from core.village import rules
from ui import confirm, runtime
from ui.guard import page_guard
from ui.widgets import downloads, flash, number_box, run_action
from ui.widgets import md_escape as _md


def _frame(items: list[rules.ItemView]) -> pd.DataFrame:
    return pd.DataFrame([{"类别": i.category, "编号": i.code, "事项": i.name, "分值": i.points, "最低分": i.min_points,
                          "最高分": i.max_points, "次数上限": i.cap_text, "版本": i.version,
                          "通过机构": i.adopted_by, "通过日期": i.adopted_on, "状态": "现行" if i.active else "停用"}
                         for i in items],
                        columns=["类别", "编号", "事项", "分值", "最低分", "最高分", "次数上限", "版本", "通过机构", "通过日期",
                                 "状态"])


def render() -> None:
    actor = page_guard("rules")
    st.title("积分细则")
    is_admin = actor.has("admin")
    whole = rules.whole_catalogue(runtime.db(), actor.village_id)
    all_items, cats = whole.items, whole.categories
    latest: dict[str, rules.ItemView] = {}
    for i in all_items:
        latest[i.code] = i  # ordered by version: the last one wins
    current = [i for i in latest.values()]
    names = ["现行细则", "历史版本"] + (["修订与停用", "新增"] if is_admin else [])
    tabs = st.tabs(names)
    with tabs[0]:
        words = st.text_input("搜索", key="rl_search", placeholder="编号、事项或类别")
        shown = rules.search([i for i in current if i.active], words)
        df = _frame(shown)
        st.dataframe(df, hide_index=True, width="stretch")
        downloads(df, "积分细则", "rl_dl")
        inactive = [i for i in current if not i.active]
        if inactive:
            st.caption("已停用的事项：" + _md("、".join(f"{i.code} {i.name}" for i in inactive)))
    with tabs[1]:
        codes = sorted(latest)
        if codes:
            code = st.selectbox("事项", codes, format_func=lambda c: f"{c} {latest[c].name}", key="rl_hist_code")
            st.dataframe(_frame([i for i in all_items if i.code == code]), hide_index=True, width="stretch")
            st.caption("修订分值会生成新版本；已记账的积分仍保留当时的版本。")
    if is_admin:
        with tabs[2]:
            _revise(actor, latest)
        with tabs[3]:
            _create(actor, cats)


def _revise(actor, latest: dict[str, rules.ItemView]) -> None:
    if not latest:
        st.info("还没有积分事项。")
        return
    code = st.selectbox("选择事项", sorted(latest), format_func=lambda c: latest[c].label, key="rl_rev_code")
    it = latest[code]
    db = runtime.db()
    with st.form(f"rl_rev_{it.id}"):
        name = st.text_input("事项名称", value=it.name, max_chars=120)
        c = st.columns(3)
        pts = c[0].number_input("分值", value=it.points, step=1)
        lo = c[1].number_input("最低分", value=it.min_points, step=1)
        hi = c[2].number_input("最高分", value=it.max_points, step=1)
        c = st.columns(2)
        cap = number_box("次数上限（0 = 不限）", min_value=0, max_value=1000, value=it.cap_count or 0, step=1,
                         where=c[0])
        period = c[1].selectbox("周期", ["month", "year"], format_func=rules.CAP_PERIODS.get,
                                index=1 if it.cap_period == "year" else 0)
        c = st.columns(2)
        by = c[0].text_input("通过机构", value="村民代表大会", max_chars=60)
        on = c[1].date_input("通过日期", value=dt.date.today())
        ok = st.form_submit_button("保存为新版本", type="primary")
    if ok and cap is not None and run_action(lambda: rules.revise_item(db, actor, it.id, name=name, points=int(pts), min_points=int(lo),
                                                   max_points=int(hi), cap_count=int(cap) or None,
                                                   cap_period=period if cap else None, adopted_by=by,
                                                   adopted_on=on)):
        flash(f"{it.code} 已修订为第 {it.version + 1} 版。")
        st.rerun()

    st.divider()
    action = "停用" if it.active else "重新启用"
    warning = f"确认{action}“{it.code} {it.name}”吗？" + ("停用后不能再申报该事项，已有记录不受影响。" if it.active else "")
    # Setting the state the item is in already changes nothing, so a second click does nothing twice.
    if confirm.confirm_step("rl_act", (it.id, it.active), ask_label=action, kind="secondary", warning=warning,
                            confirm=f"确认{action}", back="取消") \
            and run_action(lambda: rules.set_item_active(db, actor, it.id, not it.active) or True):
        confirm.close()
        flash(f"已{action}：{it.code} {it.name}")
        st.rerun()


def _create(actor, cats) -> None:
    db = runtime.db()
    active = {c.id: c.name for c in cats if c.active}
    st.subheader("新增积分事项")
    if not active:
        st.info("请先新增一个类别。")
    else:
        with st.form("rl_new_item", clear_on_submit=True):
            cat = st.selectbox("类别", list(active), format_func=active.get)
            c = st.columns([1, 3])
            code = c[0].text_input("编号", max_chars=20, placeholder="如 HJ09")
            name = c[1].text_input("事项名称", max_chars=120)
            c = st.columns(3)
            pts = c[0].number_input("分值（扣分填负数）", value=5, step=1)
            lo = c[1].number_input("最低分", value=3, step=1)
            hi = c[2].number_input("最高分", value=10, step=1)
            c = st.columns(2)
            cap = number_box("次数上限（0 = 不限）", min_value=0, max_value=1000, value=0, step=1, where=c[0])
            period = c[1].selectbox("周期", ["month", "year"], format_func=rules.CAP_PERIODS.get)
            c = st.columns(2)
            by = c[0].text_input("通过机构", value="村民代表大会", max_chars=60)
            on = c[1].date_input("通过日期", value=dt.date.today())
            ok = st.form_submit_button("新增事项", type="primary")
        if ok and cap is not None and run_action(lambda: rules.create_item(db, actor, actor.village_id, category_id=cat, code=code,
                                                       name=name, points=int(pts), min_points=int(lo),
                                                       max_points=int(hi), cap_count=int(cap) or None,
                                                       cap_period=period if cap else None, adopted_by=by,
                                                       adopted_on=on)):
            flash("已新增积分事项。")
            st.rerun()
    st.subheader("类别")
    with st.form("rl_new_cat", clear_on_submit=True):
        cname = st.text_input("新类别名称", max_chars=40)
        ok = st.form_submit_button("新增类别")
    if ok and run_action(lambda: rules.create_category(db, actor, actor.village_id, cname)):
        flash("已新增类别。")
        st.rerun()
    for c in cats:
        cols = st.columns([3, 1])
        cols[0].text(f"{c.name}（{'启用' if c.active else '停用'}）")
        if cols[1].button("停用" if c.active else "启用", key=f"rl_cat_{c.id}") and run_action(
                lambda c=c: rules.set_category_active(db, actor, c.id, not c.active)):
            st.rerun()


if __name__ == "__main__":  # opened by URL on a fresh server, outside st.navigation
    from ui.frame import run

    run()
