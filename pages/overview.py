"""村情总览: the village's points, participation, volunteer hours and produce for a period."""

from __future__ import annotations

import datetime as dt
from typing import TYPE_CHECKING

import pandas as pd
import streamlit as st

from core.reporting import periods, reports, village_overview
from core.reporting.periods import month_label
from ui import runtime, state
from ui.guard import page_guard
from ui.tables import Col, labelled, table
from ui.widgets import downloads, run_open_tab

if TYPE_CHECKING:
    import altair as alt

PERIOD_LABELS = {"month": "月", "quarter": "季度", "year": "年"}
TREND = [
    Col("month", "月份", value=lambda r: month_label(r.month)),
    Col("earned", "加分", "points"),
    Col("deducted", "扣分", "points"),
    Col("redeemed", "兑换", "points"),
]
CATEGORIES = [Col("category", "类别"), Col("points", "积分", "points"), Col("entries", "笔数", "int")]
GRIDS = [
    Col("grid", "网格"),
    Col("households", "户数", "int"),
    Col("earned", "加分", "points"),
    Col("deducted", "扣分", "points"),
    Col("net", "净积分", "points"),
    Col("redeemed", "兑换", "points"),
    Col("households_taking_part", "参与户", "int"),
    Col("participation_pct", "参与率(%)", "number"),
]
GRID_CHART = [GRIDS[0], GRIDS[4], GRIDS[1], GRIDS[7]]  # 网格, 净积分, 户数, 参与率(%)


def _feed_text(r: reports.FeedItem) -> str:
    if r.kind == "activity":
        return f"{r.what}（{r.activity_date:%m月%d日}）"
    return f"{r.door_no} {r.head_name}" + (f"：{r.what}" if r.what else "")


FEED = [
    Col("at", "时间", "time"),
    Col("kind", "类型", names=reports.FEED_KIND_NAMES),
    Col("what", "内容", value=_feed_text),
    # pd.NA, not None, for an activity: the column stays whole numbers in the download (None would make it 5.0)
    Col("points", "积分", "points", value=lambda r: pd.NA if r.points is None else r.points),
]


def period_picker(key: str, today: dt.date, cols=None) -> periods.Period:
    """Period kind (月/季度/年) and which one; shared by the dashboards."""
    cols = cols or st.columns([1, 2])
    with cols[0]:
        kind = st.segmented_control("统计周期", list(PERIOD_LABELS), format_func=PERIOD_LABELS.get,
                                    default="month", key=f"{key}_kind") or "month"
    with cols[1]:
        options = periods.recent_periods(kind, today, 12 if kind == "month" else 8 if kind == "quarter" else 5)
        return st.selectbox("时间", options, format_func=lambda p: p.label, key=f"{key}_period_{kind}")


def _points_axis():
    """Points are whole numbers: whole-number ticks, also when every value is 0 (Vega would
    otherwise label a zero-width scale 0.000000)."""
    import altair as alt

    return alt.Axis(format="d", tickMinStep=1)


def _trend_chart(rows: list[reports.MonthFigures]) -> alt.Chart:
    import altair as alt  # only where a chart is drawn: ~26 MB, not for every page

    long = labelled(rows, TREND).melt("月份", var_name="类型", value_name="积分")
    return (alt.Chart(long, title="月度积分走势")
            .mark_line(point=True)
            .encode(x=alt.X("月份:N", title="月份", sort=None, axis=alt.Axis(labelAngle=-45)),
                    y=alt.Y("积分:Q", title="积分", axis=_points_axis()),
                    color=alt.Color("类型:N", title="类型",
                                    scale=alt.Scale(domain=["加分", "扣分", "兑换"],
                                                    range=["#2e7d32", "#c62828", "#1565c0"])),
                    tooltip=[alt.Tooltip("月份:N", title="月份"), alt.Tooltip("类型:N", title="类型"),
                             alt.Tooltip("积分:Q", title="积分")]))


def _bar_chart(df: pd.DataFrame, label: str, value: str, title: str, ranked: bool = True) -> alt.Chart:
    import altair as alt  # only where a chart is drawn: ~26 MB, not for every page

    return (alt.Chart(df, title=title)
            .mark_bar()
            .encode(y=alt.Y(f"{label}:N", title=label, sort="-x" if ranked else None),
                    x=alt.X(f"{value}:Q", title=value, axis=_points_axis()),
                    color=alt.condition(alt.datum[value] < 0, alt.value("#c62828"), alt.value("#2e7d32")),
                    tooltip=[alt.Tooltip(f"{c}:{'Q' if pd.api.types.is_numeric_dtype(df[c]) else 'N'}", title=c)
                             for c in df.columns]))


def render() -> None:
    actor = page_guard("overview")
    st.title("村情总览")
    today = dt.date.today()
    grid_options = village_overview.grid_choices(runtime.db(), actor.village_id)
    cols = st.columns([1.1, 1.5, 1.5])
    period = period_picker("overview", today, cols)
    grid_names = dict(grid_options)
    grid_id = cols[2].selectbox("网格", [None, *grid_names], format_func=lambda g: "全村" if g is None else grid_names[g],
                           key="overview_grid")
    scope = grid_names.get(grid_id, "全村")
    vid = actor.village_id
    ov = village_overview.overview_figures(runtime.db(), vid, period, grid_id)

    st.caption(f"{period.label} · {scope}。加分、扣分已扣除冲正；兑换为兑换积分减去撤销；"
               "参与户指本期有加分的户；志愿时长按活动日期统计已确认的时长。")
    row1 = st.columns(3, border=True)
    row1[0].metric("加分", f"{ov.earned} 分")
    row1[1].metric("扣分", f"{ov.deducted} 分")
    row1[2].metric("兑换", f"{ov.redeemed} 分", help=f"共 {ov.redemptions} 笔兑换")
    row2 = st.columns(3, border=True)
    row2[0].metric("参与户", f"{ov.participation_pct}%", help=f"{ov.households_taking_part} / {ov.households} 户")
    row2[1].metric("志愿时长", f"{ov.volunteer_hours} 小时", help=f"{ov.volunteers} 名志愿者")
    row2[2].metric("义田分配", f"{ov.produce_kg} 公斤", help="已签领的义田农产品")

    summary = pd.DataFrame([{"统计期": period.label, "范围": scope, "加分": ov.earned, "扣分": ov.deducted,
                             "净积分": ov.net, "兑换积分": ov.redeemed, "兑换笔数": ov.redemptions,
                             "户数": ov.households, "参与户": ov.households_taking_part,
                             "参与率(%)": ov.participation_pct, "志愿时长(小时)": ov.volunteer_hours,
                             "志愿者人数": ov.volunteers, "义田分配(公斤)": ov.produce_kg}])
    downloads(summary, f"村情总览_{period.label}_{scope}", "overview_summary")

    run_open_tab({"月度走势": lambda: _trend(vid, period, grid_id, scope),
                  "分类积分": lambda: _categories(vid, period, grid_id, scope),
                  "网格对比": lambda: _grids(vid, period), "最近动态": lambda: _feed(vid)}, state.OVERVIEW_TAB)


def _trend(vid: int, period, grid_id: int | None, scope: str) -> None:
    trend = village_overview.monthly_trend(runtime.db(), vid, period.last_month, 12, grid_id)
    st.altair_chart(_trend_chart(trend), width="stretch")
    table(trend, TREND, key="overview_trend", download=f"月度积分走势_{scope}")


def _categories(vid: int, period, grid_id: int | None, scope: str) -> None:
    cats = village_overview.categories(runtime.db(), vid, period, grid_id)
    if cats:
        st.altair_chart(_bar_chart(labelled(cats, CATEGORIES), "类别", "积分", f"{period.label}各类别积分"),
                        width="stretch")
    table(cats, CATEGORIES, key="overview_cats", download=f"分类积分_{period.label}_{scope}",
          empty="本期还没有按类别记入的积分。")


def _grids(vid: int, period) -> None:
    grids = village_overview.grid_comparison(runtime.db(), vid, period)
    if grids.grids:
        if not grids.any_points:
            st.info(f"{period.label}各网格还没有加分或扣分。")
        else:
            st.altair_chart(_bar_chart(labelled(grids.grids, GRID_CHART), "网格", "净积分",
                                       f"{period.label}各网格净积分", grids.ranked), width="stretch")
    table(grids.grids, GRIDS, key="overview_grids", download=f"网格对比_{period.label}", empty="本村还没有设置网格。")


def _feed(vid: int) -> None:
    feed = village_overview.activity_feed(runtime.db(), vid, 20)
    table(feed, FEED, key="overview_feed", download="最近动态", empty="还没有积分流水或志愿活动。")


if __name__ == "__main__":  # opened by URL on a fresh server, outside st.navigation
    from ui.frame import run

    run()
