"""志愿者与证明: totals and star levels, leaderboard, corrections, certificates, exports."""

from __future__ import annotations

import datetime as dt

import pandas as pd
import streamlit as st

from core.volunteering import certificates, service_hours
from core.volunteering import volunteer_queries as vq
from core.volunteering.volunteer import CORRECTION_NAMES
from ui import confirm, runtime, state
from ui.guard import page_guard
from ui.tables import Col, labelled, table
from ui.widgets import (
    excel_download,
    flash,
    number_box,
    pdf_download,
    run_action,
    run_open_tab,
    text_of,
)


def _mins(value) -> str:
    return "未录" if value is None else f"{int(value)} 分钟"


def _stars(level: int) -> str:
    return "★" * level if level else "—"


def _activity(c) -> str:
    return f"{c.activity_date:%Y-%m-%d} {c.activity_title}"


TOTALS = [
    Col("name", "姓名"),
    Col("door_no", "门牌号"),
    Col("minutes", "累计时长（小时）", "number", value=lambda t: vq.hours(t.minutes)),
    Col("star_level", "星级", value=lambda t: _stars(t.star_level)),
    Col("reached_on", "最近升星日期", value=lambda t: f"{t.reached_on:%Y-%m-%d}" if t.reached_on else ""),
]
STAR_EVENTS = [
    Col("name", "姓名"),
    Col("door_no", "门牌号"),
    Col("level", "星级", value=lambda e: "★" * e.level),
    Col("reached_on", "达到日期", "date"),
    Col("minutes_at", "当时累计（小时）", "number", value=lambda e: vq.hours(e.minutes_at)),
]
LEADERBOARD = [
    Col("rank", "名次", "int"),
    Col("name", "姓名"),
    Col("door_no", "门牌号"),
    Col("minutes", "累计时长（小时）", "number", value=lambda t: vq.hours(t.minutes)),
    Col("star_level", "星级", value=lambda t: _stars(t.star_level)),
]
OPEN_CORRECTIONS = [
    Col("name", "姓名"),
    Col("activity_date", "活动", value=_activity),
    Col("old_minutes", "原时长（分钟）", "int"),
    Col("new_minutes", "申请时长（分钟）", "int"),
    Col("requested_by", "申请人"),
    Col("reason", "原因"),
    Col("created_at", "申请时间", "datetime"),
]
CORRECTIONS = [
    *OPEN_CORRECTIONS,
    Col("status", "状态", names=CORRECTION_NAMES),
    Col("decision_note", "处理意见"),
    Col("decided_at", "处理时间", "datetime"),
]
BY_MONTH = [
    Col("name", "姓名"),
    Col("door_no", "门牌号"),
    Col("month", "月份", value=lambda m: f"{m.year}-{m.month:02d}"),
    Col("times", "参加次数", "int"),
    Col("minutes", "服务时长（小时）", "number", value=lambda m: vq.hours(m.minutes)),
]
BY_ACTIVITY = [
    Col("date", "日期", "date"),
    Col("title", "活动名称"),
    Col("category", "类别"),
    Col("organiser", "组织单位"),
    Col("people", "参加人数", "int"),
    Col("minutes", "服务时长（小时）", "number", value=lambda a: vq.hours(a.minutes)),
]


def _person_picker(actor, key: str) -> tuple[int, str] | None:
    query = st.text_input("查找志愿者（姓名或门牌号）", key=f"{key}_query", max_chars=40)
    if not query:
        return None
    found = vq.find_residents(runtime.db(), actor.village_id, query)
    if not found:
        st.caption("没有找到匹配的村民。")
        return None
    return st.selectbox("志愿者", found, format_func=lambda x: x[1], key=f"{key}_pick")


def _totals(actor) -> None:
    db = runtime.db()
    rows = vq.totals(db, actor.village_id)
    if not rows:
        st.info("还没有确认的志愿服务时长。")
        return
    c = st.columns(6)
    c[0].metric("志愿者人数", len(rows))
    for level in range(1, 6):
        c[level].metric("★" * level, sum(r.star_level == level for r in rows))
    table(rows, TOTALS, key="vol_totals", download="志愿者累计时长")
    with st.expander("升星记录"):
        table(vq.star_events(db, actor.village_id), STAR_EVENTS, key="vol_stars", download="志愿者升星记录")


def _leaderboard(actor) -> None:
    board = vq.leaderboard(runtime.db(), actor.village_id)
    if board is None:
        st.info("本村已关闭排名显示（可在“系统设置”中开启）。")
        return
    table(board, LEADERBOARD, key="vol_board", download="志愿者排行榜", empty="还没有确认的志愿服务时长。")


def _corrections(actor) -> None:
    db = runtime.db()
    st.subheader("待处理的更正申请")
    pending = vq.corrections(db, actor.village_id, only_open=True)
    if not pending:
        st.caption("没有待处理的更正申请。")
    else:
        table(pending, OPEN_CORRECTIONS, key="vol_corr_open")
        _decide(actor, pending)
    st.subheader("登记更正申请")
    person = _person_picker(actor, "correction_person")
    if person:
        records = vq.person_attendance(db, actor.village_id, person[0])
        if not records:
            st.caption("此人没有服务记录。")
        else:
            with st.form("correction_request_form", clear_on_submit=True):
                options = [(r.attendance_id, f"{r.date:%Y-%m-%d} {r.title}（现为 {_mins(r.minutes)}）") for r in records]
                pick = st.selectbox("服务记录", options, format_func=lambda x: x[1])
                minutes = number_box("应为（分钟）", min_value=0, max_value=1440, step=5, value=60)
                reason = st.text_area("更正原因（必填）", max_chars=500, height=70)
                who = st.radio("申请人", ["志愿者本人", "工作人员"], horizontal=True)
                submitted = st.form_submit_button("登记申请")
                if submitted and pick and minutes is not None and run_action(
                        lambda: service_hours.request_correction(db, actor, pick[0], int(minutes), reason,
                                                       by_volunteer=who == "志愿者本人"),
                        "已登记更正申请，等待负责人处理。"):
                    st.rerun()
    with st.expander("全部更正记录（含已处理）"):
        table(vq.corrections(db, actor.village_id), CORRECTIONS, key="vol_corr", download="志愿时长更正记录")


def _decide(actor, pending) -> None:
    """采纳 or 不采纳 an open request: the form opens the question (whose hours, which activity, old →
    new, the reason), 确认 decides once (the core refuses a request already decided), 取消 changes nothing."""
    db = runtime.db()
    with st.form("correction_decide_form", clear_on_submit=True):
        options = [(r.id, f"{r.name} · {_activity(r)} · {_mins(r.old_minutes)} → {r.new_minutes} 分钟") for r in pending]
        pick = st.selectbox("申请", options, format_func=lambda x: x[1])
        decision = st.radio("处理", ["采纳", "不采纳"], horizontal=True)
        note = st.text_input("处理意见（不采纳时必填）", max_chars=200)
        if st.form_submit_button("提交处理…", type="primary") and pick:
            confirm.open_question("correction_decide", (pick[0], decision, note))
    asked = confirm.token("correction_decide")
    row = next((r for r in pending if asked and r.id == asked[0]), None)
    if row is None:
        return
    accept = asked[1] == "采纳"
    details = [f"志愿者：{row.name}", f"活动：{_activity(row)}",
               f"时长：{_mins(row.old_minutes)} → {row.new_minutes} 分钟", f"更正原因：{row.reason}"]
    if asked[2].strip():
        details.append(f"处理意见：{asked[2].strip()}")
    warning = (f"确认采纳 {row.name} 的时长更正吗？采纳后累计时长、星级和积分随之调整。" if accept
               else f"确认不采纳 {row.name} 的时长更正吗？时长保持不变。")
    if confirm.confirmed("correction_decide", asked, warning=warning, details=details, confirm="确认", back="取消") \
            and run_action(lambda: service_hours.decide_correction(db, actor, row.id, accept, asked[2]),
                           f"已{asked[1]}该更正申请。"):
        confirm.close()
        st.rerun()


def _certificates(actor) -> None:
    db = runtime.db()
    person = _person_picker(actor, "certificate_person")
    if person:
        today = dt.date.today()
        with st.form("certificate_form"):
            c1, c2 = st.columns(2)
            start = c1.date_input("起始日期", value=today.replace(month=1, day=1), format="YYYY-MM-DD")
            end = c2.date_input("截止日期", value=today, format="YYYY-MM-DD")
            if st.form_submit_button("开具志愿服务证明", type="primary"):
                request = (person[0], start, end)
                if st.session_state.get(state.CERTIFICATE_REQUEST) == request:
                    st.info("这份证明刚刚已经开具，请直接下载。")
                    cid = None
                else:
                    cid = run_action(lambda: certificates.issue(db, actor, person[0], start, end))
                if cid:
                    st.session_state[state.CERTIFICATE_REQUEST] = request
                    st.session_state[state.CERTIFICATE_LAST] = cid
                    flash("证明已开具，可下载打印。")
                    st.rerun()
    cid = st.session_state.get(state.CERTIFICATE_LAST)
    if cid:
        data = run_action(lambda: certificates.data_for(db, actor.village_id, cid))
        if data:  # the PDF itself is drawn only when the button is clicked
            pdf_download("下载证明（PDF）", lambda: certificates.render(data), f"志愿服务证明_{cid}.pdf",
                         "certificate_pdf", text_of(data.number, data.person, data.gender, data.issuer,
                                                    *(f"{t}{o}" for _, t, o, _ in data.rows)),
                         icon=":material/picture_as_pdf:")
    issued = certificates.issued(db, actor.village_id)
    if issued:
        st.subheader("已开具的证明")
        df = pd.DataFrame(issued)
        st.dataframe(df.drop(columns=["id"]), hide_index=True, width="stretch")
        pick = st.selectbox("重新打印", [(r["id"], f"{r['证明编号']} {r['姓名']}") for r in issued],
                            format_func=lambda x: x[1], key="certificate_reprint")
        if pick and st.button("准备下载", key="certificate_reprint_btn"):
            st.session_state[state.CERTIFICATE_LAST] = pick[0]
            st.rerun()


def _exports(actor) -> None:
    db = runtime.db()
    today = dt.date.today()
    year = number_box("年份", min_value=2000, max_value=2100, value=today.year, step=1, key="vol_export_year")
    if year is None:
        return
    by_month = vq.hours_by_person_month(db, actor.village_id, int(year))
    by_activity = vq.hours_by_activity(db, actor.village_id, dt.date(int(year), 1, 1), dt.date(int(year), 12, 31))
    st.subheader("每人每月服务时长")
    if not by_month:
        st.caption("该年没有确认的服务时长。")
    else:
        table(by_month, BY_MONTH, key="vol_month", download=f"志愿服务时长_按人按月_{year}")
    st.subheader("各活动服务时长")
    if by_activity:
        table(by_activity, BY_ACTIVITY, key="vol_act", download=f"志愿服务时长_按活动_{year}")
        excel_download("下载汇总 Excel（两张表）",
                       {"按人按月": labelled(by_month, BY_MONTH), "按活动": labelled(by_activity, BY_ACTIVITY)},
                       f"志愿服务统计_{year}.xlsx", "vol_all_xlsx")


def render() -> None:
    actor = page_guard("volunteers")
    st.title("志愿者与证明")
    run_open_tab({"志愿者与星级": lambda: _totals(actor), "排行榜": lambda: _leaderboard(actor),
                  "时长更正": lambda: _corrections(actor), "志愿服务证明": lambda: _certificates(actor),
                  "统计导出": lambda: _exports(actor)}, state.VOLUNTEERS_TAB)


if __name__ == "__main__":  # opened by URL on a fresh server, outside st.navigation
    from ui.frame import run

    run()
