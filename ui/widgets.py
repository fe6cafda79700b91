"""Small UI helpers shared by pages: showing domain errors, flashes, downloads."""

from __future__ import annotations

import io
import re
from collections.abc import Callable
from typing import Any

import pandas as pd
import streamlit as st

from core.errors import DomainError
from ui import state


def run_action(fn: Callable[[], Any], success: str | None = None) -> Any | None:
    """Call one core function; show its Chinese error instead of a traceback."""
    try:
        result = fn()
    except DomainError as e:
        st.error(str(e), icon=":material/error:")
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
        getattr(st, level)(text)


def excel_bytes(frames: dict[str, pd.DataFrame]) -> bytes:
    buf = io.BytesIO()
    with pd.ExcelWriter(buf, engine="openpyxl") as xl:
        for sheet, df in frames.items():
            df.to_excel(xl, sheet_name=sheet[:31], index=False)
            ws = xl.sheets[sheet[:31]]
            for i, col in enumerate(df.columns, start=1):
                width = max([len(str(col))] + [len(str(v)) for v in df[col].head(200)]) * 2 + 2
                ws.column_dimensions[ws.cell(1, i).column_letter].width = min(width, 60)
    return buf.getvalue()


def downloads(df: pd.DataFrame, name: str, key: str) -> None:
    """Excel and CSV download buttons for a table with Chinese headers.

    The files are built only when a button is clicked (callables), not on every render."""
    with st.container(horizontal=True):
        st.download_button("下载 Excel", lambda: excel_bytes({name: df}), f"{name}.xlsx",
                           mime="application/vnd.openxmlformats-officedocument.spreadsheetml.sheet",
                           icon=":material/download:", key=f"{key}_xlsx", on_click="ignore")
        st.download_button("下载 CSV", lambda: df.to_csv(index=False).encode("utf-8-sig"), f"{name}.csv",
                           mime="text/csv", icon=":material/download:", key=f"{key}_csv", on_click="ignore")


_MD_SPECIAL = re.compile(r"([\\`*_{}\[\]()#+\-.!|~$:])")


def md_escape(text: object) -> str:
    """User text for markdown elements (title, caption, alerts): shown literally,
    never as markdown, HTML, LaTeX or an image link that would fetch an outside URL."""
    out = str(text).replace("&", "&amp;").replace("<", "&lt;").replace(">", "&gt;")
    return _MD_SPECIAL.sub(r"\\\1", out)
