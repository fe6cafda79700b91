"""In the app: a volunteer lead runs an activity end to end — sign-up, scan in and out,
hours by hand, confirm with a second step — and the hours reach the review queue;
then prints a certificate. Runs on the demo data."""

from __future__ import annotations

import datetime as dt
from collections import Counter

from sqlalchemy import func, select

from core.platform.auth import actor_for
from core.village.cards import new_token
from core.volunteering import service_hours
from core.volunteering import volunteer as vol
from db.models import Card, Household, Proposal, Resident, StaffUser
from tests.app_helpers import app, texts
from ui import state


def _lead(db):
    with db.read() as s:
        return actor_for(s.execute(select(StaffUser).where(StaffUser.username == "zhiyuan")).scalar_one())


def _single_member_household(db, village_id):
    with db.write() as s:
        hh = Household(village_id=village_id, door_no="9-999", head_name="测试志愿者")
        s.add(hh)
        s.flush()
        from core.points.posting import open_account

        open_account(s, hh)
        r = Resident(village_id=village_id, household_id=hh.id, name="测试志愿者", gender="男", birth_year=1980)
        s.add(r)
        token = new_token()
        s.add(Card(village_id=village_id, household_id=hh.id, token=token))
        s.flush()
        return r.id, token


def test_a_lead_runs_an_activity_from_scan_to_review_queue(demo_db):
    lead = _lead(demo_db)
    rid, token = _single_member_household(demo_db, lead.village_id)
    aid = vol.create_activity(demo_db, lead, title="页面测试活动", date=dt.date.today(), points_per_hour=2)

    at = app(lead.user_id)
    at.session_state[state.CHECKIN_ACTIVITY] = aid
    at.switch_page("pages/checkin.py").run()
    assert not at.exception
    at.text_input(key="checkin_scan_input").input(token)
    at.button[0].click().run()  # the scan box's 确定
    assert "签到成功" in texts(at), texts(at)

    at.session_state[state.CHECKIN_MODE] = "out"
    at.run()
    at.text_input(key="checkin_scan_input").input(token)
    at.button[0].click().run()
    assert "签退成功" in texts(at)

    # the lead enters the real service time by hand: 2 h 30 min
    at.number_input[0].set_value(2)
    at.number_input[1].set_value(30)
    next(b for b in at.button if b.label == "保存时长").click().run()
    assert not at.exception and "已记录" in texts(at)

    next(b for b in at.button if b.label == "确认时长…").click().run()
    assert "确认后时长计入" in texts(at)
    next(b for b in at.button if b.label == "确认，计入").click().run()
    assert not at.exception and "已确认 1 人" in texts(at)

    with demo_db.read() as s:
        props = s.execute(select(Proposal.points, Proposal.source).where(Proposal.resident_id == rid)).all()
    assert props == [(5, "volunteer")]


def test_the_demo_has_people_at_every_star_level_and_consistent_totals(demo_db):
    from core.volunteering import volunteer_queries as vq
    from db.models import Activity

    lead = _lead(demo_db)
    levels = Counter(t.star_level for t in vq.totals(demo_db, lead.village_id))
    assert all(levels[level] >= 2 for level in range(1, 6)), levels
    assert vq.total_mismatches(demo_db, lead.village_id) == []
    with demo_db.read() as s:
        first = s.execute(select(func.min(Activity.date)).where(Activity.village_id == lead.village_id,
                                                                 Activity.points_per_hour > 0)).scalar()
    assert (dt.date.today() - first).days >= 360


def test_the_volunteers_page_shows_stars_and_prints_a_certificate(demo_db):
    lead = _lead(demo_db)
    at = app(lead.user_id)
    at.switch_page("pages/volunteers.py").run()
    assert not at.exception
    assert "★★★★★" in texts(at)
    assert not any(t.key == "certificate_person_query" for t in at.text_input)  # lazy tabs: only the first ran
    at.session_state[state.VOLUNTEERS_TAB] = "志愿服务证明"
    at.run()
    with demo_db.read() as s:
        name = s.execute(select(Resident.name).join(Proposal, Proposal.resident_id == Resident.id)
                         .where(Proposal.source == "volunteer").limit(1)).scalar_one()
    at.text_input(key="certificate_person_query").input(name).run()
    next(b for b in at.button if b.label == "开具志愿服务证明").click().run()
    assert not at.exception
    assert at.session_state[state.CERTIFICATE_LAST] is not None


def test_the_activities_page_signs_up_and_fills_the_waitlist(demo_db):
    lead = _lead(demo_db)
    aid = vol.create_activity(demo_db, lead, title="候补测试", date=dt.date.today() + dt.timedelta(days=1), capacity=1)
    at = app(lead.user_id)
    at.session_state[state.ACTIVITY_SELECTED] = aid
    at.switch_page("pages/activities.py").run()
    assert not at.exception
    for door in ("1-001", "1-002"):
        at.text_input(key="signup_query").input(door).run()
        next(b for b in at.button if b.label == "报名").click().run()
        assert not at.exception
    with demo_db.read() as s:
        from db.models import Signup

        statuses = sorted(s.execute(select(Signup.status).where(Signup.activity_id == aid)).scalars())
        assert s.execute(select(func.count()).select_from(Signup).where(Signup.activity_id == aid)).scalar() == 2
    assert statuses == ["signed", "waitlist"]


def test_the_organiser_refuses_a_residents_card_request_with_a_reason_the_resident_then_sees(demo_db):
    from core.public import volunteer_requests as vr
    from db.models import Attendance, HoursCorrection

    lead = _lead(demo_db)
    rid, token = _single_member_household(demo_db, lead.village_id)
    aid = vol.create_activity(demo_db, lead, title="值守测试", date=dt.date.today(), travel_minutes=20)
    now = dt.datetime.now().replace(second=0, microsecond=0)
    service_hours.check_in(demo_db, lead, aid, rid, at=now - dt.timedelta(minutes=60))
    assert service_hours.check_out(demo_db, lead, aid, rid, at=now) == 80  # an hour on site and the travel allowance
    with demo_db.read() as s:
        att = s.execute(select(Attendance.id).where(Attendance.activity_id == aid)).scalar_one()
    cid = vr.request_correction(demo_db, token, att, 140, "路上走了一小时")

    at = app(lead.user_id)
    at.session_state[state.VOLUNTEERS_TAB] = "时长更正"
    at.switch_page("pages/volunteers.py").run()
    assert not at.exception
    pick = next(sb for sb in at.selectbox if sb.label == "申请")
    pick.set_value((cid, next(o for o in pick.options if "测试志愿者" in o and "140" in o)))
    at.radio[0].set_value("不采纳")
    next(b for b in at.button if b.label == "提交处理…").click().run()
    assert "确认不采纳 测试志愿者 的时长更正吗" in texts(at)
    at.button(key="correction_decide_do").click().run()
    assert any("理由" in e.value for e in at.error)  # refused under the question, which stays open
    with demo_db.read() as s:
        assert s.get(HoursCorrection, cid).status == "open"
    pick = next(sb for sb in at.selectbox if sb.label == "申请")
    pick.set_value((cid, next(o for o in pick.options if "测试志愿者" in o and "140" in o)))
    at.radio[0].set_value("不采纳")
    next(t for t in at.text_input if t.label.startswith("处理意见")).input("路途已按 20 分钟计入")
    next(b for b in at.button if b.label == "提交处理…").click().run()
    assert "处理意见：路途已按 20 分钟计入" in texts(at)
    at.button(key="correction_decide_do").click().run()
    assert not at.exception
    [record] = vr.service_records(demo_db, token)
    assert record.minutes == 80 and record.corrections[0].status_name == "未采纳"
    assert record.corrections[0].decision_note == "路途已按 20 分钟计入"
    assert "另加往返路途 20 分钟" in record.rule
