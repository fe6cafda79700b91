"""The printed card's link on a phone (390×844): the light resident page (web/) served by
`streamlit run serve.py`. A resident reads every section, signs up for an activity, reports a
good deed with a photo, and sees an item in 公示 and then its outcome; the same page with
JavaScript switched off reads every section too."""

from __future__ import annotations

import datetime as dt
import re
import shutil
from pathlib import Path

from tests.e2e.conftest import PHONE, ROOT, shot
from tests.e2e.test_journeys import q

WAIT = 30_000
SECTIONS = ["积分记录", "公示中", "申报与异议结果", "可兑换", "志愿活动", "我要申报", "积分规则"]


def _card_with_item_in_publicity(server):
    return q(server, "select c.token, h.id, h.head_name, r.name, p.publicity_until from card c "
                     "join household h on h.id = c.household_id "
                     "join proposal p on p.household_id = h.id and p.status = 'publicity' "
                     "join rule_item r on r.id = p.rule_item_id "
                     "where c.status = 'active' and h.active = 1 order by p.id limit 1")[0]


def _reads_every_section(page, head: str) -> None:
    page.get_by_role("heading", name=f"{head}家的积分").wait_for(timeout=WAIT)
    assert re.fullmatch(r"\d+", page.locator("#balance b").first.inner_text())
    for name in SECTIONS:
        heading = page.get_by_role("heading", name=name, exact=True)
        heading.scroll_into_view_if_needed()
        assert heading.is_visible(), name


def test_a_resident_reads_signs_up_reports_with_a_photo_and_sees_an_item_in_publicity_and_its_outcome(
        page_factory, server, tmp_path):
    from PIL import Image

    token, hid, head, item, until = _card_with_item_in_publicity(server)
    phone = page_factory(viewport=PHONE)
    phone.goto(f"{server.url}/me?card={token}")
    _reads_every_section(phone, head)
    publicity = phone.locator("#publicity")
    assert item in publicity.inner_text() and f"公示至 {until}" in publicity.inner_text()
    phone.goto(f"{server.url}/me?card={token}")
    shot(phone, "resident-page-phone")
    phone.screenshot(path=str(tmp_path / "top.png"))  # the first screen, as a phone shows it
    shutil.copy(tmp_path / "top.png", ROOT / "docs" / "screenshots" / "resident-phone.png")

    # sign up the first member for the first activity with places
    signed_before = q(server, "select count(*) from signup s join resident r on r.id = s.resident_id "
                              "where r.household_id = ? and s.status = 'signed'", hid)[0][0]
    phone.locator("#activities button", has_text=re.compile(r"^报名$")).first.click()
    phone.get_by_text("报名成功。").wait_for(timeout=WAIT)
    assert "已报名" in phone.locator("#activities").inner_text()
    assert q(server, "select count(*) from signup s join resident r on r.id = s.resident_id "
                     "where r.household_id = ? and s.status = 'signed'", hid)[0][0] == signed_before + 1

    # self-report with a photo
    photo = tmp_path / "好人好事.jpg"
    Image.new("RGB", (320, 240), (40, 140, 60)).save(photo, format="JPEG")
    form = phone.locator("#report form")
    form.locator("select[name=item]").select_option(index=1)
    form.locator("textarea[name=note]").fill("帮邻居修好了院墙")
    form.locator("input[type=file]").set_input_files(str(photo))
    form.get_by_role("button", name="提交申报").click()
    phone.get_by_text("申报已提交，评议小组审核后会公示。").wait_for(timeout=WAIT)
    assert "本户自报" in phone.locator("#outcomes").inner_text()
    assert q(server, "select count(*) from proposal p join proposal_photo f on f.proposal_id = p.id "
                     "where p.household_id = ? and p.source = 'self' and p.note = ?", hid, "帮邻居修好了院墙")[0][0] == 1
    shot(phone, "resident-page-after-report")

    # the 公示 period ends: the item is posted, and the page says so
    from core.committee import publicity
    from db.engine import Database

    db = Database.from_url(f"sqlite:///{Path(server.data_dir) / 'jifen.db'}")
    try:
        assert publicity.post_due(db, today=dt.date.fromisoformat(until) + dt.timedelta(days=1)) >= 1
    finally:
        db.dispose()
    phone.goto(f"{server.url}/me?card={token}")
    assert phone.locator("#outcomes li", has_text=item).filter(has_text="已记分").count() >= 1
    assert item in phone.locator("#history").inner_text()
    assert item not in phone.locator("#publicity").inner_text()


def test_with_javascript_off_the_card_page_reads_every_section(page_factory, server):
    token, _, head, _, _ = _card_with_item_in_publicity(server)
    phone = page_factory(viewport=PHONE, java_script_enabled=False)
    phone.goto(f"{server.url}/me?card={token}")
    _reads_every_section(phone, head)
    shot(phone, "resident-page-no-js")


def test_a_lost_card_gets_a_clear_chinese_page_on_a_phone(page_factory, server):
    phone = page_factory(viewport=PHONE)
    phone.goto(f"{server.url}/me?card=12345678901234567890123456")
    phone.get_by_role("alert").wait_for(timeout=WAIT)
    assert "补办" in phone.inner_text("body")
    shot(phone, "resident-page-bad-card")
