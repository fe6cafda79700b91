"""In the app: the volunteer lead records an outside volunteer on the 志愿活动 page's 外来志愿者
tab, signs them up, checks them in and out by name on 扫码签到, confirms, and sees their unit's
hours — while no household's points move. Runs on the demo data."""

from __future__ import annotations

import datetime as dt

from sqlalchemy import func, select

from core.platform.auth import actor_for
from core.volunteering import outsiders as out
from core.volunteering import volunteer as vol
from db.models import LedgerEntry, OutsideVolunteer, Proposal, Signup, StaffUser
from tests.app_helpers import app, texts
from ui import state


def _lead(db):
    with db.read() as s:
        return actor_for(s.execute(select(StaffUser).where(StaffUser.username == "zhiyuan")).scalar_one())


def _tab(at, label):
    return next(t for t in at.tabs if t.label == label)


def test_the_lead_records_an_outsider_signs_them_up_and_checks_them_in_by_name(demo_db):
    lead = _lead(demo_db)
    aid = vol.create_activity(demo_db, lead, title="双报到清扫", date=dt.date.today(), points_per_hour=2)

    before = _count(demo_db, OutsideVolunteer)  # the demo's own
    at = app(lead.user_id)
    at.switch_page("pages/activities.py").run()
    assert not at.exception
    reg = _tab(at, "外来志愿者")
    reg.text_input[0].input("王建国")
    reg.text_input[1].input("镇财政所")
    reg.text_input[2].input("13812345678")
    reg.button[0].click().run()  # 登记 without the party flag: refused, nothing written
    assert "请选择是否党员" in texts(at)
    with demo_db.read() as s:
        assert s.execute(select(func.count()).select_from(OutsideVolunteer)).scalar_one() == before
    reg = _tab(at, "外来志愿者")
    reg.radio[0].set_value("是")
    reg.button[0].click().run()
    assert not at.exception
    assert "已登记外来志愿者 王建国" in texts(at)
    with demo_db.read() as s:
        oid = s.execute(select(OutsideVolunteer.id).where(OutsideVolunteer.name == "王建国")).scalar_one()
    register = next(d.value for d in at.dataframe if "phone" in d.value.columns)
    mine = register[register["name"] == "王建国"]
    assert mine[["unit", "phone", "party_member", "active"]].values.tolist() == [["镇财政所", "13812345678", "是", "在册"]]

    at.text_input(key="outsider_signup_query").input("王建国").run()
    at.selectbox(key="outsider_signup_activity").set_value(aid).run()
    next(b for b in at.button if b.label == "报名").click().run()
    assert not at.exception
    with demo_db.read() as s:
        assert s.execute(select(Signup.status).where(Signup.outsider_id == oid)).scalar_one() == "signed"

    at = app(lead.user_id)
    at.session_state[state.CHECKIN_ACTIVITY] = aid
    at.switch_page("pages/checkin.py").run()
    assert not at.exception
    at.text_input(key="checkin_outsider_query").input("王建国").run()
    at.button(key="checkin_outsider_in").click().run()
    assert not at.exception
    assert "王建国（镇财政所）签到成功" in texts(at)
    at.button(key="checkin_outsider_out").click().run()
    assert "签退成功" in texts(at)

    at.number_input(key="checkin_outsider_hours").set_value(2)  # the time on site in a test run is 0 minutes
    next(b for b in at.button if b.label == "保存时长").click().run()
    assert not at.exception
    assert "已记录 王建国 服务 2 小时 0 分钟" in texts(at)

    entries_before = _count(demo_db, LedgerEntry)
    proposals_before = _count(demo_db, Proposal)
    at.button(key="checkin_confirm_start").click().run()
    at.button(key="checkin_confirm_do").click().run()
    assert not at.exception
    assert _count(demo_db, LedgerEntry) == entries_before
    assert _count(demo_db, Proposal) == proposals_before
    totals = out.unit_totals(demo_db, lead.village_id, dt.date.today(), dt.date.today())
    assert [(u.unit, u.minutes) for u in totals] == [("镇财政所", 120)]  # the demo's own are in past days


def _count(db, model) -> int:
    with db.read() as s:
        return s.execute(select(func.count()).select_from(model)).scalar_one()
