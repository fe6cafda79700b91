"""The village's tables from typed rows (ui.tables): the cards page's households show English field
columns with the words people read, and download under the same Chinese headers as before."""

from __future__ import annotations

import pytest

from core.village import cards
from tests.app_helpers import app, db_for_env, use_data_dir
from tests.factories import make_village
from ui.tables import labelled


@pytest.fixture
def small(tmp_path, monkeypatch):
    use_data_dir(monkeypatch, tmp_path / "data", demo=False)
    db = db_for_env()
    yield db, make_village(db, households=3)
    db.dispose()


def _metrics(at) -> dict[str, str]:
    return {m.label: m.value for m in at.metric}


def test_the_cards_page_lists_every_household_with_its_card_in_words(small):
    from pages.cards import OVERVIEW

    db, v = small
    cards.issue_card(db, v.admin, v.household_ids[1])
    rows = cards.household_cards(db, v.id)
    assert [(r.door_no, r.has_card, r.issued_at is not None) for r in rows] == [
        ("1-001", False, False), ("1-002", True, True), ("1-003", False, False)]
    at = app(v.actors["cashier"].user_id)
    at.switch_page("pages/cards.py").run()
    assert not at.exception, at.exception
    assert _metrics(at) == {"有效积分卡": "1", "未办卡": "2"}
    shown = at.dataframe[0].value
    assert list(shown.columns) == ["household_id", "door_no", "head_name", "has_card", "issued_at"]
    assert list(shown["has_card"]) == ["未办卡", "有效", "未办卡"]
    assert list(shown["household_id"]) == v.household_ids and list(shown["head_name"]) == ["户主1", "户主2", "户主3"]
    assert list(labelled(rows, OVERVIEW).columns) == ["户ID", "门牌号", "户主", "积分卡", "发卡时间"]

