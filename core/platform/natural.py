"""Natural order for names people number: 第一网格 … 第十网格, 第十一网格; 2-009 before 10-001.

Sorting by code point puts 第三 before 第二 (三 U+4E09 < 二 U+4E8C); every list of grids, groups
and door numbers a person reads sorts by :func:`natural_key` instead.
"""

from __future__ import annotations

import re

_DIGITS = {"〇": 0, "零": 0, "一": 1, "二": 2, "两": 2, "三": 3, "四": 4, "五": 5, "六": 6, "七": 7, "八": 8, "九": 9}
_UNITS = {"十": 10, "百": 100, "千": 1000}
_RUN = re.compile(r"\d+|[〇零一二两三四五六七八九十百千]+")


def chinese_number(text: str) -> int:
    """一 → 1, 十 → 10, 十一 → 11, 二十三 → 23, 一百零五 → 105, 二〇二六 → 2026."""
    if not any(ch in _UNITS for ch in text):
        return int("".join(str(_DIGITS[ch]) for ch in text))
    total, digit = 0, 0
    for ch in text:
        if ch in _UNITS:
            total += (digit or 1) * _UNITS[ch]
            digit = 0
        else:
            digit = _DIGITS[ch]
    return total + digit


def natural_key(text: object) -> tuple:
    """A sort key: runs of Arabic or Chinese numerals compare as numbers, the rest as text."""
    s = "" if text is None else str(text)
    key: list[tuple[int, object]] = []
    pos = 0
    for m in _RUN.finditer(s):
        if m.start() > pos:
            key.append((1, s[pos:m.start()]))
        run = m.group()
        key.append((0, int(run) if run.isdigit() else chinese_number(run)))
        pos = m.end()
    if pos < len(s):
        key.append((1, s[pos:]))
    return tuple(key)
