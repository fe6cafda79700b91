"""评议会: the committee's 08:30 meeting on a projector.

Open the session by ticking the members present (nobody is ticked by default) → late
arrivals, guests (村民代表 …) and departures are recorded as they happen → the queue (grouped
by grid or category, with flags) → one item large on screen with photos and the household's
recent history → the score as the committee gives it, the votes entered in a grid (全体同意 is
a click, never a default) → 通过 / 不通过 / 暂缓 → the next item comes up by itself.
Unflagged items can be approved in bulk, with votes entered for the batch. Objections are
resolved in their own tab, with votes; minutes download at any time; closing the session
freezes its decisions.
"""

from __future__ import annotations

import datetime as dt

import pandas as pd
import streamlit as st

from core.committee import agenda, attendance, photos, publicity, review, sessions
from core.committee import minutes as minutes_mod
from core.committee.proposals import SOURCE_NAMES
from core.platform.errors import DomainError
from core.platform.natural import natural_key
from ui import confirm, runtime, state
from ui.guard import page_guard
from ui.tables import Col, labelled, table
from ui.widgets import XLSX_MIME, flash, pdf_download, run_action, say, show_photo, text_of
from ui.widgets import md_escape as _md

GROUPS = {"网格": "grid", "类别": "category", "来源": "source"}
DECISIONS = [
    Col("proposal_id", "申报号", "int"),
    Col("door_no", "门牌号"),
    Col("head_name", "户主"),
    Col("rule", "事项"),
    Col("proposed", "申报分值", "points"),
    Col("outcome", "结果", names=agenda.OUTCOME_NAMES),
    Col("points", "核定分值", "points"),
    Col("reason", "理由"),
    Col("votes", "表决"),
    Col("agree", "同意", "int"),
    Col("disagree", "反对", "int"),
    Col("abstain", "弃权", "int"),
]


def render() -> None:
    actor = page_guard("review")
    db = runtime.db()
    vid = actor.village_id
    publicity.post_due_if_any(db, actor, vid)
    st.title("评议会")
    rs = agenda.open_session(db, vid)
    if rs is None:
        _open_form(actor)
    else:
        _session(actor, rs)
    _past(actor)


# ---------------------------------------------------------------- opening


def _open_form(actor) -> None:
    db = runtime.db()
    o = agenda.opening(db, actor.village_id, dt.date.today())
    members, quorum = o.members, o.quorum
    cols = st.columns(3)
    cols[0].metric("待评议事项", o.waiting)
    cols[1].metric("上次评议会", f"{o.last_held:%m月%d日}" if o.last_held else "无")
    cols[2].metric("下次应召开", f"{o.due:%m月%d日}")
    if not members:
        st.warning("本村还没有评议小组成员：请管理员在“工作人员”中给成员加上“评议小组成员”角色。")
        return
    st.subheader("召开评议会")
    with st.form("rv_open"):
        held_on = st.date_input("日期", value=dt.date.today(), key="rv_open_date")
        st.markdown(f"**出席成员**　评议小组共 {len(members)} 人，至少 {quorum} 人出席。请逐一勾选实际到会的成员"
                    "（迟到的成员、村民代表等列席人员可在开始后登记）。")
        cols = st.columns(min(len(members), 5))
        present = [u.id for i, u in enumerate(members)
                   if cols[i % len(cols)].checkbox(_md(u.name), value=False, key=f"rv_open_member_{u.id}")]
        note = st.text_input("备注（可不填）", key="rv_open_note")
        ok = st.form_submit_button("开始评议", type="primary")
    if ok and run_action(lambda: sessions.open_session(db, actor, actor.village_id, held_on=held_on,
                                                     attendee_ids=present, note=note)):
        flash("评议会已开始。")
        st.rerun()


# ---------------------------------------------------------------- an open session


def _session(actor, rs) -> None:
    db = runtime.db()
    screen = agenda.session_screen(db, actor.village_id, rs)
    everyone, items, objections, done = screen.everyone, screen.items, screen.objections, screen.done
    people = [a for a in everyone if a.present]
    members = [a for a in people if a.member]
    guests = [a for a in people if not a.member]
    cols = st.columns(4)
    cols[0].metric("评议日期", f"{rs.held_on:%Y-%m-%d}")
    cols[1].metric("出席" + (f"（另有列席 {len(guests)} 人）" if guests else ""), f"{len(members)} / {rs.members_total} 人")
    cols[2].metric("待议", len(items))
    cols[3].metric("已决定", len(done))
    st.caption("出席：" + _md("、".join(a.name for a in members) or "无") + f"（法定人数 {rs.quorum_required} 人）"
               + ("　列席：" + _md("、".join(f"{a.capacity_name} {a.name}" + ("" if a.voting else "（不表决）")
                                          for a in guests)) if guests else ""))
    if st.toggle("投影模式：不显示侧边栏，大字号，一次一项（快捷键 Alt+1 通过、Alt+2 不通过、Alt+3 暂缓、Alt+A 全体同意）",
                 key=state.REVIEW_PROJECTOR):
        _projector(actor, rs, people, items)
        return
    _attendance(actor, rs, everyone)
    tabs = st.tabs([f"待议事项（{len(items)}）", f"异议处理（{len(objections)}）", f"本次决定（{len(done)}）",
                    "纪要与结束"], key=state.REVIEW_TAB, on_change="rerun")
    with tabs[0]:
        _queue(actor, rs, people, items)
    with tabs[1]:
        _objections(actor, rs, people, objections)
    with tabs[2]:
        table(done, DECISIONS, key="rv_done", download=f"评议决定_{rs.held_on:%Y%m%d}", empty="还没有作出决定。")
    with tabs[3]:
        minutes = minutes_mod.minutes_of(db, rs.id, people=everyone, decisions=done)
        _minutes_downloads(minutes, rs.held_on, "rv_cur")
        _close(actor, rs)


# ---------------------------------------------------------------- attendance and votes


def _attendance(actor, rs, everyone) -> None:
    """Late arrivals, guests and departures, each recorded when it happens (rows are added,
    never changed)."""
    db = runtime.db()
    present = [a for a in everyone if a.present]
    members, guests_vote = agenda.attendance_choices(db, actor.village_id)
    here = {a.user_id for a in present if a.user_id}
    # Every attendance write changes this number, so the inputs below start empty again afterwards
    # (a pick of someone who has just left must not stay selected).
    rnd = len(everyone) + sum(not a.present for a in everyone)
    absent = {u.id: u.name for u in members if u.id not in here}
    with st.expander("出席登记：迟到、列席、离席", icon=":material/groups:", key=state.REVIEW_ATTEND_BOX):
        c = st.columns(3, gap="large")
        with c[0]:
            st.markdown("**迟到的评议小组成员**")
            if absent:
                uid = st.selectbox("成员", list(absent), index=None, format_func=absent.get, key=f"rv_late_pick_{rnd}",
                                   placeholder="选择到会的成员")
                if st.button("登记到会", key=f"rv_late_add_{rnd}", icon=":material/login:", disabled=uid is None) and run_action(
                        lambda: sessions.add_member(db, actor, rs.id, uid)):
                    flash(f"已登记{_md(absent[uid])}到会。")
                    st.rerun()
            else:
                st.caption("成员都已登记出席。")
        with c[1]:
            st.markdown("**列席人员**（" + ("有表决权" if guests_vote else "列席不表决，可在系统设置中改") + "）")
            name = st.text_input("姓名", max_chars=40, key=f"rv_guest_name_{rnd}")
            cap = st.selectbox("身份", attendance.GUEST_CAPACITIES, format_func=attendance.CAPACITY_NAMES.get,
                               key=f"rv_guest_capacity_{rnd}")
            found = agenda.residents_named(db, actor.village_id, name)
            resident = st.selectbox("对应村民（可不选）", [None, *found], key=f"rv_guest_resident_{rnd}",
                                    format_func=lambda r: "不关联" if r is None else found[r]) if found else None
            if st.button("登记列席", key=f"rv_guest_add_{rnd}", icon=":material/person_add:") and run_action(
                    lambda: sessions.add_guest(db, actor, rs.id, name=name, capacity=cap, resident_id=resident)):
                flash(f"已登记列席：{attendance.CAPACITY_NAMES[cap]} {_md(name.strip() or found.get(resident, ''))}。")
                st.rerun()
        with c[2]:
            st.markdown("**离席或登记有误**")
            names = {a.id: f"{a.name}（{a.capacity_name}）" for a in present}
            aid = st.selectbox("出席人员", list(names), index=None, format_func=names.get, key=f"rv_leave_pick_{rnd}",
                               placeholder="选择离开的人")
            kind = st.radio("情况", list(attendance.DEPARTURE_NAMES), index=None, horizontal=True,
                            format_func=attendance.DEPARTURE_NAMES.get, key=f"rv_leave_kind_{rnd}")
            if st.button("登记", key=f"rv_leave_add_{rnd}", icon=":material/logout:",
                         disabled=aid is None or kind is None) and run_action(
                    lambda: sessions.record_departure(db, actor, rs.id, aid, kind)):
                flash(f"已登记{_md(names[aid])}{attendance.DEPARTURE_NAMES[kind]}。")
                st.rerun()


def _all_agree(key: str, ids: list[int]) -> None:
    for aid in ids:
        st.session_state[f"{key}_{aid}"] = "agree"


def _votes_grid(people, key: str, shortcut: str | None = None) -> dict[int, str]:
    """The votes entered for one decision: a grid of the voting attendees × 同意 / 反对 / 弃权,
    nothing selected until someone clicks. 全体同意 enters an agree for each of them."""
    voters = attendance.voters(people)
    with st.container(border=True, key=f"{key}_box"):
        head = st.columns([4, 1], vertical_alignment="center")
        label = head[0].empty()
        head[1].button("全体同意", key=f"{key}_all", icon=":material/done_all:", width="stretch", shortcut=shortcut,
                       on_click=_all_agree, args=(key, [a.id for a in voters]))
        cols = st.columns(3)
        for i, a in enumerate(voters):
            with cols[i % 3]:
                st.segmented_control(_md(a.name if a.member else f"{a.name}（{a.capacity_name}）"),
                                     list(attendance.VOTE_NAMES), format_func=attendance.VOTE_NAMES.get,
                                     default=None, key=f"{key}_{a.id}")
    votes = {a.id: st.session_state[f"{key}_{a.id}"] for a in voters if st.session_state.get(f"{key}_{a.id}")}
    label.markdown("**" + attendance.vote_summary(votes, people) + "**")
    return votes


def _queue(actor, rs, people, items) -> None:
    if not items:
        st.success("待议事项已全部评议完毕。")
        return
    c = st.columns([1, 2])
    with c[0]:
        by = st.segmented_control("分组", list(GROUPS), default="网格", key="rv_group") or "网格"
    attr = GROUPS[by]
    items = sorted(items, key=lambda i: (natural_key(getattr(i, attr)), natural_key(i.door_no), i.id))
    counts: dict[str, int] = {}
    for i in items:
        counts[getattr(i, attr)] = counts.get(getattr(i, attr), 0) + 1
    # Counts stay out of the option labels: a keyed selectbox keeps its first labels on screen.
    group = c[1].selectbox(f"显示哪个{by}", [None, *counts], key=f"rv_show_{attr}",
                           format_func=lambda g: "全部" if g is None else g)
    if group is not None and group in counts:
        items = [i for i in items if getattr(i, attr) == group]
    st.caption("　".join(f"{_md(g)} {n} 项" for g, n in counts.items()))
    # 标记 (why an item is not ticked) next to the tick, so it stays on screen at 1366×768.
    table = pd.DataFrame([{"通过": not i.flags, "标记": i.flags, "编号": i.id, by: getattr(i, attr),
                           "门牌号": i.door_no, "户主": i.head_name, "当事人": i.resident,
                           "事项": f"{i.rule_code} {i.rule_name}", "分值": i.points, "事项日期": i.act_date,
                           "来源": i.source, "照片": i.photos} for i in items])
    st.caption("勾选后可批量通过（有“超上限”“疑似重复”等标记的默认不勾选，请逐项评议）。")
    edited = st.data_editor(table, hide_index=True, width="stretch", key="rv_table",
                            disabled=[c for c in table.columns if c != "通过"],
                            column_config={"通过": st.column_config.CheckboxColumn("勾选", width="small"),
                                           "标记": st.column_config.TextColumn("标记", width="medium"),
                                           "编号": st.column_config.NumberColumn("编号", width="small", format="%d"),
                                           "分值": st.column_config.NumberColumn("分值", width="small"),
                                           "照片": st.column_config.NumberColumn("照片", width="small"),
                                           "事项日期": st.column_config.DateColumn("事项日期", format="MM-DD")})
    chosen = [int(i) for i in edited.loc[edited["通过"], "编号"]]
    pending = confirm.token("rv_bulk")
    if pending:
        confirm.question(f"确认按申报分值批量通过这 {len(pending)} 项吗？请先记下对这批事项的表决（每项都记同样的表决）。")
        votes = _votes_grid(people, "rv_bulk_vote")
        # An item decided already leaves the queue (core), so a second click approves nothing twice.
        if confirm.answer("rv_bulk", confirm="确认批量通过", back="取消"):
            res = run_action(lambda: review.bulk_approve(runtime.db(), actor, rs.id, pending, votes=votes))
            if res:
                confirm.close()
                flash(res.message)
                st.rerun()
    elif st.button(f"批量通过勾选的 {len(chosen)} 项", disabled=not chosen, key="rv_bulk"):
        confirm.open_question("rv_bulk", chosen)

    st.divider()
    ids = [i.id for i in items]
    current = st.session_state.get(state.REVIEW_CURRENT)
    pick = st.selectbox("当前评议事项", ids, index=ids.index(current) if current in ids else 0, key="rv_pick",
                        format_func=lambda i: next(f"#{x.id} {x.door_no} {x.head_name} · {x.rule_name}"
                                                   for x in items if x.id == i))
    st.session_state[state.REVIEW_CURRENT] = pick
    _item_card(actor, rs, people, next(i for i in items if i.id == pick))


PROJECTOR_CSS = """<style>
section[data-testid="stSidebar"], [data-testid="stSidebarCollapsedControl"], header[data-testid="stHeader"]
  { display: none !important; }
.stMainBlockContainer { max-width: 100% !important; padding: 1rem 2.5rem !important; }
.stMainBlockContainer p, .stMainBlockContainer label, .stMainBlockContainer button { font-size: 1.3rem !important; }
.stMainBlockContainer h1 { font-size: 2.2rem !important; }
.stMainBlockContainer h2 { font-size: 2.6rem !important; }
.stMainBlockContainer h3 { font-size: 1.9rem !important; }
.stMainBlockContainer [data-testid="stMetricValue"], .stMainBlockContainer [data-testid="stMetricValue"] *
  { font-size: 2.8rem !important; }
</style>"""


def _projector(actor, rs, people, items) -> None:
    """The meeting on the projector: one item at a time, large, with its photos, the household's
    recent history, the vote count and the decision buttons; no sidebar."""
    st.html(PROJECTOR_CSS)
    if not items:
        st.success("待议事项已全部评议完毕。关闭投影模式后可以下载纪要、结束评议会。")
        return
    items = sorted(items, key=lambda i: (natural_key(i.grid), natural_key(i.door_no), i.id))
    ids = [i.id for i in items]
    current = st.session_state.get(state.REVIEW_CURRENT)
    at = ids.index(current) if current in ids else 0
    nav = st.columns([2, 5, 2], vertical_alignment="center")
    if nav[0].button("上一项", key="rv_proj_prev", disabled=at == 0, width="stretch", shortcut="Alt+Left"):
        at -= 1
    if nav[2].button("下一项", key="rv_proj_next", disabled=at == len(ids) - 1, width="stretch", shortcut="Alt+Right"):
        at += 1
    nav[1].markdown(f"**第 {at + 1} 项，共 {len(ids)} 项待议**　" + _md(items[at].grid))
    st.session_state[state.REVIEW_CURRENT] = ids[at]
    _item_card(actor, rs, people, items[at], history_open=True)


def _item_card(actor, rs, people, it, history_open: bool = False) -> None:
    db = runtime.db()
    context = agenda.item_context(db, it.household_id, it.id)
    history, pics = context.history, context.photos
    with st.container(border=True):
        sign = "+" if it.points > 0 else ""
        st.header(_md(f"{it.door_no} {it.head_name}" + (f"（{it.resident}）" if it.resident else "")))
        st.subheader(_md(f"{it.category} · {it.rule_code} {it.rule_name}") + f"　{sign}{it.points} 分")
        st.caption(_md(it.grid) + f"　事项日期 {it.act_date:%m月%d日}　{it.source}：" + _md(it.submitted_by)
                   + ("　志愿时长折算，不受细则分值范围限制" if it.source == SOURCE_NAMES["volunteer"]
                      else f"　范围 {it.min_points}～{it.max_points} 分"))
        if it.flags:
            st.warning(it.flags, icon=":material/flag:")
        if it.note:
            st.text(it.note)
        if pics:
            cols = st.columns(4)
            for col, ph in zip(cols, pics, strict=False):
                show_photo(photos.path_of(ph.path), col, width="stretch")
        with st.expander("该户近期积分记录", expanded=history_open or bool(it.flags)):
            if history:
                st.dataframe(pd.DataFrame(history), hide_index=True, width="stretch")
            else:
                st.caption("暂无记账记录。")
        c = st.columns([1, 2])
        # Plain text, read by core: what is on screen is what is decided, or refused with the range.
        # (A number box with min/max would keep its old value when 999 is typed, and approve that.)
        pts = c[0].text_input("核定分值", value=str(it.points), max_chars=8, key=f"rv_pts_{it.id}")
        reason = c[1].text_input("理由（不通过时必填）", key=f"rv_reason_{it.id}")
        votes = _votes_grid(people, f"rv_vote_{it.id}", shortcut="Alt+A")
        b = st.columns(3)
        outcome = None
        if b[0].button("通过", type="primary", width="stretch", key=f"rv_ok_{it.id}", icon=":material/check:",
                     shortcut="Alt+1"):
            outcome = "approved"
        if b[1].button("不通过", width="stretch", key=f"rv_no_{it.id}", icon=":material/close:",
                     shortcut="Alt+2"):
            outcome = "rejected"
        if b[2].button("暂缓", width="stretch", key=f"rv_later_{it.id}", icon=":material/schedule:",
                     shortcut="Alt+3"):
            outcome = "deferred"
    if outcome:
        points = pts if outcome == "approved" else None
        done = run_action(lambda: review.decide(db, actor, rs.id, it.id, outcome, points=points, reason=reason,
                                                votes=votes))
        if done:
            flash(done.message)
            st.session_state[state.REVIEW_CURRENT] = None
            st.rerun()


def _objections(actor, rs, people, objections) -> None:
    if not objections:
        st.info("没有待处理的异议。")
        return
    db = runtime.db()
    for ob in objections:
        with st.container(border=True):
            st.markdown(f"**#{ob['proposal_id']} " + _md(f"{ob['door_no']} {ob['head_name']} · {ob['rule']}")
                        + f"　{ob['decided_points']:+d} 分**")
            st.text(f"异议人：{ob['raised_by']}　登记于 {ob['logged_at']:%m-%d %H:%M}\n理由：{ob['reason']}")
            reason = st.text_input("处理理由（必填，将告知异议人）", key=f"rv_ob_reason_{ob['id']}")
            votes = _votes_grid(people, f"rv_ob_vote_{ob['id']}")
            c = st.columns(2)
            outcome = None
            if c[0].button("异议不成立，维持并记账", key=f"rv_ob_up_{ob['id']}", width="stretch"):
                outcome = "upheld"
            if c[1].button("异议成立，撤销该事项", key=f"rv_ob_over_{ob['id']}", width="stretch"):
                outcome = "overturned"
            done = outcome and run_action(lambda ob=ob, outcome=outcome, reason=reason, votes=votes:
                                          review.resolve_objection(db, actor, rs.id, ob["id"], outcome, reason, votes))
            if done:
                flash(done.message)
                st.rerun()


def _close(actor, rs) -> None:
    # The question appears right here, in this tab: the tabs are keyed (state.REVIEW_TAB), so the
    # run after the click shows the same tab instead of the first one.
    st.divider()
    # A closed session is refused by the core, so a second click closes nothing twice.
    if confirm.confirm_step("rv_close", rs.id, ask_label="结束评议会", kind="secondary", icon=":material/lock:",
                            warning="结束后本次评议会的决定将冻结，不能再修改（更正只能走冲正流程）。确认结束吗？",
                            confirm="确认结束", back="取消"):
        try:
            sessions.close_session(runtime.db(), actor, rs.id)
        except DomainError as e:
            say("error", e)
            return
        confirm.close()
        flash("评议会已结束，纪要可在下方“往期评议会”中下载。")
        st.rerun()


# ---------------------------------------------------------------- minutes of past sessions


def _minutes_downloads(m: minutes_mod.Minutes, held_on: dt.date, key: str) -> None:
    # The files are built only when a button is clicked; the names and reasons they will print
    # are checked against the PDF font now, so a missing character shows here in Chinese.
    with st.container(horizontal=True):
        pdf_download("下载纪要 PDF", lambda: minutes_mod.minutes_pdf(m), f"评议会纪要_{held_on:%Y%m%d}.pdf",
                     f"{key}_pdf", text_of(m.title, m.note, "".join(m.attendees), labelled(m.decisions, DECISIONS)),
                     icon=":material/picture_as_pdf:")
        st.download_button("下载纪要 Excel", lambda: minutes_mod.minutes_excel(m), f"评议会纪要_{held_on:%Y%m%d}.xlsx",
                           mime=XLSX_MIME, key=f"{key}_xlsx", icon=":material/download:", on_click="ignore")


def _past(actor) -> None:
    past = agenda.past_sessions(runtime.db(), actor.village_id)
    if not past:
        return
    # Runs only while open: a past session's minutes can hold a thousand decisions.
    past_box = st.expander("往期评议会与纪要", key=state.REVIEW_PAST_OPEN, on_change="rerun")
    if not past_box.open:
        return
    with past_box:
        labels = {p["id"]: p["label"] for p in past}
        sid = st.selectbox("选择评议会", list(labels), format_func=labels.get, key="rv_past")
        m = minutes_mod.minutes_of(runtime.db(), sid)
        st.caption("；".join(f"{k}：{_md(v)}" for k, v in minutes_mod.summary_rows(m)))
        table(m.decisions, DECISIONS, key=f"rv_past_{sid}_decisions")
        m_date = dt.date.fromisoformat(m.held_on)
        _minutes_downloads(m, m_date, f"rv_past_{sid}")


if __name__ == "__main__":  # opened by URL on a fresh server, outside st.navigation
    from ui.frame import run

    run()
