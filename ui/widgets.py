"""Small UI helpers shared by pages: showing domain errors, flashes, downloads.

Downloads are built only when their button is clicked (``st.download_button`` with a callable):
a page must not spend an Excel or PDF file's time (and fpdf2/openpyxl's memory) on every rerun."""

from __future__ import annotations

import re
from collections.abc import Callable
from typing import Any

import pandas as pd
import streamlit as st

from core.platform import exports
from core.platform.errors import DomainError
from ui import state


def say(level: str, text: object, where: Any = None, **kwargs: Any) -> None:
    """A message that is plain text — a domain error, a notice naming a person or a product — in
    an alert (``level``: error, warning, info, success, toast): shown as typed, never as Markdown.
    Every message built from what people typed goes through here or through :func:`md_escape`."""
    getattr(where or st, level)(md_escape(text), **kwargs)


def run_action(fn: Callable[[], Any], success: str | None = None) -> Any | None:
    """Call one core function; show its Chinese error instead of a traceback."""
    try:
        result = fn()
    except DomainError as e:
        say("error", e, icon=":material/error:")
        return None
    if success:
        flash(success)
    return result


def flash(text: str, level: str = "success") -> None:
    """A message that survives the next st.rerun()."""
    st.session_state[state.FLASH] = (level, text)


def show_flash() -> None:
    item = st.session_state.pop(state.FLASH, None)
    if item:
        level, text = item
        say(level, text)


def _plain(x: float | int) -> str:
    return f"{x:g}" if isinstance(x, float) else str(x)


def range_error(label: str, value: float | int, min_value: float | int | None,
                max_value: float | int | None) -> str | None:
    """The Chinese message for a number outside [min_value, max_value], or None when it is inside."""
    name = label.split("（")[0].strip() or label
    if min_value is not None and max_value is not None and not min_value <= value <= max_value:
        return f"“{name}”应在 {_plain(min_value)} 至 {_plain(max_value)} 之间，您填的是 {_plain(value)}。"
    if min_value is not None and value < min_value:
        return f"“{name}”不能小于 {_plain(min_value)}，您填的是 {_plain(value)}。"
    if max_value is not None and value > max_value:
        return f"“{name}”不能大于 {_plain(max_value)}，您填的是 {_plain(value)}。"
    return None


def number_box(label: str, *, min_value: float | int | None = None, max_value: float | int | None = None,
               where: Any = None, **kwargs: Any) -> Any:
    """``st.number_input`` whose range is checked by the app, in Chinese.

    Given a minimum or maximum, Streamlit's own box shows an English tooltip ("Number is outside
    the allowed range") for a value outside and keeps the last valid one. Here the bounds are
    never passed to Streamlit: the box takes any number, and one outside the range is shown as a
    Chinese error under the box and returned as ``None`` (not used). An empty box is ``None``
    too; :func:`number_bad` tells the two apart where an empty box is allowed.
    ``where`` is the container (a column) to draw in; the other arguments go to
    ``st.number_input``."""
    box = where or st
    value = box.number_input(label, **kwargs)
    ident = kwargs.get("key") or label
    bad: set[str] = st.session_state.setdefault(state.NUMBERS_BAD, set())
    message = None if value is None else range_error(label, value, min_value, max_value)
    if message is None:
        bad.discard(ident)
        return value
    bad.add(ident)
    box.error(message, icon=":material/error:")
    return None


def number_bad(key_or_label: str) -> bool:
    """Whether the number box drawn in this run under ``key_or_label`` holds a value outside its range."""
    return key_or_label in st.session_state.get(state.NUMBERS_BAD, set())


def excel_bytes(frames: dict[str, pd.DataFrame]) -> bytes:
    """An Excel file of these sheets; formula-like text is stored as text (core.platform.exports)."""
    return exports.excel_bytes(frames)


def csv_bytes(df: pd.DataFrame) -> bytes:
    """A CSV file of this table; formula-like text gets a leading apostrophe (core.platform.exports)."""
    return exports.csv_bytes(df)


XLSX_MIME = "application/vnd.openxmlformats-officedocument.spreadsheetml.sheet"


def excel_download(label: str, frames: Callable[[], dict[str, pd.DataFrame]] | dict[str, pd.DataFrame],
                   file_name: str, key: str, where: Any = None, **kwargs: Any) -> None:
    """One Excel download of several sheets, written only when clicked. ``frames`` may be a
    callable, so that even the tables are gathered only then."""
    build = (lambda: excel_bytes(frames())) if callable(frames) else (lambda: excel_bytes(frames))
    (where or st).download_button(label, build, file_name, mime=XLSX_MIME, key=key, on_click="ignore",
                                  **{"icon": ":material/download:", **kwargs})


def show_photo(path: Any, where: Any = None, **kwargs: Any) -> None:
    """A stored photo, or a note when it is missing or declares more pixels than may be
    decoded (photos stored before that check existed)."""
    from core.committee.photos import image_file_ok

    box = where or st
    if path is None:
        box.caption("照片缺失")
    elif not image_file_ok(path):
        box.caption("照片过大，无法显示")
    else:
        box.image(str(path), **kwargs)


def text_of(*parts: object) -> str:
    """Every string a PDF will draw from these parts (strings, numbers, DataFrames with their
    headers), for :func:`pdf_download`'s font check."""
    out: list[str] = []
    for part in parts:
        if isinstance(part, pd.DataFrame):
            out.extend(map(str, part.columns))
            for col in part.columns:
                out.extend(str(v) for v in part[col].tolist() if v is not None)
        elif part is not None:
            out.append(str(part))
    return "".join(out)


def pdf_download(label: str, build: Callable[[], bytes], file_name: str, key: str, text: str,
                 where: Any = None, **kwargs: Any) -> bool:
    """A PDF download button whose file is built only when clicked (importing fpdf2, loading the
    CJK font and writing the file take 0.5–1 s and tens of MB: no rerun may pay them).

    ``text`` is the user text the PDF will print: it is checked against the font now, so a
    missing font or character is shown here in Chinese, not as a failed download after the
    click. Returns False (and shows why) when the PDF cannot be printed."""
    from core.platform.pdf import missing_glyphs

    box = where or st
    try:
        missing = missing_glyphs(text)
    except DomainError as e:  # no CJK font installed at all
        say("warning", e, box, icon=":material/print_disabled:")
        return False
    if missing:
        say("warning", f"字体缺少这些字，无法生成 PDF：{''.join(missing)}。请配置包含这些字的字体（JIFEN_CJK_FONT）。",
            box, icon=":material/print_disabled:")
        return False
    box.download_button(label, build, file_name, mime="application/pdf", key=key, on_click="ignore",
                        **{"icon": ":material/print:", **kwargs})
    return True


def lazy_tabs(labels: list[str], key: str) -> list:
    """Tabs of which only the open one runs (``.open``): switching tabs reruns the page, so a
    page with six tabs of tables does the work of one on every click and scan. The open tab
    is kept in ``st.session_state[key]`` (its label), so it stays open across reruns."""
    return list(st.tabs(labels, key=key, on_change="rerun"))


def run_open_tab(labels_and_parts: dict[str, Callable[[], Any]], key: str) -> None:
    """Lay out ``label → part`` as lazy tabs and run the part of the open tab only."""
    for tab, part in zip(lazy_tabs(list(labels_and_parts), key), labels_and_parts.values(), strict=True):
        if tab.open:
            with tab:
                part()


def downloads(df: pd.DataFrame, name: str, key: str) -> None:
    """Excel and CSV download buttons for a table with Chinese headers.

    The files are built only when a button is clicked (callables), not on every render."""
    with st.container(horizontal=True):
        st.download_button("下载 Excel", lambda: excel_bytes({name: df}), f"{name}.xlsx", mime=XLSX_MIME,
                           icon=":material/download:", key=f"{key}_xlsx", on_click="ignore")
        st.download_button("下载 CSV", lambda: csv_bytes(df), f"{name}.csv",
                           mime="text/csv", icon=":material/download:", key=f"{key}_csv", on_click="ignore")


_MD_SPECIAL = re.compile(r"([\\`*_{}\[\]()#+\-.!|~$:@])")  # & < > become entities first


def md_escape(text: object) -> str:
    """User text for every element Streamlit renders as Markdown — titles, captions, alerts,
    widget labels and tooltips, radio and segmented-control options, table cells: shown
    literally, never as Markdown, HTML, LaTeX, a directive (:red[…], :material/…:), an autolink
    or an image that would fetch an outside URL. (st.text, st.dataframe and selectbox options
    are plain already and must not be escaped.)"""
    out = str(text).replace("&", "&amp;").replace("<", "&lt;").replace(">", "&gt;")
    out = _MD_SPECIAL.sub(r"\\\1", out)
    # GFM turns web and mail addresses in the *text* into links after escapes are resolved
    # (http://…, www.…, name@host, mailto:…): an invisible word joiner breaks each pattern.
    return _AUTOLINK.sub("\u2060", out)


_AUTOLINK = re.compile(r"(?<=\\:)|(?<=www)(?=\\\.)|(?=\\@)", re.IGNORECASE)


def card_address_ok(village_id: int, key: str) -> tuple[bool, bool]:
    """Before printing cards: warn when their QR link is an address a phone cannot open
    (localhost) and ask for an explicit confirmation. Returns (may print, address unreachable);
    core refuses the print itself unless the confirmation is passed on (``local_ok``)."""
    from core.village.cards import link_check
    from ui import runtime

    base, problem = link_check(runtime.db(), village_id)
    if problem is None:
        st.caption(f"二维码链接地址：{md_escape(base)}")
        return True, False
    say("warning", problem, icon=":material/link_off:")
    ok = st.checkbox("我知道这些卡用手机扫码打不开，仍要打印（仅用于测试）", key=key)
    return ok, True
