"""Tables on pages, built from core's typed rows.

core's reads return rows as frozen dataclasses with English field names and stored codes
(``kind="purchase"``, ``status=RedemptionStatus.DONE``), never a frame with Chinese headers. A page
says once, per table, which fields it shows, under which header and in which format (:class:`Col`);
the same columns give the screen (``st.dataframe`` with ``column_config``) and the Excel/CSV
download, so the file and the screen always agree and a page computes its figures from the rows'
attributes, not from display text.

Documents whose layout is fixed by practice (the minutes workbook, the township workbooks, the
五公开 report) are built in core from the same rows: their headers are part of the document."""

from __future__ import annotations

from collections.abc import Callable, Iterable, Mapping, Sequence
from dataclasses import dataclass, fields, is_dataclass
from typing import Any, Literal

import pandas as pd
import streamlit as st

from ui.widgets import downloads

Kind = Literal["text", "int", "points", "number", "money", "date", "datetime", "time", "bool", "progress"]

_FORMATS: dict[str, str] = {
    "int": "%d",
    "points": "%d",
    "money": "%.2f",
    "date": "YYYY-MM-DD",
    "datetime": "YYYY-MM-DD HH:mm",
    "time": "MM-DD HH:mm",
}


@dataclass(frozen=True)
class Col:
    """One column: the row's ``field``, its Chinese ``label`` and how it is shown.

    ``names`` turns a stored code into its Chinese word (a status, a kind); ``value`` computes the
    cell from the whole row instead of one field (``None`` shows as blank)."""

    field: str
    label: str
    kind: Kind = "text"
    names: Mapping[Any, str] | None = None
    format: str | None = None
    help: str | None = None
    value: Callable[[Any], Any] | None = None
    blank: str | None = None  # shown for None in text columns (e.g. "不限", "—")


def _cell(row: Any, col: Col) -> Any:
    if col.value is not None:
        v = col.value(row)
    elif isinstance(row, Mapping):
        v = row.get(col.field)
    else:
        v = getattr(row, col.field)
    if col.names is not None and v is not None:
        v = col.names.get(v, str(v))
    if v is None and col.blank is not None:
        v = col.blank
    return v


def records(rows: Iterable[Any], cols: Sequence[Col]) -> pd.DataFrame:
    """The rows as a frame keyed by field name, codes already in words: what the screen shows."""
    data = [[_cell(r, c) for c in cols] for r in rows]
    df = pd.DataFrame(data, columns=[c.field for c in cols])
    for c in cols:
        if c.kind in ("date", "datetime", "time") and len(df):
            df[c.field] = pd.to_datetime(df[c.field])
        elif c.kind in ("int", "points") and len(df):
            # whole numbers stay whole: int64, or the nullable Int64 where some cells are blank
            # (a float column would show 5.0 in the CSV); a column of words (value=) is left alone
            try:
                df[c.field] = df[c.field].astype("int64" if df[c.field].notna().all() else "Int64")
            except (TypeError, ValueError):
                pass
    return df


def labelled(rows: Iterable[Any], cols: Sequence[Col]) -> pd.DataFrame:
    """The same table with Chinese headers and 是/否 for yes-no: what a download holds."""
    return _labels(records(rows, cols), cols)


def _labels(df: pd.DataFrame, cols: Sequence[Col]) -> pd.DataFrame:
    out = df.rename(columns={c.field: c.label for c in cols})  # a new frame: the screen's stays as it is
    for c in cols:
        if c.kind == "bool":
            out[c.label] = out[c.label].map({True: "是", False: "否"})
    return out


def column_config(cols: Sequence[Col]) -> dict[str, Any]:
    """``st.dataframe``'s column_config for the columns."""
    cc = st.column_config
    out: dict[str, Any] = {}
    for c in cols:
        fmt = c.format or _FORMATS.get(c.kind)
        if c.kind in ("int", "points", "number", "money"):
            out[c.field] = cc.NumberColumn(c.label, help=c.help, format=fmt)
        elif c.kind in ("date",):
            out[c.field] = cc.DateColumn(c.label, help=c.help, format=fmt)
        elif c.kind in ("datetime", "time"):
            out[c.field] = cc.DatetimeColumn(c.label, help=c.help, format=fmt)
        elif c.kind == "bool":
            out[c.field] = cc.CheckboxColumn(c.label, help=c.help)
        elif c.kind == "progress":
            out[c.field] = cc.ProgressColumn(c.label, help=c.help, format=c.format or "%.0f%%",
                                             min_value=0, max_value=100)
        else:
            out[c.field] = cc.TextColumn(c.label, help=c.help)
    return out


def table(rows: Iterable[Any], cols: Sequence[Col], *, key: str, download: str | None = None,
          empty: str | None = None, where: Any = None, **kwargs: Any) -> Any:
    """Show the rows under the columns' headers, with Excel/CSV buttons when ``download`` names
    the file. ``empty`` is said instead of an empty table. Other arguments go to ``st.dataframe``
    (``height``, ``on_select``…); its return value is returned."""
    rows = list(rows)
    if not rows and empty is not None:
        (where or st).info(empty)
        return None
    df = records(rows, cols)
    kwargs.setdefault("hide_index", True)
    kwargs.setdefault("width", "stretch")
    shown = (where or st).dataframe(df, column_config=column_config(cols), key=key, **kwargs)
    if download:
        downloads(_labels(df, cols), download, key=f"{key}_dl")
    return shown


def fields_of(row_type: type) -> list[str]:
    """The field names of a row type, for a test that every field a table names exists."""
    assert is_dataclass(row_type)
    return [f.name for f in fields(row_type)]
