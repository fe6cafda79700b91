"""Opening a page builds no file: PDFs and Excel workbooks are made only when their download
button is clicked (issue 9: every page within 150 ms of an empty page), and importing the
pages does not load the libraries that make them (fpdf2, fontTools, openpyxl, zxingcpp, altair).
Also: the distribution page's counters include a card scanned on the same run."""

from __future__ import annotations

import datetime as dt
import subprocess
import sys
from pathlib import Path

import pytest
from sqlalchemy import select

from core.charity import distribution, field, field_aid, produce
from core.platform.auth import actor_for
from core.supermarket import shop
from core.village import cards
from core.volunteering import certificates, service_hours
from core.volunteering import volunteer as vol
from db.models import Household, Product, Resident, StaffUser
from tests.app_helpers import ROOT, app, db_for_env, texts, use_data_dir
from tests.factories import make_village
from ui import state
from ui.nav import PAGES

FILE_LIBRARIES = ("fpdf", "fontTools", "openpyxl", "zxingcpp", "altair")


def test_importing_every_page_loads_no_library_that_only_makes_files_or_charts():
    code = ("import importlib, sys\nfrom ui.nav import PAGES, PUBLIC_PAGES\n"
            "for p in PAGES + PUBLIC_PAGES:\n    importlib.import_module(f'pages.{p.module}')\n"
            f"print(sorted(m for m in {FILE_LIBRARIES!r} if m in sys.modules))\n")
    out = subprocess.run([sys.executable, "-c", code], cwd=ROOT, capture_output=True, text=True, check=True)
    assert out.stdout.strip() == "[]", out.stdout + out.stderr


@pytest.fixture
def no_files(monkeypatch):
    """Building a PDF or an Excel workbook during a render fails the page."""
    import core.platform.pdf
    import ui.widgets

    def refuse(*args, **kwargs):
        raise AssertionError("a file was built while the page rendered")

    monkeypatch.setattr(core.platform.pdf, "_sheet_class", refuse)
    monkeypatch.setattr(ui.widgets, "excel_bytes", refuse)


def _actor(db, username):
    with db.read() as s:
        return actor_for(s.execute(select(StaffUser).where(StaffUser.username == username)).scalar_one())


def _serve(db, lead, activity_id, resident_id):
    """Two confirmed hours of service today."""
    now = dt.datetime.now().replace(microsecond=0)
    service_hours.check_in(db, lead, activity_id, resident_id, at=now - dt.timedelta(hours=2))
    service_hours.check_out(db, lead, activity_id, resident_id, at=now)
    service_hours.confirm(db, lead, activity_id)


def _downloads(at) -> dict[str, str]:
    return {b.key: b.label for b in at.get("download_button")}


def test_no_page_builds_a_file_when_opened(demo_db, no_files):
    admin = _actor(demo_db, "admin")
    for spec in PAGES:
        if "admin" not in spec.roles:
            continue
        at = app(admin.user_id)
        at.switch_page(f"pages/{spec.module}.py").run()
        assert not at.exception, f"{spec.module}: {at.exception}"
        if spec.module == "transparency":  # the report still offers both files
            assert {"transparency_pdf", "transparency_xlsx"} <= set(_downloads(at))


def test_a_printed_certificate_and_a_receipt_are_offered_without_being_drawn(demo_db, no_files):
    lead = _actor(demo_db, "zhiyuan")
    with demo_db.read() as s:
        rid = s.execute(select(Resident.id).where(Resident.village_id == lead.village_id)
                        .order_by(Resident.id)).scalars().first()
    aid = vol.create_activity(demo_db, lead, title="证明测试", date=dt.date.today(), capacity=5)
    _serve(demo_db, lead, aid, rid)
    cid = certificates.issue(demo_db, lead, rid, dt.date.today(), dt.date.today())
    at = app(lead.user_id)
    at.session_state[state.CERTIFICATE_LAST] = cid
    at.session_state[state.VOLUNTEERS_TAB] = "志愿服务证明"
    at.switch_page("pages/volunteers.py").run()
    assert not at.exception, at.exception
    assert "certificate_pdf" in _downloads(at)

    cashier = _actor(demo_db, "shouyin")
    with demo_db.read() as s:
        hid = s.execute(select(Household.id).where(Household.village_id == cashier.village_id)
                        .order_by(Household.id)).scalars().first()
        pid = s.execute(select(Product.id).where(Product.village_id == cashier.village_id, Product.stock > 0,
                                                    Product.kind == "goods", Product.active)
                        .order_by(Product.price)).scalars().first()
    receipt = shop.checkout(demo_db, cashier, household_id=hid, card_id=None, cart={pid: 1}, cart_key="lazy-1")
    at = app(cashier.user_id)
    at.session_state[state.CHECKOUT_LAST_RECEIPT] = receipt
    at.switch_page("pages/checkout.py").run()
    assert not at.exception, at.exception
    assert f"checkout_receipt_{receipt}" in _downloads(at)


def test_a_name_the_font_cannot_print_is_reported_before_the_click(demo_db):
    lead = _actor(demo_db, "zhiyuan")
    with demo_db.write() as s:
        person = s.execute(select(Resident).where(Resident.village_id == lead.village_id)
                           .order_by(Resident.id)).scalars().first()
        person.name = "王\U00020000"  # 𠀀 (CJK extension B): Noto Sans CJK SC has no glyph for it
        rid = person.id
    aid = vol.create_activity(demo_db, lead, title="缺字测试", date=dt.date.today(), capacity=5)
    _serve(demo_db, lead, aid, rid)
    cid = certificates.issue(demo_db, lead, rid, dt.date.today(), dt.date.today())
    at = app(lead.user_id)
    at.session_state[state.CERTIFICATE_LAST] = cid
    at.session_state[state.VOLUNTEERS_TAB] = "志愿服务证明"
    at.switch_page("pages/volunteers.py").run()
    assert not at.exception, at.exception
    assert "certificate_pdf" not in _downloads(at)
    assert "字体缺少这些字" in texts(at)


def test_the_distribution_counters_count_the_card_just_scanned(tmp_path, monkeypatch):
    use_data_dir(monkeypatch, tmp_path / "data", demo=False)
    db = db_for_env()
    try:
        v = make_village(db, name="文祖北村", code="T201", households=2)
        lead = v.actors["field_lead"]
        sid = field.add_season(db, lead, field.save_plot(db, lead, name="老义田", area_mu="3"), crop="土豆",
                               sown_on=dt.date.today() - dt.timedelta(days=100))
        produce.record_harvest(db, lead, season_id=sid, date=dt.date.today(), kg="100")
        for hid in v.household_ids:
            field_aid.register(db, lead, household_id=hid, category="elderly", approve=True)
        token = cards.issue_card(db, v.admin, v.household_ids[0])
        rid = distribution.create_round(db, lead, title="秋季土豆", crop="土豆", total_kg="10", rule="household")
        distribution.confirm_round(db, lead, rid)
        at = app(lead.user_id)
        at.switch_page("pages/distribution.py").run()
        assert not at.exception, at.exception

        def metric(label):
            return next(m.value for m in at.metric if m.label == label)

        assert metric("已签领") == "0"
        at.text_input(key="dist_scan_input").input(token)
        next(b for b in at.button if b.label == "确定").click().run()
        assert not at.exception, at.exception
        assert "已签领" in texts(at)
        assert metric("已签领") == "1"  # on the run of the scan itself, not one later
        assert metric("已发放（公斤）") == "5.0"
        assert "未签领（1）" in [t.label for t in at.tabs]
    finally:
        db.dispose()


def test_the_fonts_character_map_read_directly_equals_fonttools(monkeypatch):
    """core.platform.pdf reads a CJK font's format-12 character map itself (no fontTools, a few ms);
    any other font goes through fontTools. Both must agree with fontTools code point for code point."""
    from fontTools.ttLib import TTFont

    from core.platform import pdf

    path, index = pdf.find_cjk_font()
    ranges = pdf._format12_ranges(path, index)
    assert ranges, "the installed CJK font has a format-12 cmap"
    direct = pdf.CodeRanges(ranges)
    expected = set(TTFont(path, fontNumber=index, lazy=True).getBestCmap())
    assert {c for c in range(0x110000) if c in direct} == expected
    assert pdf.missing_glyphs("张三 王\U00020000 abc") == ["\U00020000"]

    latin = "/usr/share/fonts/truetype/liberation/LiberationSans-Regular.ttf"
    if not Path(latin).exists():
        pytest.skip("no Liberation font to try the fontTools path")
    assert pdf._format12_ranges(latin, 0) is None
    monkeypatch.setenv("JIFEN_CJK_FONT", latin)
    pdf.find_cjk_font.cache_clear()
    pdf._cmap.cache_clear()
    try:
        assert pdf.missing_glyphs("Wang 张") == ["张"]
    finally:
        monkeypatch.undo()
        pdf.find_cjk_font.cache_clear()
        pdf._cmap.cache_clear()
