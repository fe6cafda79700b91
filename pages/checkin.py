"""扫码签到: at the activity — scan cards in and out, enter hours by hand, confirm.
Outside volunteers (外来志愿者) are checked in and out by name or by their volunteer card number.
Also used by the field lead for charity-field work days."""

from __future__ import annotations

import datetime as dt

import streamlit as st

from core.platform.errors import DomainError
from core.volunteering import outsiders as out
from core.volunteering import service_hours
from core.volunteering import volunteer as vol
from core.volunteering import volunteer_queries as vq
from db.enums import ActivityStatus, SignupStatus
from ui import confirm, runtime, state
from ui.guard import page_guard
from ui.scan import scan_box
from ui.tables import Col, table
from ui.widgets import flash, md_escape, number_bad, number_box, run_action, say

MODES = {"in": "签到", "out": "签退"}


def _hhmm(at) -> str:
    return f"{at:%H:%M}" if at else ""


# not-yet-known values (no check-out yet) show as blank cells, not "None"
ATTENDANCE = [
    Col("name", "姓名"),
    Col("door_no", "门牌号"),
    Col("check_in", "签到", value=lambda r: _hhmm(r.check_in)),
    Col("check_out", "签退", value=lambda r: _hhmm(r.check_out)),
    Col("on_site", "在场（分钟）", blank=""),
    Col("minutes", "时长（分钟）", blank=""),
    Col("credited", "计入（分钟）", blank=""),
    Col("points", "折算积分", blank=""),
    Col("confirmed", "已确认", "bool"),
]
OUTSIDER_ATTENDANCE = [
    Col("name", "姓名"),
    Col("unit", "单位"),
    Col("check_in", "签到", value=lambda r: _hhmm(r.check_in)),
    Col("check_out", "签退", value=lambda r: _hhmm(r.check_out)),
    Col("minutes", "时长（分钟）", blank=""),
    Col("confirmed", "已确认", "bool"),
]


def _pick_activity(actor) -> int | None:
    db = runtime.db()
    acts = vq.activities(db, actor.village_id, (ActivityStatus.PLANNED, ActivityStatus.OPEN, ActivityStatus.DONE),
                         limit=200)
    if not actor.has("volunteer_lead", "admin"):  # the field lead manages work days only
        acts = [a for a in acts if a.plot_id is not None]
    if not acts:
        st.info("没有可签到的活动。请先在“志愿活动”页面发布活动。")
        return None
    options = {a.id: f"{a.date:%Y-%m-%d} {a.title}（{vol.STATUS_NAMES[a.status]}）" for a in acts}
    current = st.session_state.get(state.CHECKIN_ACTIVITY)
    ids = list(options)
    if current in options:
        index = ids.index(current)
    else:  # today's activity, or else the most recent one
        today = dt.date.today()
        index = next((i for i, a in enumerate(acts) if a.date <= today), 0)
    aid = st.selectbox("活动", ids, index=index, format_func=options.get, key="checkin_activity_pick")
    if aid != current:
        st.session_state.pop(state.CHECKIN_CHOOSE, None)
        confirm.close()
    st.session_state[state.CHECKIN_ACTIVITY] = aid
    return aid


def _show_last() -> None:
    last = st.session_state.get(state.CHECKIN_LAST)
    if last:
        level, text = last
        say(level, text)


def _scan(actor, aid: int) -> None:
    db = runtime.db()
    mode = st.segmented_control("扫码用途", list(MODES), format_func=MODES.get, default="in",
                                key=state.CHECKIN_MODE) or "in"
    scanned = scan_box("checkin_scan", label=f"扫描积分卡{MODES[mode]}")
    if scanned:
        st.session_state.pop(state.CHECKIN_CHOOSE, None)
        fn = service_hours.check_in_by_card if mode == "in" else service_hours.check_out_by_card
        try:
            res = fn(db, actor, aid, scanned)
        except DomainError as e:
            st.session_state[state.CHECKIN_LAST] = ("error", str(e))
        else:
            if res.status == "choose":
                st.session_state[state.CHECKIN_CHOOSE] = (res.household_id, mode, [m for m, _ in res.members])
                st.session_state[state.CHECKIN_LAST] = ("info", f"{res.door_no} 户：{res.message}")
            else:
                st.session_state[state.CHECKIN_LAST] = ("success", res.message)
    _show_last()
    choose = st.session_state.get(state.CHECKIN_CHOOSE)
    if choose:
        household, cmode, member_ids = choose
        members = [m for m in vq.household_members(db, actor.village_id, household) if m[0] in member_ids]
        with st.container(border=True):
            st.write(f"请选择{MODES[cmode]}的人：")
            cols = st.columns(min(len(members), 6) or 1)
            for i, (rid, name) in enumerate(members):
                if cols[i % len(cols)].button(name, key=f"checkin_choose_{rid}", width="stretch"):
                    fn = service_hours.check_in if cmode == "in" else service_hours.check_out
                    result = run_action(lambda rid=rid, fn=fn: fn(db, actor, aid, rid))
                    if result is not None:
                        st.session_state.pop(state.CHECKIN_CHOOSE, None)
                        msg = (f"{name} 签到成功。" if cmode == "in"
                               else f"{name} 签退成功，计入 {result // 60} 小时 {result % 60} 分钟。")
                        st.session_state[state.CHECKIN_LAST] = ("success", msg)
                        st.rerun()
            if st.button("取消选择", key="checkin_choose_cancel"):
                st.session_state.pop(state.CHECKIN_CHOOSE, None)
                st.session_state.pop(state.CHECKIN_LAST, None)
                st.rerun()


def _outsiders(actor, aid: int):
    """外来志愿者: check in by name (or by their volunteer card number), check out, hours by hand.
    Returns their attendance at the activity (for the confirmation step)."""
    db = runtime.db()
    orows = out.attendance(db, actor.village_id, aid)
    with st.expander("外来志愿者签到（按姓名或卡号）", expanded=bool(orows), key="checkin_outsider_box"):
        st.caption("不是本村村民的志愿者（如双报到党员）。服务时长计入所在单位，不计入农户积分。")
        query = st.text_input("查找外来志愿者（姓名或单位）", key="checkin_outsider_query", max_chars=40)
        found = out.find(db, actor.village_id, query) if query else []
        if query and not found:
            st.caption("没有找到匹配的在册外来志愿者，请先在“志愿活动 → 外来志愿者”中登记。")
        if found:
            pick = st.selectbox("外来志愿者", found, format_func=lambda x: x[1], key="checkin_outsider_pick")
            c1, c2 = st.columns(2)
            if c1.button("签到", key="checkin_outsider_in", type="primary", width="stretch") and pick:
                msg = run_action(lambda: out.check_in(db, actor, aid, pick[0]))
                if msg:
                    flash(msg)
                    st.rerun()
            if c2.button("签退", key="checkin_outsider_out", width="stretch") and pick:
                minutes = run_action(lambda: out.check_out(db, actor, aid, pick[0]))
                if minutes is not None:
                    flash(f"{pick[1]} 签退成功，计入 {minutes // 60} 小时 {minutes % 60} 分钟。")
                    st.rerun()
        with st.form("checkin_outsider_card", clear_on_submit=True, border=False):
            card = st.text_input("或输入/扫描志愿者卡号签到", max_chars=40, key="checkin_outsider_card_no")
            if st.form_submit_button("按卡号签到") and card:
                msg = run_action(lambda: out.check_in_by_card(db, actor, aid, card))
                if msg:
                    flash(msg)
                    st.rerun()
        if orows:
            table(orows, OUTSIDER_ATTENDANCE, key="checkin_outsiders")
            todo = [(r.outsider_id, r.name) for r in orows if not r.confirmed]
            if todo:
                with st.form("checkin_outsider_minutes", clear_on_submit=True, border=False):
                    who = st.selectbox("手工录入时长", todo, format_func=lambda x: x[1])
                    c1, c2 = st.columns(2)
                    hours = number_box("小时", min_value=0, max_value=24, where=c1, step=1, value=None,
                                       key="checkin_outsider_hours")
                    mins = number_box("分钟", min_value=0, max_value=59, where=c2, step=5, value=None,
                                      key="checkin_outsider_minutes")
                    bad = number_bad("checkin_outsider_hours") or number_bad("checkin_outsider_minutes")
                    if st.form_submit_button("保存时长") and who and not bad:
                        if hours is None and mins is None:
                            st.error("请填写服务时长。")
                        else:
                            total = int(hours or 0) * 60 + int(mins or 0)
                            if run_action(lambda: out.set_minutes(db, actor, aid, who[0], total),
                                          f"已记录 {who[1]} 服务 {total // 60} 小时 {total % 60} 分钟。"):
                                st.rerun()
    return orows


def _manual(actor, aid: int, rows, missing) -> None:
    db = runtime.db()
    act = vq.activity(db, actor.village_id, aid)
    st.caption(f"本活动计时：{vol.time_rule(act.travel_minutes, act.fixed_minutes)}。手工录入的是计入的时长。"
               "已确认的时长只能通过“志愿者与证明”页面的更正申请修改。")
    people = [(r.resident_id, f"{r.name}（{r.door_no}）") for r in rows if not r.confirmed]
    people += [(r.resident_id, f"{r.name}（{r.door_no}，已报名未签到）") for r in missing]
    query = st.text_input("或查找其他村民（姓名或门牌号）", key="checkin_manual_query", max_chars=40)
    if query:
        known = {p[0] for p in people}
        people += [p for p in vq.find_residents(db, actor.village_id, query) if p[0] not in known]
    if not people:
        st.info("没有待录入的人员。")
        return
    with st.form("checkin_manual_form", clear_on_submit=True):
        pick = st.selectbox("人员", people, format_func=lambda x: x[1])
        c1, c2 = st.columns(2)
        hours = number_box("小时", min_value=0, max_value=24, step=1, value=0, where=c1)
        minutes = number_box("分钟", min_value=0, max_value=59, step=5, value=0, where=c2)
        note = st.text_input("备注（如：手工补录原因）", max_chars=200)
        if st.form_submit_button("保存时长", type="primary") and pick and None not in (hours, minutes):
            total = int(hours) * 60 + int(minutes)
            if run_action(lambda: service_hours.set_minutes(db, actor, aid, pick[0], total, note),
                          f"已记录 {pick[1]} 服务 {total // 60} 小时 {total % 60} 分钟。"):
                st.rerun()


def _confirm(actor, aid: int, rows, orows) -> None:
    db = runtime.db()
    pending = [r for r in rows if not r.confirmed and r.minutes is not None]
    open_rows = [r for r in rows if not r.confirmed and r.minutes is None]
    pending_out = [r for r in orows if not r.confirmed and r.minutes is not None]
    open_out = [r for r in orows if not r.confirmed and r.minutes is None]
    if open_rows or open_out:
        say("warning", "还有人已签到未签退、没有时长：" + "、".join(r.name for r in [*open_rows, *open_out])
            + "。确认时将跳过他们。")
    if not pending and not pending_out:
        st.info("没有待确认的时长。")
        return
    act = vq.activity(db, actor.village_id, aid)
    st.write(f"待确认 **{len(pending)}** 人，合计 {sum(r.minutes for r in pending) / 60:.1f} 小时，"
             f"折算 {sum(r.points for r in pending)} 积分。")
    if pending_out:
        st.write(f"另有外来志愿者 **{len(pending_out)}** 人，合计 {sum(r.minutes for r in pending_out) / 60:.1f} 小时"
                 "（计入所在单位，不折算积分）。")
    st.caption(f"计时规则：{vol.time_rule(act.travel_minutes, act.fixed_minutes)}。请核对上表每人的“在场”与“时长”"
               "（计入的时长）后确认；有出入的先在“手工录入时长”中改正。")
    if confirm.confirm_step("checkin_confirm", aid, ask_label="确认时长…", confirm="确认，计入",
                            warning="确认后时长计入志愿者累计时长并折算积分（按村里设置直接入账或提交评议会），"
                                    "之后只能通过更正申请修改。"):
        n = run_action(lambda: service_hours.confirm(db, actor, aid))
        if n is not None:
            confirm.close()
            flash(f"已确认 {n} 人的服务时长。")
            st.rerun()


def render() -> None:
    actor = page_guard("checkin")
    st.title("扫码签到")
    aid = _pick_activity(actor)
    if aid is None:
        return
    db = runtime.db()
    _scan(actor, aid)
    orows = _outsiders(actor, aid)
    rows = vq.attendance(db, actor.village_id, aid)
    st.subheader("到场人员")
    signed = [r for r in vq.signups(db, actor.village_id, aid) if r.status == SignupStatus.SIGNED]
    came = {r.resident_id for r in rows}
    missing = [r for r in signed if r.resident_id not in came]
    st.caption(f"已报名 {len(signed)} 人，到场 {len(rows)} 人。"
               + (f"已报名未到：{md_escape('、'.join(r.name for r in missing))}。" if missing else ""))
    if not rows:
        st.caption("还没有人签到。")
    else:
        table(rows, ATTENDANCE, key="checkin", download="签到记录")
    t1, t2 = st.tabs(["手工录入时长", "确认时长"], key="checkin_tabs")  # keyed: stays open when a flash goes
    with t1:
        _manual(actor, aid, rows, missing)
    with t2:
        _confirm(actor, aid, rows, orows)


if __name__ == "__main__":  # opened by URL on a fresh server, outside st.navigation
    from ui.frame import run

    run()
