"""The shared input cleaners give the same Chinese messages on every page."""

from __future__ import annotations

import pytest

from core.platform import validate
from core.platform.errors import InvalidInput


def test_text_strips_requires_and_limits():
    assert validate.text("  村道  ", "名称", 5) == "村道"
    assert validate.text(None, "备注", 5) == ""
    with pytest.raises(InvalidInput, match="请填写名称"):
        validate.text("   ", "名称", 5, required=True)
    with pytest.raises(InvalidInput, match="名称不能超过 2 个字"):
        validate.text("三个字", "名称", 2)


@pytest.mark.parametrize("value,kw,expected", [(3, {}, 3), (3.0, {}, 3), ("", {"optional": True}, None),
                                               (5, {"lo": 1, "hi": 5}, 5), (0, {"lo": 0}, 0)])
def test_whole_number_accepts(value, kw, expected):
    assert validate.whole_number(value, "人数", **kw) == expected


@pytest.mark.parametrize("value,kw,message", [
    (2.5, {}, "人数必须是整数"), (True, {}, "人数必须是整数"), ("3", {}, "人数必须是整数"),
    (None, {}, "请填写人数"), (6, {"lo": 1, "hi": 5}, "人数必须在 1 到 5 之间"),
    (-1, {"lo": 0}, "人数不能小于 0"), (9, {"hi": 8}, "人数不能大于 8"),
])
def test_whole_number_refuses_with_a_clear_message(value, kw, message):
    with pytest.raises(InvalidInput, match=message):
        validate.whole_number(value, "人数", **kw)
