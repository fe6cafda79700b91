"""底分与年终: the base score (底分) per period, year-end clearing or carry-over
with a per-household preview, and the month close (月结) and the recorded annual carry-over
(年度结转); each action asks through ui.confirm with a Chinese summary of what it will do."""

from __future__ import annotations

import datetime as dt

import streamlit as st

from core.points import closes, cycles
from ui import confirm, runtime, state
from ui.guard import page_guard
from ui.tables import Col, table
from ui.widgets import flash, number_box, run_action

KINDS = {"year": "年度", "quarter": "季度", "month": "月份"}
PREVIEW = [
    Col("door_no", "门牌号"),
    Col("head_name", "户主"),
    Col("grid", "网格", blank=""),
    Col("balance", "当前可用积分", "points"),
    Col("after", "处理后可用积分", "points"),
    Col("to_clear", "将清除积分", "points"),
    Col("earned_total", "累计积分（不变）", "points"),
    Col("action", "处理", value=lambda r: cycles.YEAR_END_ACTIONS.get(r.action, r.action).format(year=r.year)),
]
CLOSES = [
    Col("kind", "类型", names=closes.CLOSE_KINDS),
    Col("period_label", "期间"),
    Col("balance_total", "可用积分合计", "points"),
    Col("earned_total", "累计积分合计", "points"),
    Col("outstanding_total", "待扣合计", "points"),
    Col("households", "有流水户数", "int"),
    Col("entries", "流水笔数", "int"),
    Col("policy", "年终处理", names=closes.POLICY_NAMES),
    Col("cleared", "清零积分", "points"),
    Col("closed_at", "结账时间", "datetime"),
]
EARNED = [
    Col("door_no", "门牌号"),
    Col("head_name", "户主"),
    Col("earned", "加分", "points"),
    Col("deducted", "扣分", "points"),
    Col("net", "年度净得分", "points"),
]


def render() -> None:
    actor = page_guard("cycles")
    st.title("底分与年终")
    base_tab, year_tab, close_tab, earned_tab = st.tabs(["发放底分", "年终清零 / 结转", "月结与年度结转",
                                                         "历年累计积分"])
    with base_tab:
        _base(actor)
    with year_tab:
        _year_end(actor)
    with close_tab:
        _closes(actor)
    with earned_tab:
        _earned(actor)


def _period_picker() -> str | None:
    today = dt.date.today()
    kind = st.segmented_control("周期", list(KINDS), format_func=KINDS.get, default="year", key="cycles_kind") \
        or "year"
    c1, c2 = st.columns(2)
    year = number_box("年份", min_value=2000, max_value=today.year, value=today.year, step=1,
                      key="cycles_base_year", where=c1)
    if year is None:
        return None
    if kind == "quarter":
        q = c2.selectbox("季度", [1, 2, 3, 4], index=(today.month - 1) // 3, format_func=lambda n: f"第{n}季度",
                         key="cycles_base_q")
        return f"{int(year)}-Q{q}"
    if kind == "month":
        m = c2.selectbox("月份", list(range(1, 13)), index=today.month - 1, format_func=lambda n: f"{n}月",
                         key="cycles_base_m")
        return f"{int(year)}-{m:02d}"
    return f"{int(year)}"


def _base(actor) -> None:
    db = runtime.db()
    st.caption("底分在周期开始时发给每一户，每户每个周期最多一次（重复点击不会重复发放）。"
               "分值和是否可以兑换在“系统设置 → 底分与年终”中设置。")
    period = _period_picker()
    if period is None:
        return
    status = run_action(lambda: cycles.base_status(db, actor.village_id, period))
    if status is None:
        return
    label = cycles.parse_period(period).label
    c1, c2, c3, c4 = st.columns(4)
    c1.metric("每户底分", status.points)
    c2.metric("可否兑换", "可兑换" if status.spendable else "不可兑换")
    c3.metric("在册户数", status.households)
    c4.metric(f"{label}已发放", f"{status.granted} 户")
    if not status.points:
        st.info("本村没有设置底分（系统设置中底分为 0）。")
        return
    missing = status.households - status.granted
    if missing <= 0:
        st.success(f"{label}的底分已经发给全部在册户。")
        return
    spend = "可兑换" if status.spendable else "不可兑换，只计入累计积分"
    if confirm.confirm_step("cycles_base", period, ask_label=f"给 {missing} 户发放{label}底分", confirm="确认发放",
                            back="取消", warning=f"将给 {missing} 户各记 {status.points} 分{label}底分（{spend}）。确定吗？"):
        n = run_action(lambda: cycles.grant_base(db, actor, actor.village_id, period))
        if n is not None:  # granting again gives no household a second share (core), so the question may stay open
            confirm.close()
            flash(f"已给 {n} 户发放{label}底分。")
            st.rerun()


def _year_end(actor) -> None:
    db = runtime.db()
    done = st.session_state.pop(state.CYCLES_YEAR_END_DONE, None)
    if done:
        st.success(f"{done[0]}年年终处理完成：{done[1]} 户清零，共 {done[2]} 分。")
    today = dt.date.today()
    default_year = today.year - 1 if today.month <= 6 else today.year
    year = number_box("年度", min_value=2000, max_value=today.year, value=default_year, step=1, key="cycles_ye_year")
    if year is None:
        return
    year = int(year)
    policy = cycles.year_end_policy(db, actor.village_id)
    if policy == "clear":
        st.info("本村的年终处理方式：**清零**。每户记一笔“清零”流水，把可用积分变为 0；"
                "不删除任何记录，累计积分和星级评定不受影响。")
    else:
        st.info("本村的年终处理方式：**结转**。可用积分原样带入下一年，不做任何改动。"
                "如需清零，请先在“系统设置 → 底分与年终”中修改。")
    preview = run_action(lambda: cycles.year_end_preview(db, actor.village_id, year))
    if preview is None:
        return
    households = sum(1 for r in preview if r.to_clear > 0)
    points = sum(r.to_clear for r in preview)
    c1, c2, c3 = st.columns(3)
    c1.metric("在册户数", len(preview))
    c2.metric("将清零的户数", households)
    c3.metric("将清除的积分合计", points)
    table(preview, PREVIEW, key="cycles_ye", download=f"{year}年年终处理预览")
    if policy != "clear":
        return
    if points == 0:
        st.success("没有需要清零的积分。")
        return
    st.subheader("执行清零")
    st.warning("清零后各户的可用积分变为 0，不能撤销（只能由管理员逐户手工调整补回）。请先下载上面的预览表存档。")
    # The run reports what it cleared, so a second run would report 0: the question closes as 确认 is
    # clicked (``once``), and the core clears no account twice for the same year anyway.
    if confirm.confirm_step("cycles_ye_clear", year, ask_label=f"执行{year}年年终清零…", icon=":material/restart_alt:",
                            confirm="确认清零", back="取消", once=True,
                            warning=f"确认做{year}年年终清零吗？将给 {households} 户各记一笔清零流水，共清除 {points} 分"
                                    "可用积分（累计积分和星级评定不变）。清零不能撤销。"):
        bar = st.progress(0.0, text="正在清零…")

        def progress(done_n: int, total: int) -> None:
            bar.progress(done_n / total if total else 1.0, text=f"已处理 {done_n} / {total} 户")

        result = run_action(lambda: cycles.run_year_end(db, actor, actor.village_id, year, str(year),
                                                        progress=progress))
        if result is not None:
            st.session_state[state.CYCLES_YEAR_END_DONE] = (year, result.households, result.points)
            st.rerun()


def _close_summary(month: int, t: closes.Totals) -> str:
    nxt = month + 89 if month % 100 == 12 else month + 1
    return (f"{closes.month_label(month)}月结：截至该月底，全村可用积分合计 {t.balance} 分，累计积分合计 {t.earned} 分，"
            f"待扣合计 {t.outstanding} 分（{t.households} 户，{t.entries} 笔流水）。结账后，日期在 "
            f"{closes.month_label(month)}及以前的加分、扣分、冲正一律记入 {closes.month_label(nxt)}，并注明原日期；"
            "已结账月份的合计不再变动，系统自检会按流水复核。")


def _closes(actor) -> None:
    db = runtime.db()
    st.caption("月结把一个已经结束的月份“关账”：记下截至月底的积分合计，此后不再有流水记入该月（迟到的记账记入下一个"
               "未结账月份的 1 日，并注明原日期）。月份须按顺序结账。年度结转在 12 月结账后进行，按本村的年终处理方式"
               "（结转或清零）记下全年结果。")
    today = dt.date.today()
    first = st.session_state.get("cycles_close_first")
    status = run_action(lambda: closes.status(db, actor.village_id, first))
    if status is None:
        return
    if status.last_closed is None:
        st.info("本村还没有结过账。请选择第一个要结账的月份（通常是开始使用本系统的那个月）。")
        months = []
        d = today.replace(day=1)
        for _ in range(24):
            d = (d - dt.timedelta(days=1)).replace(day=1)
            months.append(f"{d:%Y-%m}")
        st.selectbox("第一个结账月份", months, format_func=lambda m: f"{m[:4]}年{int(m[5:])}月",
                     key="cycles_close_first")
    else:
        st.markdown(f"已结账到 **{closes.month_label(status.last_closed)}**。")
    if status.next_month is None:
        st.success("已经结束的月份都已结账。")
    else:
        month = f"{status.next_month // 100}-{status.next_month % 100:02d}"
        summary = _close_summary(status.next_month, status.totals)
        st.text(summary)
        label = closes.month_label(status.next_month)
        if confirm.confirm_step("cycles_close", month, ask_label=f"{label}月结…", icon=":material/lock:",
                                confirm="确认月结", back="取消",
                                warning=f"确认做{label}月结吗？" + summary.split("。")[0].split("月结：")[1]
                                + "。月结不能撤销。"):
            # A month closed already is refused by the core, so a second click closes nothing twice.
            done = run_action(lambda: closes.close_month(db, actor, actor.village_id, month, confirm=True))
            if done is not None:
                confirm.close()
                flash("已完成" + summary.split("。")[0] + "。")
                st.rerun()
    _year_close(actor, today)
    recorded = closes.closes(db, actor.village_id)
    if recorded:
        st.subheader("结账记录")
        table(recorded, CLOSES, key="cycles_closes", download="结账记录")


def _year_close(actor, today: dt.date) -> None:
    db = runtime.db()
    st.subheader("年度结转")
    year = number_box("年度", min_value=2000, max_value=today.year, value=today.year - 1, step=1,
                      key="cycles_yc_year")
    if year is None:
        return
    year = int(year)
    policy = cycles.year_end_policy(db, actor.village_id)
    what = ("清零：每户记一笔清零流水，把可用积分变为 0（累计积分和星级不变）" if policy == "clear"
            else "结转：各户可用积分原样带入下一年")
    st.text(f"本村的年终处理方式为{what}。须先完成 {year}年12月的月结。")
    preview = run_action(lambda: cycles.year_end_preview(db, actor.village_id, year))
    if preview is None:
        return
    if policy == "clear":
        effect = (f"按本村的年终处理方式清零：{sum(1 for r in preview if r.to_clear > 0)} 户共 "
                  f"{sum(r.to_clear for r in preview)} 分可用积分清零（累计积分和星级评定不变）")
    else:
        effect = (f"按本村的年终处理方式结转：在册 {len(preview)} 户共 {sum(r.balance for r in preview)} 分可用积分"
                  f"原样带入 {year + 1}年")
    # A year done already is refused by the core, so a second click records nothing twice.
    if confirm.confirm_step("cycles_yc", year, ask_label=f"执行{year}年年度结转…", icon=":material/event_available:",
                            confirm="确认年度结转", back="取消",
                            warning=f"确认做{year}年年度结转吗？{effect}。年度结转不能撤销。"):
        bar = st.progress(0.0, text="正在处理…")

        def progress(done_n: int, total: int) -> None:
            bar.progress(done_n / total if total else 1.0, text=f"已处理 {done_n} / {total} 户")

        r = run_action(lambda: closes.close_year(db, actor, actor.village_id, year, str(year), progress=progress))
        if r is not None:
            confirm.close()
            text = (f"{year}年年度结转已完成：年末全村可用积分合计 {r.totals.balance} 分，累计积分合计 {r.totals.earned} 分，"
                    f"待扣合计 {r.totals.outstanding} 分；")
            text += (f"已按清零处理 {r.households_cleared} 户，共清零 {r.cleared} 分。" if r.policy == "clear"
                     else "可用积分全部结转到下一年。")
            flash(text)
            st.rerun()


def _earned(actor) -> None:
    st.caption("年度累计积分（加分 − 扣分）按月保存，年终清零不会改变它，所以往年的星级文明户评定保持不变。")
    today = dt.date.today()
    year = number_box("年度", min_value=2000, max_value=today.year, value=today.year, step=1, key="cycles_earned_year")
    if year is None:
        return
    year = int(year)
    rows = run_action(lambda: cycles.earned_by_year(runtime.db(), actor.village_id, year))
    if rows is None:
        return
    table(rows, EARNED, key="cycles_earned", download=f"{year}年各户累计积分", empty="这一年还没有积分记录。")


if __name__ == "__main__":  # opened by URL on a fresh server, outside st.navigation
    from ui.frame import run

    run()
