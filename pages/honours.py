"""年度表彰: the year's honour list built from the data (星级文明户, 优秀志愿者), reviewed and
published once (confirmed in a dialog), then its certificates (PDF, with a progress bar for
the whole list) and the list as Excel."""

from __future__ import annotations

import datetime as dt

import streamlit as st

from core.platform.errors import DomainError
from core.reporting import honours
from core.reporting.rankings import STAR_NAMES
from ui import confirm, runtime
from ui.guard import page_guard
from ui.tables import Col, labelled, table
from ui.widgets import flash, number_box, run_action, say, text_of

XLSX_MIME = "application/vnd.openxmlformats-officedocument.spreadsheetml.sheet"
DRAFT_HOUSEHOLDS = [
    Col("level", "星级", value=lambda h: f"{STAR_NAMES[h.level]}级文明户"),
    Col("door_no", "门牌号"),
    Col("head_name", "户主"),
    Col("grid", "网格"),
    Col("points", "年度积分", "points"),
]
DRAFT_VOLUNTEERS = [
    Col("place", "名次", "int"),
    Col("name", "姓名"),
    Col("door_no", "门牌号"),
    Col("minutes", "年度服务时长（小时）", "number", value=lambda v: round(v.minutes / 60, 1)),
]
# A household has no hours, a volunteer no points: those cells are blank.
PUBLISHED = [
    Col("number", "证书编号"),
    Col("kind", "表彰类别", names=honours.KIND_NAMES),
    Col("level", "等次", value=honours.grade),
    Col("name", "姓名（户主）"),
    Col("door_no", "门牌号"),
    Col("points", "年度积分", value=lambda c: f"{c.points:g}" if c.kind == "household" else ""),
    Col("minutes", "年度服务时长（小时）", value=lambda c: f"{round(c.minutes / 60, 1):g}" if c.kind == "volunteer" else ""),
]
HISTORY = [
    Col("year", "年度", value=lambda p: f"{p.year}年"),
    Col("title", "名单"),
    Col("households", "星级文明户", "int"),
    Col("volunteers", "优秀志愿者", "int"),
    Col("published_at", "发布时间", "datetime"),
]


def _confirm_details(d: honours.Draft) -> list[str]:
    counts = {lv: sum(1 for h in d.households if h.level == lv) for lv in range(5, 0, -1)}
    lines = [f"{d.year}年度表彰名单：星级文明户 {len(d.households)} 户，优秀志愿者 {len(d.volunteers)} 人。"]
    if d.households:
        lines.append("，".join(f"{STAR_NAMES[lv]}级 {n} 户" for lv, n in counts.items() if n))
    return lines


def render() -> None:
    actor = page_guard("honours")
    st.title("年度表彰")
    st.caption("按全年数据生成表彰名单：星级文明户按年度积分（加分减扣分）对照本村门槛评定，与是否显示排名无关；"
               "优秀志愿者按年度经确认的志愿服务时长。评议小组或管理员核对后发布，发布后存档、不再改动，并可打印荣誉证书。")
    today = dt.date.today()
    default = today.year - 1 if today.month <= 6 else today.year
    years = [today.year - i for i in range(6)]
    year = st.selectbox("年度", years, index=years.index(default), format_func=lambda y: f"{y}年",
                        key="honours_year")
    db = runtime.db()
    list_id = honours.published_list_id(db, actor.village_id, year)
    if list_id is not None:
        _published(actor, list_id)
    else:
        _draft(actor, year)
    history = honours.published(db, actor.village_id)
    if history:
        st.subheader("历年已发布")
        table(history, HISTORY, key="honours_history")


def _draft(actor, year: int) -> None:
    top = number_box("优秀志愿者人数（按年度服务时长取前几名，并列的都入选）", min_value=1, max_value=100,
                     value=honours.TOP_VOLUNTEERS, step=1, key="honours_top")
    if top is None:
        return
    top = int(top)
    d = run_action(lambda: honours.draft(runtime.db(), actor.village_id, year, top))
    if d is None:
        return
    st.subheader(f"{year}年度表彰名单（待发布）")
    cols = st.columns(6)
    for col, lv in zip(cols, range(5, 0, -1), strict=False):
        col.metric(f"{STAR_NAMES[lv]}级文明户", f"{sum(1 for h in d.households if h.level == lv)} 户")
    cols[5].metric("优秀志愿者", f"{len(d.volunteers)} 人")
    st.markdown("**星级文明户**")
    if not d.stars_on:
        st.info("本村没有开启星级文明户评定（系统设置 → 评定星级文明户），名单只含优秀志愿者。")
    else:
        table(d.households, DRAFT_HOUSEHOLDS, key="honours_draft_households", empty="这一年没有达到星级的户。")
    st.markdown("**优秀志愿者**")
    table(d.volunteers, DRAFT_VOLUNTEERS, key="honours_draft_volunteers", empty="这一年没有经确认的志愿服务时长。")
    if d.empty:
        return
    # A list published already is refused by the core ("不能再次发布"), so a second click publishes nothing.
    if confirm.confirm_step("honours_publish", (year, top), ask_label="发布名单…", icon=":material/emoji_events:",
                            details=_confirm_details(d), confirm="确认发布", back="取消",
                            warning="发布后名单存档，不能修改或撤回，也不能再次发布；之后积分或时长的变动不会改动已发布的名单。"):
        list_id = run_action(lambda: honours.publish(runtime.db(), actor, actor.village_id, d.year, confirm=True,
                                                     top=top))
        if list_id is not None:
            confirm.close()
            flash(f"{d.year}年度表彰名单已发布，可以打印荣誉证书了。")
            st.rerun()


def _published(actor, list_id: int) -> None:
    data = run_action(lambda: honours.list_data(runtime.db(), actor.village_id, list_id))
    if data is None:
        return
    st.subheader(data.title)
    st.success(f"已于 {data.published_on:%Y年%m月%d日} 发布，共 {len(data.entries)} 份荣誉证书。名单已存档，不能修改。",
               icon=":material/verified:")
    table(data.entries, PUBLISHED, key="honours_list")
    c1, c2 = st.columns(2)
    c1.download_button("下载名单（Excel）", lambda: honours.excel(runtime.db(), actor.village_id, list_id),
                       f"{data.title}.xlsx", mime=XLSX_MIME, key="honours_xlsx", on_click="ignore",
                       icon=":material/download:")
    if c2.button(f"生成全部荣誉证书（{len(data.entries)} 份）", type="primary", key="honours_make_pdf",
                 icon=":material/print:"):
        from core.platform.pdf import missing_glyphs

        try:
            missing = missing_glyphs(text_of(labelled(data.entries, PUBLISHED), data.issuer))
        except DomainError as e:  # no CJK font installed at all
            say("warning", e)
            return
        if missing:
            say("warning", f"字体缺少这些字，无法生成证书：{''.join(missing)}。请配置包含这些字的字体（JIFEN_CJK_FONT）。")
            return
        bar = st.progress(0.0, text="正在生成荣誉证书…")

        def progress(done: int, total: int) -> None:
            bar.progress(done / total, text=f"已生成 {done} / {total} 份")

        pdf = run_action(lambda: honours.render_certificates(data, progress))
        if pdf:
            st.download_button(f"下载荣誉证书 PDF（{len(data.entries)} 份，A4 横向）", pdf, f"{data.title}_荣誉证书.pdf",
                               mime="application/pdf", icon=":material/download:", key="honours_pdf_dl",
                               on_click="ignore")


if __name__ == "__main__":  # opened by URL on a fresh server, outside st.navigation
    from ui.frame import run

    run()
