"""The light resident page (web/, /me?card=TOKEN) over HTTP, on SQLite and PostgreSQL: what a
phone receives for a printed card's link, what it may post, and what a wrong card gets."""

from __future__ import annotations

import datetime as dt
import io
import re

import pytest
from sqlalchemy import func, select
from starlette.testclient import TestClient

from core.committee import proposals, publicity, review, sessions
from core.platform import ratelimit, settings
from core.points import posting
from core.reporting import rankings
from core.village import cards
from db.models import Activity, Household, Proposal, ProposalPhoto, Signup
from tests.factories import all_agree, make_village
from web import app as web

TODAY = dt.date.today()


def png_bytes(size=(8, 8)) -> bytes:
    from PIL import Image

    buf = io.BytesIO()
    Image.new("RGB", size, (200, 30, 30)).save(buf, format="PNG")
    return buf.getvalue()


@pytest.fixture
def v(db, monkeypatch, tmp_path):
    monkeypatch.setenv("JIFEN_SECRET_KEY", "test-secret")
    monkeypatch.setenv("JIFEN_DATA_DIR", str(tmp_path))
    monkeypatch.setenv("JIFEN_TRUSTED_PROXIES", "10.0.0.5")
    village = make_village(db)
    web.use_database(db)
    yield village
    web.use_database(None)


def phone(address="192.0.2.10") -> TestClient:
    return TestClient(web.build(), client=(address, 50000))


def text_of(html: str) -> str:
    return re.sub(r"\s+", " ", re.sub(r"<[^>]+>", " ", html))


def section(html: str, name: str) -> str:
    """The text of one section of the page."""
    part = html[html.index(f'<section id="{name}">'):]
    return text_of(part[:part.index("</section>")])


def post_entry(db, hid, points, cause, day, kind="earned", reason=""):
    with db.write() as s:
        posting.post(s, household_id=hid, kind=kind, points=points, source_type="test", source_id=cause,
                     occurred_on=day, reason=reason)


def test_the_card_link_shows_balance_history_in_date_order_and_nothing_of_other_households(db, v):
    a, b = v.household_ids[:2]
    with db.write() as s:
        s.get(Household, a).head_name = "<b>王</b>秀英"
    post_entry(db, a, 10, "x1", TODAY - dt.timedelta(days=2), reason="打扫村道")
    post_entry(db, a, 30, "x2", TODAY - dt.timedelta(days=9), reason="志愿服务补记")  # posted later, happened earlier
    post_entry(db, a, -5, "x3", TODAY - dt.timedelta(days=1), kind="deducted", reason="乱倒垃圾")
    post_entry(db, b, 999, "b1", TODAY, reason="邻居家的好事")
    token = cards.issue_card(db, v.admin, a)

    r = phone().get(f"/me?card={token}")
    assert r.status_code == 200
    html = r.text
    assert "&lt;b&gt;王&lt;/b&gt;秀英家的积分" in html  # a name is text, never markup
    body = text_of(html)
    assert "可用积分 35" in body and "今年积分 35" in body
    reasons = re.findall(r"打扫村道|志愿服务补记|乱倒垃圾", section(html, "history"))
    assert reasons == ["乱倒垃圾", "打扫村道", "志愿服务补记"]  # newest day first
    assert "邻居家的好事" not in body and "999" not in body
    assert r.headers["cache-control"] == "no-store"
    assert r.headers["referrer-policy"] == "no-referrer"
    assert "<script" not in html


def test_the_page_is_sent_compressed_to_a_phone_that_accepts_gzip(db, v):
    token = cards.issue_card(db, v.admin, v.household_ids[0])
    r = phone().get(f"/me?card={token}", headers={"Accept-Encoding": "gzip"})
    assert r.headers["content-encoding"] == "gzip"
    assert int(r.headers["content-length"]) < len(r.content)  # content is decoded by the client


def test_rank_and_year_points_are_the_rankings_pages_own(db, v):
    a, b, c = v.household_ids[:3]
    post_entry(db, a, 50, "a1", TODAY)
    post_entry(db, b, 80, "b1", TODAY)
    post_entry(db, c, 50, "c1", TODAY)
    post_entry(db, a, 400, "a-old", dt.date(TODAY.year - 1, 6, 1))  # last year: not in this year's rank
    token = cards.issue_card(db, v.admin, a)
    with db.read() as s:
        table = rankings.households(s, v.id, rankings.current_year(TODAY))
    (expected,) = [h.rank for h in table if h.door_no == "1-001"]
    body = text_of(phone().get(f"/me?card={token}").text)
    assert f"全村第 {expected} 名（共 {len(table)} 户）" in body
    assert "今年积分 50" in body and "历年累计积分 450" in body
    assert "一星文明户" in body  # 50 points this year: the first threshold
    settings.change(db, v.admin, v.id, "rankings_enabled", False)
    body = text_of(phone().get(f"/me?card={token}").text)
    assert "全村第" not in body
    assert "一星文明户" in body  # the star grade does not depend on rankings
    settings.change(db, v.admin, v.id, "star_households_enabled", False)
    assert "文明户" not in text_of(phone().get(f"/me?card={token}").text)


def test_held_and_outstanding_points_are_shown(db, v):
    a = v.household_ids[0]
    post_entry(db, a, 3, "a1", TODAY)
    post_entry(db, a, -10, "a2", TODAY, kind="deducted")
    token = cards.issue_card(db, v.admin, a)
    body = text_of(phone().get(f"/me?card={token}").text)
    assert "待扣 7 分" in body and "可用积分 0" in body


def test_a_wrong_or_revoked_card_gets_a_chinese_page_without_data(db, v):
    a = v.household_ids[0]
    post_entry(db, a, 10, "a1", TODAY, reason="打扫村道")
    token = cards.issue_card(db, v.admin, a)
    client = phone()
    r = client.get("/me?card=12345")
    assert r.status_code == 400 and "链接不完整" in r.text
    cards.revoke_card(db, v.admin, a, "遗失")
    r = client.get(f"/me?card={token}")
    assert r.status_code == 404 and "补办" in r.text and "打扫村道" not in r.text and "户主1" not in r.text
    assert r.headers["cache-control"] == "no-store"


def test_guessing_is_limited_per_client_and_a_valid_card_still_opens_elsewhere(db, v):
    token = cards.issue_card(db, v.admin, v.household_ids[0])
    guesser = phone("192.0.2.66")
    for _ in range(ratelimit.CARD_LOOKUP_LIMIT):
        assert guesser.get(f"/me?card={cards.new_token()}").status_code == 404
    r = guesser.get(f"/me?card={token}")
    assert r.status_code == 429 and "10 分钟后再试" in r.text and "户主1" not in r.text
    assert phone("192.0.2.67").get(f"/me?card={token}").status_code == 200
    # behind the trusted proxy each client is counted by X-Forwarded-For; a typo costs one try
    proxy = phone("10.0.0.5")
    assert proxy.get("/me?card=1234", headers={"X-Forwarded-For": "198.51.100.1"}).status_code == 400
    assert proxy.get(f"/me?card={token}", headers={"X-Forwarded-For": "198.51.100.1"}).status_code == 200
    # an untrusted peer's X-Forwarded-For is not believed: the guesser stays blocked
    assert guesser.get(f"/me?card={token}", headers={"X-Forwarded-For": "203.0.113.9"}).status_code == 429


def _activity(db, v, capacity=None):
    with db.write() as s:
        act = Activity(village_id=v.id, title="清扫村道", date=TODAY + dt.timedelta(days=3), place="村委会",
                       capacity=capacity, status="open")
        s.add(act)
        s.flush()
        return act.id


def _form(html: str, action: str) -> dict:
    form = html[html.index(f'action="{action}'):]
    form = form[:form.index("</form>")]
    return dict(re.findall(r'name="(\w+)" value="([^"]*)"', form))


def test_sign_up_and_cancel_post_forms_with_the_pages_csrf_field(db, v):
    aid = _activity(db, v)
    token = cards.issue_card(db, v.admin, v.household_ids[0])
    client = phone()
    fields = _form(client.get(f"/me?card={token}").text, "/me/signup")
    r = client.post("/me/signup", data=fields, headers={"Origin": "null", "Sec-Fetch-Site": "same-origin"})
    assert r.status_code == 200 and "报名成功" in r.text  # what Chromium sends under no-referrer and "户主1：已报名" in text_of(r.text)
    with db.read() as s:
        assert s.execute(select(Signup.status).where(Signup.activity_id == aid)).scalar_one() == "signed"
    again = client.post("/me/signup", data=fields)  # a second tap signs nobody up twice
    assert again.status_code == 400
    cancel = _form(client.get(f"/me?card={token}").text, "/me/cancel")
    r = client.post("/me/cancel", data=cancel)
    assert "已取消报名" in r.text
    with db.read() as s:
        assert s.execute(select(Signup.status).where(Signup.activity_id == aid)).scalar_one() == "cancelled"


def test_a_post_without_the_pages_csrf_field_or_from_another_site_is_refused(db, v):
    aid = _activity(db, v)
    token = cards.issue_card(db, v.admin, v.household_ids[0])
    client = phone()
    fields = _form(client.get(f"/me?card={token}").text, "/me/signup")
    forged = {**fields, "csrf": "0" * 32}
    assert client.post("/me/signup", data=forged).status_code == 403
    r = client.post("/me/signup", data=fields, headers={"Origin": "https://evil.example"})
    assert r.status_code == 403
    assert client.post("/me/signup", data=fields, headers={"Sec-Fetch-Site": "cross-site"}).status_code == 403
    other = cards.issue_card(db, v.admin, v.household_ids[1])  # a field of one card does not fit another
    assert client.post("/me/signup", data={**fields, "card": other}).status_code == 403
    with db.read() as s:
        assert s.execute(select(func.count()).select_from(Signup).where(Signup.activity_id == aid)).scalar_one() == 0


def test_self_report_with_a_photo_reaches_the_committee_and_bad_photos_are_refused(db, v):
    token = cards.issue_card(db, v.admin, v.household_ids[0])
    client = phone()
    fields = _form(client.get(f"/me?card={token}").text, "/me/report")
    data = {**fields, "item": str(v.rule_ids["HJ01"]), "member": str(v.resident_ids[0]),
            "day": TODAY.isoformat(), "note": "帮邻居打扫院子"}
    r = client.post(f"/me/report?card={token}", data=data, files={"photo": ("a.png", png_bytes(), "image/png")})
    assert r.status_code == 200 and "申报已提交" in r.text
    assert "等待评议" in text_of(r.text)
    with db.read() as s:
        pid = s.execute(select(Proposal.id).where(Proposal.source == "self")).scalar_one()
        assert s.execute(select(func.count()).select_from(ProposalPhoto)
                         .where(ProposalPhoto.proposal_id == pid)).scalar_one() == 1
    r = client.post(f"/me/report?card={token}", data=data, files={"photo": ("a.txt", b"not an image", "text/plain")})
    assert r.status_code == 400 and "不是图片" in r.text
    big = b"\xff\xd8" + b"0" * (6 * 1024 * 1024)
    r = client.post(f"/me/report?card={token}", data=data, files={"photo": ("big.jpg", big, "image/jpeg")})
    assert r.status_code == 413 and "照片太大" in r.text and "户主1家的积分" in r.text
    with db.read() as s:
        assert s.execute(select(func.count()).select_from(Proposal)).scalar_one() == 1


def test_outcomes_of_reports_and_objections_show_with_the_committees_reason(db, v):
    from tests.test_review_flow import add_committee

    members = [v.actors["committee"].user_id] + add_committee(db, v, 3)
    a = v.household_ids[0]
    ok = proposals.submit(db, v.actors["grid_worker"], household_id=a, rule_item_id=v.rule_ids["HJ01"],
                          act_date=TODAY - dt.timedelta(days=1))
    no = proposals.submit(db, v.actors["grid_worker"], household_id=a, rule_item_id=v.rule_ids["HJ06"],
                          act_date=TODAY - dt.timedelta(days=2))
    sid = sessions.open_session(db, v.actors["committee"], v.id, held_on=TODAY, attendee_ids=members)
    agree = all_agree(db, sid)
    review.decide(db, v.actors["committee"], sid, ok, "approved", votes=agree)
    review.decide(db, v.actors["committee"], sid, no, "rejected", reason="照片与事项不符", votes=agree)
    sessions.close_session(db, v.actors["committee"], sid)
    publicity.log_objection(db, v.actors["grid_worker"], ok, raised_by="邻居", reason="不是他家扫的")
    token = cards.issue_card(db, v.admin, a)
    html = phone().get(f"/me?card={token}").text
    outcomes = section(html, "outcomes")
    assert "未通过" in outcomes and "评议意见：照片与事项不符" in outcomes
    assert "邻居提出：不是他家扫的" in outcomes and "等待复核" in outcomes
    assert "庭院整洁" in section(html, "publicity")


def test_the_rules_catalogue_lists_how_to_earn_and_lose_points(db, v):
    token = cards.issue_card(db, v.admin, v.household_ids[0])
    rules = section(phone().get(f"/me?card={token}").text, "rules")
    assert "庭院整洁 （每月最多 1 次） +5 分" in rules and "乱倒垃圾 -5 分" in rules


def test_no_card_asks_for_the_digits(db, v):
    r = phone().get("/me")
    assert r.status_code == 200 and "26 位数字" in r.text


def test_a_rule_retired_within_the_cached_minute_is_still_refused_when_reported(db, v):
    from core.village import rules

    token = cards.issue_card(db, v.admin, v.household_ids[0])
    client = phone()
    fields = _form(client.get(f"/me?card={token}").text, "/me/report")  # the catalogue is cached now
    rules.set_item_active(db, v.admin, v.rule_ids["HJ01"], False)
    data = {**fields, "item": str(v.rule_ids["HJ01"]), "member": str(v.resident_ids[0]),
            "day": TODAY.isoformat(), "note": "帮邻居打扫院子"}
    r = client.post(f"/me/report?card={token}", data=data)
    assert r.status_code == 400 and "已停用" in r.text
    with db.read() as s:
        assert s.execute(select(func.count()).select_from(Proposal)).scalar_one() == 0


def test_a_resident_asks_for_a_time_correction_and_sees_the_organisers_answer(db, v):
    from core.volunteering import service_hours, volunteer
    from db.models import HoursCorrection

    aid = _activity(db, v)
    rid = v.resident_ids[0]
    lead = v.actors["volunteer_lead"]
    volunteer.sign_up(db, lead, aid, rid)
    start = dt.datetime.combine(TODAY, dt.time(8, 0))
    service_hours.check_in(db, lead, aid, rid, at=start)
    service_hours.check_out(db, lead, aid, rid, at=start + dt.timedelta(minutes=30))  # checked out too early
    token = cards.issue_card(db, v.admin, v.household_ids[0])
    client = phone()
    page = client.get(f"/me?card={token}").text
    assert "计入 0.5 小时" in section(page, "service")
    fields = _form(page, "/me/correction")
    bad = client.post("/me/correction", data={**fields, "hours": "两个钟头", "reason": "忘了签退"})
    assert bad.status_code == 400 and "请填写实际服务了多少小时" in text_of(bad.text)
    r = client.post("/me/correction", data={**fields, "hours": "2", "reason": "活动结束时忘了扫码签退"})
    assert r.status_code == 200 and "更正申请已提交" in r.text
    assert "改为 2.0 小时" in section(r.text, "service") and "/me/correction" not in r.text  # one open request at a time
    assert client.post("/me/correction", data={**fields, "hours": "3", "reason": "再改"}).status_code == 400
    assert client.post("/me/correction", data={**fields, "csrf": "0" * 32, "hours": "3", "reason": "x"}).status_code == 403
    with db.read() as s:
        cid, minutes = s.execute(select(HoursCorrection.id, HoursCorrection.new_minutes)).one()
    assert minutes == 120
    service_hours.decide_correction(db, lead, cid, False, "签到记录显示九点已离开")
    shown = section(client.get(f"/me?card={token}").text, "service")
    assert "签到记录显示九点已离开" in shown and "计入 0.5 小时" in shown
    other = cards.issue_card(db, v.admin, v.household_ids[1])  # another household cannot ask about this record
    other_fields = {**fields, "card": other, "csrf": web.csrf_token(other), "hours": "2", "reason": "x"}
    assert client.post("/me/correction", data=other_fields).status_code == 400


def test_a_card_page_is_read_in_one_transaction(db, v):
    """Everything the page shows — service records included — comes from one read transaction
    (a county server pays for every extra transaction on every phone's visit)."""
    from sqlalchemy import event

    token = cards.issue_card(db, v.admin, v.household_ids[0])
    client = phone()
    assert client.get(f"/me?card={token}").status_code == 200  # warm: the rules catalogue is cached
    begins = []
    listener = lambda conn: begins.append(1)  # noqa: E731
    event.listen(db.engine, "begin", listener)
    try:
        r = client.get(f"/me?card={token}")
    finally:
        event.remove(db.engine, "begin", listener)
    assert r.status_code == 200 and "志愿服务记录" in r.text
    assert len(begins) == 1
