"""Catalogue, stock-in, stock counts and the 五公开 report, on SQLite and PostgreSQL."""

from __future__ import annotations

import datetime as dt
import uuid

import pytest
from sqlalchemy import select, update

from core.maintenance.verify import verify
from core.platform.errors import AlreadyDone, InvalidInput, NotAllowed, OutOfStock
from core.points.entry_rules import month_of
from core.supermarket import shop, stock, transparency
from core.supermarket.stock import ProductInput
from db.models import Product, StockMove
from tests.factories import give_points
from tests.pdf_sizes import smallest_font_pt


def _new(db, v, **kw) -> int:
    data = {"name": "食用油", "price": 100, "unit": "桶", **kw}
    return stock.save_product(db, v.admin, v.id, ProductInput(**data))


def _stock(db, pid) -> int:
    with db.read() as s:
        return s.get(Product, pid).stock


def test_stock_in_adds_a_move_and_keeps_stock_equal_to_the_moves(db, village):
    pid = _new(db, village)
    stock.receive_stock(db, village.actors["cashier"], pid, 10, "purchase", funding="村集体经济")
    stock.receive_stock(db, village.admin, pid, 5, "donation", donor="爱心企业", funding="社会捐赠")
    assert _stock(db, pid) == 15
    assert verify(db) == []


def test_a_donation_needs_a_donor_and_quantities_must_be_whole_and_positive(db, village):
    pid = _new(db, village)
    with pytest.raises(InvalidInput, match="捐赠人"):
        stock.receive_stock(db, village.admin, pid, 5, "donation")
    for bad in (0, -3, 2.5, "5", True, 10**9):
        with pytest.raises(InvalidInput):
            stock.receive_stock(db, village.admin, pid, bad, "purchase")
    with pytest.raises(InvalidInput):
        stock.receive_stock(db, village.admin, pid, 5, "count")
    assert _stock(db, pid) == 0


def test_only_the_field_lead_may_transfer_a_harvest_and_only_inside_a_transaction(db, village):
    pid = _new(db, village, name="小米", unit="斤")
    with db.write() as s:
        stock.receive(s, village.actors["field_lead"], pid, 30, "harvest", reason="义田秋收")
    assert _stock(db, pid) == 30
    with pytest.raises(NotAllowed):
        stock.receive_stock(db, village.actors["field_lead"], pid, 5, "purchase")
    with pytest.raises(NotAllowed):
        stock.receive_stock(db, village.actors["grid_worker"], pid, 5, "purchase")


def test_a_failure_in_the_callers_transaction_rolls_the_stock_in_back(db, village):
    pid = _new(db, village)
    with pytest.raises(RuntimeError), db.write() as s:
        stock.receive(s, village.admin, pid, 30, "harvest")
        raise RuntimeError("the caller failed later")
    assert _stock(db, pid) == 0
    assert verify(db) == []


def test_a_stock_count_adjusts_to_the_counted_quantity_with_a_reason(db, village):
    pid = _new(db, village)
    stock.receive_stock(db, village.admin, pid, 10)
    with pytest.raises(InvalidInput, match="原因"):
        stock.count_stock(db, village.admin, pid, 8)
    assert stock.count_stock(db, village.admin, pid, 8, "两桶漏油报损") == -2
    assert stock.count_stock(db, village.admin, pid, 8) == 0  # matches: recorded, no reason needed
    assert _stock(db, pid) == 8
    assert verify(db) == []
    report = transparency.monthly_report(db, village.id, month_of(dt.date.today()))
    assert [c.counted for c in report.counts] == [8, 8]
    assert [c.expected for c in report.counts] == [10, 8]


def test_stock_never_goes_negative_even_past_the_python_checks(db, village):
    pid = _new(db, village)
    stock.receive_stock(db, village.admin, pid, 2)
    with db.write() as s:
        p = s.get(Product, pid)
        with pytest.raises(OutOfStock):
            stock.change_stock(s, p, -3, kind="redeem", actor=None)
    with pytest.raises(Exception), db.engine.begin() as conn:  # the CHECK constraint backs it
        conn.execute(update(Product).where(Product.id == pid).values(stock=-1))
    assert _stock(db, pid) == 2


def test_stock_moves_are_append_only(db, village):
    from db.history import HistoryViolation as AppendOnlyViolation

    pid = _new(db, village)
    stock.receive_stock(db, village.admin, pid, 2)
    with pytest.raises(AppendOnlyViolation), db.write() as s:
        move = s.execute(select(StockMove)).scalar_one()
        move.qty = 200


def test_a_product_is_validated_and_barcodes_are_unique_per_village(db, village):
    for bad in ({"name": " "}, {"price": 0}, {"price": 1.5}, {"unit": ""}, {"barcode": "69 01"},
                {"kind": "cash"}, {"monthly_limit": -1}):
        with pytest.raises(InvalidInput):
            _new(db, village, **bad)
    _new(db, village, barcode="6901234")
    with pytest.raises(AlreadyDone, match="条码"):
        _new(db, village, name="另一件", barcode="6901234")


def test_editing_a_product_never_touches_its_stock(db, village):
    pid = _new(db, village)
    stock.receive_stock(db, village.admin, pid, 7)
    stock.save_product(db, village.admin, village.id, ProductInput(name="食用油 5L", price=120, unit="桶"), pid)
    with db.read() as s:
        p = s.get(Product, pid)
        assert (p.name, p.price, p.stock) == ("食用油 5L", 120, 7)


def test_low_stock_lists_active_goods_at_or_below_their_alert_level(db, village):
    low = _new(db, village, name="酱油", low_stock=5)
    stock.receive_stock(db, village.admin, low, 5)
    ok = _new(db, village, name="醋", low_stock=5)
    stock.receive_stock(db, village.admin, ok, 6)
    _new(db, village, name="理发", kind="service", low_stock=5)
    assert [p.name for p in stock.low_stock(db, village.id)] == ["酱油"]


def test_the_monthly_report_shows_receipts_prices_and_redemptions_by_item(db, village):
    oil = _new(db, village)
    stock.receive_stock(db, village.admin, oil, 10, "donation", donor="张三", funding="个人捐赠")
    hid = village.household_ids[0]
    give_points(db, hid, 500, "a")
    shop.checkout(db, village.actors["cashier"], household_id=hid, card_id=None, cart={oil: 2},
                  cart_key=uuid.uuid4().hex)
    voided = shop.checkout(db, village.actors["cashier"], household_id=hid, card_id=None, cart={oil: 1},
                           cart_key=uuid.uuid4().hex)
    shop.void(db, village.actors["cashier"], voided, "拿错")
    r = transparency.monthly_report(db, village.id, month_of(dt.date.today()))
    assert [(m.donor, m.kind) for m in r.received] == [("张三", "donation")]
    assert [p.price for p in r.prices] == [100]
    assert r.redeemed == [transparency.RedeemedRow("食用油", "桶", 2, 200, 1)]
    sheets = r.sheets()  # the notice's sheets keep their Chinese headers and words
    assert sheets["兑换明细"].to_dict("records") == [{"商品": "食用油", "兑换数量": "2桶", "消耗积分": 200, "兑换户数": 1}]
    assert list(sheets["入库与捐赠"]["类型"]) == ["捐赠入库"]
    assert (r.redemptions, r.households, r.points) == (1, 1, 200)
    assert transparency.report_pdf(r).startswith(b"%PDF")
    assert smallest_font_pt(transparency.report_pdf(r)) >= 11  # 五公开 goes on the village notice board
    with pytest.raises(InvalidInput):
        transparency.monthly_report(db, village.id, 202613)
