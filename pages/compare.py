"""村际比较: counties, townships or villages side by side (比积分、比环境、比义务工)."""

from __future__ import annotations

import datetime as dt
from typing import TYPE_CHECKING

import pandas as pd
import streamlit as st

from core.reporting import comparison, periods
from ui import runtime
from ui.guard import page_guard
from ui.widgets import downloads, run_action

if TYPE_CHECKING:
    import altair as alt

PERIOD_LABELS = {"month": "月", "quarter": "季度", "year": "年"}
# measure column → (chart title, axis format: whole numbers for counts, one decimal at most otherwise)
MEASURES = {
    "户均积分": ("户均积分（净积分 ÷ 户数）", ",.1~f"),
    "参与率(%)": ("参与率（本期有加分的户 ÷ 户数）", ",.1~f"),
    "志愿时长(小时)": ("志愿时长（已确认，小时）", ",.1~f"),
    "人均志愿时长(小时)": ("人均志愿时长（已确认时长 ÷ 人口）", ",.2~f"),
    "扣分": ("扣分", ",d"),
    f"{comparison.ENVIRONMENT}积分": (f"{comparison.ENVIRONMENT}类积分", ",d"),
}


def period_picker(actor_key: str, today: dt.date) -> periods.Period:
    """Month, quarter or year; the default is the last COMPLETE one (on 2 March: February, not a
    March that has hardly begun and would compare zeros)."""
    cols = st.columns([1, 2])
    with cols[0]:
        kind = st.segmented_control("统计周期", list(PERIOD_LABELS), format_func=PERIOD_LABELS.get,
                                    default="month", key=f"{actor_key}_kind") or "month"
    with cols[1]:
        options = periods.recent_periods(kind, today, 13 if kind == "month" else 9 if kind == "quarter" else 6)
        default = options.index(periods.last_complete(kind, today))
        labels = {p: p.label + ("（进行中）" if i == 0 else "") for i, p in enumerate(options)}
        return st.selectbox("时间", options, index=default, format_func=labels.get, key=f"{actor_key}_period_{kind}")


def table(rows: list[comparison.CompareRow], level: str) -> pd.DataFrame:
    """The page's own labelled table of the typed rows."""
    name = comparison.LEVELS[level]
    data = []
    for r in rows:
        row = {"县（区）": r.county}
        if level != "county":
            row["镇（街道）"] = r.township
        if level != "village":
            row["村数"] = r.villages
        row[name] = r.name
        row.update({"户数": r.households, "人口": r.people, "加分": r.earned, "扣分": r.deducted, "净积分": r.net,
                    "户均积分": r.points_per_household, "参与户": r.households_taking_part,
                    "参与率(%)": r.participation_pct, "志愿时长(小时)": r.volunteer_hours,
                    "人均志愿时长(小时)": r.hours_per_person, f"{comparison.ENVIRONMENT}积分": r.environment,
                    "兑换积分": r.redeemed})
        data.append(row)
    df = pd.DataFrame(data)
    if level != "county" and name in df:  # the level's own name first, then where it lies
        df = df[[name, *[c for c in df.columns if c != name]]]
    return df


COLUMN_CONFIG = {
    "村数": st.column_config.NumberColumn("村数", format="%d"),
    "户数": st.column_config.NumberColumn("户数", format="%d", help="在册户数"),
    "人口": st.column_config.NumberColumn("人口", format="%d", help="在册人口"),
    "加分": st.column_config.NumberColumn("加分", format="%d"),
    "扣分": st.column_config.NumberColumn("扣分", format="%d", help="本期扣减的积分（正数）"),
    "净积分": st.column_config.NumberColumn("净积分", format="%d", help="加分减扣分"),
    "户均积分": st.column_config.NumberColumn("户均积分", format="%.1f", help="净积分 ÷ 户数"),
    "参与户": st.column_config.NumberColumn("参与户", format="%d", help="本期有加分的在册户"),
    "参与率(%)": st.column_config.NumberColumn("参与率", format="%.1f%%", help="参与户 ÷ 户数"),
    "志愿时长(小时)": st.column_config.NumberColumn("志愿时长（小时）", format="%.1f"),
    "人均志愿时长(小时)": st.column_config.NumberColumn("人均志愿时长（小时）", format="%.2f"),
    f"{comparison.ENVIRONMENT}积分": st.column_config.NumberColumn(f"{comparison.ENVIRONMENT}积分", format="%d"),
    "兑换积分": st.column_config.NumberColumn("兑换积分", format="%d"),
}


def _chart(df: pd.DataFrame, measure: str, name: str) -> alt.Chart:
    import altair as alt  # only where a chart is drawn: ~26 MB, not for every page

    title, fmt = MEASURES[measure]
    whole = fmt.endswith("d")
    axis = alt.Axis(format=fmt, tickMinStep=1) if whole else alt.Axis(format=fmt)
    return (alt.Chart(df, title=title).mark_bar(color="#1565c0")
            .encode(x=alt.X(f"{measure}:Q", title=measure, axis=axis,
                            scale=alt.Scale(domainMin=0, nice=True)),
                    y=alt.Y(f"{name}:N", title=None, sort="-x"),  # the names speak for themselves
                    tooltip=[alt.Tooltip(f"{name}:N", title=name), alt.Tooltip(f"{measure}:Q", title=measure),
                             alt.Tooltip("户数:Q", title="户数", format=",d")]))


def render() -> None:
    actor = page_guard("compare")
    st.title("村际比较")
    levels = comparison.levels_for(actor)
    level = st.segmented_control("比较层级", levels, format_func=comparison.LEVELS.get,
                                 default="village", key="compare_level") or "village"
    period = period_picker("compare", dt.date.today())

    rows = run_action(lambda: comparison.comparison_rows(runtime.db(), actor, period, level))
    if rows is None:
        return
    if not rows:
        st.info("没有可比较的村。镇街、县级账号需要设置所属镇街或县区。")
        return
    name = comparison.LEVELS[level]
    df = table(rows, level)
    n_villages = sum(r.villages for r in rows)
    st.caption(f"{period.label} · 共 {len(rows)} 个{name}" + (f"、{n_villages} 个村" if level != "village" else "")
               + "。积分按本期获得的积分（加分减扣分）计算；志愿时长按活动日期统计已确认的时长；"
               "参与率按户数加总计算（不是各村百分比的平均）。")
    cols = st.columns(4)
    hh = sum(r.households for r in rows)
    cols[0].metric("户数", f"{hh} 户")
    cols[1].metric("净积分", f"{sum(r.net for r in rows)} 分")
    cols[2].metric("参与率", f"{round(100 * sum(r.households_taking_part for r in rows) / hh, 1) if hh else 0.0}%")
    cols[3].metric("志愿时长", f"{round(sum(r.volunteer_minutes for r in rows) / 60, 1)} 小时")
    measure = st.segmented_control("比较指标", list(MEASURES), default="户均积分", key="compare_measure") or "户均积分"
    st.altair_chart(_chart(df, measure, name), width="stretch")
    st.dataframe(df, hide_index=True, width="stretch", column_config=COLUMN_CONFIG)
    downloads(df, f"村际比较_{name}_{period.label}", "compare_table")


if __name__ == "__main__":  # opened by URL on a fresh server, outside st.navigation
    from ui.frame import run

    run()
