"""村际比较: the villages of one township side by side (比积分、比环境、比义务工)."""

from __future__ import annotations

import datetime as dt
from typing import TYPE_CHECKING

import pandas as pd
import streamlit as st

from core.reporting import reports
from pages.overview import period_picker
from ui import runtime
from ui.guard import page_guard
from ui.widgets import downloads, run_action

if TYPE_CHECKING:
    import altair as alt

MEASURES = {
    "户均积分": "户均积分（净积分 ÷ 户数）",
    "参与率(%)": "参与率（本期有加分的户 ÷ 户数）",
    "人均志愿时长(小时)": "人均志愿时长（已确认时长 ÷ 人口）",
    f"{reports.ENVIRONMENT}积分": f"{reports.ENVIRONMENT}类积分",
    "兑换积分": "兑换积分",
}


def _chart(df: pd.DataFrame, measure: str) -> alt.Chart:
    import altair as alt  # only where a chart is drawn: ~26 MB, not for every page

    return (alt.Chart(df, title=MEASURES[measure]).mark_bar(color="#1565c0")
            .encode(x=alt.X(f"{measure}:Q", title=measure), y=alt.Y("村:N", title="村", sort="-x"),
                    tooltip=[alt.Tooltip("村:N", title="村"), alt.Tooltip(f"{measure}:Q", title=measure),
                             alt.Tooltip("户数:Q", title="户数"), alt.Tooltip("人口:Q", title="人口")]))


def render() -> None:
    actor = page_guard("compare")
    st.title("村际比较")
    period = period_picker("compare", dt.date.today())

    def load() -> pd.DataFrame:
        with runtime.db().read() as s:
            return reports.compare(s, actor, period)

    df = run_action(load)
    if df is None:
        return
    if df.empty:
        st.info("没有可比较的村。镇街查看员的账号需要设置所属镇街。")
        return
    st.caption(f"{period.label} · 共 {len(df)} 个村。积分按本期获得的积分（加分减扣分）计算；"
               "志愿时长按活动日期统计已确认的时长。")
    cols = st.columns(4)
    hh = int(df["户数"].sum())
    cols[0].metric("户数", f"{hh} 户")
    cols[1].metric("净积分", f"{int(df['净积分'].sum())} 分")
    cols[2].metric("参与率", f"{round(100 * int(df['参与户'].sum()) / hh, 1) if hh else 0.0}%")
    cols[3].metric("志愿时长", f"{round(float(df['志愿时长(小时)'].sum()), 1)} 小时")
    measure = st.segmented_control("比较指标", list(MEASURES), default="户均积分", key="compare_measure") or "户均积分"
    st.altair_chart(_chart(df, measure), width="stretch")
    st.dataframe(df, hide_index=True, width="stretch")
    downloads(df, f"村际比较_{period.label}", "compare_table")


if __name__ == "__main__":  # opened by URL on a fresh server, outside st.navigation
    from ui.frame import run

    run()
