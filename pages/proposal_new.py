"""积分申报: a grid worker on a phone records what they saw — household, rule item,
date, note, photos — in a few taps; staff enter reports for people without phones."""

from __future__ import annotations

import datetime as dt
import hashlib
import uuid

import pandas as pd
import streamlit as st

from core.committee import photos, proposals
from core.committee.review import STATUS_NAMES
from core.platform.errors import AlreadyDone, DomainError
from core.village import households, rules
from ui import runtime, state
from ui.guard import page_guard
from ui.household_picker import pick_household
from ui.widgets import flash, say


def _form_key(*content: object) -> str:
    """Idempotency key of one submission: this browser session + what the form holds.
    Stored as the proposal's source_ref (unique), so a double tap on 提交 — which sends the
    same content twice — cannot create two proposals."""
    if state.PROPOSAL_FORM_KEY not in st.session_state:
        st.session_state[state.PROPOSAL_FORM_KEY] = uuid.uuid4().hex
    digest = hashlib.sha256(repr((st.session_state[state.PROPOSAL_FORM_KEY], content)).encode()).hexdigest()
    return f"form:{digest[:40]}"


def _pick_household(actor) -> int | None:
    st.subheader("① 找到这一户")
    pick = pick_household("选择户", actor.village_id, key="pn_household_pick",
                          current=st.session_state.get(state.PROPOSAL_HOUSEHOLD),
                          search="姓名、门牌号或积分卡号", search_placeholder="例如：王建国、1-023，或扫描积分卡",
                          search_key="pn_search", not_found="没有找到，请换个关键词（姓名中的一个字、门牌号）。")
    if pick is not None:
        st.session_state[state.PROPOSAL_HOUSEHOLD] = pick
    return st.session_state.get(state.PROPOSAL_HOUSEHOLD)


def _pick_rule(actor) -> rules.ItemView | None:
    st.subheader("② 选择积分事项")
    items = rules.catalogue_of(runtime.db(), actor.village_id)
    if not items:
        st.warning("本村还没有积分细则，请管理员先在“积分细则”中添加。")
        return None
    cols = st.columns([1, 2])
    kind = cols[0].segmented_control("类型", ["加分", "扣分"], default="加分", key="pn_kind")
    words = cols[1].text_input("搜索事项", key="pn_rule_search", placeholder="例如：卫生、垃圾、孝")
    shown = [i for i in rules.search(items, words) if (i.points < 0) == (kind == "扣分")]
    if not shown:
        st.info("没有符合的事项。")
        return None
    by_id = {i.id: i for i in shown}
    rid = st.selectbox("事项（按类别排列）", list(by_id), key="pn_rule",
                       format_func=lambda i: f"{by_id[i].category} · {by_id[i].label}")
    item = by_id[rid]
    st.caption(f"分值范围 {item.min_points} 至 {item.max_points} 分；次数上限：{item.cap_text}")
    return item


def render() -> None:
    actor = page_guard("proposal_new")
    st.title("积分申报")
    st.caption("网格员发现、村民口头反映或代不会用手机的村民申报，提交后进入下一次评议会。")
    hid = _pick_household(actor)
    item = _pick_rule(actor)
    if hid is None or item is None:
        _recent(actor)
        return

    db = runtime.db()
    people = households.members_of(db, hid)
    st.subheader("③ 情况与照片")
    n = st.session_state.get(state.PROPOSAL_FORM_ROUND, 0)
    with st.form(f"pn_form_{n}", clear_on_submit=False):
        sources = {"grid": "我在网格里发现的", "proxy": "替村民代报（本人不会用手机）"}
        source = st.radio("来源", list(sources), format_func=sources.get, horizontal=True, key=f"pn_source_{n}")
        person_ids = [None] + [p.id for p in people]
        names = {p.id: f"{p.name}（{p.relation}）" if p.relation else p.name for p in people}
        who = st.selectbox("当事人（可不选）", person_ids, format_func=lambda i: "全户" if i is None else names[i],
                           key=f"pn_person_{n}")
        day = st.date_input("事项日期", value=dt.date.today(), max_value=dt.date.today(), key=f"pn_date_{n}")
        # No min/max on the box (Streamlit's tooltip is English): core checks the range and says it in Chinese.
        pts = st.number_input("申报分值", value=item.points, step=1, key=f"pn_points_{item.id}_{n}")
        note = st.text_area("情况说明", key=f"pn_note_{n}", max_chars=proposals.MAX_NOTE,
                            placeholder="看到了什么、在哪里；代报时写明是谁反映的")
        files = st.file_uploader(f"现场照片（最多 {photos.MAX_PHOTOS} 张，每张不超过 5 MB）",
                                 type=["jpg", "jpeg", "png", "webp"], accept_multiple_files=True, key=f"pn_photos_{n}")
        sent = st.form_submit_button("提交申报", type="primary", width="stretch")
    if sent:
        uploads = [(f.name, f.getvalue()) for f in files or []]
        ref = _form_key(hid, item.id, day, int(pts), who, note.strip(), source,
                        [hashlib.sha256(b).hexdigest() for _, b in uploads])
        try:
            pid = proposals.submit(db, actor, household_id=hid, rule_item_id=item.id, act_date=day, points=int(pts),
                                   resident_id=who, note=note, source=source, source_ref=ref, photos=uploads)
        except AlreadyDone:
            st.info("这条申报刚才已经提交过了（重复点击不会重复申报）。")
        except DomainError as e:
            say("error", e, icon=":material/error:")
        else:
            # A fresh, empty form (new widget keys); a stale second tap on the old form is ignored.
            st.session_state[state.PROPOSAL_FORM_ROUND] = n + 1
            flash(f"已提交第 {pid} 号申报，等待评议会审议。")
            st.rerun()
    _recent(actor)


def _recent(actor) -> None:
    rows = proposals.submitted_lately(runtime.db(), actor.user_id, actor.village_id)
    if not rows:
        return
    st.subheader("我最近的申报")
    df = pd.DataFrame([{"编号": r["id"], "日期": r["act_date"], "门牌号": r["door_no"], "户主": r["head_name"],
                        "事项": r["name"], "分值": r["points"], "状态": STATUS_NAMES.get(r["status"], r["status"])}
                       for r in rows])
    st.dataframe(df, hide_index=True, width="stretch")


if __name__ == "__main__":  # opened by URL on a fresh server, outside st.navigation
    from ui.frame import run

    run()
