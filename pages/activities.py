"""志愿活动: publish activities, change their status, sign residents up (with a waitlist); the
外来志愿者 tab keeps the outside volunteers (register, sign-ups, unit totals, certificates)."""

from __future__ import annotations

import datetime as dt

import streamlit as st

from core.volunteering import certificates
from core.volunteering import outsiders as out
from core.volunteering import volunteer as vol
from core.volunteering import volunteer_queries as vq
from db.enums import ActivityStatus, SignupStatus
from ui import confirm, runtime, state
from ui.guard import page_guard
from ui.tables import Col, table
from ui.widgets import flash, md_escape, number_bad, number_box, pdf_download, run_action, text_of

OPEN = (ActivityStatus.PLANNED, ActivityStatus.OPEN)
STATUS_FILTERS = {"进行中": OPEN, "已结束": (ActivityStatus.DONE,), "已取消": (ActivityStatus.CANCELLED,), "全部": None}


def _time_span(a) -> str:
    if not a.start_time:
        return ""
    return f"{a.start_time:%H:%M}" + (f"–{a.end_time:%H:%M}" if a.end_time else "")


ACTIVITIES = [
    Col("date", "日期", "date"),
    Col("title", "活动名称"),
    Col("category", "类别"),
    Col("organiser", "组织单位"),
    Col("place", "地点"),
    Col("start_time", "时间", value=_time_span),
    Col("capacity", "招募人数", "int"),
    Col("signed", "已报名", "int"),
    Col("waiting", "候补", "int"),
    Col("came", "到场", "int"),
    Col("confirmed_minutes", "确认时长（小时）", "number", value=lambda a: vq.hours(a.confirmed_minutes)),
    Col("points_per_hour", "每小时积分", "int"),
    Col("cap_minutes", "每人计时上限（分钟）", "int"),
    Col("status", "状态", names=vol.STATUS_NAMES),
    Col("plot_id", "义田劳动", "bool", value=lambda a: a.plot_id is not None),
]
SIGNUPS = [
    Col("name", "姓名"),
    Col("door_no", "门牌号"),
    Col("status", "状态", names=vol.SIGNUP_NAMES),
    Col("created_at", "报名时间", "datetime"),
]
REGISTER = [
    Col("name", "姓名"),
    Col("unit", "单位"),
    Col("phone", "联系电话"),
    Col("party_member", "党员", names={True: "是", False: "否"}),
    Col("card_no", "志愿者卡号", blank=""),
    Col("active", "状态", names={True: "在册", False: "已停用"}),
    Col("minutes", "累计时长（小时）", "number", value=lambda o: vq.hours(o.minutes)),
]
OUTSIDER_SIGNUPS = [
    Col("name", "姓名"),
    Col("unit", "单位"),
    Col("status", "状态", names=vol.SIGNUP_NAMES),
    Col("created_at", "报名时间", "datetime"),
]
UNIT_TOTALS = [
    Col("unit", "单位", value=lambda u: u.unit or out.UNIT_BLANK),
    Col("people", "人数", "int"),
    Col("party_members", "其中党员", "int"),
    Col("times", "服务人次", "int"),
    Col("minutes", "时长（分钟）", "int"),
    Col("hours", "时长（小时）", "number", value=lambda u: vq.hours(u.minutes)),  # computed: no field of its own
]


def _activity_form(key: str, act=None) -> dict | None:
    """The fields of an activity; returns them when the form was submitted."""
    with st.form(key, clear_on_submit=act is None):
        title = st.text_input("活动名称", value=act.title if act else "", max_chars=80)
        c1, c2, c3 = st.columns(3)
        category = c1.text_input("类别", value=act.category if act else "",
                                 placeholder="如：环境整治、敬老助残、防汛值守", max_chars=30)
        organiser = c2.text_input("组织单位", value=act.organiser if act else "", placeholder="如：村党支部", max_chars=60)
        place = c3.text_input("地点", value=act.place if act else "", max_chars=80)
        c1, c2, c3 = st.columns(3)
        date = c1.date_input("日期", value=act.date if act else dt.date.today(), format="YYYY-MM-DD")
        start = c2.time_input("开始时间", value=act.start_time if act else dt.time(8, 0), step=900)
        end = c3.time_input("结束时间", value=act.end_time if act else dt.time(11, 0), step=900)
        c1, c2, c3 = st.columns(3)
        capacity = number_box("招募人数（0 = 不限）", min_value=0, max_value=10000, step=1,
                              value=(act.capacity or 0) if act else 0, where=c1)
        pph = number_box("每小时积分", min_value=0, max_value=100, step=1, value=act.points_per_hour if act else None,
                         placeholder="默认按村里设置", help="留空则按“志愿服务每小时积分”设置。",
                         key=f"{key}_pph", where=c2)
        cap = number_box("每人计时上限（分钟，0 = 不限）", min_value=0, max_value=1440, step=30,
                         value=(act.cap_minutes or 0) if act else 0, where=c3)
        c1, c2 = st.columns(2)
        travel = number_box("往返路途（分钟，0 = 不计）", min_value=0, max_value=480, step=5,
                            value=(act.travel_minutes or 0) if act else 0, where=c1,
                            help="签退时在签到到签退的时间上另加的路途时间（如到外村服务）。与固定时长只能选一种。")
        fixed = number_box("固定时长（分钟，0 = 按签到签退计）", min_value=0, max_value=1440, step=15,
                           value=(act.fixed_minutes or 0) if act else 0, where=c2,
                           help="每位签到签退的志愿者都按这个时长计（如值守一班）。")
        tasks = st.text_area("任务说明", value=act.tasks if act else "", max_chars=2000, height=80)
        if not st.form_submit_button("保存" if act else "发布活动", type="primary"):
            return None
    if None in (capacity, cap, travel, fixed) or number_bad(f"{key}_pph"):
        return None  # the box outside its range says why, under it
    return dict(title=title, date=date, category=category, organiser=organiser, place=place, start_time=start,
                end_time=end, capacity=int(capacity) or None,
                points_per_hour=int(pph) if pph is not None else (None if act is None else act.points_per_hour),
                cap_minutes=int(cap) or None, tasks=tasks, travel_minutes=int(travel) or None,
                fixed_minutes=int(fixed) or None)


def _create(actor) -> None:
    fields = _activity_form("activity_new")
    if fields is None:
        return
    fingerprint = repr(sorted(fields.items()))
    if st.session_state.get(state.ACTIVITY_LAST_CREATED) == fingerprint:
        st.warning("这个活动刚刚已经发布过了。")
        return
    aid = run_action(lambda: vol.create_activity(runtime.db(), actor, **fields))
    if aid:
        st.session_state[state.ACTIVITY_LAST_CREATED] = fingerprint
        st.session_state[state.ACTIVITY_SELECTED] = aid
        flash(f"已发布活动“{fields['title'].strip()}”。")
        st.rerun()


def _status_controls(actor, act) -> None:
    st.write(f"当前状态：**{vol.STATUS_NAMES[act.status]}**")
    if act.status == ActivityStatus.CANCELLED:
        return
    cols = st.columns(4)
    db = runtime.db()
    for col, (old, new, label, done) in zip(cols, [((ActivityStatus.PLANNED,), ActivityStatus.OPEN, "开放报名",
                                                    "已开放报名。"),
                                                   (OPEN, ActivityStatus.DONE, "标记为已结束", "活动已结束。")],
                                            strict=False):
        if (act.status in old and col.button(label, key=f"act_{new}")
                and run_action(lambda new=new: vol.set_status(db, actor, act.id, new) or True, done)):
            st.rerun()
    if act.status in OPEN:
        with cols[2].popover("取消活动"), st.form("act_cancel_form"):
            reason = st.text_input("取消原因（必填）", max_chars=200)
            if st.form_submit_button("取消活动…", type="primary"):
                confirm.open_question("act_cancel", (act.id, reason))
        asked = confirm.token("act_cancel")
        # Cancelling a cancelled activity changes nothing (core), so a second click does nothing twice.
        if asked and asked[0] == act.id and confirm.confirmed(
                "act_cancel", asked, confirm="确认取消活动", back="返回",
                warning=f"确认取消活动“{act.title}”（{act.date:%Y-%m-%d}）吗？报名的人将不能签到。原因：{asked[1]}") \
                and run_action(lambda: vol.set_status(db, actor, act.id, ActivityStatus.CANCELLED, asked[1]) or True, "活动已取消。"):
            confirm.close()
            st.rerun()


def _signups(actor, act) -> None:
    db = runtime.db()
    rows = vq.signups(db, actor.village_id, act.id)
    signed = sum(r.status == SignupStatus.SIGNED for r in rows)
    waiting = sum(r.status == SignupStatus.WAITLIST for r in rows)
    c = st.columns(3)
    c[0].metric("已报名", signed)
    c[1].metric("招募人数", act.capacity or "不限")
    c[2].metric("候补", waiting)
    if act.status in OPEN:
        query = st.text_input("查找村民（姓名或门牌号）", key="signup_query", max_chars=40)
        found = vq.find_residents(db, actor.village_id, query) if query else []
        if query and not found:
            st.caption("没有找到匹配的村民。")
        if found:
            with st.form("signup_form", clear_on_submit=True, border=False):
                pick = st.selectbox("报名人", found, format_func=lambda x: x[1], key="signup_pick")
                if st.form_submit_button("报名", type="primary") and pick:
                    status = run_action(lambda: vol.sign_up(db, actor, act.id, pick[0]))
                    if status:
                        signed_up = status == SignupStatus.SIGNED
                        flash(f"{pick[1]} 已报名。" if signed_up else f"名额已满，{pick[1]} 已进入候补。",
                              "success" if signed_up else "warning")
                        st.rerun()
    if not rows:
        st.info("还没有人报名。")
        return
    table(rows, SIGNUPS, key="signups", download=f"报名名单_{act.date}_{act.title}")
    active = [r for r in rows if r.status != SignupStatus.CANCELLED]
    if active:
        with st.form("signup_cancel_form", border=False):
            options = [(r.resident_id, f"{r.name}（{vol.SIGNUP_NAMES[r.status]}）") for r in active]
            pick = st.selectbox("取消报名", options, format_func=lambda x: x[1], key="signup_cancel_pick")
            if st.form_submit_button("取消报名…") and pick:
                confirm.open_question("signup_cancel", (act.id, int(pick[0]), str(pick[1])))
        asked = confirm.token("signup_cancel")
        if asked and asked[0] == act.id and confirm.confirmed(
                "signup_cancel", asked, confirm="确认取消报名", back="返回", once=True,  # promotes a waiter: once
                warning=f"确认取消 {asked[2]} 的报名吗？候补第一位将自动递补。"):
            promoted = run_action(lambda: vol.cancel_signup(db, actor, act.id, asked[1]))
            if promoted is not None:
                confirm.close()
                flash("已取消报名" + ("，候补人员已递补。" if promoted else "。"))
                st.rerun()


def _manage(actor, aid: int) -> None:
    db = runtime.db()
    act = run_action(lambda: vq.activity(db, actor.village_id, aid))
    if act is None:
        st.session_state.pop(state.ACTIVITY_SELECTED, None)
        return
    st.subheader(f"{act.date:%Y-%m-%d} {md_escape(act.title)}")
    st.caption(" · ".join(x for x in [act.category, act.organiser, act.place,
                                      f"每小时 {act.points_per_hour} 分",
                                      f"每人最多计 {act.cap_minutes} 分钟" if act.cap_minutes else "",
                                      vol.time_rule(act.travel_minutes, act.fixed_minutes)] if x))
    if act.tasks:
        st.text(act.tasks)
    t1, t2, t3 = st.tabs(["报名与候补", "状态", "修改活动"])
    with t1:
        _signups(actor, act)
    with t2:
        _status_controls(actor, act)
    with t3:
        fields = _activity_form("activity_edit", act)
        if fields is not None:
            if fields["points_per_hour"] is None:
                fields["points_per_hour"] = act.points_per_hour
            if run_action(lambda: vol.update_activity(db, actor, act.id, **fields) or True, "已保存修改。"):
                st.rerun()


# ---------------------------------------------------------------- outside volunteers

PARTY = {"是": True, "否": False}
OUTSIDER_FIELDS = ("name", "unit", "phone", "party", "card")


def _outsider_fields(key: str, current: dict | None = None) -> dict | None:
    """The register form; returns the fields when submitted (the party flag is chosen, never assumed)."""
    with st.form(key):  # kept on a refusal, so nothing typed is lost; cleared after 登记 (OUTSIDER_FIELDS)
        c1, c2 = st.columns(2)
        name = c1.text_input("姓名", value=current["name"] if current else "", max_chars=40, key=f"{key}_name")
        unit = c2.text_input("单位", value=current["unit"] if current else "", max_chars=60,
                             placeholder="如：镇财政所、县供电公司", key=f"{key}_unit")
        c1, c2, c3 = st.columns(3)
        phone = c1.text_input("联系电话", value=current["phone"] if current else "", max_chars=20, key=f"{key}_phone")
        party = c2.radio("是否党员", list(PARTY), horizontal=True, key=f"{key}_party",
                         index=None if current is None else (0 if current["party_member"] else 1))
        card = c3.text_input("志愿者卡号（可不填）", value=current["card_no"] if current else "", max_chars=40,
                             help="有志愿者卡或二维码的，可在扫码签到页按卡号签到。", key=f"{key}_card")
        if not st.form_submit_button("保存修改" if current else "登记", type="primary"):
            return None
    if party is None:
        st.error("请选择是否党员。")
        return None
    return dict(name=name, unit=unit, phone=phone, party_member=PARTY[party], card_no=card)


def _outsider_register(actor) -> None:
    db = runtime.db()
    st.caption("双报到党员、镇村单位人员等不是本村村民的志愿者。他们的服务时长计入所在单位，不计入任何农户的积分。")
    with st.expander("登记外来志愿者", expanded=False, key="outsider_new_box"):
        fields = _outsider_fields("outsider_new")
        if fields is not None:
            fingerprint = repr(sorted(fields.items()))
            if st.session_state.get(state.OUTSIDER_LAST_ADDED) == fingerprint:
                st.warning("这位志愿者刚刚已经登记过了。")
            elif run_action(lambda: out.add(db, actor, **fields)):
                st.session_state[state.OUTSIDER_LAST_ADDED] = fingerprint
                for field in OUTSIDER_FIELDS:
                    st.session_state.pop(f"outsider_new_{field}", None)
                flash(f"已登记外来志愿者 {fields['name'].strip()}。")
                st.rerun()
    rows = out.register(db, actor, actor.village_id)
    if not rows:
        st.info("还没有登记外来志愿者。")
        return
    table(rows, REGISTER, key="outsiders", download="外来志愿者名册")
    options = [(r.outsider_id, f"{r.name}（{r.unit}，{'在册' if r.active else '已停用'}）") for r in rows]
    pick = st.selectbox("修改或停用", options, index=None, format_func=lambda x: x[1], key="outsider_edit_pick",
                        placeholder="选择一位外来志愿者")
    if pick is None:
        return
    current = run_action(lambda: out.details(db, actor.village_id, pick[0]))
    if current is None:
        return
    fields = _outsider_fields(f"outsider_edit_{pick[0]}", current)
    if fields is not None and run_action(lambda: out.update(db, actor, pick[0], **fields) or True, "已保存修改。"):
        st.rerun()
    if current["active"]:
        with st.form(f"outsider_off_{pick[0]}", border=False):
            reason = st.text_input("停用原因（必填）", max_chars=200, placeholder="如：调离本镇")
            if st.form_submit_button("停用…"):
                confirm.open_question("outsider_off", (pick[0], reason))
        asked = confirm.token("outsider_off")
        if asked and asked[0] == pick[0] and confirm.confirmed(
                "outsider_off", asked, confirm="确认停用", back="返回",
                warning=f"确认停用外来志愿者 {pick[1]} 吗？停用后不能再报名和签到，已有的服务时长保留。原因：{asked[1]}") \
                and run_action(lambda: out.set_active(db, actor, pick[0], False, asked[1]) or True, "已停用。"):
            confirm.close()
            st.rerun()
    elif st.button("恢复为在册", key=f"outsider_on_{pick[0]}") and run_action(
            lambda: out.set_active(db, actor, pick[0], True) or True, "已恢复。"):
        st.rerun()


def _outsider_signups(actor) -> None:
    db = runtime.db()
    acts = vq.activities(db, actor.village_id, OPEN)
    if not acts:
        st.info("没有报名中的活动。")
        return
    options = {a.id: f"{a.date:%Y-%m-%d} {a.title}（{vol.STATUS_NAMES[a.status]}）" for a in acts}
    aid = st.selectbox("活动", list(options), format_func=options.get, key="outsider_signup_activity")
    query = st.text_input("查找外来志愿者（姓名或单位）", key="outsider_signup_query", max_chars=40)
    found = out.find(db, actor.village_id, query) if query else []
    if query and not found:
        st.caption("没有找到匹配的在册外来志愿者。")
    if found:
        with st.form("outsider_signup_form", clear_on_submit=True, border=False):
            pick = st.selectbox("报名人", found, format_func=lambda x: x[1], key="outsider_signup_pick")
            if st.form_submit_button("报名", type="primary") and pick:
                status = run_action(lambda: out.sign_up(db, actor, aid, pick[0]))
                if status:
                    signed_up = status == SignupStatus.SIGNED
                    flash(f"{pick[1]} 已报名。" if signed_up else f"名额已满，{pick[1]} 已进入候补。",
                          "success" if signed_up else "warning")
                    st.rerun()
    rows = out.signups(db, actor.village_id, aid)
    if not rows:
        st.caption("这个活动还没有外来志愿者报名。")
        return
    table(rows, OUTSIDER_SIGNUPS, key="outsider_signups")
    active = [r for r in rows if r.status != SignupStatus.CANCELLED]
    if active:
        with st.form("outsider_cancel_form", border=False):
            choices = [(r.outsider_id, f"{r.name}（{vol.SIGNUP_NAMES[r.status]}）") for r in active]
            pick = st.selectbox("取消报名", choices, format_func=lambda x: x[1], key="outsider_cancel_pick")
            if st.form_submit_button("取消报名…") and pick:
                confirm.open_question("outsider_cancel", (aid, int(pick[0]), str(pick[1])))
        asked = confirm.token("outsider_cancel")
        if asked and asked[0] == aid and confirm.confirmed(
                "outsider_cancel", asked, confirm="确认取消报名", back="返回", once=True,  # promotes a waiter: once
                warning=f"确认取消 {asked[2]} 的报名吗？候补第一位将自动递补。") \
                and run_action(lambda: out.cancel_signup(db, actor, aid, asked[1]) or True, "已取消报名。"):
            confirm.close()
            st.rerun()


def _unit_totals(actor) -> None:
    db = runtime.db()
    today = dt.date.today()
    c1, c2 = st.columns(2)
    start = c1.date_input("起始日期", value=today.replace(month=1, day=1), format="YYYY-MM-DD", key="unit_from")
    end = c2.date_input("截止日期", value=today, format="YYYY-MM-DD", key="unit_to")
    rows = run_action(lambda: out.unit_totals(db, actor.village_id, start, end))
    if rows is None:
        return
    if not rows:
        st.info("这段时间没有外来志愿者已确认的服务时长。")
        return
    c = st.columns(3)
    c[0].metric("单位数", len(rows))
    c[1].metric("服务人次", sum(r.times for r in rows))
    c[2].metric("合计时长（小时）", f"{sum(r.minutes for r in rows) / 60:.1f}")
    st.caption("只计负责人已确认的时长；按单位汇总，不计入任何农户积分。")
    table(rows, UNIT_TOTALS, key="unit_totals", download=f"单位志愿服务时长_{start:%Y%m%d}-{end:%Y%m%d}")


def _outsider_certificate(actor) -> None:
    db = runtime.db()
    found = out.find(db, actor.village_id, "", limit=500, active_only=False)
    if not found:
        st.info("还没有登记外来志愿者。")
        return
    person = st.selectbox("外来志愿者", found, index=None, format_func=lambda x: x[1], key="outsider_cert_person",
                          placeholder="选择一位外来志愿者")
    if person:
        today = dt.date.today()
        with st.form("outsider_cert_form"):
            c1, c2 = st.columns(2)
            start = c1.date_input("起始日期", value=today.replace(month=1, day=1), format="YYYY-MM-DD")
            end = c2.date_input("截止日期", value=today, format="YYYY-MM-DD")
            if st.form_submit_button("开具志愿服务证明", type="primary"):
                request = (person[0], start, end)
                if st.session_state.get(state.OUTSIDER_CERT_REQUEST) == request:
                    st.info("这份证明刚刚已经开具，请直接下载。")
                else:
                    cid = run_action(lambda: certificates.issue_outsider(db, actor, person[0], start, end))
                    if cid:
                        st.session_state[state.OUTSIDER_CERT_REQUEST] = request
                        st.session_state[state.OUTSIDER_CERT_LAST] = cid
                        flash("证明已开具，可下载打印。")
                        st.rerun()
    cid = st.session_state.get(state.OUTSIDER_CERT_LAST)
    if cid:
        data = run_action(lambda: certificates.data_for(db, actor.village_id, cid))
        if data:
            st.write(f"证明 {md_escape(data.number)}：{md_escape(data.person)}（{md_escape(data.unit)}）")
            pdf_download("下载证明（PDF）", lambda: certificates.render(data), f"志愿服务证明_{cid}.pdf",
                         "outsider_cert_pdf", text_of(data.number, data.person, data.unit, data.issuer,
                                                      *(f"{t}{o}" for _, t, o, _ in data.rows)),
                         icon=":material/picture_as_pdf:")
    st.caption("已开具的证明（含村民的）可在“志愿者与证明”页面重新打印。")


def _outsiders(actor) -> None:
    t1, t2, t3, t4 = st.tabs(["名册", "报名", "单位服务时长", "服务证明"], key="outsiders_tabs")
    with t1:
        _outsider_register(actor)
    with t2:
        _outsider_signups(actor)
    with t3:
        _unit_totals(actor)
    with t4:
        _outsider_certificate(actor)


def render() -> None:
    actor = page_guard("activities")
    st.title("志愿活动")
    db = runtime.db()
    # keyed: the open tab stays open when a flash message above it comes and goes
    tab_list, tab_new, tab_out = st.tabs(["活动列表", "发布新活动", "外来志愿者"], key="activities_tabs")
    with tab_new:
        _create(actor)
    with tab_out:
        _outsiders(actor)
    with tab_list:
        which = st.segmented_control("显示", list(STATUS_FILTERS), default="进行中", key="activities_filter")
        acts = vq.activities(db, actor.village_id, STATUS_FILTERS.get(which or "全部"))
        if not acts:
            st.info("还没有志愿活动。在“发布新活动”里发布第一个活动。")
            return
        event = table(acts, ACTIVITIES, key="activities_table", download="志愿活动", on_select="rerun",
                      selection_mode="single-row")
        picked = event.selection.rows if event and event.selection else []
        if picked:
            st.session_state[state.ACTIVITY_SELECTED] = acts[picked[0]].id
        aid = st.session_state.get(state.ACTIVITY_SELECTED)
        if aid is None:
            st.caption("点选表格中的一行，管理该活动的报名、状态和内容。")
            return
        st.divider()
        _manage(actor, aid)


if __name__ == "__main__":  # opened by URL on a fresh server, outside st.navigation
    from ui.frame import run

    run()
