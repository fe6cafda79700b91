"""Cleaning what people type, with the same Chinese messages everywhere.

Every form field that reaches ``core`` goes through one of these, so a label reads the
same way on every page ("请填写…", "…不能超过 N 个字", "…必须是整数").
"""

from __future__ import annotations

import re
import unicodedata

from core.platform.errors import InvalidInput

# Dash-like characters an input method may type for "-" (NFKC already maps the full-width
# hyphen-minus and the small hyphen-minus; these it leaves alone).
_DASHES = dict.fromkeys(map(ord, "\u2010\u2011\u2012\u2013\u2014\u2015\u2212\u2043\ufe58\ufe63\uff0d"), "-")
_SPACE = re.compile(r"\s+")


def nfkc(value: object) -> str:
    """What was typed, with full-width digits, letters, spaces and dashes made plain (NFKC, and
    every dash-like character as "-"), stripped. For numbers and codes; names keep their form."""
    out = unicodedata.normalize("NFKC", "" if value is None else str(value))
    return out.translate(_DASHES).strip()


def door_number(value: object) -> str:
    """A door number as a matching key: NFKC, dashes as "-", no spaces (``１－０００１`` and
    ``1 - 0001`` are the household ``1-0001``)."""
    return _SPACE.sub("", nfkc(value))


def text(value: object, label: str, max_len: int, required: bool = False) -> str:
    """Stripped text no longer than ``max_len`` characters; ``required`` refuses blank."""
    out = ("" if value is None else str(value)).strip()
    if required and not out:
        raise InvalidInput(f"请填写{label}。")
    if len(out) > max_len:
        raise InvalidInput(f"{label}不能超过 {max_len} 个字。")
    return out


def whole_number(value: object, label: str, lo: int | None = None, hi: int | None = None,
                 optional: bool = False) -> int | None:
    """A whole number (a float like 3.0 from a number input counts), optionally within [lo, hi];
    ``optional`` lets blank through as None."""
    if value is None or value == "":
        if optional:
            return None
        raise InvalidInput(f"请填写{label}。")
    if isinstance(value, float) and value.is_integer():
        value = int(value)
    if isinstance(value, bool) or not isinstance(value, int):
        raise InvalidInput(f"{label}必须是整数。")
    if lo is not None and hi is not None and not lo <= value <= hi:
        raise InvalidInput(f"{label}必须在 {lo} 到 {hi} 之间。")
    if lo is not None and hi is None and value < lo:
        raise InvalidInput(f"{label}不能小于 {lo}。")
    if hi is not None and lo is None and value > hi:
        raise InvalidInput(f"{label}不能大于 {hi}。")
    return value


def submit_key(key: object) -> str:
    """The idempotency key a form carries (a checkout's cart, a return): a submit repeated with the
    same key finds the first result instead of doing the work twice."""
    key = (key or "").strip() if isinstance(key, str) else ""
    if not key or len(key) > 64:
        raise InvalidInput("缺少有效的结算编号，请刷新页面后重试。")
    return key
