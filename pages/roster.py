"""花名册导入: import households and residents from Excel/CSV (preview first, all or
nothing), carry the village's old points book over (期初积分, same rules, with a reconciliation
sheet to sign), manage grids, and issue and print cards for the households in one batch."""

from __future__ import annotations

import datetime as dt
import hashlib

import pandas as pd
import streamlit as st

from core.village import opening, reconciliation, roster, setup
from ui import confirm, runtime, state
from ui.guard import page_guard
from ui.household_picker import pick_households
from ui.widgets import (
    XLSX_MIME,
    card_address_ok,
    downloads,
    flash,
    pdf_download,
    run_action,
    say,
    text_of,
)


def render() -> None:
    actor = page_guard("roster")
    st.title("花名册导入")
    import_tab, opening_tab, grid_tab, cards_tab = st.tabs(["导入村民花名册", "导入期初积分", "网格", "批量发卡与打印"])
    with import_tab:
        _import(actor)
    with opening_tab:
        _opening(actor)
    with grid_tab:
        _grids(actor)
    with cards_tab:
        _cards(actor)


def _import(actor) -> None:
    db = runtime.db()
    st.markdown("每行一位村民；同一门牌号的各行组成一户，其中“与户主关系”为“户主”的一人是户主。"
                f"列名：{'、'.join(roster.COLUMNS)}（门牌号、网格、姓名、与户主关系必填）。"
                "支持 Excel（.xlsx）和 CSV（UTF-8 或 GBK 编码）。"
                "先预览：全部行都正确才能导入，导入要么全部成功、要么一条也不写入。"
                "再次导入同一户同一人（门牌号 + 姓名相同）只会更新变化的信息，不会重复；文件里没有的人不会被删除。")
    st.download_button("下载花名册模板（CSV）", roster.template_csv(), "村民花名册模板.csv", mime="text/csv",
                       icon=":material/download:", key="roster_template", on_click="ignore")
    upload = st.file_uploader("选择花名册文件", type=["xlsx", "csv"], key="roster_file")
    if upload is None:
        return
    data = upload.getvalue()
    sha = hashlib.sha256(data).hexdigest()
    plan = run_action(lambda: roster.preview(db, actor, actor.village_id, upload.name, data))
    if plan is None:
        return
    st.session_state[state.ROSTER_PREVIEWED] = sha
    st.subheader("预览")
    if plan.errors:
        st.error(f"发现 {len(plan.errors)} 处错误，请改正后重新上传。在改正之前不会导入任何数据。")
        errors = pd.DataFrame({"序号": range(1, len(plan.errors) + 1), "错误": plan.errors})
        st.dataframe(errors, hide_index=True, width="stretch")
        downloads(errors, "花名册错误清单", key="roster_errors_dl")
        return
    c1, c2, c3, c4 = st.columns(4)
    c1.metric("新增户", plan.new_households)
    c2.metric("新增村民", plan.new_residents)
    c3.metric("信息有变化", plan.updated)
    c4.metric("无变化", plan.unchanged)
    rows = pd.DataFrame([{"行号": r.line, "门牌号": r.door_no, "网格": r.grid, "姓名": r.name, "性别": r.gender,
                          "出生年份": r.birth_year or "", "与户主关系": r.relation,
                          "党员": "是" if r.party_member else "", "电话": r.phone} for r in plan.rows])
    st.dataframe(rows, hide_index=True, width="stretch", height=300)
    if plan.imported_before:
        st.info("这个文件以前导入过。")
    if plan.changes == 0:
        st.success("花名册与系统中的数据一致，无需导入。")
        return
    # Importing the same file again finds nothing left to change, so a second 确认 imports nothing twice.
    if confirm.confirm_step("roster_import", sha, ask_label="导入…", icon=":material/upload:",
                            details=[f"文件：{upload.name}"], confirm="确认导入", back="取消",
                            warning=f"确认导入这个花名册吗？将新增 {plan.new_households} 户、{plan.new_residents} 位村民，"
                                    f"更新 {plan.updated} 处信息。"):
        if st.session_state.get(state.ROSTER_PREVIEWED) != sha:
            st.error("文件已变化，请重新预览。")
            return
        done = run_action(lambda: roster.commit(db, actor, actor.village_id, upload.name, data))
        if done is not None:
            confirm.close()
            flash(f"导入完成：新增 {done.new_households} 户、{done.new_residents} 人，更新 {done.updated} 处。"
                  "下一步可以在“批量发卡与打印”中给新户发卡。")
            st.rerun()


def _opening(actor) -> None:
    db = runtime.db()
    st.markdown("把本村原来的积分台账（Excel）转入系统：每户的**期初积分**，以及可选的**历史明细**"
                "（日期、事项或细则编号、积分）。请先导入花名册，门牌号要与花名册一致。"
                "历史明细只作存档，不再另外加减积分（期初积分已经包含它们）。"
                "先预览：全部行都正确才能导入，导入要么全部成功、要么一条也不写入；同一户的期初积分只导入一次。"
                "导入后下载对账表，由村委会、会计、评议小组和监督委员会核对签字。")
    st.download_button("下载期初积分模板（Excel）", opening.template_xlsx, "期初积分模板.xlsx", mime=XLSX_MIME,
                       icon=":material/download:", key="opening_template", on_click="ignore")
    cutover = st.date_input("期初日期（原账本截止日）", value=opening.default_cutover(), max_value=dt.date.today(),
                            key="opening_cutover", format="YYYY-MM-DD",
                            help="期初积分记在这一天；默认上月最后一天，这样期初积分不会算进本月的排名。")
    upload = st.file_uploader("选择积分台账文件", type=["xlsx", "csv"], key="opening_file")
    if upload is None:
        return
    data = upload.getvalue()
    sha = hashlib.sha256(data).hexdigest()
    plan = run_action(lambda: opening.preview(db, actor, actor.village_id, upload.name, data, cutover))
    if plan is None:
        return
    st.session_state[state.OPENING_PREVIEWED] = (sha, cutover)
    st.subheader("预览")
    if plan.errors:
        st.error(f"发现 {len(plan.errors)} 处错误，请改正后重新上传。在改正之前不会导入任何数据。")
        errors = pd.DataFrame({"序号": range(1, len(plan.errors) + 1), "错误": plan.errors})
        st.dataframe(errors, hide_index=True, width="stretch")
        downloads(errors, "期初积分错误清单", key="opening_errors_dl")
        return
    for w in plan.warnings[:20]:  # they quote what was typed in the book: shown as text
        say("warning", w, icon=":material/content_copy:")
    if len(plan.warnings) > 20:
        st.warning(f"……共 {len(plan.warnings)} 条提醒。", icon=":material/content_copy:")
    c = st.columns(4)
    c[0].metric("待导入户数", plan.new)
    c[1].metric("已导入过（相同）", plan.unchanged)
    c[2].metric("账本期初积分合计", plan.book_total)
    c[3].metric("历史明细条数", plan.history_rows)
    rows = pd.DataFrame([{"行号": o.line or "", "门牌号": o.door_no, "户主": o.head_name, "期初积分": o.balance,
                          "累计积分": o.earned_total, "历史明细": len(o.history)} for o in plan.openings])
    st.dataframe(rows, hide_index=True, width="stretch", height=300)
    _reconciliation(actor, upload.name, data, cutover, plan)
    if plan.imported_before:
        st.info("这个文件以前导入过。")
    if plan.new == 0:
        st.success("账本里的每一户都已导入过期初积分，无需再导入。")
        return
    if confirm.confirm_step("opening", (sha, cutover), ask_label=f"导入 {plan.new} 户的期初积分…",
                            icon=":material/upload:", confirm="确认记入期初积分", back="取消",
                            warning=f"确认把 {plan.new} 户、合计 {plan.book_total} 分的期初积分记入积分流水吗"
                                    f"（期初日期 {cutover}）？记账后不能删除，只能冲正或调整。"):
        if st.session_state.get(state.OPENING_PREVIEWED) != (sha, cutover):
            st.error("文件或期初日期已变化，请重新预览。")
            return
        done = run_action(lambda: opening.commit(db, actor, actor.village_id, upload.name, data, cutover))
        if done is not None:
            confirm.close()
            flash(f"期初积分导入完成：{done.new} 户，历史明细 {done.history_rows} 条。请下载对账表核对签字。")
            st.rerun()


def _reconciliation(actor, filename: str, data: bytes, cutover, plan) -> None:
    db = runtime.db()
    r = run_action(lambda: reconciliation.reconciliation(db, actor, actor.village_id, filename, data, cutover, plan=plan))
    if r is None:
        return
    st.markdown("**对账**")
    c = st.columns(3)
    c[0].metric("账本期初积分合计", r.book_total)
    c[1].metric("系统已导入合计", r.imported_total)
    c[2].metric("差额", r.book_total - r.imported_total)
    with st.container(horizontal=True):
        st.download_button("下载对账表（Excel）", lambda: reconciliation.reconciliation_xlsx(r), "期初积分对账表.xlsx",
                           mime=XLSX_MIME, key="opening_recon_xlsx", on_click="ignore", icon=":material/download:")
        pdf_download("打印对账表（PDF）", lambda: reconciliation.reconciliation_pdf(r), "期初积分对账表.pdf",
                     key="opening_recon_pdf", text=text_of(r.village, *(x.head_name + x.door_no for x in r.rows)))


def _grids(actor) -> None:
    db = runtime.db()
    grids = setup.grids(db, actor.village_id)
    st.dataframe(pd.DataFrame({"网格": [g[1] for g in grids], "负责网格员": [g[3] for g in grids]}), hide_index=True)
    workers = dict(setup.grid_workers(db, actor.village_id))
    if grids:
        with st.form("roster_grid_worker"):
            labels = {g[0]: g[1] for g in grids}
            gid = st.selectbox("网格", list(labels), format_func=labels.get)
            uid = st.selectbox("负责网格员", [None, *workers], format_func=lambda u: "（不指定）" if u is None else workers[u])
            go = st.form_submit_button("指定负责人")
        if go and run_action(lambda: setup.set_grid_worker(db, actor, gid, uid)) is not None:
            flash("已更新网格负责人。")
            st.rerun()
        st.caption("在“系统设置 → 网格员只为本网格申报”开启后，网格员只能为自己负责的网格申报。")
    with st.form("roster_grid_add", clear_on_submit=True):
        name = st.text_input("新网格名称", max_chars=40)
        go = st.form_submit_button("添加网格")
    if go and run_action(lambda: setup.add_grid(db, actor, actor.village_id, name)):
        flash(f"已添加网格“{name.strip()}”。")
        st.rerun()


def _cards(actor) -> None:
    try:
        from core.village import card_sheet, cards
    except ImportError:  # the supermarket area provides these
        st.info("积分卡功能尚未安装。")
        return
    db = runtime.db()
    overview = cards.household_cards(db, actor.village_id)
    without = [r.household_id for r in overview if not r.has_card]
    c1, c2 = st.columns(2)
    c1.metric("在册户数", len(overview))
    c2.metric("未办卡户数", len(without))
    if without:
        if st.button(f"给 {len(without)} 户未办卡的户发卡", type="primary", key="roster_issue_all",
                     icon=":material/qr_code_2:"):
            n = run_action(lambda: cards.issue_missing(db, actor, actor.village_id, without))
            if n is not None:
                st.session_state[state.ADMIN_CARDS_PDF] = without
                flash(f"已发卡 {n} 张，可以下载打印。")
                st.rerun()
    else:
        st.success("每户都已有有效的积分卡。")

    st.subheader("补办（按户批量）")
    with_card = {r.household_id for r in overview if r.has_card}
    with st.form("roster_reissue", border=True):
        picked = pick_households("选择要补办的户（旧卡立即作废）", actor.village_id, only=with_card, key="roster_reissue_pick")
        reason = st.text_input("原因", value="批量补办", max_chars=200)
        go = st.form_submit_button("补办所选户的积分卡")
    if go and picked:
        done = []
        for hid in picked:
            if run_action(lambda h=hid: cards.reissue_card(db, actor, h, reason)) is not None:
                done.append(hid)
        if done:
            st.session_state[state.ADMIN_CARDS_PDF] = done
            flash(f"已补办 {len(done)} 张积分卡，可以下载打印。")
            st.rerun()

    ids = st.session_state.get(state.ADMIN_CARDS_PDF)
    if ids:
        st.subheader("打印")
        may, local = card_address_ok(actor.village_id, state.ROSTER_CARDS_LOCAL_OK)
        # Generated only when clicked (deferred): printing reads tokens and is audited each time.
        st.download_button(f"下载刚发放的 {len(ids)} 张积分卡（PDF，A4 每页 10 张）",
                           lambda: card_sheet.card_sheet(db, actor, actor.village_id, ids, local_ok=local and may),
                           "积分卡.pdf", mime="application/pdf", icon=":material/print:", key="roster_cards_pdf",
                           on_click="ignore", disabled=not may)


if __name__ == "__main__":  # opened by URL on a fresh server, outside st.navigation
    from ui.frame import run

    run()
