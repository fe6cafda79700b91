"""评议会: the committee's 08:30 meeting on a projector.

Open the session with the members present → the queue (grouped by grid or category, with
flags) → one item large on screen with photos and the household's recent history →
通过 / 不通过 / 暂缓 with votes → the next item comes up by itself. Unflagged items can be
approved in bulk. Objections are resolved in their own tab; minutes download at any time;
closing the session freezes its decisions.
"""

from __future__ import annotations

import datetime as dt

import pandas as pd
import streamlit as st

from core import minutes as minutes_mod
from core import photos, publicity, review, settings
from core.proposals import photos_of
from ui import runtime, state
from ui.guard import page_guard
from ui.widgets import XLSX_MIME, downloads, flash, pdf_download, run_action, show_photo, text_of
from ui.widgets import md_escape as _md

GROUPS = {"网格": "grid", "类别": "category", "来源": "source"}


def render() -> None:
    actor = page_guard("committee", "admin")
    db = runtime.db()
    vid = actor.village_id
    publicity.post_due_if_any(db, actor, vid)
    st.title("评议会")
    with db.read() as s:
        rs = review.open_session_of(s, vid)
    if rs is None:
        _open_form(actor)
    else:
        _session(actor, rs)
    _past(actor)


# ---------------------------------------------------------------- opening


def _open_form(actor) -> None:
    db = runtime.db()
    with db.read() as s:
        members = review.committee_members(s, actor.village_id)
        quorum = review.quorum_for(len(members), settings.get(s, actor.village_id, "quorum"))
        cadence = settings.get(s, actor.village_id, "review_cadence")
        past = review.sessions(s, actor.village_id, limit=1)
        waiting = len(review.queue(s, actor.village_id, dt.date.today()))
    last = past[0]["held_on"] if past else None
    due = review.next_session_due(cadence, last, dt.date.today())
    cols = st.columns(3)
    cols[0].metric("待评议事项", waiting)
    cols[1].metric("上次评议会", f"{last:%m月%d日}" if last else "无")
    cols[2].metric("下次应召开", f"{due:%m月%d日}")
    if not members:
        st.warning("本村还没有评议小组成员：请管理员在“工作人员”中给成员加上“评议小组成员”角色。")
        return
    st.subheader("召开评议会")
    names = {u.id: u.display_name for u in members}
    with st.form("rv_open"):
        held_on = st.date_input("日期", value=dt.date.today(), key="rv_open_date")
        present = st.multiselect(f"出席成员（共 {len(members)} 人，至少 {quorum} 人出席）", list(names),
                                 default=list(names), format_func=names.get, key="rv_open_present")
        note = st.text_input("备注（可不填）", key="rv_open_note")
        ok = st.form_submit_button("开始评议", type="primary")
    if ok and run_action(lambda: review.open_session(db, actor, actor.village_id, held_on=held_on,
                                                     attendee_ids=present, note=note)):
        flash("评议会已开始。")
        st.rerun()


# ---------------------------------------------------------------- an open session


def _session(actor, rs) -> None:
    db = runtime.db()
    with db.read() as s:
        people = review.attendees(s, rs.id)
        items = review.queue(s, actor.village_id, rs.held_on, rs.id)
        objections = publicity.objections(s, actor.village_id, status="open")
        done = review.session_decisions(s, rs.id)
    cols = st.columns(4)
    cols[0].metric("评议日期", f"{rs.held_on:%Y-%m-%d}")
    cols[1].metric("出席", f"{len(people)} / {rs.members_total} 人")
    cols[2].metric("待议", len(items))
    cols[3].metric("已决定", len(done))
    st.caption("出席：" + _md("、".join(u.display_name for u in people)) + f"（法定人数 {rs.quorum_required} 人）")
    tabs = st.tabs([f"待议事项（{len(items)}）", f"异议处理（{len(objections)}）", f"本次决定（{len(done)}）",
                    "纪要与结束"])
    with tabs[0]:
        _queue(actor, rs, people, items)
    with tabs[1]:
        _objections(actor, rs, people, objections)
    with tabs[2]:
        df = pd.DataFrame(done)
        if df.empty:
            st.info("还没有作出决定。")
        else:
            st.dataframe(df, hide_index=True, width="stretch")
            downloads(df, f"评议决定_{rs.held_on:%Y%m%d}", "rv_done_dl")
    with tabs[3]:
        with db.read() as s:
            minutes = minutes_mod.minutes(s, rs.id, people=people, decisions=done)
        _minutes_downloads(minutes, rs.held_on, "rv_cur")
        _close(actor, rs)


def _votes_widget(people, key: str) -> dict[int, str] | None:
    """Each attendee's vote; default everyone agrees (recorded as such)."""
    labels = {"agree": "同意", "disagree": "反对", "abstain": "弃权"}
    with st.popover("表决（默认全体同意）", icon=":material/how_to_vote:"):
        votes = {}
        for u in people:
            votes[u.id] = st.segmented_control(_md(u.display_name), list(labels), format_func=labels.get,
                                               default="agree", key=f"{key}_{u.id}") or "agree"
    return None if all(v == "agree" for v in votes.values()) else votes


def _queue(actor, rs, people, items) -> None:
    if not items:
        st.success("待议事项已全部评议完毕。")
        return
    c = st.columns([1, 2])
    with c[0]:
        by = st.segmented_control("分组", list(GROUPS), default="网格", key="rv_group") or "网格"
    attr = GROUPS[by]
    items = sorted(items, key=lambda i: (getattr(i, attr), i.door_no, i.id))
    counts: dict[str, int] = {}
    for i in items:
        counts[getattr(i, attr)] = counts.get(getattr(i, attr), 0) + 1
    # Counts stay out of the option labels: a keyed selectbox keeps its first labels on screen.
    group = c[1].selectbox(f"显示哪个{by}", [None, *counts], key=f"rv_show_{attr}",
                           format_func=lambda g: "全部" if g is None else g)
    if group is not None and group in counts:
        items = [i for i in items if getattr(i, attr) == group]
    st.caption("　".join(f"{_md(g)} {n} 项" for g, n in counts.items()))
    table = pd.DataFrame([{"通过": not i.flags, "编号": i.id, by: getattr(i, attr), "门牌号": i.door_no,
                           "户主": i.head_name, "当事人": i.resident, "事项": f"{i.rule_code} {i.rule_name}",
                           "分值": i.points, "事项日期": i.act_date, "来源": i.source, "照片": i.photos,
                           "标记": i.flags} for i in items])
    st.caption("勾选后可批量通过（有“超上限”“疑似重复”等标记的默认不勾选，请逐项评议）。")
    edited = st.data_editor(table, hide_index=True, width="stretch", key="rv_table",
                            disabled=[c for c in table.columns if c != "通过"],
                            column_config={"通过": st.column_config.CheckboxColumn("勾选", width="small")})
    chosen = [int(i) for i in edited.loc[edited["通过"], "编号"]]
    pending = st.session_state.get(state.REVIEW_BULK_PENDING)
    if pending:
        st.warning(f"确认按申报分值批量通过这 {len(pending)} 项吗？")
        c = st.columns(2)
        if c[0].button("确认批量通过", type="primary", key="rv_bulk_yes"):
            st.session_state[state.REVIEW_BULK_PENDING] = None
            res = run_action(lambda: review.bulk_approve(runtime.db(), actor, rs.id, pending))
            if res:
                flash(f"已通过 {res[0]} 项" + (f"，{res[1]} 项此前已决定、已跳过。" if res[1] else "。"))
                st.rerun()
        if c[1].button("取消", key="rv_bulk_no"):
            st.session_state[state.REVIEW_BULK_PENDING] = None
            st.rerun()
    elif st.button(f"批量通过勾选的 {len(chosen)} 项", disabled=not chosen, key="rv_bulk"):
        st.session_state[state.REVIEW_BULK_PENDING] = chosen
        st.rerun()

    st.divider()
    ids = [i.id for i in items]
    current = st.session_state.get(state.REVIEW_CURRENT)
    pick = st.selectbox("当前评议事项", ids, index=ids.index(current) if current in ids else 0, key="rv_pick",
                        format_func=lambda i: next(f"#{x.id} {x.door_no} {x.head_name} · {x.rule_name}"
                                                   for x in items if x.id == i))
    st.session_state[state.REVIEW_CURRENT] = pick
    _item_card(actor, rs, people, next(i for i in items if i.id == pick))


def _item_card(actor, rs, people, it) -> None:
    db = runtime.db()
    with db.read() as s:
        history = review.household_recent(s, it.household_id)
        pics = photos_of(s, [it.id]).get(it.id, [])
    with st.container(border=True):
        sign = "+" if it.points > 0 else ""
        st.header(_md(f"{it.door_no} {it.head_name}" + (f"（{it.resident}）" if it.resident else "")))
        st.subheader(_md(f"{it.category} · {it.rule_code} {it.rule_name}") + f"　{sign}{it.points} 分")
        st.caption(_md(it.grid) + f"　事项日期 {it.act_date:%m月%d日}　{it.source}：" + _md(it.submitted_by)
                   + f"　范围 {it.min_points}～{it.max_points} 分")
        if it.flags:
            st.warning(it.flags, icon=":material/flag:")
        if it.note:
            st.text(it.note)
        if pics:
            cols = st.columns(4)
            for col, ph in zip(cols, pics, strict=False):
                show_photo(photos.path_of(ph.path), col, width="stretch")
        with st.expander("该户近期积分记录", expanded=bool(it.flags)):
            if history:
                st.dataframe(pd.DataFrame(history), hide_index=True, width="stretch")
            else:
                st.caption("暂无记账记录。")
        c = st.columns([1, 2])
        pts = c[0].number_input("核定分值", min_value=min(it.min_points, it.points),
                                max_value=max(it.max_points, it.points), value=it.points, step=1,
                                key=f"rv_pts_{it.id}")
        reason = c[1].text_input("理由（不通过时必填）", key=f"rv_reason_{it.id}")
        votes = _votes_widget(people, f"rv_vote_{it.id}")
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
        points = int(pts) if outcome == "approved" else None
        status = run_action(lambda: review.decide(db, actor, rs.id, it.id, outcome, points=points, reason=reason,
                                                  votes=votes))
        if status:
            flash(f"#{it.id} {review.OUTCOME_NAMES[outcome]}" + ("，已记账。" if status == "posted" else "。"))
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
            votes = _votes_widget(people, f"rv_ob_vote_{ob['id']}")
            c = st.columns(2)
            outcome = None
            if c[0].button("异议不成立，维持并记账", key=f"rv_ob_up_{ob['id']}", width="stretch"):
                outcome = "upheld"
            if c[1].button("异议成立，撤销该事项", key=f"rv_ob_over_{ob['id']}", width="stretch"):
                outcome = "overturned"
            if outcome and run_action(lambda ob=ob, outcome=outcome, reason=reason, votes=votes:
                                      review.resolve_objection(db, actor, rs.id, ob["id"], outcome, reason, votes)):
                flash("异议已处理。")
                st.rerun()


def _close(actor, rs) -> None:
    st.divider()
    if st.session_state.get(state.REVIEW_CLOSE_PENDING):
        st.warning("结束后本次评议会的决定将冻结，不能再修改（更正只能走冲正流程）。确认结束吗？")
        c = st.columns(2)
        if c[0].button("确认结束", type="primary", key="rv_close_yes"):
            st.session_state[state.REVIEW_CLOSE_PENDING] = False
            if run_action(lambda: review.close_session(runtime.db(), actor, rs.id)):
                flash("评议会已结束，纪要可在下方“往期评议会”中下载。")
            st.rerun()
        if c[1].button("取消", key="rv_close_no"):
            st.session_state[state.REVIEW_CLOSE_PENDING] = False
            st.rerun()
    elif st.button("结束评议会", key="rv_close", icon=":material/lock:"):
        st.session_state[state.REVIEW_CLOSE_PENDING] = True
        st.rerun()


# ---------------------------------------------------------------- minutes of past sessions


def _minutes_downloads(m: minutes_mod.Minutes, held_on: dt.date, key: str) -> None:
    # The files are built only when a button is clicked; the names and reasons they will print
    # are checked against the PDF font now, so a missing character shows here in Chinese.
    with st.container(horizontal=True):
        pdf_download("下载纪要 PDF", lambda: minutes_mod.minutes_pdf(m), f"评议会纪要_{held_on:%Y%m%d}.pdf",
                     f"{key}_pdf", text_of(m.title, m.note, "".join(m.attendees), m.decisions),
                     icon=":material/picture_as_pdf:")
        st.download_button("下载纪要 Excel", lambda: minutes_mod.minutes_excel(m), f"评议会纪要_{held_on:%Y%m%d}.xlsx",
                           mime=XLSX_MIME, key=f"{key}_xlsx", icon=":material/download:", on_click="ignore")


def _past(actor) -> None:
    with runtime.db().read() as s:
        past = [p for p in review.sessions(s, actor.village_id) if p["closed"]]
    if not past:
        return
    # Runs only while open: a past session's minutes can hold a thousand decisions.
    past_box = st.expander("往期评议会与纪要", key=state.REVIEW_PAST_OPEN, on_change="rerun")
    if not past_box.open:
        return
    with past_box:
        labels = {p["id"]: p["label"] for p in past}
        sid = st.selectbox("选择评议会", list(labels), format_func=labels.get, key="rv_past")
        with runtime.db().read() as s:
            m = minutes_mod.minutes(s, sid)
        st.caption("；".join(f"{k}：{_md(v)}" for k, v in minutes_mod.summary_rows(m)))
        st.dataframe(m.decisions, hide_index=True, width="stretch")
        m_date = dt.date.fromisoformat(m.held_on)
        _minutes_downloads(m, m_date, f"rv_past_{sid}")


if __name__ == "__main__":  # opened by URL on a fresh server, outside st.navigation
    from ui.frame import run

    run()
