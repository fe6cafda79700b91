"""义田与收获: plots and seasons, work days (volunteer hours), harvest weighing, produce
stock with surplus to the supermarket or sold into the village fund, the season report."""

from __future__ import annotations

import datetime as dt

import streamlit as st

from core.charity import field, produce
from core.charity.field_report import report_pdf, report_tables, season_report
from core.platform.errors import DomainError
from core.village.templates import BENEFICIARY_CATEGORIES
from core.volunteering import service_hours
from core.volunteering import volunteer_queries as vq
from core.volunteering.volunteer import STATUS_NAMES
from ui import confirm, runtime, state
from ui.guard import page_guard
from ui.scan import scan_box
from ui.tables import Col, labelled, table
from ui.widgets import (
    excel_download,
    flash,
    md_escape,
    number_bad,
    number_box,
    pdf_download,
    run_action,
    run_open_tab,
    say,
    show_photo,
    text_of,
)

PLOTS = [
    Col("id", "编号", "int"),
    Col("name", "地块"),
    Col("area_mu", "面积（亩）", "number"),
    Col("location", "位置"),
    Col("party_group", "责任党小组"),
    Col("members", "成员人数", "int"),
    Col("active", "状态", names={True: "在用", False: "停用"}),
]
SEASONS = [
    Col("id", "编号", "int"),
    Col("year", "年份", "int"),
    Col("plot", "地块"),
    Col("crop", "作物"),
    Col("sown_on", "播种日期", "date"),
    Col("harvested_kg", "已收获（公斤）", "number"),
]
WORK_DAYS = [
    Col("id", "编号", "int"),
    Col("date", "日期", "date"),
    Col("plot", "地块"),
    Col("title", "名称"),
    Col("tasks", "劳动任务"),
    Col("status", "状态", names=STATUS_NAMES),
    Col("people", "参加人数", "int"),
    Col("hours", "时长（小时）", "number"),
    Col("confirmed", "已确认人数", "int"),
]
HARVESTS = [
    Col("id", "编号", "int"),
    Col("date", "日期", "date"),
    Col("plot", "地块"),
    Col("crop", "作物"),
    Col("kg", "重量（公斤）", "number"),
    Col("staff", "记录人", blank=""),
    Col("has_photo", "照片", names={True: "有", False: ""}),
]
STOCK = [
    Col("crop", "作物"),
    Col("kg", "库存（公斤）", "number"),
]
MOVES = [
    Col("created_at", "时间", "datetime"),
    Col("crop", "作物"),
    Col("kind", "类型", names=field.MOVE_NAMES),
    Col("kg", "数量（公斤）", "number"),
    Col("note", "说明"),
    Col("staff", "经办人", blank=""),
]
BY_CROP = [
    Col("crop", "作物"),
    Col("harvested_kg", "收获（公斤）", "number"),
    Col("delivered_kg", "发放（公斤）", "number"),
    Col("to_shop_kg", "转入超市（公斤）", "number"),
    Col("sold_kg", "出售（公斤）", "number"),
]
BY_CATEGORY = [
    Col("category", "类别", names=BENEFICIARY_CATEGORIES),
    Col("households", "户数", "int"),
    Col("people", "人数", "int"),
    Col("kg", "发放（公斤）", "number"),
]
FUND = [  # the screen leaves out 编号; the workbook's 村集体资金 sheet keeps it
    Col("id", "编号", "int"),
    Col("date", "日期", "date"),
    Col("source", "来源"),
    Col("yuan", "金额（元）", "money"),
    Col("note", "说明"),
    Col("staff", "经办人", blank=""),
]


def _once(fingerprint: str, again: bool = False) -> bool:
    """True unless this form was just saved with exactly these values (a double click writes
    once). ``again``: the user ticked that an identical entry is really a new one."""
    if st.session_state.get(state.FIELD_LAST_WRITE) == fingerprint and not again:
        st.warning("刚刚已经保存过完全相同的内容，未重复保存。")
        return False
    return True


def _plots(actor) -> None:
    db = runtime.db()
    rows = field.plots(db, actor.village_id)
    if not rows:
        st.info("还没有登记义田地块。")
    else:
        c1, c2 = st.columns(2)
        active = [p for p in rows if p.active]
        c1.metric("在用地块", len(active))
        c2.metric("总面积（亩）", f"{sum(p.area_mu for p in active):g}")
        table(rows, PLOTS, key="field_plots", download="义田地块")
    members = field.party_members(db, actor.village_id)
    names = dict(members)
    by_id = {p.id: p for p in rows}
    editing = st.selectbox("编辑地块", [None, *by_id], key="field_plot_edit",
                           format_func=lambda i: "新增地块" if i is None else by_id[i].name)
    row = by_id[editing] if editing is not None else None
    current = [rid for rid, _ in field.plot_members(db, actor.village_id, editing)] if editing else []
    with st.form(f"field_plot_form_{editing}", clear_on_submit=editing is None):
        c1, c2 = st.columns(2)
        name = c1.text_input("地块名称", value=row.name if row is not None else "", max_chars=40)
        area = number_box("面积（亩）", min_value=0.0, max_value=10000.0, step=0.5, format="%.2f",
                          value=row.area_mu if row is not None else 1.0, where=c2)
        c1, c2 = st.columns(2)
        location = c1.text_input("位置", value=row.location if row is not None else "", max_chars=80)
        group = c2.text_input("责任党小组", value=row.party_group if row is not None else "", max_chars=60)
        picked = st.multiselect("责任党员", list(names), default=[r for r in current if r in names],
                                format_func=names.get, placeholder="从党员名单中选择")
        active = st.checkbox("在用", value=row.active if row is not None else True)
        if st.form_submit_button("保存地块", type="primary") and area is not None:
            pid = run_action(lambda: field.save_plot(db, actor, name=name, area_mu=round(area, 2), location=location,
                                                     party_group=group, member_ids=picked, active=active,
                                                     plot_id=editing))
            if pid:
                flash(f"已保存地块“{name.strip()}”。")
                st.rerun()


def _seasons(actor) -> None:
    db = runtime.db()
    plots = dict(field.plot_choices(db, actor.village_id))
    rows = field.seasons(db, actor.village_id)
    if rows:
        table(rows, SEASONS, key="field_seasons", download="种植季")
    if not plots:
        st.info("请先登记义田地块。")
        return
    with st.form("field_season_form", clear_on_submit=True):
        c1, c2, c3 = st.columns(3)
        plot = c1.selectbox("地块", list(plots), format_func=plots.get)
        crop = c2.text_input("作物", placeholder="如：土豆、花生、玉米、地瓜", max_chars=20)
        sown = c3.date_input("播种日期", value=dt.date.today(), format="YYYY-MM-DD")
        if (st.form_submit_button("添加种植季", type="primary")
                and run_action(lambda: field.add_season(db, actor, plot, crop=crop, sown_on=sown))):
            flash(f"已添加{crop.strip()}种植季。")
            st.rerun()


def _work_day_scan(actor, aid: int) -> None:
    db = runtime.db()
    scanned = scan_box("field_workday_scan", label="扫描积分卡登记参加劳动的人")
    if scanned:
        st.session_state.pop(state.FIELD_CHOOSE, None)
        try:
            res = service_hours.check_in_by_card(db, actor, aid, scanned)
        except DomainError as e:
            st.session_state[state.FIELD_NOTICE] = ("error", str(e))
        else:
            if res.status == "choose":
                st.session_state[state.FIELD_CHOOSE] = (res.household_id, [m for m, _ in res.members])
                st.session_state[state.FIELD_NOTICE] = ("info", f"{res.door_no} 户：{res.message}")
            else:
                st.session_state[state.FIELD_NOTICE] = ("success", res.message)
    notice = st.session_state.get(state.FIELD_NOTICE)
    if notice:
        say(notice[0], notice[1])
    choose = st.session_state.get(state.FIELD_CHOOSE)
    if choose:
        household, ids = choose
        members = [m for m in vq.household_members(db, actor.village_id, household) if m[0] in ids]
        cols = st.columns(min(len(members), 6) or 1)
        for i, (rid, name) in enumerate(members):
            if (cols[i % len(cols)].button(name, key=f"field_choose_{rid}", width="stretch")
                    and run_action(lambda rid=rid: service_hours.check_in(db, actor, aid, rid)) is not None):
                st.session_state.pop(state.FIELD_CHOOSE, None)
                st.session_state[state.FIELD_NOTICE] = ("success", f"{name} 已登记。")
                st.rerun()


WORKDAY_ATTENDANCE = [
    Col("name", "姓名"),
    Col("door_no", "门牌号"),
    Col("check_in", "签到", value=lambda r: f"{r.check_in:%H:%M}" if r.check_in else ""),
    Col("check_out", "签退", value=lambda r: f"{r.check_out:%H:%M}" if r.check_out else ""),
    Col("on_site", "在场（分钟）", "int"),
    Col("minutes", "时长（分钟）", "int"),
    Col("credited", "计入（分钟）", "int"),
    Col("points", "折算积分", "int"),
    Col("confirmed", "已确认", "bool"),
]


def _work_days(actor) -> None:
    db = runtime.db()
    plots = dict(field.plot_choices(db, actor.village_id))
    days = field.work_days(db, actor.village_id)
    with st.expander("新建劳动日", expanded=not days):
        if not plots:
            st.info("请先登记义田地块。")
        else:
            with st.form("field_workday_form", clear_on_submit=True):
                c1, c2 = st.columns(2)
                plot = c1.selectbox("地块", list(plots), format_func=plots.get)
                day = c2.date_input("日期", value=dt.date.today(), format="YYYY-MM-DD")
                tasks = st.text_area("劳动任务", placeholder="如：播种、除草、收土豆、装袋", max_chars=2000, height=70)
                if st.form_submit_button("创建劳动日", type="primary"):
                    fp = f"workday|{plot}|{day}|{tasks.strip()}"
                    if _once(fp):
                        aid = run_action(lambda: field.create_work_day(db, actor, plot_id=plot, date=day, tasks=tasks))
                        if aid:
                            st.session_state[state.FIELD_LAST_WRITE] = fp
                            st.session_state[state.FIELD_WORKDAY] = aid
                            flash("已创建劳动日。")
                            st.rerun()
    if not days:
        st.info("还没有劳动日。")
        return
    table(days, WORK_DAYS, key="field_workdays", download="义田劳动日")
    options = {w.id: f"{w.date:%Y-%m-%d} {w.title}" for w in days}
    ids = list(options)
    current = st.session_state.get(state.FIELD_WORKDAY)
    aid = st.selectbox("管理劳动日", ids, index=ids.index(current) if current in ids else 0,
                       format_func=options.get, key="field_workday_pick")
    if aid != current:
        st.session_state.pop(state.FIELD_CHOOSE, None)
        st.session_state.pop(state.FIELD_NOTICE, None)
    st.session_state[state.FIELD_WORKDAY] = aid
    att = vq.attendance(db, actor.village_id, aid)
    c1, c2 = st.columns(2)
    with c1:
        st.markdown("**扫卡登记**")
        _work_day_scan(actor, aid)
    with c2:
        st.markdown("**按名单录入时长**")
        members = field.party_members(db, actor.village_id)
        names = dict(members)
        present = [r.resident_id for r in att if not r.confirmed]
        with st.form("field_hours_form"):
            picked = st.multiselect("参加劳动的人", sorted(set(names) | set(present)),
                                    default=present,
                                    format_func=lambda r: names.get(r) or _name_of(att, r),
                                    placeholder="选择党员（扫卡登记的人会自动列出）")
            c_h, c_m = st.columns(2)
            hours = number_box("小时", min_value=0, max_value=24, step=1, value=3, where=c_h)
            mins = number_box("分钟", min_value=0, max_value=59, step=10, value=0, where=c_m)
            if st.form_submit_button("为所选人员记录时长") and None not in (hours, mins):
                n = run_action(lambda: field.add_work_hours(db, actor, aid, picked, int(hours) * 60 + int(mins)))
                if n:
                    flash(f"已为 {n} 人记录时长。")
                    st.rerun()
    if att:
        table(att, WORKDAY_ATTENDANCE, key="field_att", download="劳动日出勤")
    pending = [r for r in att if not r.confirmed and r.minutes is not None]
    if pending:
        st.write(f"待确认 {len(pending)} 人，合计 {sum(r.minutes for r in pending) / 60:.1f} 小时。")
        if confirm.confirm_step("field_workday_confirm", aid, ask_label="确认时长…", confirm="确认，计入志愿时长",
                                warning="确认后时长计入志愿服务累计时长并折算积分，之后只能通过更正申请修改。"):
            n = run_action(lambda: service_hours.confirm(db, actor, aid))
            if n is not None:
                confirm.close()
                flash(f"已确认 {n} 人的劳动时长。")
                st.rerun()


def _name_of(att, rid: int) -> str:
    hit = next((r for r in att if r.resident_id == rid), None)
    return f"{hit.name}（{hit.door_no}）" if hit else str(rid)


def _harvest(actor) -> None:
    db = runtime.db()
    seasons = dict(field.season_choices(db, actor.village_id))
    if not seasons:
        st.info("请先在“种植季”中添加作物。")
    else:
        with st.form("field_harvest_form", clear_on_submit=True):
            c1, c2, c3 = st.columns(3)
            season = c1.selectbox("种植季", list(seasons), format_func=seasons.get)
            day = c2.date_input("收获日期", value=dt.date.today(), format="YYYY-MM-DD")
            kg = number_box("过秤重量（公斤）", min_value=0.0, max_value=1_000_000.0, step=0.1, format="%.1f",
                            value=None, placeholder="精确到 0.1 公斤", key="field_harvest_kg", where=c3)
            photo = st.file_uploader("过秤照片（可选，不超过 8 MB）", type=["jpg", "jpeg", "png"], max_upload_size=8)
            note = st.text_input("备注", max_chars=200)
            again = st.checkbox("与上一条重量相同，确是另一次过秤（如整袋称重）")
            if st.form_submit_button("记录收获", type="primary") and not number_bad("field_harvest_kg"):
                fp = f"harvest|{season}|{day}|{kg}|{note}"
                if _once(fp, again):
                    hid = run_action(lambda: produce.record_harvest(
                        db, actor, season_id=season, date=day, kg="" if kg is None else f"{kg:.1f}",
                        photo=photo.getvalue() if photo else None, photo_dir=runtime.config().photo_dir, note=note))
                    if hid:
                        st.session_state[state.FIELD_LAST_WRITE] = fp
                        flash(f"已记录收获 {kg:.1f} 公斤，已入库。")
                        st.rerun()
    rows = produce.harvests(db, actor.village_id)
    if rows:
        by_crop: dict[str, float] = {}
        for h in rows:
            by_crop[h.crop] = by_crop.get(h.crop, 0) + h.kg
        cols = st.columns(min(len(by_crop), 5))
        for i, (crop, kg) in enumerate(sorted(by_crop.items())):
            cols[i % len(cols)].metric(f"{md_escape(crop)}（公斤）", f"{kg:,.1f}")
        table(rows, HARVESTS, key="field_harvest", download="收获记录")
        photos = produce.harvest_photos(db, actor.village_id, runtime.config().photo_dir)
        if photos:
            with st.expander(f"过秤照片（{len(photos)}）"):
                pick = st.selectbox("收获记录", range(len(photos)), format_func=lambda i: photos[i][0],
                                    key="field_photo_pick")
                show_photo(photos[pick][1], width=480)


def _stock(actor) -> None:
    db = runtime.db()
    stock = produce.crops_in_stock(db, actor.village_id)
    table(produce.stock(db, actor.village_id), STOCK, key="field_stock", empty="库存为空：收获过秤后自动入库。")
    if stock:
        crops = list(stock)
        fmt = {c: f"{c}（库存 {field.fmt_kg(g)} 公斤）" for c, g in stock.items()}
        mode = st.segmented_control("余量处理", ["shop", "sale", "loss"], default="shop", key="field_surplus_mode",
                                    format_func={"shop": "转入积分超市", "sale": "出售入村集体资金",
                                                 "loss": "损耗"}.get) or "shop"
        if mode == "shop":
            products = dict(produce.shop_products(db, actor.village_id))
            if not products:
                st.info("积分超市还没有可入库的商品：请村管理员或收银员先在“商品与库存”中添加，如“义田土豆 5斤装”。")
            else:
                with st.form("field_shop_form", clear_on_submit=True):
                    c1, c2 = st.columns(2)
                    crop = c1.selectbox("作物", crops, format_func=fmt.get)
                    kg = number_box("转出重量（公斤）", min_value=0.0, step=0.1, format="%.1f", value=None,
                                    key="field_shop_kg", where=c2)
                    c1, c2 = st.columns(2)
                    product = c1.selectbox("入库商品", list(products), format_func=products.get)
                    qty = number_box("入库数量（按商品单位）", min_value=0, step=1, value=None, key="field_shop_qty",
                                     where=c2)
                    note = st.text_input("备注", max_chars=200)
                    if st.form_submit_button("转入积分超市", type="primary") and not (
                            number_bad("field_shop_kg") or number_bad("field_shop_qty")):
                        fp = f"shop|{crop}|{kg}|{product}|{qty}|{note}"
                        if _once(fp) and run_action(lambda: produce.transfer_to_shop(
                                db, actor, crop=crop, kg="" if kg is None else f"{kg:.1f}", product_id=product,
                                qty=int(qty or 0), note=note)):
                            st.session_state[state.FIELD_LAST_WRITE] = fp
                            flash("已转入积分超市库存。")
                            st.rerun()
        elif mode == "sale":
            with st.form("field_sale_form", clear_on_submit=True):
                c1, c2, c3 = st.columns(3)
                crop = c1.selectbox("作物", crops, format_func=fmt.get)
                kg = number_box("出售重量（公斤）", min_value=0.0, step=0.1, format="%.1f", value=None,
                                key="field_sale_kg", where=c2)
                yuan = number_box("金额（元）", min_value=0.0, step=1.0, format="%.2f", value=None,
                                  key="field_sale_yuan", where=c3)
                c1, c2 = st.columns(2)
                day = c1.date_input("日期", value=dt.date.today(), format="YYYY-MM-DD")
                buyer = c2.text_input("购买方", max_chars=40)
                note = st.text_input("备注", max_chars=200)
                if st.form_submit_button("记录出售", type="primary") and not (
                        number_bad("field_sale_kg") or number_bad("field_sale_yuan")):
                    fp = f"sale|{crop}|{kg}|{yuan}|{day}|{buyer}"
                    if _once(fp) and run_action(lambda: produce.sell_surplus(
                            db, actor, crop=crop, kg="" if kg is None else f"{kg:.1f}",
                            amount_yuan="" if yuan is None else f"{yuan:.2f}", date=day, buyer=buyer, note=note)):
                        st.session_state[state.FIELD_LAST_WRITE] = fp
                        flash("已记录出售，款项记入村集体资金。")
                        st.rerun()
        else:
            with st.form("field_loss_form", clear_on_submit=True):
                c1, c2 = st.columns(2)
                crop = c1.selectbox("作物", crops, format_func=fmt.get)
                kg = number_box("损耗重量（公斤）", min_value=0.0, step=0.1, format="%.1f", value=None,
                                key="field_loss_kg", where=c2)
                reason = st.text_input("原因（必填）", max_chars=200, placeholder="如：储存中腐烂、复秤差额")
                if st.form_submit_button("记录损耗") and not number_bad("field_loss_kg"):
                    fp = f"loss|{crop}|{kg}|{reason}"
                    if _once(fp) and run_action(lambda: produce.record_loss(
                            db, actor, crop=crop, kg="" if kg is None else f"{kg:.1f}", reason=reason)):
                        st.session_state[state.FIELD_LAST_WRITE] = fp
                        flash("已记录损耗。")
                        st.rerun()
    moves = produce.moves(db, actor.village_id)
    if moves:
        st.markdown("**出入库流水**")
        table(moves, MOVES, key="field_moves", download="义田出入库流水")


def _report(actor) -> None:
    db = runtime.db()
    today = dt.date.today()
    c1, c2 = st.columns(2)
    d_from = c1.date_input("从", value=today - dt.timedelta(days=365), format="YYYY-MM-DD", key="field_rep_from")
    d_to = c2.date_input("到", value=today, format="YYYY-MM-DD", key="field_rep_to")
    if d_from > d_to:
        st.error("开始日期不能晚于结束日期。")
        return
    rep = season_report(db, actor.village_id, d_from, d_to)
    cols = st.columns(4)
    cols[0].metric("义田面积（亩）", f"{rep.area_mu:g}")
    cols[1].metric("义务劳动日", rep.work_days)
    cols[2].metric("志愿时长（小时）", f"{rep.volunteer_minutes / 60:,.0f}")
    cols[3].metric("参加劳动人数", rep.workers)
    cols = st.columns(4)
    cols[0].metric("收获（吨）", f"{rep.harvested_grams / 1_000_000:,.1f}")
    cols[1].metric("已发放（吨）", f"{rep.delivered_grams / 1_000_000:,.1f}")
    cols[2].metric("受益户数", rep.households)
    cols[3].metric("受益人数", rep.people)
    st.markdown("**按作物（公斤）**")
    table(rep.by_crop, BY_CROP, key="field_rep_crop")
    st.markdown("**按受助类别（已签领）**")
    table(rep.by_category, BY_CATEGORY, key="field_rep_category")
    fund = produce.fund_entries(db, actor.village_id, d_from, d_to)
    st.markdown("**村集体资金（义田余量出售）**")
    if not fund:
        st.caption("这段时间没有出售收入。")
    else:
        st.caption(f"{len(fund)} 笔，合计 {sum(e.amount_fen for e in fund) / 100:,.2f} 元。")
        table(fund, FUND[1:], key="field_rep_fund")
    name = f"党员义田报告_{d_from:%Y%m%d}-{d_to:%Y%m%d}"
    tables = report_tables(rep)
    with st.container(horizontal=True):  # both files are made only when clicked: the other tabs must not wait
        excel_download("下载 Excel", lambda: {**tables, "村集体资金": labelled(fund, FUND)},
                       f"{name}.xlsx", "field_rep_xlsx")
        pdf_download("下载 PDF", lambda: report_pdf(rep), f"{name}.pdf", "field_rep_pdf",
                     text_of(rep.village, tables["按作物"], tables["按类别"]))


def render() -> None:
    actor = page_guard("field")
    st.title("义田与收获")
    run_open_tab({"地块": lambda: _plots(actor), "种植季": lambda: _seasons(actor),
                  "义务劳动": lambda: _work_days(actor), "收获过秤": lambda: _harvest(actor),
                  "库存与余量": lambda: _stock(actor), "年度报告": lambda: _report(actor)}, state.FIELD_TAB)


if __name__ == "__main__":  # opened by URL on a fresh server, outside st.navigation
    from ui.frame import run

    run()
