"""PDF building blocks shared by every printable sheet: a CJK font that is really
there, and a refusal to print a character the font lacks (a blank where a name should
be is worse than an error).

Font search order: JIFEN_CJK_FONT (a .ttf/.otf/.ttc path), Noto Sans CJK SC (Debian's
fonts-noto-cjk), Source Han Sans, then Windows' own Microsoft YaHei / SimHei / SimSun.
"""

from __future__ import annotations

import os
from functools import lru_cache
from pathlib import Path

from fontTools.ttLib import TTCollection, TTFont
from fpdf import FPDF

from core.errors import InvalidInput

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


@lru_cache(maxsize=1)
def _cmap() -> frozenset[int]:
    path, index = find_cjk_font()
    font = TTCollection(path).fonts[index] if path.lower().endswith(".ttc") else TTFont(path, lazy=True)
    return frozenset(font.getBestCmap())


def missing_glyphs(text: str) -> list[str]:
    cmap = _cmap()
    return sorted({ch for ch in text if ch.isprintable() and not ch.isspace() and ord(ch) not in cmap})


def check_text(text: str) -> str:
    """Raise if the font cannot draw a character of ``text``; return it unchanged."""
    missing = missing_glyphs(text)
    if missing:
        raise FontMissing(f"字体缺少这些字，无法打印：{''.join(missing)}。请配置包含这些字的字体（JIFEN_CJK_FONT）。")
    return text


class Sheet(FPDF):
    """An A4 FPDF with the CJK font registered as 'cjk' and glyph checks on text."""

    def __init__(self, orientation: str = "P", title: str = ""):
        super().__init__(orientation=orientation, unit="mm", format="A4")
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
                   font_size: float = 10) -> None:
        """A simple bordered table that repeats its header after a page break."""
        self.set_font_size(font_size)
        line_h = font_size * 0.55

        def header():
            self.set_fill_color(235, 235, 235)
            for h, w in zip(headers, widths, strict=True):
                self.cell(w, line_h + 2, h, border=1, align="C", fill=True)
            self.ln()

        header()
        for row in rows:
            if self.get_y() + line_h + 2 > self.h - self.b_margin:
                self.add_page()
                header()
            for value, w in zip(row, widths, strict=True):
                text = "" if value is None else str(value)
                while text and self.get_string_width(text) > w - 2:
                    text = text[:-2] + "…"
                self.cell(w, line_h + 2, text, border=1)
            self.ln()

    def output_bytes(self) -> bytes:
        return bytes(self.output())
