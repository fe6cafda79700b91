"""系统设置: every village setting with its plain-Chinese explanation; changes are audited
(old → new) by core.platform.settings.change and take effect at once (settings are never cached)."""

from __future__ import annotations

import pandas as pd
import streamlit as st

from core.platform import settings
from core.village import setup
from ui import confirm, runtime, state
from ui.guard import page_guard
from ui.widgets import downloads, flash, number_box, run_action

CHOICE_NAMES = {
    "daily": "每天", "weekly": "每周", "monthly": "每月",
    "each": "逐人表决（每项决定记下每人的表决）", "collective": "只记集体决定（纪要注明未逐人表决）",
    "admin": "仅村管理员", "cashier": "收银员也可以",
    "carry_over": "结转到下一年（不清零）", "clear": "年终清零（记一笔清零流水，累计积分不变）",
}
BENEFICIARY_NAMES = {"elderly": "高龄老人", "dibao": "低保户", "wubao": "五保户", "disabled": "残疾人",
                     "hardship": "其他困难户"}
GROUPS = [
    ("积分评议", ["review_cadence", "quorum", "vote_recording", "guests_vote", "publicity_days", "grid_scope_own"]),
    ("排名与公示栏", ["rankings_enabled", "board_enabled", "star_households_enabled", "star_household_thresholds"]),
    ("显示", ["large_text"]),
    ("积分超市", ["min_balance_to_redeem", "redemption_open", "late_returns_by", "checkout_enter_confirms", "public_url",
               "fund_allow_negative"]),
    ("志愿服务", ["volunteer_points_per_hour", "volunteer_direct_post", "volunteer_self_signup",
              "star_thresholds_hours"]),
    ("党员义田", ["beneficiary_weights"]),
    ("底分与年终", ["base_score", "base_score_spendable", "year_end_policy"]),
]


def show_value(key: str, value) -> str:
    spec = settings.SPECS[key]
    if spec.kind == "bool":
        return "开" if value else "关"
    if spec.kind == "choice":
        return CHOICE_NAMES.get(value, str(value))
    if spec.kind == "list_int":
        return " / ".join(str(v) for v in value)
    if spec.kind == "dict":
        return "，".join(f"{BENEFICIARY_NAMES.get(k, k)} {v}" for k, v in value.items())
    return str(value) if value != "" else "（未设置）"


def _widget(key: str, value, prefix: str):
    spec = settings.SPECS[key]
    wkey = f"{prefix}_{key}"
    if spec.kind == "bool":
        return st.toggle(spec.label, value=bool(value), help=spec.help, key=wkey)
    if spec.kind == "int":
        got = number_box(spec.label, min_value=spec.min, max_value=spec.max, value=int(value), step=1,
                         help=spec.help, key=wkey)
        return None if got is None else int(got)
    if spec.kind == "choice":
        return st.selectbox(spec.label, spec.choices, index=list(spec.choices).index(value),
                            format_func=lambda c: CHOICE_NAMES.get(c, c), help=spec.help, key=wkey)
    if spec.kind == "str":
        return st.text_input(spec.label, value=value, max_chars=200, help=spec.help, key=wkey)
    if spec.kind == "list_int":
        st.markdown(f"**{spec.label}**", help=spec.help)
        cols = st.columns(5)
        stars = [number_box(f"{i + 1}星", min_value=1, max_value=100000, value=int(v), step=1, key=f"{wkey}_{i}",
                            where=cols[i]) for i, v in enumerate(value)]
        return None if None in stars else [int(n) for n in stars]
    if spec.kind == "dict":
        st.markdown(f"**{spec.label}**", help=spec.help)
        cols = st.columns(len(value))
        weights = {k: number_box(BENEFICIARY_NAMES.get(k, k), min_value=0.1, max_value=10.0, value=float(v),
                                 step=0.1, format="%.1f", key=f"{wkey}_{k}", where=cols[i])
                   for i, (k, v) in enumerate(value.items())}
        return None if None in weights.values() else {k: float(w) for k, w in weights.items()}
    raise ValueError(spec.kind)


def render() -> None:
    actor = page_guard("settings")
    st.title("系统设置")
    st.caption("修改后立即生效，并记入操作日志（谁、何时、原值 → 新值）。")
    db = runtime.db()
    current = settings.current_values(db, actor.village_id)

    tabs = st.tabs([name for name, _ in GROUPS] + ["当前设置一览", "示范数据"])
    for (group, keys), tab in zip(GROUPS, tabs, strict=False):
        with tab, st.form(f"settings_form_{keys[0]}", border=True):
            values = {}
            for key in keys:
                values[key] = _widget(key, current[key], "settings")
                st.caption(settings.SPECS[key].help)
            if st.form_submit_button(f"保存“{group}”设置", type="primary"):
                if None in values.values():
                    st.error("有数值超出允许范围（见上方红字），未保存。")
                    continue
                changed = {k: v for k, v in values.items() if v != current[k]}
                if not changed:
                    st.info("没有改动。")
                else:
                    errors = 0
                    for key, value in changed.items():
                        ok = run_action(lambda k=key, v=value: settings.change(db, actor, actor.village_id, k, v)
                                        or True)
                        errors += ok is None
                    if not errors:
                        flash("已保存：" + "、".join(settings.SPECS[k].label for k in changed))
                        st.rerun()

    with tabs[len(GROUPS)]:
        table = pd.DataFrame([{"设置项": spec.label, "当前值": show_value(k, current[k]),
                               "默认值": show_value(k, spec.default), "说明": spec.help}
                              for k, spec in settings.SPECS.items()])
        st.dataframe(table, hide_index=True, width="stretch")
        downloads(table, "系统设置", key="settings_dl")

    with tabs[len(GROUPS) + 1]:
        _demo_section(actor)


def _demo_section(actor) -> None:
    db = runtime.db()
    demo, real = setup.demo_status(db)
    if not demo:
        st.info("当前没有示范数据。")
        return
    if real:
        st.warning(f"数据库里既有示范村（{demo} 个）也有正式村（{real} 个），不能整体清空示范数据。")
        return
    st.markdown("正式使用前，可以删除示范村的全部数据（户、流水、商品、账号……），数据库回到全新状态，"
                "然后在首次设置页面建立本村。**此操作不可恢复**，建议先在命令行运行 `python manage.py backup`。")
    with st.form("settings_remove_demo", border=True):
        typed = st.text_input(f"请输入“{setup.REMOVE_DEMO_CONFIRM}”以确认", key="settings_remove_demo_text")
        go = st.form_submit_button("删除示范数据", type="primary", icon=":material/delete_forever:")
    if go:
        confirm.open_question("settings_remove_demo", typed)
    typed = confirm.token("settings_remove_demo")
    # The typed word is checked by the core, on 确认: the question says what goes before anything does.
    if typed is not None and confirm.confirmed(
            "settings_remove_demo", typed, confirm="确认删除示范数据", back="取消",
            warning=f"确认删除 {demo} 个示范村的全部数据（户、流水、商品、账号……）吗？此操作不可恢复；"
                    "删除后需要重新完成首次设置、建立本村。"):
        done = run_action(lambda: setup.remove_demo(db, actor, typed, data_dir=runtime.config().data_dir) or True)
        if done:
            confirm.close()
            for key in (state.USER_ID, state.SESSION_ID):
                st.session_state.pop(key, None)
            flash("示范数据已删除。请完成首次设置，建立本村。")
            st.rerun()


if __name__ == "__main__":  # opened by URL on a fresh server, outside st.navigation
    from ui.frame import run

    run()
