"""What the till and the notice board print: the 结算 code, the receipt-printer slip, the 公示 rows."""

from __future__ import annotations

import datetime as dt

import pytest

from core.committee import publicity
from core.supermarket import receipts, shop
from core.supermarket.receipts import Receipt, ReceiptLine


def _receipt(lines: int = 3) -> Receipt:
    return Receipt(redemption_id=1, receipt_no="DH20261202-000001", village="文祖北村", door_no="1-008", head_name="郭建华",
                   cashier="周小燕", created_at=dt.datetime(2026, 12, 2, 9, 30), total=10 * lines, status="done",
                   delivery="none", void_reason="",
                   lines=[ReceiptLine(name=f"洗衣粉{i}", qty=1, unit="袋", price=10) for i in range(lines)])


def test_the_printed_confirm_code_reads_back_as_the_code_the_till_accepts():
    import pypdfium2
    import zxingcpp

    page = pypdfium2.PdfDocument(receipts.confirm_code_pdf("文祖北村"))[0]
    found = [r.text for r in zxingcpp.read_barcodes(page.render(scale=1).to_pil())]
    assert found == [shop.CONFIRM_CODE]
    assert shop.is_confirm_code(found[0]) and shop.is_confirm_code(" 结算 ")
    assert not shop.is_confirm_code("6901234567890")


@pytest.mark.parametrize("width", receipts.SLIP_WIDTHS)
def test_a_receipt_slip_is_as_wide_as_the_printer_paper_and_holds_every_line(width):
    import pypdfium2

    doc = pypdfium2.PdfDocument(receipts.receipt_slip_pdf(_receipt(12), width))
    assert len(doc) == 1
    w_pt, _ = doc[0].get_size()
    assert round(w_pt / 72 * 25.4) == width
    text = doc[0].get_textpage().get_text_range()
    assert all(f"洗衣粉{i}" in text for i in range(12)) and "合计 120 积分" in text


def _row(rule: str, points: int, note: str = "门前干净") -> dict:
    return {"grid": "第一网格", "door_no": "1-008", "head_name": "郭建华", "resident": "彭珍", "code": "ZF04",
            "rule": rule, "decided_points": points, "note": note, "publicity_until": dt.date(2026, 12, 5),
            "status": "publicity"}


def test_the_publicity_sheet_masks_reports_and_deductions_and_hides_a_reports_reason():
    plus = publicity.sheet_row(_row("门前屋后干净整洁", 5))
    assert plus[1:4] == ["1-008", "郭建华", "彭珍"] and plus[6] == "门前干净"
    minus = publicity.sheet_row(_row("乱堆乱放", -5))
    assert minus[1:4] == ["", "郭*华", "彭*"] and minus[6] == "门前干净"
    report = publicity.sheet_row(_row("举报违法线索经查属实", 10, note="举报了王某某偷倒垃圾"))
    assert report[1:4] == ["", "郭*华", "彭*"]
    assert "王某某" not in "".join(report)
