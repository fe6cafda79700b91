"""Tables: core returns typed rows, a page names its columns once (ui.tables), and the screen and
the download show the same thing."""

from __future__ import annotations

from dataclasses import dataclass
from datetime import datetime

import pytest

from core.supermarket import stock
from core.supermarket.stock import ProductInput
from tests.app_helpers import app, db_for_env, use_data_dir
from tests.factories import make_village
from ui.tables import Col, column_config, labelled, records


@dataclass(frozen=True)
class Row:
    at: datetime
    kind: str
    qty: int
    ok: bool
    limit: int | None


COLS = [
    Col("at", "时间", "datetime"),
    Col("kind", "类型", names={"purchase": "采购入库"}),
    Col("qty", "数量", "int"),
    Col("ok", "在售", "bool"),
    Col("limit", "限兑", blank="不限"),
]
ROWS = [Row(datetime(2026, 12, 1, 8, 30), "purchase", 3, True, None),
        Row(datetime(2026, 12, 2, 9, 0), "mystery", 5, False, 2)]


def test_the_screen_frame_keeps_field_names_and_shows_codes_in_words():
    df = records(ROWS, COLS)
    assert list(df.columns) == ["at", "kind", "qty", "ok", "limit"]
    assert list(df["kind"]) == ["采购入库", "mystery"]  # an unknown code shows as itself, never blank
    assert list(df["qty"]) == [3, 5] and str(df["qty"].dtype) == "int64"
    assert list(df["limit"]) == ["不限", 2]
    assert str(df["at"].dtype).startswith("datetime64")


def test_the_download_has_the_chinese_headers_and_yes_no_in_words():
    df = labelled(ROWS, COLS)
    assert list(df.columns) == ["时间", "类型", "数量", "在售", "限兑"]
    assert list(df["在售"]) == ["是", "否"]


def test_every_column_is_configured_under_its_chinese_header():
    cc = column_config(COLS)
    assert list(cc) == ["at", "kind", "qty", "ok", "limit"]
    assert [c["label"] for c in cc.values()] == ["时间", "类型", "数量", "在售", "限兑"]
    assert cc["at"]["type_config"]["format"] == "YYYY-MM-DD HH:mm"


def test_a_whole_number_column_with_blanks_stays_whole_in_the_download():
    cols = [Col("qty", "数量", "int")]
    df = labelled([{"qty": 5}, {"qty": None}], cols)
    assert df.to_csv(index=False).splitlines()[:2] == ["数量", "5"]  # not 5.0
    assert df["数量"].isna().tolist() == [False, True]


def test_an_empty_list_still_has_its_columns():
    assert list(records([], COLS).columns) == ["at", "kind", "qty", "ok", "limit"]


@pytest.fixture
def shop(tmp_path, monkeypatch):
    use_data_dir(monkeypatch, tmp_path / "data", demo=False)
    db = db_for_env()
    v = make_village(db, name="文祖北村", code="T100", households=1)
    pid = stock.save_product(db, v.admin, v.id, ProductInput(name="挂面", price=10, unit="把"))
    stock.receive_stock(db, v.admin, pid, 20)
    yield db, v
    db.dispose()


def test_the_products_page_lists_the_catalogue_and_the_moves_from_typed_rows(shop):
    db, v = shop
    moves = stock.stock_moves(db, v.id)
    assert [(m.product, m.kind, m.qty) for m in moves] == [("挂面", "purchase", 20)]
    at = app(v.actors["cashier"].user_id)
    at.switch_page("pages/products.py").run()
    assert not at.exception
    catalogue, shown_moves = (df.value for df in at.dataframe)
    assert catalogue.loc[0, "name"] == "挂面" and catalogue.loc[0, "stock"] == "20"
    assert catalogue.loc[0, "kind"] == "实物" and catalogue.loc[0, "monthly_limit"] == "不限"
    assert list(shown_moves["kind"]) == ["采购入库"]
