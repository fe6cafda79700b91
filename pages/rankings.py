"""排行与星级户: households, residents and grids by earned points; star households; honour list."""

from __future__ import annotations

import datetime as dt
from typing import TYPE_CHECKING

import pandas as pd
import streamlit as st

from core.reporting import rankings
from core.reporting.rankings import STAR_NAMES
from pages.overview import period_picker
from ui import runtime, state
from ui.guard import page_guard
from ui.tables import Col, labelled, table
from ui.widgets import run_open_tab

if TYPE_CHECKING:
    import altair as alt

HOUSEHOLDS = [
    Col("rank", "名次", "int"),
    Col("door_no", "门牌号"),
    Col("head_name", "户主"),
    Col("grid", "网格"),
    Col("points", "积分", "points"),
    Col("earned", "加分", "points"),
    Col("deducted", "扣分", "points"),
]
RESIDENTS = [
    Col("rank", "名次", "int"),
    Col("name", "姓名"),
    Col("door_no", "门牌号"),
    Col("points", "积分", "points"),
    Col("entries", "笔数", "int"),
]
GRIDS = [
    Col("rank", "名次", "int"),
    Col("grid", "网格"),
    Col("households", "户数", "int"),
    Col("points", "积分", "points"),
    Col("per_household", "户均积分", "number"),
]
STARS = [
    Col("level", "星级", names=STAR_NAMES),
    Col("door_no", "门牌号"),
    Col("head_name", "户主"),
    Col("grid", "网格"),
    Col("points", "年度积分", "points"),
]
STAR_VOLUNTEERS = [
    Col("name", "姓名"),
    Col("door_no", "门牌号"),
    Col("level", "星级", value=lambda v: f"{STAR_NAMES.get(v.level, v.level)}志愿者"),
    Col("reached_on", "达到日期", "date"),
    Col("minutes", "累计时长(小时)", "number", value=lambda v: round(v.minutes / 60, 1)),
]


def _top_chart(df: pd.DataFrame, label: str, title: str) -> alt.Chart:
    import altair as alt  # only where a chart is drawn: ~26 MB, not for every page

    return (alt.Chart(df.head(15), title=title).mark_bar(color="#c62828")
            .encode(y=alt.Y(f"{label}:N", title=label, sort="-x"), x=alt.X("积分:Q", title="积分"),
                    tooltip=[alt.Tooltip(f"{c}:{'Q' if pd.api.types.is_numeric_dtype(df[c]) else 'N'}", title=c)
                             for c in df.columns]))


def render() -> None:
    actor = page_guard("rankings")
    st.title("排行与星级户")
    vid = actor.village_id
    switches = rankings.switches(runtime.db(), vid)
    enabled, stars_on = switches.rankings, switches.stars
    today = dt.date.today()
    if not enabled:
        st.info("本村已关闭排名显示。管理员可在“系统设置 → 显示排名”中重新开启。", icon=":material/visibility_off:")
        if stars_on:  # a grade, not a ranking: shown on its own
            st.subheader("星级文明户")
            _stars(vid, today)
        return
    st.caption("排名按统计期内获得的积分（加分减扣分）计算，与可用积分无关：兑换不会降低名次。")
    period = period_picker("rankings", today)
    tabs = {"户排行": lambda: _households(vid, period), "村民排行": lambda: _residents(vid, period),
            "网格排行": lambda: _grids(vid, period), "星级文明户": lambda: _stars(vid, today),
            "光荣榜": lambda: _honours(vid, period)}
    if not stars_on:
        del tabs["星级文明户"]
    run_open_tab(tabs, state.RANKINGS_TAB)


def _households(vid: int, period) -> None:
    hh = rankings.household_ranking(runtime.db(), vid, period)
    if hh:
        top = labelled(hh[:15], HOUSEHOLDS)
        st.altair_chart(_top_chart(top.assign(户=top["门牌号"] + " " + top["户主"]), "户", f"{period.label}前15户"),
                        width="stretch")
    table(hh, HOUSEHOLDS, key="rank_households", download=f"户积分排行_{period.label}", empty="本期还没有户获得积分。")


def _residents(vid: int, period) -> None:
    res = rankings.resident_ranking(runtime.db(), vid, period)
    st.caption("只统计记在具体村民名下的积分。")
    table(res, RESIDENTS, key="rank_residents", download=f"村民积分排行_{period.label}",
          empty="本期还没有记在村民名下的积分。")


def _grids(vid: int, period) -> None:
    grid = rankings.grid_ranking(runtime.db(), vid, period)
    st.caption("网格按户均积分排名，大小不同的网格可以公平比较。")
    if grid:
        st.altair_chart(_top_chart(labelled(grid[:15], GRIDS).rename(columns={"积分": "总积分", "户均积分": "积分"}),
                                   "网格", f"{period.label}各网格户均积分"), width="stretch")
    table(grid, GRIDS, key="rank_grids", download=f"网格排行_{period.label}", empty="本村还没有设置网格。")


def _stars(vid: int, today: dt.date) -> None:
    years = [today.year - i for i in range(5)]
    year = st.selectbox("年度", years, format_func=lambda y: f"{y}年", key="rankings_star_year")
    graded = rankings.star_year(runtime.db(), vid, year)
    st.caption("按年度获得积分评定，门槛（一至五星）：" + " / ".join(f"{t} 分" for t in graded.thresholds)
               + "。门槛可在系统设置中修改。")
    cols = st.columns(5)
    for col, (name, n) in zip(cols, graded.counts.items(), strict=True):
        col.metric(f"{name}文明户", f"{n} 户")
    table(graded.households, STARS, key="rank_stars", download=f"星级文明户_{year}年",
          empty="这一年还没有达到星级的户。")


def _honours(vid: int, period) -> None:
    h = rankings.honour_list(runtime.db(), vid, period)
    st.subheader(f"{period.label}光荣榜")
    st.markdown("**积分先进户**")
    table(h.households, HOUSEHOLDS, key="honour_households", download=f"光荣榜_先进户_{period.label}", empty="本期暂无。")
    st.markdown("**积分先进个人**")
    table(h.residents, RESIDENTS, key="honour_residents", download=f"光荣榜_先进个人_{period.label}", empty="本期暂无。")
    st.markdown("**星级志愿者**")
    table(h.volunteers, STAR_VOLUNTEERS, key="honour_volunteers", download=f"光荣榜_星级志愿者_{period.label}",
          empty="本期没有新晋星级志愿者。")


if __name__ == "__main__":  # opened by URL on a fresh server, outside st.navigation
    from ui.frame import run

    run()

