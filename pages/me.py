"""我的积分 — the resident's page behind the household card's QR code.

PUBLIC: no login. The card token in the link (``/me?card=…``) is the key, and it shows
that one household only, read-only apart from two things: the self-report form (it goes to
the review committee) and signing the household's members up for volunteer activities (when
the village allows it). Failed look-ups are rate-limited per client in core.public.resident.
"""

from __future__ import annotations

import datetime as dt

import pandas as pd
import streamlit as st

from core.platform.errors import DomainError
from core.public import resident
from ui import runtime, state
from ui.request import client
from ui.widgets import flash, md_escape, run_action, say

WEEKDAYS = "一二三四五六日"


def _ask_for_card() -> None:
    st.info("请用手机扫描自家积分卡上的二维码，即可查看本户积分。", icon=":material/qr_code_2:")
    with st.form("me_card", clear_on_submit=True):
        typed = st.text_input("或输入卡片下方的 26 位数字", max_chars=40, autocomplete="off")
        if st.form_submit_button("查询", type="primary") and typed.strip():
            st.query_params["card"] = "".join(typed.split())
            st.rerun()


def _overview(v: resident.ResidentView) -> None:
    st.title(f"{md_escape(v.head_name)}家的积分")
    st.caption(f"{md_escape(v.village)} · 门牌号 {md_escape(v.door_no)}")
    with st.container(horizontal=True, gap="medium"):  # stays side by side on a phone
        st.metric("可用积分", v.spendable, help="现在可以在积分超市兑换的积分。")
        st.metric("累计积分", v.earned_total, help="历年挣得的积分（扣分已减去），兑换不会减少。")
        if v.rank is not None:
            st.metric("全村排名", f"第{v.rank}名", help=f"全村共 {v.households_ranked} 户，按累计积分排名。")
    if v.held:
        st.text(f"另有 {min(v.held, v.balance)} 分因公示中的扣分暂不能使用（公示期满后扣除）。")
    if v.outstanding:
        st.text(f"待扣积分 {v.outstanding} 分：扣分时积分不够，以后得到的积分会先用来抵扣。")
    st.text("家庭成员：" + "、".join(v.members))


def _history(v: resident.ResidentView) -> None:
    if not v.history:
        st.info("还没有积分记录。")
        return
    for h in v.history:  # a list, not a table: reasons stay readable on a narrow phone
        with st.container(border=True):
            owed = f"（待扣 {h.outstanding:+d} 分）" if h.outstanding else ""
            st.text(f"{h.day:%Y-%m-%d}　{h.kind}　{h.points:+d} 分{owed}")
            if h.reason:
                st.text(h.reason)
    st.caption(f"显示最近 {len(v.history)} 条。")


def _publicity(v: resident.ResidentView) -> None:
    if not v.publicity:
        st.info("本户目前没有公示中的事项。")
        return
    st.dataframe(pd.DataFrame([{"事项": p.item, "积分": p.points, "发生日期": p.act_date,
                                "公示至": p.until} for p in v.publicity]), hide_index=True, width="stretch")
    st.caption("公示期内如有异议，可向村委会或评议小组反映。")


def _shop(v: resident.ResidentView) -> None:
    if not v.affordable:
        st.info("目前可用积分还不够兑换超市里的商品，继续加油！")
        return
    st.dataframe(pd.DataFrame([{"商品": a.name, "分类": a.category, "所需积分": a.price, "单位": a.unit}
                               for a in v.affordable]), hide_index=True, width="stretch")
    st.caption("以上是本户可用积分够兑换的商品；请带积分卡到村积分超市兑换。")


def _when(a: resident.UpcomingActivity) -> str:
    text = f"{a.day:%m月%d日}（{WEEKDAYS[a.day.weekday()]}）"
    if a.start:
        text += f" {a.start:%H:%M}" + (f"–{a.end:%H:%M}" if a.end else "")
    return text


def _places(a: resident.UpcomingActivity) -> str:
    if a.places_left is None:
        return f"不限人数，已报名 {a.signed} 人"
    if a.places_left > 0:
        return f"还剩 {a.places_left} 个名额（共 {a.capacity} 人）"
    return f"名额已满（{a.capacity} 人），现在报名进入候补" + (f"，已有 {a.waiting} 人候补" if a.waiting else "")


def _state(m: resident.MemberSignup) -> str:
    if m.status == "signed":
        return "已报名"
    if m.status == "waitlist":
        return f"候补第 {m.waitlist_place} 位"
    return "未报名"


def _act(call, done) -> None:
    """One sign-up or cancellation (``done`` makes the success text from core's answer).
    Errors are shown in place by run_action; success is flashed above the list after a fresh
    run, so every count and state on the page is re-read. A second tap that reaches core is
    refused there (AlreadyDone / 已取消) and never signs anyone up twice."""
    result = run_action(call)
    if result is not None:
        flash(done(result))
        st.rerun()


def _member_row(v: resident.ResidentView, a: resident.UpcomingActivity, m: resident.MemberSignup,
                card: str) -> None:
    db = runtime.db()
    name, title = m.name, a.title  # flashed as plain text (ui.widgets.say)
    with st.container(horizontal=True, vertical_alignment="center", gap="small"):  # side by side on a phone
        st.text(f"{m.name}：{_state(m)}")
        if not v.self_signup:
            return
        if m.status is None:
            label = "报名" if a.places_left != 0 else "报名候补"
            if st.button(label, key=f"me_vol_add_{a.id}_{m.resident_id}", type="primary",
                         icon=":material/how_to_reg:"):
                _act(lambda: resident.sign_up(db, card, client(), activity_id=a.id, resident_id=m.resident_id),
                     lambda status: f"{name} 报名成功：{title}（{a.day:%m月%d日}）。" if status == "signed"
                     else f"名额已满，{name} 已进入候补名单；有人取消时按报名先后递补。")
        elif a.day > dt.date.today():
            with st.popover("取消报名", icon=":material/event_busy:"):
                st.text(f"确定取消 {m.name} 的“{a.title}”报名吗？")
                if st.button("确认取消", key=f"me_vol_cancel_{a.id}_{m.resident_id}", type="primary"):
                    _act(lambda: resident.cancel_sign_up(db, card, client(), activity_id=a.id,
                                                         resident_id=m.resident_id),
                         lambda promoted: f"已取消 {name} 的“{title}”报名。")
    if m.status is not None and a.day <= dt.date.today():
        st.caption("活动当天不能在网上取消，如不能参加请联系志愿活动负责人。")


def _show_result() -> None:
    """The last sign-up's flash, above the list and as a toast: the rerun keeps the phone
    scrolled to the activity the resident tapped, far below the section's top."""
    item = st.session_state.pop(state.FLASH, None)
    if item:
        level, text = item
        say(level, text)
        say("toast", text, icon=":material/check_circle:", duration="long")


def _activities(v: resident.ResidentView, card: str) -> None:
    st.subheader("志愿活动报名")
    _show_result()
    if not v.activities:
        st.info("近期没有志愿活动。")
        return
    if v.self_signup:
        st.caption("可以为本户家庭成员报名；名额满了可以报候补，有人取消时按报名先后递补。")
    else:
        st.caption("本村暂未开放网上报名，请联系志愿活动负责人报名。")
    for a in v.activities:
        with st.container(border=True):
            st.markdown(f"**{md_escape(a.title)}**")
            st.text(_when(a) + (f"\n地点：{a.place}" if a.place else ""))
            st.caption(_places(a) + f" · 每小时 {a.points_per_hour} 分")
            for m in a.members:
                _member_row(v, a, m, card)


def _self_report(v: resident.ResidentView, card: str) -> None:
    items = resident.self_report_items(runtime.db(), v.village_id)
    if not items:
        st.info("本村暂未开放自报。")
        return
    st.caption("做了好事可以自己申报，评议小组核实后公示、记分。")
    with st.form("me_report", clear_on_submit=True):
        labels = dict(items)
        item = st.selectbox("申报事项", list(labels), format_func=labels.get, index=None, placeholder="请选择")
        names = dict(v.member_ids)
        who = st.selectbox("谁做的", list(names), format_func=names.get, index=0 if names else None)
        day = st.date_input("哪一天", value=dt.date.today(), max_value=dt.date.today(), format="YYYY-MM-DD")
        note = st.text_area("简单说明", max_chars=500, placeholder="例如：帮邻居王大爷打扫院子")
        sent = st.form_submit_button("提交申报", type="primary")
    if not sent:
        return
    if item is None:
        st.error("请选择申报事项。")
        return
    fingerprint = f"{v.household_id}|{item}|{who}|{day}|{note.strip()}"
    if st.session_state.get(state.ME_REPORTED) == fingerprint:
        st.info("这条申报刚刚已经提交过了。")
        return
    try:
        resident.self_report(runtime.db(), card, client(), rule_item_id=item, act_date=day, note=note,
                             resident_id=who)
    except DomainError as e:
        say("error", e)
        return
    st.session_state[state.ME_REPORTED] = fingerprint
    st.success("已提交，评议小组审核后会在公示栏公示。")


def render() -> None:
    # Public page: the card token replaces the login (see module docstring).
    card = st.query_params.get("card", "")
    if not card:
        st.title("我的积分")
        _ask_for_card()
        return
    try:
        v = resident.view(runtime.db(), card, client())
    except DomainError as e:
        st.title("我的积分")
        say("warning", e, icon=":material/info:")
        return
    _overview(v)
    tabs = st.tabs(["积分记录", "公示中", "可兑换", "志愿活动", "我要申报"])
    with tabs[0]:
        _history(v)
    with tabs[1]:
        _publicity(v)
    with tabs[2]:
        _shop(v)
    with tabs[3]:
        _activities(v, card)
    with tabs[4]:
        _self_report(v, card)


if __name__ == "__main__":  # opened by URL on a fresh server, outside st.navigation
    from ui.frame import run

    run()
