"""Residents sign up for volunteer activities through their household card link (志愿活动报名):
on SQLite and PostgreSQL the card proves the household, the queue and waitlist follow the same
rules as staff sign-ups, and every refusal is a Chinese message. Then the card page (web/) over HTTP."""

from __future__ import annotations

import datetime as dt
import json
import re
import threading

import pytest
from sqlalchemy import func, select
from starlette.testclient import TestClient

from core.platform import ratelimit, settings
from core.platform.errors import AlreadyDone, DomainError, InvalidInput, NotAllowed, NotFound
from core.public import resident
from core.reporting import audit_search
from core.village import cards
from core.volunteering import volunteer as vol
from core.volunteering import volunteer_queries as vq
from db.models import AuditLog, Resident, Signup
from tests.factories import make_village

TODAY = dt.date.today()
SOON = TODAY + dt.timedelta(days=5)
CLIENT = "10.0.0.7"


def lead(village):
    return village.actors["volunteer_lead"]


def activity(db, village, **kw) -> int:
    args = dict(title="敬老院帮扶服务", date=SOON, points_per_hour=2)
    args.update(kw)
    return vol.create_activity(db, lead(village), **args)


def add_member(db, village, household_id, name="李桂兰") -> int:
    with db.write() as s:
        r = Resident(village_id=village.id, household_id=household_id, name=name, gender="女", relation="配偶")
        s.add(r)
        s.flush()
        return r.id


def statuses(db, aid) -> dict[int, str]:
    with db.read() as s:
        return dict(s.execute(select(Signup.resident_id, Signup.status).where(Signup.activity_id == aid)).all())


@pytest.fixture
def card(db, village):
    return cards.issue_card(db, village.admin, village.household_ids[0])


# ---------------------------------------------------------------- core


def test_a_resident_signs_up_a_household_member_through_the_card_and_the_lead_sees_it(db, village, card):
    aid = activity(db, village)
    me = village.resident_ids[0]
    assert resident.sign_up(db, card, CLIENT, activity_id=aid, resident_id=me) == "signed"
    assert statuses(db, aid) == {me: "signed"}
    assert [r.name for r in vq.signups(db, village.id, aid)] == ["户主1"]  # the lead's list, like a staff sign-up
    with db.read() as s:
        row = s.execute(select(AuditLog).where(AuditLog.action == "signup.self_add")).scalar_one()
        card_id = cards.resolve(s, village.id, card)[0].id
    assert row.user_id is None and row.reason == vol.VIA_CARD and row.village_id == village.id
    assert json.loads(row.detail) == {"resident_id": me, "status": "signed", "card_id": card_id,
                                      "household_id": village.household_ids[0], "via": "card",
                                      "_by": "村民本人（积分卡）"}
    log = audit_search.search(db, village.admin, village.id, action="signup.self_add")
    assert [(r.user_name, r.acted_by) for r in log] == [(None, "村民本人（积分卡）")] and "村民本人" not in log[0].detail


def test_a_resident_of_another_household_is_refused(db, village, card):
    aid = activity(db, village)
    with pytest.raises(InvalidInput, match="本户"):
        vol.resident_sign_up(db, card, aid, village.resident_ids[1])
    with pytest.raises(InvalidInput, match="本户"):
        vol.resident_sign_up(db, card, aid, 10**6)
    assert statuses(db, aid) == {}


def test_a_member_who_left_the_household_register_is_refused(db, village, card):
    aid = activity(db, village)
    rid = add_member(db, village, village.household_ids[0])
    with db.write() as s:
        s.get(Resident, rid).active = False
    with pytest.raises(InvalidInput, match="本户"):
        vol.resident_sign_up(db, card, aid, rid)


def test_a_revoked_card_is_refused(db, village, card):
    aid = activity(db, village)
    cards.revoke_card(db, village.admin, village.household_ids[0], "遗失")
    with pytest.raises(NotFound, match="挂失或作废"):
        vol.resident_sign_up(db, card, aid, village.resident_ids[0])
    with pytest.raises(NotFound, match="没有找到这张积分卡"):
        resident.sign_up(db, card, CLIENT, activity_id=aid, resident_id=village.resident_ids[0])
    assert statuses(db, aid) == {}


def test_another_villages_activity_is_refused(db, village, card):
    other = make_village(db, name="邻村", code="T002")
    aid = vol.create_activity(db, other.actors["volunteer_lead"], title="邻村活动", date=SOON)
    with pytest.raises(NotFound, match="不属于本村"):
        vol.resident_sign_up(db, card, aid, village.resident_ids[0])
    with pytest.raises(NotFound, match="找不到这个志愿活动"):
        vol.resident_sign_up(db, card, 10**6, village.resident_ids[0])


@pytest.mark.parametrize("case", ["past", "cancelled", "done"])
def test_past_cancelled_and_finished_activities_are_refused(db, village, card, case):
    aid = activity(db, village, date=TODAY - dt.timedelta(days=1) if case == "past" else SOON)
    if case != "past":
        vol.set_status(db, lead(village), aid, case, reason="下雨")
    with pytest.raises(InvalidInput, match={"past": "日期已过", "cancelled": "已取消", "done": "已结束"}[case]):
        vol.resident_sign_up(db, card, aid, village.resident_ids[0])
    assert statuses(db, aid) == {}


def test_an_activity_today_still_takes_sign_ups_and_a_planned_one_too(db, village, card):
    today = activity(db, village, date=TODAY)
    planned = activity(db, village, status="planned")
    assert vol.resident_sign_up(db, card, today, village.resident_ids[0]) == "signed"
    assert vol.resident_sign_up(db, card, planned, village.resident_ids[0]) == "signed"


def test_a_full_activity_puts_residents_on_the_waitlist_like_staff_sign_ups(db, village, card):
    aid = activity(db, village, capacity=1)
    spouse = add_member(db, village, village.household_ids[0])
    vol.sign_up(db, lead(village), aid, village.resident_ids[1])  # staff fill the only place
    assert vol.resident_sign_up(db, card, aid, village.resident_ids[0]) == "waitlist"
    assert vol.resident_sign_up(db, card, aid, spouse) == "waitlist"
    view = resident.view(db, card, CLIENT)
    shown = next(a for a in view.activities if a.id == aid)
    assert (shown.places_left, shown.signed, shown.waiting) == (0, 1, 2)
    assert [(m.status, m.waitlist_place) for m in shown.members] == [("waitlist", 1), ("waitlist", 2)]


def test_cancelling_moves_the_first_on_the_waitlist_up(db, village, card):
    aid = activity(db, village, capacity=1)
    me = village.resident_ids[0]
    waiting = village.resident_ids[1]
    assert vol.resident_sign_up(db, card, aid, me) == "signed"
    vol.sign_up(db, lead(village), aid, waiting)
    assert resident.cancel_sign_up(db, card, CLIENT, activity_id=aid, resident_id=me) == [waiting]
    assert statuses(db, aid) == {me: "cancelled", waiting: "signed"}
    with pytest.raises(NotFound, match="已取消"):
        vol.resident_cancel_signup(db, card, aid, me)
    # signing up again goes to the back of the queue
    assert vol.resident_sign_up(db, card, aid, me) == "waitlist"
    with db.read() as s:
        assert s.execute(select(func.count()).select_from(AuditLog)
                         .where(AuditLog.action == "signup.self_cancel")).scalar_one() == 1


def test_a_resident_cannot_cancel_on_the_day_nor_cancel_another_households_sign_up(db, village, card):
    today = activity(db, village, date=TODAY)
    soon = activity(db, village)
    vol.resident_sign_up(db, card, today, village.resident_ids[0])
    with pytest.raises(InvalidInput, match="当天"):
        vol.resident_cancel_signup(db, card, today, village.resident_ids[0])
    vol.sign_up(db, lead(village), soon, village.resident_ids[1])
    with pytest.raises(InvalidInput, match="本户"):
        vol.resident_cancel_signup(db, card, soon, village.resident_ids[1])
    assert statuses(db, today) == {village.resident_ids[0]: "signed"}
    assert statuses(db, soon) == {village.resident_ids[1]: "signed"}


def test_the_village_can_switch_self_sign_up_off(db, village, card):
    aid = activity(db, village)
    assert settings.SPECS["volunteer_self_signup"].default is True
    vol.resident_sign_up(db, card, aid, village.resident_ids[0])
    settings.change(db, village.admin, village.id, "volunteer_self_signup", False)
    spouse = add_member(db, village, village.household_ids[0])
    with pytest.raises(NotAllowed, match="暂未开放"):
        vol.resident_sign_up(db, card, aid, spouse)
    with pytest.raises(NotAllowed, match="暂未开放"):
        vol.resident_cancel_signup(db, card, aid, village.resident_ids[0])
    assert resident.view(db, card, CLIENT).self_signup is False
    assert statuses(db, aid) == {village.resident_ids[0]: "signed"}


def test_signing_up_twice_is_refused_with_a_chinese_message(db, village, card):
    aid = activity(db, village, capacity=1)
    spouse = add_member(db, village, village.household_ids[0])
    vol.resident_sign_up(db, card, aid, village.resident_ids[0])
    vol.resident_sign_up(db, card, aid, spouse)
    with pytest.raises(AlreadyDone, match="已经报名了这个活动，不用重复报名"):
        vol.resident_sign_up(db, card, aid, village.resident_ids[0])
    with pytest.raises(AlreadyDone, match="候补名单"):
        vol.resident_sign_up(db, card, aid, spouse)
    with pytest.raises(AlreadyDone, match="不用重复报名"):  # and through the staff door too
        vol.sign_up(db, lead(village), aid, village.resident_ids[0])


def _at_once(n: int, fn) -> list[object]:
    barrier = threading.Barrier(n)
    out: list[object] = []

    def run(i: int) -> None:
        barrier.wait()
        try:
            out.append(fn(i))
        except DomainError as e:
            out.append(type(e))

    threads = [threading.Thread(target=run, args=(i,)) for i in range(n)]
    for t in threads:
        t.start()
    for t in threads:
        t.join()
    return out


def test_a_double_tap_signs_up_once(db, village, card):
    aid = activity(db, village)
    out = _at_once(4, lambda i: vol.resident_sign_up(db, card, aid, village.resident_ids[0]))
    assert sorted(map(str, out)) == sorted(["signed"] + [str(AlreadyDone)] * 3)
    assert statuses(db, aid) == {village.resident_ids[0]: "signed"}


def test_households_signing_up_at_once_never_overfill_the_activity(db, village):
    aid = activity(db, village, capacity=2)
    tokens = [cards.issue_card(db, village.admin, hid) for hid in village.household_ids]
    out = _at_once(4, lambda i: vol.resident_sign_up(db, tokens[i], aid, village.resident_ids[i]))
    assert sorted(out) == ["signed", "signed", "waitlist", "waitlist"]
    assert sorted(statuses(db, aid).values()) == ["signed", "signed", "waitlist", "waitlist"]


def test_sign_ups_share_the_card_links_guessing_limit(db, village, card):
    aid = activity(db, village)
    for _ in range(ratelimit.CARD_LOOKUP_LIMIT):
        with pytest.raises(NotFound):
            resident.sign_up(db, cards.new_token(), CLIENT, activity_id=aid, resident_id=village.resident_ids[0])
    with pytest.raises(ratelimit.TooManyAttempts):  # even the right card now waits
        resident.sign_up(db, card, CLIENT, activity_id=aid, resident_id=village.resident_ids[0])
    assert resident.sign_up(db, card, "10.0.0.8", activity_id=aid, resident_id=village.resident_ids[0]) == "signed"


# ---------------------------------------------------------------- the card page (web/, over HTTP)


@pytest.fixture
def me_app(db, monkeypatch, tmp_path):
    from web import app as web

    monkeypatch.setenv("JIFEN_SECRET_KEY", "test-secret")
    monkeypatch.setenv("JIFEN_DATA_DIR", str(tmp_path))
    v = make_village(db, name="文祖北村", code="T100", households=2)
    spouse = add_member(db, v, v.household_ids[0])
    aid = vol.create_activity(db, lead(v), title="敬老院帮扶服务", date=SOON, points_per_hour=2, capacity=1,
                              place="村敬老院", start_time=dt.time(8, 30), end_time=dt.time(11))
    token = cards.issue_card(db, v.admin, v.household_ids[0])
    web.use_database(db)
    yield db, v, aid, spouse, token, TestClient(web.build(), client=(CLIENT, 50000))
    web.use_database(None)


def _shown(html: str) -> str:
    return re.sub(r"\s+", " ", re.sub(r"<[^>]+>", " ", html))


def _tap(phone, html: str, action: str, member: int):
    """Post the form of ``action`` for ``member`` as the page carries it (hidden fields and all)."""
    for form in re.findall(r'<form method="post" action="' + action + r'">(.*?)</form>', html, re.S):
        fields = dict(re.findall(r'name="(\w+)" value="([^"]*)"', form))
        if fields.get("member") == str(member):
            return phone.post(action, data=fields)
    raise AssertionError(f"no {action} form for member {member}")


def test_the_card_page_signs_up_shows_the_waitlist_and_cancels_after_a_confirmation(me_app):
    db, v, aid, spouse, token, phone = me_app
    me = v.resident_ids[0]
    html = phone.get(f"/me?card={token}").text
    shown = _shown(html)
    assert "志愿活动" in shown and "敬老院帮扶服务" in shown and "还剩 1 个名额（共 1 人）" in shown
    assert "户主1：未报名" in shown and "李桂兰：未报名" in shown
    assert "户主2" not in shown  # another household's people are never listed

    html = _tap(phone, html, "/me/signup", me).text
    shown = _shown(html)
    assert "报名成功" in shown and "户主1：已报名" in shown and "名额已满" in shown
    assert statuses(db, aid) == {me: "signed"}
    html = _tap(phone, html, "/me/signup", spouse).text
    assert "已进入候补名单" in _shown(html) and "李桂兰：候补第 1 位" in _shown(html)

    assert "确定取消 户主1 的“敬老院帮扶服务”报名吗？" in _shown(html)  # asked before the cancel is sent
    html = _tap(phone, html, "/me/cancel", me).text
    shown = _shown(html)
    assert "已取消报名" in shown and "户主1：未报名" in shown and "李桂兰：已报名" in shown  # the waitlist moved up
    assert statuses(db, aid) == {me: "cancelled", spouse: "signed"}


def test_a_tap_on_a_button_that_is_out_of_date_signs_nobody_up_twice(me_app):
    db, v, aid, spouse, token, phone = me_app
    html = phone.get(f"/me?card={token}").text
    vol.sign_up(db, lead(v), aid, spouse)  # the lead signs her up while the page is open (or a first tap did)
    r = _tap(phone, html, "/me/signup", spouse)
    assert r.status_code == 400 and "李桂兰：已报名" in _shown(r.text)
    with db.read() as s:
        assert s.execute(select(func.count()).select_from(Signup)).scalar_one() == 1


def test_the_card_page_refuses_a_revoked_card_and_shows_no_buttons_when_switched_off(me_app):
    db, v, aid, spouse, token, phone = me_app
    html = phone.get(f"/me?card={token}").text
    cards.revoke_card(db, v.admin, v.household_ids[0], "遗失")
    r = _tap(phone, html, "/me/signup", spouse)
    assert "没有找到这张积分卡" in r.text and "李桂兰" not in r.text
    assert statuses(db, aid) == {}

    token = cards.issue_card(db, v.admin, v.household_ids[0])
    settings.change(db, v.admin, v.id, "volunteer_self_signup", False)
    html = phone.get(f"/me?card={token}").text
    assert "本村暂未开放网上报名" in _shown(html) and "李桂兰：未报名" in _shown(html)
    assert "/me/signup" not in html
