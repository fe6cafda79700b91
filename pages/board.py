"""公示栏: the public board for the village office TV. No login; shows only what
core.public.board declares public; turned off by the village setting board_enabled.

Open it as /board?v=<village code> (without ?v= when there is only one village).
It refreshes itself and rotates through slides in type large enough to read from 3 m.
"""

from __future__ import annotations

import datetime as dt
import re

import streamlit as st

from core.public import board
from core.supermarket import fund
from ui import runtime, state
from ui.widgets import md_escape as _md

ROTATE_SECONDS = 15
PER_SLIDE = 5

# Only font sizes and spacing: readable from three metres on a TV, still fits a phone.
CSS = """
<style>
[data-testid="stMain"] h1 { font-size: clamp(1.8rem, 3.6vw, 3.2rem) !important; }
[data-testid="stMain"] h2 { font-size: clamp(1.5rem, 3.2vw, 2.8rem) !important; }
[data-testid="stMain"] [data-testid="stMarkdownContainer"] p {
  font-size: clamp(1.25rem, 2.8vw, 2.6rem) !important; line-height: 1.45 !important; }
[data-testid="stMain"] [data-testid="stCaptionContainer"] p { font-size: clamp(1rem, 1.8vw, 1.6rem) !important; }
</style>
"""

_MD_SPECIAL = re.compile(r"([\\`*_{}\[\]()#+\-.!|<>~$])")




def _day(d: dt.date | None) -> str:
    return f"{d.month}月{d.day}日" if d else ""


def slides(c: board.BoardContent) -> list[tuple[str, str, list[str]]]:
    """The board's slides: (heading, note, lines of markdown), empty sections left out."""
    out: list[tuple[str, str, list[str]]] = []

    def add(title: str, note: str, lines: list[str]) -> None:
        for i in range(0, len(lines), PER_SLIDE):
            out.append((title, note, lines[i:i + PER_SLIDE]))

    if c.publicity:
        days = sorted({p["公示截止"] for p in c.publicity if p["公示截止"]})
        until = (f"公示至{_day(days[0])}" + (f"—{_day(days[-1])}" if len(days) > 1 else "")) if days else ""
        add("积分公示", f"{until}。如有异议，请到村委会反映。", [
            f"**{_md(p['户主'])}**（{_md(p['网格'])}）　{_md(p['事项'])}　**{p['分值']:+d} 分**"
            for p in c.publicity])
    if c.honours is not None:
        add("本月光荣榜", "按本月获得的积分排列。",
            [f"第 {h['名次']} 名　**{_md(h['户主'])}**（{_md(h['网格'])}）　{h['本月积分']} 分" for h in c.honours])
        add("星级志愿者", "本月新晋星级的志愿者，感谢奉献！",
            [f"**{_md(v['姓名'])}**　{_md(v['星级'])}" for v in c.star_volunteers or []])
    add("志愿活动", "欢迎报名参加，服务时长可兑换积分。", [
        f"**{_md(a['活动'])}**　{_day(a['日期'])} {_md(a['时间'])}" + (f"　{_md(a['地点'])}" if a["地点"] else "")
        for a in c.activities])
    if c.fund is not None:
        add("村集体资金", "五公开：村集体资金收支，明细见村务公开栏的五公开报表。", [
            f"当前余额　**{fund.fmt_yuan(c.fund['余额'])} 元**",
            f"本月收入　**{fund.fmt_yuan(c.fund['本月收入'])} 元**",
            f"本月支出　**{fund.fmt_yuan(c.fund['本月支出'])} 元**"])
    if c.new_goods or c.redemptions_this_month:
        add("积分超市", f"本月已兑换 {c.redemptions_this_month} 笔。" + ("近期新到：" if c.new_goods else ""),
            [f"**{_md(g['商品'])}**　{_md(g['所需积分'])}" for g in c.new_goods] or ["欢迎用积分兑换生活用品。"])
    return out


def _pick_village() -> int | None:
    """The id of the village to show (from ?v=, or the only one), or None."""
    code = st.query_params.get("v")
    pick = board.village_for_board(runtime.db(), code)
    if pick.village_id is not None or code:
        return pick.village_id
    if not pick.choices:
        return None
    names = dict(pick.choices)
    st.title("公示栏")
    chosen = st.selectbox("选择村", list(names), format_func=names.get, index=None, placeholder="请选择要显示的村",
                          key="board_village")
    if chosen:
        st.query_params["v"] = chosen
        st.rerun()
    st.stop()


@st.fragment(run_every=ROTATE_SECONDS)
def _rotating(village_id: int) -> None:
    now = dt.datetime.now()
    c = board.board_content(runtime.db(), village_id, now.date())
    if not c.enabled:
        st.info("公示栏已关闭。", icon=":material/tv_off:")
        return
    items = slides(c)
    st.title(f"{_md(c.village)}公示栏")
    if not items:
        st.caption(f"{now:%Y年%m月%d日 %H:%M}")
        st.markdown("暂无公示内容。")
        return
    i = st.session_state.get(state.BOARD_SECTION, 0) % len(items)
    st.session_state[state.BOARD_SECTION] = i + 1
    title, note, lines = items[i]
    st.caption(f"{now:%Y年%m月%d日 %H:%M} · 第 {i + 1} / {len(items)} 页 · 每 {ROTATE_SECONDS} 秒自动切换")
    st.header(_md(title))
    st.caption(_md(note))
    for line in lines:
        st.markdown(line)


def render() -> None:
    # Public page: no page_guard. What it may show is decided in core.public.board.
    st.html(CSS)
    village_id = _pick_village()
    if village_id is None:
        st.title("公示栏")
        st.warning("找不到这个村。请检查网址中的村代码（?v=）。", icon=":material/error:")
        return
    _rotating(village_id)


if __name__ == "__main__":  # opened by URL on a fresh server, outside st.navigation
    from ui.frame import run

    run()
