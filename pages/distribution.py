"""分配与签领: a distribution round from draft (computed, adjustable) to confirmed (taken
from stock) to signed for — by scanning the household card or by a proxy's signature."""

from __future__ import annotations

import json

import streamlit as st

from core.charity import allocation, distribution, field, produce
from core.charity.field_aid import ROUND_STATUS
from core.platform.errors import DomainError
from core.village.templates import BENEFICIARY_CATEGORIES
from db.enums import RoundStatus
from ui import confirm, runtime, state
from ui.guard import page_guard
from ui.scan import scan_box
from ui.tables import Col, column_config, labelled, records, table
from ui.widgets import downloads, flash, md_escape, number_bad, number_box, pdf_download, run_action, say, text_of

# The draft's adjustment table: only 分配（公斤） is edited; 户ID is hidden on screen but kept in the file.
DRAFT = [
    Col("household_id", "户ID", "int"),
    Col("door_no", "门牌号"),
    Col("head_name", "户主"),
    Col("category", "类别", names=BENEFICIARY_CATEGORIES),
    Col("persons", "人口", "int"),
    Col("kg", "分配（公斤）", "number"),
]
SIGNOFF = [
    Col("door_no", "门牌号"),
    Col("head_name", "户主"),
    Col("phone", "电话"),
    Col("category", "类别", names=BENEFICIARY_CATEGORIES),
    Col("persons", "人口", "int"),
    Col("kg", "分配（公斤）", "number"),
    Col("has_card", "积分卡", names={True: "有", False: "无"}),
    Col("delivered_at", "签领时间", "datetime"),
    Col("via", "签领方式", names=distribution.VIA_NAMES, blank=""),
    Col("signed_by", "签领人"),
    Col("staff", "经办人", blank=""),
    Col("note", "备注"),
]
LEFT = SIGNOFF[:7]
ROUNDS = [
    Col("id", "编号", "int"),
    Col("title", "名称"),
    Col("crop", "作物"),
    Col("total_kg", "总量（公斤）", "number"),
    Col("rule", "分配方式", names=allocation.RULES),
    Col("households", "户数", "int"),
    Col("persons", "人数", "int"),
    Col("delivered", "已签领户数", "int"),
    Col("status", "状态", names=ROUND_STATUS),
    Col("created_at", "创建时间", "datetime"),
]


def _new_round(actor) -> None:
    db = runtime.db()
    stock = produce.crops_in_stock(db, actor.village_id)
    if not stock:
        st.info("义田库存为空：收获过秤入库后才能分配。")
        return
    weights = distribution.settings_weights(db, actor.village_id)
    with st.form("dist_new_form"):
        c1, c2 = st.columns(2)
        crop = c1.selectbox("作物", list(stock), format_func=lambda c: f"{c}（库存 {field.fmt_kg(stock[c])} 公斤）")
        title = c2.text_input("轮次名称（可不填）", max_chars=80, placeholder="如：2026年秋季土豆分配")
        c1, c2, c3 = st.columns(3)
        total = number_box("本轮分配总量（公斤）", min_value=0.0, step=10.0, format="%.1f", value=None,
                           key="dist_new_total", where=c1)
        lo = number_box("每户最少（公斤，可空）", min_value=0.0, step=0.5, format="%.1f", value=None,
                        key="dist_new_min", where=c2)
        hi = number_box("每户最多（公斤，可空）", min_value=0.0, step=0.5, format="%.1f", value=None,
                        key="dist_new_max", where=c3)
        rule = st.radio("分配方式", list(allocation.RULES), format_func=allocation.RULES.get, horizontal=True,
                        help="按类别加权的权重在“系统设置 → 受助对象权重”中设置：" + "，".join(
                            f"{BENEFICIARY_CATEGORIES[k]} {v:g}" for k, v in weights.items()))
        cats = st.multiselect("只分给这些类别（不选 = 全部有效受助对象）", list(BENEFICIARY_CATEGORIES),
                              format_func=BENEFICIARY_CATEGORIES.get, placeholder="全部类别")
        bad = any(number_bad(k) for k in ("dist_new_total", "dist_new_min", "dist_new_max"))
        if st.form_submit_button("生成分配草稿", type="primary") and not bad:
            rid = run_action(lambda: distribution.create_round(
                db, actor, title=title, crop=crop, total_kg="" if total is None else f"{total:.1f}", rule=rule,
                min_kg=None if not lo else f"{lo:.1f}", max_kg=None if not hi else f"{hi:.1f}",
                categories=cats or None))
            if rid:
                st.session_state[state.DISTRIBUTION_ROUND] = rid
                flash("已生成分配草稿：请核对、调整后确认。草稿不出库。")
                st.rerun()


def _pick_round(actor) -> int | None:
    shown = (RoundStatus.DRAFT, RoundStatus.CONFIRMED, RoundStatus.CLOSED)
    choices = dict(distribution.round_choices(runtime.db(), actor.village_id, shown))
    if not choices:
        st.info("没有进行中的分配轮次。")
        return None
    ids = list(choices)
    current = st.session_state.get(state.DISTRIBUTION_ROUND)
    rid = st.selectbox("分配轮次", ids, index=ids.index(current) if current in ids else 0,
                       format_func=choices.get, key="dist_round_pick")
    if rid != current:
        st.session_state.pop(state.DISTRIBUTION_NOTICE, None)
        confirm.close()
    st.session_state[state.DISTRIBUTION_ROUND] = rid
    return rid


def _draft(actor, r) -> None:
    db = runtime.db()
    params = json.loads(r.params or "{}")
    rows = distribution.allocations(db, actor.village_id, r.id)
    bounds = []
    if params.get("min_grams"):
        bounds.append(f"每户最少 {field.fmt_kg(params['min_grams'])} 公斤")
    if params.get("max_grams"):
        bounds.append(f"每户最多 {field.fmt_kg(params['max_grams'])} 公斤")
    st.markdown(f"**{md_escape(r.title)}** · {md_escape(r.crop)} · 总量 {field.fmt_kg(r.total_grams)} 公斤 · "
             f"{allocation.RULES.get(r.rule, r.rule)} · {len(rows)} 户" + ("（" + "，".join(bounds) + "）" if bounds else ""))
    st.caption("可直接修改“分配（公斤）”列（精确到 0.1 公斤），合计必须仍等于总量才能确认。")
    version = st.session_state.get(state.DISTRIBUTION_EDIT, 0)
    cc = column_config(DRAFT)
    cc["household_id"] = None
    cc["kg"] = st.column_config.NumberColumn("分配（公斤）", min_value=0.0, step=0.1, format="%.1f")
    edited = st.data_editor(
        records(rows, DRAFT), hide_index=True, width="stretch", num_rows="fixed", key=f"dist_editor_{r.id}_{version}",
        disabled=[c.field for c in DRAFT if c.field != "kg"], column_config=cc)
    total = round(float(edited["kg"].fillna(0).sum()), 1)
    target = round(r.total_grams / 1000, 1)
    if abs(total - target) < 0.05:
        st.success(f"合计 {total:,.1f} 公斤，与总量一致。")
    else:
        st.error(f"合计 {total:,.1f} 公斤，与总量 {target:,.1f} 公斤相差 {target - total:+,.1f} 公斤。")
    downloads(labelled(rows, DRAFT), f"分配草稿_{r.id}", "dist_draft_dl")
    if not confirm.is_open("dist_confirm", r.id):
        c1, c2 = st.columns(2)
        confirm.ask("dist_confirm", r.id, "确认分配…", where=c1)
        if (c2.button("作废草稿", key="dist_cancel")
                and run_action(lambda: distribution.cancel_draft(db, actor, r.id), "草稿已作废。") is not None):
            st.rerun()
        return
    if confirm.confirmed("dist_confirm", r.id, confirm="确认出库并分配", back="返回修改",
                         warning=f"确认后将从义田库存中出库 {field.fmt_kg(r.total_grams)} 公斤{r.crop}，并按上表发放。"
                                 "此操作不能撤销。"):
        values = dict(zip(edited["household_id"], edited["kg"], strict=True))
        done = run_action(lambda: distribution.confirm_round(db, actor, r.id, distribution.adjusted_from_kg(values)))
        if done is not None:
            st.session_state[state.DISTRIBUTION_EDIT] = version + 1
            confirm.close()
            flash("分配已确认并出库，可以开始签领。")
            st.rerun()


def _delivery(actor, r) -> None:
    db = runtime.db()
    # The counters stand above the scan box but are filled in after a scan has been handled,
    # so they already count the household just scanned.
    summary = st.container()
    if r.status == RoundStatus.CONFIRMED:
        scanned = scan_box("dist_scan", label="扫描受助户积分卡签领")
        if scanned:
            try:
                msg = distribution.deliver_by_card(db, actor, r.id, scanned)
            except DomainError as e:
                st.session_state[state.DISTRIBUTION_NOTICE] = ("error", str(e))
            else:
                st.session_state[state.DISTRIBUTION_NOTICE] = ("success", msg)
                if distribution.round_info(db, actor.village_id, r.id).status != r.status:
                    st.rerun()  # the last household closed the round: the picker and this tab change
        notice = st.session_state.get(state.DISTRIBUTION_NOTICE)
        if notice:
            say(notice[0], notice[1])
    rows = distribution.allocations(db, actor.village_id, r.id)
    given = [a for a in rows if a.grams > 0]
    done = [a for a in given if a.delivered_at is not None]
    with summary:
        c1, c2, c3 = st.columns(3)
        c1.metric("应签领户数", len(given))
        c2.metric("已签领", len(done))
        c3.metric("已发放（公斤）", f"{sum(a.kg for a in done):,.1f}")
        st.progress(len(done) / len(given) if len(given) else 1.0)
    left = [a for a in given if a.delivered_at is None]
    if left:
        with st.expander("无卡或代领：登记签领人", expanded=False):
            options = {a.id: f"{a.door_no} {a.head_name}（{a.kg:.1f} 公斤）" for a in left}
            with st.form("dist_proxy_form", clear_on_submit=True):
                aid = st.selectbox("户", list(options), format_func=options.get)
                c1, c2 = st.columns(2)
                signer = c1.text_input("签领人姓名（本人或代领人）", max_chars=40)
                note = c2.text_input("备注", max_chars=200, placeholder="如：儿子代领、送货上门")
                if st.form_submit_button("登记签领", type="primary"):
                    msg = run_action(lambda: distribution.deliver_by_proxy(db, actor, aid, signer, note))
                    if msg:
                        flash(msg)
                        st.rerun()
    if r.status == RoundStatus.CONFIRMED and left:
        _close_round(actor, r, left)
    tab_left, tab_all = st.tabs([f"未签领（{len(left)}）", "全部"])
    with tab_left:
        table(left, LEFT, key="dist_left", download=f"未签领名单_{r.id}")
    with tab_all:
        table(rows, SIGNOFF, key="dist_all", download=f"分配签领表_{r.id}")
    only_left = bool(left)
    no_card = st.checkbox("签领表只列没有积分卡的户", key="dist_pdf_nocard",
                          help="有卡的户到场扫卡即可；没有卡、请人代领或送货上门的户在纸质签领表上签字。")
    sheet = rows if not only_left else left
    if no_card:
        sheet = [a for a in sheet if not a.has_card]
    # The PDF is made only when the button is clicked (a scan must not wait for it); a name
    # the font cannot print is caught here, where the error can still be shown.
    label = "打印签领表（PDF，未签领的户）" if only_left else "打印签领表（PDF，全部户，存档）"
    vid, round_id = actor.village_id, r.id
    pdf_download(label, lambda: distribution.signoff_pdf(db, vid, round_id, only_undelivered=only_left,
                                                      without_card_only=no_card),
                 f"签领表_{r.id}.pdf", "dist_pdf", text_of(r.title, r.crop, labelled(sheet, [SIGNOFF[1], SIGNOFF[3]])),
                 disabled=not sheet)


def _close_round(actor, r, left) -> None:
    """End the round early: what is still undelivered goes back into the produce stock."""
    db = runtime.db()
    kg = sum(a.kg for a in left)
    with st.expander("结束发放（未领退库）", expanded=confirm.is_open("dist_close", r.id)):
        st.caption("发放结束仍有户未签领时使用（如已搬走、长期外出、农产品不宜久放）：未领部分退回义田库存，"
                   "这些户标记为“未领退库”，本轮不能再签领。")
        reason = st.text_input("结束原因（必填）", max_chars=200, key=f"dist_close_reason_{r.id}",
                               placeholder="如：发放日已过，余下农产品退库另行处理")
        if confirm.confirm_step("dist_close", r.id, ask_label="结束发放…", kind="secondary", back="取消",
                                confirm="确认结束并退库",
                                warning=f"确认后，{len(left)} 户未领的 {kg:,.1f} 公斤{r.crop}退回库存，本轮结束，不能再签领。"
                                        "此操作不能撤销。"):
            grams = run_action(lambda: distribution.close_round(db, actor, r.id, reason))
            if grams is not None:
                confirm.close()
                flash(f"本轮已结束，{field.fmt_kg(grams)} 公斤{r.crop}已退回库存。")
                st.rerun()


def _history(actor) -> None:
    table(distribution.rounds(runtime.db(), actor.village_id), ROUNDS, key="dist_rounds", download="分配轮次",
          empty="还没有分配轮次。")


def render() -> None:
    actor = page_guard("distribution")
    st.title("分配与签领")
    tabs = st.tabs(["当前轮次", "新建分配", "历次分配"])
    with tabs[1]:
        _new_round(actor)
    with tabs[0]:
        rid = _pick_round(actor)
        if rid is not None:
            r = distribution.round_info(runtime.db(), actor.village_id, rid)
            if r.status == RoundStatus.DRAFT:
                _draft(actor, r)
            else:
                _delivery(actor, r)
    with tabs[2]:
        _history(actor)


if __name__ == "__main__":  # opened by URL on a fresh server, outside st.navigation
    from ui.frame import run

    run()
