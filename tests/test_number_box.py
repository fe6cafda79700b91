"""Number boxes check their own range and say so in Chinese: Streamlit's box, given a minimum
or maximum, shows an English tooltip ("Number is outside the allowed range") and keeps the old
value. ui.widgets.number_box never passes the bounds to Streamlit."""

from __future__ import annotations

import ast
from pathlib import Path

from streamlit.testing.v1 import AppTest

from tests.app_helpers import app, user_id
from tests.test_admin_pages import _vid, empty_db, village_db  # noqa: F401  (fixtures)

ROOT = Path(__file__).resolve().parents[1]


def _box_page() -> None:
    import streamlit as st

    from ui.widgets import number_bad, number_box

    got = number_box("每小时积分（分）", min_value=0, max_value=100, value=5, step=1, key="n")
    empty = number_box("重量（公斤，可空）", min_value=0.0, value=None, step=0.1, key="kg")
    st.text(f"got={got} empty={empty} bad={number_bad('n')},{number_bad('kg')}")


def test_a_value_outside_the_range_is_refused_in_chinese_under_the_box_and_not_used():
    at = AppTest.from_function(_box_page).run()
    assert at.text[0].value == "got=5 empty=None bad=False,False"
    assert not at.error
    at.number_input(key="n").set_value(150).run()
    assert at.text[0].value == "got=None empty=None bad=True,False"
    assert [e.value for e in at.error] == ["“每小时积分”应在 0 至 100 之间，您填的是 150。"]
    at.number_input(key="kg").set_value(-2.5).run()
    assert "bad=True,True" in at.text[0].value
    assert "“重量”不能小于 0，您填的是 -2.5。" in [e.value for e in at.error]
    at.number_input(key="n").set_value(100).run()
    at.number_input(key="kg").set_value(0.0).run()
    assert at.text[0].value == "got=100 empty=0.0 bad=False,False"
    assert not at.error
    # Streamlit itself was never told the range, so it has no English tooltip to show
    proto = at.number_input(key="n").proto
    assert not proto.has_min and not proto.has_max


def _calls_with_bounds(path: Path) -> list[str]:
    found = []
    for node in ast.walk(ast.parse(path.read_text(encoding="utf-8"))):
        if (isinstance(node, ast.Call) and isinstance(node.func, ast.Attribute) and node.func.attr == "number_input"
                and {k.arg for k in node.keywords} & {"min_value", "max_value"}):
            found.append(f"{path.name}:{node.lineno}")
    return found


def test_no_page_gives_streamlit_a_number_range():
    files = [*(ROOT / "pages").glob("*.py"), *(ROOT / "ui").glob("*.py")]
    assert [c for f in files for c in _calls_with_bounds(f)] == []


def test_a_setting_typed_outside_its_range_says_why_under_the_box_and_is_not_saved(village_db):  # noqa: F811
    from core.platform import settings

    at = app(user_id(village_db, "boss"))
    at.switch_page("pages/settings.py").run()
    spec = settings.SPECS["publicity_days"]
    at.number_input(key="settings_publicity_days").set_value(spec.max + 1)
    at.button[0].click().run()
    assert not at.exception
    errors = [e.value for e in at.error]
    assert f"“公示天数”应在 {spec.min} 至 {spec.max} 之间，您填的是 {spec.max + 1}。" in errors
    assert "有数值超出允许范围（见上方红字），未保存。" in errors
    with village_db.read() as s:
        assert settings.get(s, _vid(village_db), "publicity_days") == 3
