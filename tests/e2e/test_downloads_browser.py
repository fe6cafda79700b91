"""Files made only when clicked still arrive: the transparency report's PDF and Excel are built
by Streamlit's deferred download (a callable) when the button is clicked, in a real browser."""

from __future__ import annotations

from pathlib import Path

from tests.e2e.conftest import DESKTOP, login, wait_idle


def test_the_transparency_report_pdf_and_excel_are_built_on_click(browser, server, tmp_path):
    ctx = browser.new_context(viewport=DESKTOP, locale="zh-CN", accept_downloads=True)
    try:
        page = ctx.new_page()
        page.set_default_timeout(30_000)
        login(page, server.url, "admin")
        page.goto(server.url + "/transparency")
        wait_idle(page)
        files = {}
        for label, name in (("下载公示 PDF", "report.pdf"), ("下载 Excel", "report.xlsx")):
            with page.expect_download(timeout=60_000) as download:
                page.get_by_role("button", name=label).click()
            files[name] = tmp_path / name
            download.value.save_as(files[name])
            assert download.value.suggested_filename.endswith(Path(name).suffix)
    finally:
        ctx.close()
    pdf = files["report.pdf"].read_bytes()
    assert pdf.startswith(b"%PDF") and len(pdf) > 2000
    import pypdfium2

    text = "".join(p.get_textpage().get_text_range() for p in pypdfium2.PdfDocument(str(files["report.pdf"])))
    assert "入库与捐赠" in text and "五、资金收支" in text and "月末余额" in text
    from openpyxl import load_workbook

    assert load_workbook(files["report.xlsx"]).sheetnames == ["入库与捐赠", "兑换价格", "兑换明细", "库存盘点",
                                                                "资金收支", "资金明细"]
