"""PDF building blocks shared by every printable sheet: a CJK font that is really
there, and a refusal to print a character the font lacks (a blank where a name should
be is worse than an error).

Font search order: JIFEN_CJK_FONT (a .ttf/.otf/.ttc path), Noto Sans CJK SC (Debian's
fonts-noto-cjk), Source Han Sans, then Windows' own Microsoft YaHei / SimHei / SimSun.

Importing this module is cheap: fpdf2 (~30 MB) is imported only when a sheet is built, so
opening a page that merely offers a PDF costs nothing; checking a text against the font
reads only the font's character map (a few ms, once per process).
"""

from __future__ import annotations

import bisect
import os
import struct
from functools import lru_cache
from pathlib import Path

from core.platform.errors import InvalidInput

CANDIDATES = [
    # (path, index of the SC face inside a .ttc)
    ("/usr/share/fonts/opentype/noto/NotoSansCJK-Regular.ttc", 2),
    ("/usr/share/fonts/opentype/noto/NotoSansCJKsc-Regular.otf", 0),
    ("/usr/share/fonts/noto-cjk/NotoSansCJK-Regular.ttc", 2),
    ("/usr/share/fonts/google-noto-cjk/NotoSansCJK-Regular.ttc", 2),
    ("/usr/share/fonts/adobe-source-han-sans/SourceHanSansSC-Regular.otf", 0),
    ("/System/Library/Fonts/PingFang.ttc", 0),
    ("C:/Windows/Fonts/msyh.ttc", 0),
    ("C:/Windows/Fonts/simhei.ttf", 0),
    ("C:/Windows/Fonts/simsun.ttc", 0),
]


class FontMissing(InvalidInput):
    pass


@lru_cache(maxsize=1)
def find_cjk_font() -> tuple[str, int]:
    env = os.environ.get("JIFEN_CJK_FONT")
    if env:
        if not Path(env).exists():
            raise FontMissing(f"找不到配置的中文字体文件：{env}")
        return env, int(os.environ.get("JIFEN_CJK_FONT_INDEX", "0"))
    for path, index in CANDIDATES:
        if Path(path).exists():
            return path, index
    raise FontMissing("找不到中文字体。请安装 Noto Sans CJK SC（Debian：apt install fonts-noto-cjk），"
                      "或用环境变量 JIFEN_CJK_FONT 指定字体文件。")


class CodeRanges:
    """The code points a font maps, as sorted, merged (first, last) ranges: a few KB
    where a set of the ~45,000 code points of a CJK font takes megabytes."""

    def __init__(self, ranges):
        merged: list[list[int]] = []
        for lo, hi in sorted(ranges):
            if merged and lo <= merged[-1][1] + 1:
                merged[-1][1] = max(merged[-1][1], hi)
            else:
                merged.append([lo, hi])
        self.starts = [lo for lo, _ in merged]
        self.ends = [hi for _, hi in merged]

    def __contains__(self, code: int) -> bool:
        i = bisect.bisect_right(self.starts, code) - 1
        return i >= 0 and code <= self.ends[i]


def _format12_ranges(path: str, index: int) -> list[tuple[int, int]] | None:
    """The Unicode full-repertoire ('format 12') cmap of a face, read straight from the file:
    three integers per range, nothing else parsed. None when the font has no such subtable."""
    with open(path, "rb") as f:
        def read(offset: int, fmt: str) -> tuple:
            f.seek(offset)
            return struct.unpack(fmt, f.read(struct.calcsize(fmt)))

        base = 0
        if read(0, ">4s")[0] == b"ttcf":
            (n_fonts,) = read(8, ">I")
            if not 0 <= index < n_fonts:
                return None
            (base,) = read(12 + 4 * index, ">I")
        (n_tables,) = read(base + 4, ">H")
        cmap = next((offset for tag, _, offset, _ in (read(base + 12 + 16 * i, ">4sIII") for i in range(n_tables))
                     if tag == b"cmap"), None)
        if cmap is None:
            return None
        (n_sub,) = read(cmap + 2, ">H")
        subtables = {(pid, eid): off for pid, eid, off in (read(cmap + 4 + 8 * i, ">HHI") for i in range(n_sub))}
        for pid_eid in ((3, 10), (0, 6), (0, 4)):  # the full-repertoire ones, as fontTools' getBestCmap prefers
            if pid_eid in subtables:
                sub = cmap + subtables[pid_eid]
                if read(sub, ">H")[0] != 12:
                    continue
                (n_groups,) = read(sub + 12, ">I")
                f.seek(sub + 16)
                data = f.read(12 * n_groups)
                return [(lo, hi) for lo, hi, _ in struct.iter_unpack(">III", data)]
    return None


@lru_cache(maxsize=1)
def _cmap() -> CodeRanges:
    """The code points the font can draw. CJK fonts carry a format-12 cmap, which is read
    directly (a few ms, no fontTools); other fonts go through fontTools, reading only the
    'cmap' table of the one face (lazy). Parsing the whole Noto CJK collection with fontTools
    took ~0.35 s and ~190 MB at its peak, the lazy 'cmap' alone ~0.15 s and ~40 MB."""
    path, index = find_cjk_font()
    try:
        ranges = _format12_ranges(path, index)
    except (OSError, struct.error):
        ranges = None
    if ranges is None:
        from fontTools.ttLib import TTFont

        font = TTFont(path, fontNumber=index, lazy=True)  # the index is used only for a collection (.ttc)
        try:
            ranges = [(code, code) for code in font.getBestCmap()]
        finally:
            font.close()
    return CodeRanges(ranges)


def missing_glyphs(text: str) -> list[str]:
    cmap = _cmap()
    # each distinct character once: a season's minutes are ~60,000 characters of a few hundred kinds
    return sorted(ch for ch in set(text) if ch.isprintable() and not ch.isspace() and ord(ch) not in cmap)


def check_text(text: str) -> str:
    """Raise if the font cannot draw a character of ``text``; return it unchanged."""
    missing = missing_glyphs(text)
    if missing:
        raise FontMissing(f"字体缺少这些字，无法打印：{''.join(missing)}。请配置包含这些字的字体（JIFEN_CJK_FONT）。")
    return text


class Sheet:
    """An A4 FPDF with the CJK font registered as 'cjk' and glyph checks on text.

    ``Sheet(orientation, title)`` returns an instance of an FPDF subclass that is defined on
    first use, so that importing this module (and every module that imports ``Sheet``)
    does not import fpdf2. Use it like a class: ``pdf = Sheet(title=...)``."""

    def __new__(cls, orientation: str = "P", title: str = "", page_format: str | tuple[float, float] = "A4"):
        return _sheet_class()(orientation=orientation, title=title, page_format=page_format)


def _heading_style():
    from fpdf.fonts import FontFace

    return FontFace(emphasis="", fill_color=(235, 235, 235))


@lru_cache(maxsize=1)
def _sheet_class():
    from fpdf import FPDF

    class _Sheet(FPDF):
        """An A4 FPDF with the CJK font registered as 'cjk' and glyph checks on text."""

        def __init__(self, orientation: str = "P", title: str = "", page_format: str | tuple[float, float] = "A4"):
            super().__init__(orientation=orientation, unit="mm", format=page_format)
            path, index = find_cjk_font()
            self.add_font("cjk", "", path, collection_font_number=index)
            self.set_font("cjk", size=11)
            self.set_auto_page_break(True, margin=15)
            self.set_title(title)
            self.set_creator("村级积分制管理系统")

        def normalize_text(self, text):
            # Every string drawn passes here in fpdf2: the one place to refuse missing glyphs.
            check_text(str(text))
            return super().normalize_text(text)

        def table_rows(self, headers: list[str], rows: list[list[object]], widths: list[float],
                       font_size: float = 11) -> None:
            """A bordered table whose header repeats after a page break; long text wraps inside its
            cell (character by character, as Chinese is written) instead of being cut off."""
            from fpdf.enums import WrapMode

            self.set_font_size(font_size)
            self.set_fill_color(235, 235, 235)
            with self.table(col_widths=tuple(widths), width=sum(widths), align="LEFT", repeat_headings=1,
                            line_height=font_size * 0.5, wrapmode=WrapMode.CHAR, first_row_as_headings=True,
                            headings_style=_heading_style(), text_align="LEFT") as table:
                head = table.row()
                for h in headers:
                    head.cell(str(h))
                for row in rows:
                    r = table.row()
                    for value in row:
                        r.cell("" if value is None else str(value))

        def output_bytes(self) -> bytes:
            return bytes(self.output())

    return _Sheet
