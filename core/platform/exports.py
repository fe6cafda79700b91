"""Spreadsheet files the app writes (Excel and CSV), safe to open.

Excel, WPS and LibreOffice read a cell whose text begins with ``=``, ``+``, ``-`` or ``@`` (or a
tab or carriage return before one) as a formula: a resident's self-report note such as
``=HYPERLINK("http://…","点我")`` would become a live link in the 公示 workbook a committee
member opens. Every Excel and CSV file therefore goes through this module:

- Excel: such a cell is stored as a text cell with Excel's quote prefix, so it shows exactly
  what was typed and stays text when edited;
- CSV: such a field gets a leading apostrophe (the usual practice; CSV has no cell types).

Numbers stay numbers: an integer column of points (-3) is written as number cells, and a text
that is only a number ("-3") is left as it is, since no spreadsheet reads it as a formula.
A test scans the source so that no other module writes a spreadsheet.
"""

from __future__ import annotations

import csv
import io
import re
from collections.abc import Iterable, Mapping

import pandas as pd

TRIGGERS = ("=", "+", "-", "@", "\t", "\r", "＝", "＋", "－", "＠")
_NUMBER = re.compile(r"[+-]?(\d+(\.\d*)?|\.\d+)([eE][+-]?\d+)?")
_SHEET_FORBIDDEN = re.compile(r"[\[\]:*?/\\]")


def is_formula_like(text: object) -> bool:
    """True for text a spreadsheet would take as the start of a formula."""
    if not isinstance(text, str) or not text:
        return False
    stripped = text.lstrip(" ")
    if not (text.startswith(TRIGGERS) or stripped.startswith(TRIGGERS)):
        return False
    return not _NUMBER.fullmatch(text.strip())


def csv_cell(value: object) -> object:
    """A CSV field: formula-like text gets a leading apostrophe, everything else is unchanged."""
    return "'" + value if is_formula_like(value) else value


def sheet_name(name: str, taken: Iterable[str] = ()) -> str:
    """A sheet name Excel accepts: at most 31 characters, none of []:*?/\\, not blank, unique."""
    base = _SHEET_FORBIDDEN.sub("_", str(name)).strip("'").strip()[:31] or "Sheet"
    out, n = base, 1
    taken = {t.lower() for t in taken}
    while out.lower() in taken:
        n += 1
        out = f"{base[:28]}_{n}"
    return out


def excel_bytes(frames: Mapping[str, pd.DataFrame]) -> bytes:
    """An .xlsx file with one sheet per frame (Chinese headers as given, no index column)."""
    buf = io.BytesIO()
    with pd.ExcelWriter(buf, engine="openpyxl") as xl:
        used: list[str] = []
        for name, df in frames.items():
            sheet = sheet_name(name, used)
            used.append(sheet)
            df.to_excel(xl, sheet_name=sheet, index=False)
            ws = xl.sheets[sheet]
            for row in ws.iter_rows():
                for cell in row:
                    if is_formula_like(cell.value):
                        cell.data_type = "s"  # openpyxl took it for a formula; store the text instead
                        cell.quotePrefix = True
            for i, col in enumerate(df.columns, start=1):
                width = max([len(str(col))] + [len(str(v)) for v in df[col].head(200)]) * 2 + 2
                ws.column_dimensions[ws.cell(1, i).column_letter].width = min(width, 60)
    return buf.getvalue()


def csv_bytes(df: pd.DataFrame) -> bytes:
    """A CSV file (UTF-8 with BOM, so Excel opens Chinese text correctly)."""
    safe = df.copy()
    safe.columns = [csv_cell(str(c)) for c in df.columns]
    for i in range(safe.shape[1]):  # by position: two columns may share a header
        if not (pd.api.types.is_numeric_dtype(safe.dtypes.iloc[i])
                or pd.api.types.is_datetime64_any_dtype(safe.dtypes.iloc[i])):
            safe.isetitem(i, safe.iloc[:, i].map(csv_cell))
    # CRLF (RFC 4180): the csv module then quotes a field holding a carriage return too
    return safe.to_csv(index=False, lineterminator="\r\n").encode("utf-8-sig")


def csv_rows_bytes(rows: Iterable[Iterable[object]]) -> bytes:
    """A CSV file from plain rows (first row = header), with the same protection."""
    buf = io.StringIO()
    csv.writer(buf).writerows([[csv_cell(v) for v in row] for row in rows])
    return buf.getvalue().encode("utf-8-sig")
