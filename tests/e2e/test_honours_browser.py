"""The year-end ceremony in a real browser: the admin reviews the demo village's honour list,
publishes it through the confirmation question, downloads the list as Excel and prints every
certificate (one A4 landscape page each, names read back from the PDF)."""

from __future__ import annotations

import datetime as dt

from tests.e2e.conftest import DESKTOP, login, shot, wait_idle


def test_the_admin_publishes_the_honour_list_and_downloads_the_certificates(browser, server, tmp_path):
    ctx = browser.new_context(viewport=DESKTOP, locale="zh-CN", accept_downloads=True)
    try:
        page = ctx.new_page()
        page.set_default_timeout(60_000)
        login(page, server.url, "admin")
        page.goto(server.url + "/honours")
        wait_idle(page)
        year = dt.date.today().year if dt.date.today().month > 6 else dt.date.today().year - 1
        page.get_by_text(f"{year}年度表彰名单（待发布）").wait_for()
        wait_idle(page)
        shot(page, "honours_draft")
        page.get_by_role("button", name="发布名单…").click()
        page.get_by_text("发布后名单存档，不能修改或撤回").wait_for()  # the question (ui.confirm)
        page.get_by_role("button", name="确认发布").click()
        page.get_by_text("名单已存档，不能修改").wait_for()
        wait_idle(page)
        assert page.get_by_role("button", name="发布名单…").count() == 0
        with page.expect_download(timeout=60_000) as xlsx:
            page.get_by_role("button", name="下载名单（Excel）").click()
        xlsx_path = tmp_path / "list.xlsx"
        xlsx.value.save_as(xlsx_path)
        page.get_by_role("button", name="生成全部荣誉证书").click()
        button = page.get_by_role("button", name="下载荣誉证书 PDF")
        button.wait_for(timeout=120_000)
        shot(page, "honours_published")
        with page.expect_download(timeout=60_000) as pdf_dl:
            button.click()
        pdf_path = tmp_path / "certificates.pdf"
        pdf_dl.value.save_as(pdf_path)
    finally:
        ctx.close()
    from openpyxl import load_workbook

    rows = list(load_workbook(xlsx_path).active.iter_rows(values_only=True))
    assert rows[0][0] == "证书编号" and len(rows) > 1
    import pypdfium2

    doc = pypdfium2.PdfDocument(str(pdf_path))
    assert len(doc) == len(rows) - 1  # one certificate per honoured household or volunteer
    width, height = doc[0].get_size()
    assert width > height
    for i in (0, len(doc) - 1):
        text = "".join(doc[i].get_textpage().get_text_range().split())
        number, name = rows[i + 1][0], rows[i + 1][3]
        assert "荣誉证书" in text and number in text and name in text
