"""Volunteer service on SQLite and PostgreSQL: capacity, waitlist, scans, hours, confirmation,
conversion to points (both modes), star levels, corrections, certificates, authorisation."""

from __future__ import annotations

import datetime as dt

import pytest
from sqlalchemy import func, select

from core.platform import settings
from core.platform.errors import AlreadyDone, InvalidInput, NotAllowed, NotFound
from core.village.cards import new_token
from core.volunteering import certificates, service_hours
from core.volunteering import volunteer as vol
from core.volunteering import volunteer_queries as vq
from db.enums import CorrectionStatus, SignupStatus
from db.models import (
    Account,
    Attendance,
    Card,
    HoursCorrection,
    LedgerEntry,
    Proposal,
    Resident,
    RuleCategory,
    RuleItem,
    StarLevelEvent,
    VolunteerTotal,
)

DAY = dt.date(2026, 5, 1)
T0 = dt.datetime(2026, 5, 1, 8, 0)


def lead(village):
    return village.actors["volunteer_lead"]


def new_activity(db, village, **kw):
    args = dict(title="清扫村道", date=DAY, points_per_hour=2)
    args.update(kw)
    return vol.create_activity(db, kw.pop("actor", lead(village)), **args)


def card_for(db, village, household_id) -> str:
    token = new_token()
    with db.write() as s:
        s.add(Card(village_id=village.id, household_id=household_id, token=token))
    return token


def add_member(db, village, household_id, name="配偶") -> int:
    with db.write() as s:
        r = Resident(village_id=village.id, household_id=household_id, name=name, gender="女", relation="配偶")
        s.add(r)
        s.flush()
        return r.id


def add_zy01(db, village) -> int:
    with db.write() as s:
        cat = RuleCategory(village_id=village.id, name="志愿服务")
        s.add(cat)
        s.flush()
        item = RuleItem(village_id=village.id, category_id=cat.id, code="ZY01", name="参加志愿服务活动（每小时）",
                        points=2, min_points=1, max_points=5)
        s.add(item)
        s.flush()
        return item.id


def set_setting(db, village, key, value):
    settings.change(db, village.admin, village.id, key, value)


def count(db, model, *where) -> int:
    with db.read() as s:
        return s.execute(select(func.count()).select_from(model).where(*where)).scalar_one()


# ---------------------------------------------------------------- pure rules


def test_points_are_floored_after_the_cap():
    assert vol.points_for(90, None, 2) == 3
    assert vol.points_for(89, None, 2) == 2  # 2.97 → 2
    assert vol.points_for(600, 120, 3) == 6  # capped at 2 hours
    assert vol.points_for(29, None, 2) == 0


def test_star_level_counts_thresholds_reached():
    th = [100, 300, 600, 1000, 1500]
    assert vol.star_level(0, th) == 0
    assert vol.star_level(100 * 60 - 1, th) == 0
    assert vol.star_level(100 * 60, th) == 1
    assert vol.star_level(1500 * 60, th) == 5


@pytest.mark.parametrize("bad, words", [(-5, "负数"), (1441, "24 小时"), (12.5, "整数"), ("60", "整数"), (True, "整数")])
def test_bad_minutes_are_refused_in_chinese(bad, words):
    with pytest.raises(InvalidInput, match=words):
        vol.check_minutes(bad)


# ---------------------------------------------------------------- activities and sign-ups


def test_new_activity_takes_the_village_rate_by_default(db, village):
    set_setting(db, village, "volunteer_points_per_hour", 5)
    aid = vol.create_activity(db, lead(village), title="敬老院帮扶", date=DAY)
    assert vq.activity(db, village.id, aid).points_per_hour == 5


def test_an_activity_without_title_or_with_end_before_start_is_refused(db, village):
    with pytest.raises(InvalidInput, match="活动名称"):
        vol.create_activity(db, lead(village), title="  ", date=DAY)
    with pytest.raises(InvalidInput, match="结束时间"):
        vol.create_activity(db, lead(village), title="x", date=DAY, start_time=dt.time(10), end_time=dt.time(9))


def test_capacity_puts_extra_people_on_the_waitlist_and_a_cancel_promotes_the_first(db, village):
    aid = new_activity(db, village, capacity=2)
    r = village.resident_ids
    assert [vol.sign_up(db, lead(village), aid, rid) for rid in r] == ["signed", "signed", "waitlist", "waitlist"]
    assert vol.cancel_signup(db, lead(village), aid, r[0]) == [r[2]]
    rows = vq.signups(db, village.id, aid)
    assert {x.resident_id: x.status for x in rows} == {
        r[1]: SignupStatus.SIGNED, r[2]: SignupStatus.SIGNED, r[3]: SignupStatus.WAITLIST, r[0]: SignupStatus.CANCELLED}
    assert [x.resident_id for x in rows] == [r[1], r[2], r[3], r[0]]  # signed, then the waitlist, then cancelled


def test_signing_up_twice_is_refused(db, village):
    aid = new_activity(db, village)
    vol.sign_up(db, lead(village), aid, village.resident_ids[0])
    with pytest.raises(AlreadyDone, match="不用重复报名"):
        vol.sign_up(db, lead(village), aid, village.resident_ids[0])


def test_a_cancelled_activity_takes_no_sign_ups(db, village):
    aid = new_activity(db, village)
    with pytest.raises(InvalidInput, match="原因"):
        vol.set_status(db, lead(village), aid, "cancelled")
    vol.set_status(db, lead(village), aid, "cancelled", "下雨")
    with pytest.raises(InvalidInput, match="已取消"):
        vol.sign_up(db, lead(village), aid, village.resident_ids[0])


# ---------------------------------------------------------------- scanning


def test_a_card_scan_checks_in_and_out_and_counts_the_minutes(db, village):
    aid = new_activity(db, village)
    token = card_for(db, village, village.household_ids[0])
    res = service_hours.check_in_by_card(db, lead(village), aid, token, at=T0)
    assert res.status == "in" and res.resident_id == village.resident_ids[0]
    out = service_hours.check_out_by_card(db, lead(village), aid, token, at=T0 + dt.timedelta(minutes=135, seconds=50))
    assert out.status == "out" and out.minutes == 135


def test_a_second_check_in_scan_is_refused(db, village):
    aid = new_activity(db, village)
    token = card_for(db, village, village.household_ids[0])
    service_hours.check_in_by_card(db, lead(village), aid, token, at=T0)
    with pytest.raises(AlreadyDone, match="都已签到"):
        service_hours.check_in_by_card(db, lead(village), aid, token, at=T0)
    with pytest.raises(AlreadyDone, match="不要重复签到"):
        service_hours.check_in(db, lead(village), aid, village.resident_ids[0], at=T0)
    assert count(db, Attendance) == 1


def test_check_out_before_check_in_is_refused(db, village):
    aid = new_activity(db, village)
    token = card_for(db, village, village.household_ids[0])
    with pytest.raises(InvalidInput, match="请先签到"):
        service_hours.check_out_by_card(db, lead(village), aid, token, at=T0)
    with pytest.raises(InvalidInput, match="还没有签到"):
        service_hours.check_out(db, lead(village), aid, village.resident_ids[0], at=T0)


def test_a_check_out_after_more_than_a_day_is_refused(db, village):
    aid = new_activity(db, village)
    service_hours.check_in(db, lead(village), aid, village.resident_ids[0], at=T0)
    with pytest.raises(InvalidInput, match="超过 24 小时"):
        service_hours.check_out(db, lead(village), aid, village.resident_ids[0], at=T0 + dt.timedelta(hours=25))


def test_a_household_with_several_members_asks_which_one(db, village):
    aid = new_activity(db, village)
    hh = village.household_ids[0]
    spouse = add_member(db, village, hh)
    token = card_for(db, village, hh)
    res = service_hours.check_in_by_card(db, lead(village), aid, token, at=T0)
    assert res.status == "choose" and {m for m, _ in res.members} == {village.resident_ids[0], spouse}
    assert count(db, Attendance) == 0
    res = service_hours.check_in_by_card(db, lead(village), aid, token, resident_id=spouse, at=T0)
    assert res.status == "in" and res.resident_id == spouse
    # the one member left is checked in without asking; with two checked in, check-out asks again
    assert service_hours.check_in_by_card(db, lead(village), aid, token, at=T0).resident_id == village.resident_ids[0]
    assert service_hours.check_out_by_card(db, lead(village), aid, token, at=T0 + dt.timedelta(hours=1)).status == "choose"


def test_the_signed_up_member_is_chosen_without_asking(db, village):
    aid = new_activity(db, village)
    hh = village.household_ids[0]
    spouse = add_member(db, village, hh)
    vol.sign_up(db, lead(village), aid, spouse)
    res = service_hours.check_in_by_card(db, lead(village), aid, card_for(db, village, hh), at=T0)
    assert res.status == "in" and res.resident_id == spouse


def test_another_villages_card_is_refused(db, village):
    from tests.factories import make_village

    other = make_village(db, name="邻村", code="T002")
    aid = new_activity(db, village)
    with pytest.raises(NotFound, match="不属于本村"):
        service_hours.check_in_by_card(db, lead(village), aid, card_for(db, other, other.household_ids[0]))


# ---------------------------------------------------------------- hours and confirmation


def test_negative_and_over_long_hours_by_hand_are_refused(db, village):
    aid = new_activity(db, village)
    rid = village.resident_ids[0]
    with pytest.raises(InvalidInput, match="负数"):
        service_hours.set_minutes(db, lead(village), aid, rid, -30)
    with pytest.raises(InvalidInput, match="24 小时"):
        service_hours.set_minutes(db, lead(village), aid, rid, 25 * 60)
    assert count(db, Attendance) == 0


def test_direct_posting_applies_the_cap_and_posts_once_however_often_confirm_runs(db, village):
    set_setting(db, village, "volunteer_direct_post", True)
    aid = new_activity(db, village, points_per_hour=3, cap_minutes=120)
    rid, hh = village.resident_ids[0], village.household_ids[0]
    att = service_hours.set_minutes(db, lead(village), aid, rid, 300)
    assert service_hours.confirm(db, lead(village), aid) == 1
    assert service_hours.confirm(db, lead(village), aid) == 0
    assert service_hours.confirm(db, lead(village), aid, [rid]) == 0
    with db.read() as s:
        entries = s.execute(select(LedgerEntry).where(LedgerEntry.source_type == "attendance")).scalars().all()
        assert [(e.source_id, e.delta_balance, e.kind) for e in entries] == [(str(att), 6, "volunteer")]
        assert s.get(Account, hh).balance == 6
    assert count(db, Proposal) == 0


def test_review_mode_makes_one_proposal_per_attendance_however_often_confirm_runs(db, village):
    rule = add_zy01(db, village)
    aid = new_activity(db, village, points_per_hour=2)
    a1 = service_hours.set_minutes(db, lead(village), aid, village.resident_ids[0], 95)
    service_hours.set_minutes(db, lead(village), aid, village.resident_ids[1], 20)  # 0 points: no proposal
    assert service_hours.confirm(db, lead(village), aid) == 2
    service_hours.confirm(db, lead(village), aid)
    with db.read() as s:
        props = s.execute(select(Proposal)).scalars().all()
    assert [(p.source, p.source_ref, p.points, p.rule_item_id) for p in props] == [
        ("volunteer", f"attendance:{a1}", 3, rule)]
    assert count(db, LedgerEntry) == 0


def test_confirmed_hours_cannot_be_changed_by_hand(db, village):
    aid = new_activity(db, village)
    service_hours.set_minutes(db, lead(village), aid, village.resident_ids[0], 60)
    service_hours.confirm(db, lead(village), aid)
    with pytest.raises(InvalidInput, match="更正"):
        service_hours.set_minutes(db, lead(village), aid, village.resident_ids[0], 90)


def test_a_star_level_crossing_is_recorded_once(db, village):
    settings.change(db, village.admin, village.id, "star_thresholds_hours", [1, 2, 3, 4, 5])
    rid = village.resident_ids[0]
    for i, mins in enumerate([50, 20, 30]):
        aid = new_activity(db, village, date=DAY + dt.timedelta(days=i))
        service_hours.set_minutes(db, lead(village), aid, rid, mins)
        service_hours.confirm(db, lead(village), aid)
        service_hours.confirm(db, lead(village), aid)
    with db.read() as s:
        events = s.execute(select(StarLevelEvent.level, StarLevelEvent.reached_on)).all()
        total = s.get(VolunteerTotal, rid)
    assert events == [(1, DAY + dt.timedelta(days=1))]
    assert (total.minutes, total.star_level) == (100, 1)


def test_a_jump_over_several_levels_records_each_level_once(db, village):
    settings.change(db, village.admin, village.id, "star_thresholds_hours", [1, 2, 3, 4, 5])
    aid = new_activity(db, village)
    service_hours.set_minutes(db, lead(village), aid, village.resident_ids[0], 200)
    service_hours.confirm(db, lead(village), aid)
    with db.read() as s:
        assert sorted(s.execute(select(StarLevelEvent.level)).scalars()) == [1, 2, 3]


# ---------------------------------------------------------------- corrections


def test_a_refused_correction_needs_a_reason_and_is_kept(db, village):
    aid = new_activity(db, village)
    att = service_hours.set_minutes(db, lead(village), aid, village.resident_ids[0], 60)
    cid = service_hours.request_correction(db, village.actors["grid_worker"], att, 120, "实际从八点干到十点")
    with pytest.raises(InvalidInput, match="理由"):
        service_hours.decide_correction(db, lead(village), cid, accept=False)
    assert service_hours.decide_correction(db, lead(village), cid, accept=False, note="签到记录显示一小时") == "refused"
    with pytest.raises(AlreadyDone):
        service_hours.decide_correction(db, lead(village), cid, accept=True)
    with db.read() as s:
        c = s.get(HoursCorrection, cid)
        assert (c.status, c.old_minutes, c.new_minutes, c.decision_note) == ("refused", 60, 120, "签到记录显示一小时")
        assert s.get(Attendance, att).minutes == 60


def test_an_accepted_correction_changes_totals_and_posts_only_the_difference(db, village):
    set_setting(db, village, "volunteer_direct_post", True)
    aid = new_activity(db, village, points_per_hour=2)
    rid, hh = village.resident_ids[0], village.household_ids[0]
    att = service_hours.set_minutes(db, lead(village), aid, rid, 60)
    service_hours.confirm(db, lead(village), aid)
    c1 = service_hours.request_correction(db, lead(village), att, 180, "漏记了下午")
    with pytest.raises(AlreadyDone, match="待处理"):
        service_hours.request_correction(db, lead(village), att, 150, "再次申请")
    service_hours.decide_correction(db, lead(village), c1, accept=True)
    c2 = service_hours.request_correction(db, lead(village), att, 120, "下午只有一小时", by_volunteer=False)
    service_hours.decide_correction(db, lead(village), c2, accept=True, note="核实")
    service_hours.confirm(db, lead(village), aid)
    with db.read() as s:
        assert s.get(VolunteerTotal, rid).minutes == 120
        assert s.get(Account, hh).balance == 4  # 2 + 4 − 2
        assert s.get(Attendance, att).minutes == 120
        history = s.execute(select(HoursCorrection.old_minutes, HoursCorrection.new_minutes, HoursCorrection.status)
                            .order_by(HoursCorrection.id)).all()
    assert history == [(60, 180, "accepted"), (180, 120, "accepted")]
    assert vq.total_mismatches(db, village.id) == []
    rows = vq.corrections(db, village.id)
    assert len(rows) == 2 and "志愿者本人" in rows[1].requested_by
    assert [(c.old_minutes, c.new_minutes, c.status) for c in rows] == [
        (180, 120, CorrectionStatus.ACCEPTED), (60, 180, CorrectionStatus.ACCEPTED)]  # newest first


def test_a_correction_before_review_updates_the_waiting_proposal(db, village):
    add_zy01(db, village)
    aid = new_activity(db, village, points_per_hour=2)
    att = service_hours.set_minutes(db, lead(village), aid, village.resident_ids[0], 60)
    service_hours.confirm(db, lead(village), aid)
    cid = service_hours.request_correction(db, lead(village), att, 150, "漏记")
    service_hours.decide_correction(db, lead(village), cid, accept=True)
    with db.read() as s:
        assert s.execute(select(Proposal.points)).scalars().all() == [5]


# ---------------------------------------------------------------- authorisation


def test_other_roles_and_other_villages_cannot_manage_activities(db, village):
    from tests.factories import make_village

    aid = new_activity(db, village)
    for role in ("cashier", "grid_worker", "committee", "field_lead", "township_viewer"):
        with pytest.raises(NotAllowed):
            vol.sign_up(db, village.actors[role], aid, village.resident_ids[0])
        with pytest.raises(NotAllowed):
            service_hours.set_minutes(db, village.actors[role], aid, village.resident_ids[0], 60)
    other = make_village(db, name="邻村", code="T002")
    with pytest.raises(NotAllowed, match="其他村"):
        service_hours.confirm(db, other.actors["volunteer_lead"], aid)
    with pytest.raises(NotAllowed):
        vol.create_activity(db, village.actors["cashier"], title="x", date=DAY)


def test_the_field_lead_manages_work_days_on_a_plot(db, village):
    from db.models import Plot

    with db.write() as s:
        plot = Plot(village_id=village.id, name="一号田", area_mu=3)
        s.add(plot)
        s.flush()
        plot_id = plot.id
    fl = village.actors["field_lead"]
    aid = vol.create_activity(db, fl, title="义田除草", date=DAY, plot_id=plot_id)
    service_hours.set_minutes(db, fl, aid, village.resident_ids[0], 120)
    assert service_hours.confirm(db, fl, aid) == 1
    with pytest.raises(NotAllowed):
        vol.create_activity(db, fl, title="普通活动", date=DAY)


def test_a_resident_of_another_village_cannot_be_signed_up(db, village):
    from tests.factories import make_village

    other = make_village(db, name="邻村", code="T002")
    aid = new_activity(db, village)
    with pytest.raises(NotFound):
        vol.sign_up(db, lead(village), aid, other.resident_ids[0])


# ---------------------------------------------------------------- lists, certificates


def test_the_leaderboard_disappears_when_rankings_are_off(db, village):
    aid = new_activity(db, village)
    service_hours.set_minutes(db, lead(village), aid, village.resident_ids[0], 60)
    service_hours.set_minutes(db, lead(village), aid, village.resident_ids[1], 90)
    service_hours.confirm(db, lead(village), aid)
    board = vq.leaderboard(db, village.id)
    assert [(b.rank, b.name, b.minutes) for b in board] == [(1, "户主2", 90), (2, "户主1", 60)]
    set_setting(db, village, "rankings_enabled", False)
    assert vq.leaderboard(db, village.id) is None
    assert [t.name for t in vq.totals(db, village.id)] == ["户主1", "户主2"]  # by door, not ranked


def test_hours_per_person_per_month_and_per_activity(db, village):
    for i, d in enumerate([dt.date(2026, 1, 5), dt.date(2026, 1, 20), dt.date(2026, 2, 3)]):
        aid = new_activity(db, village, date=d, title=f"活动{i}")
        service_hours.set_minutes(db, lead(village), aid, village.resident_ids[0], 60)
        service_hours.confirm(db, lead(village), aid)
    rows = vq.hours_by_person_month(db, village.id, 2026)
    assert [(m.year, m.month, m.times, m.minutes) for m in rows] == [(2026, 1, 2, 120), (2026, 2, 1, 60)]
    by_activity = vq.hours_by_activity(db, village.id, dt.date(2026, 1, 1), dt.date(2026, 1, 31))
    assert [(a.date, a.title, a.people, a.minutes) for a in by_activity] == [
        (dt.date(2026, 1, 5), "活动0", 1, 60), (dt.date(2026, 1, 20), "活动1", 1, 60)]


def test_a_certificate_has_a_unique_number_and_prints(db, village):
    aid = new_activity(db, village)
    rid = village.resident_ids[0]
    service_hours.set_minutes(db, lead(village), aid, rid, 150)
    with pytest.raises(InvalidInput, match="没有已确认"):
        certificates.issue(db, lead(village), rid, dt.date(2026, 1, 1), dt.date(2026, 12, 31))
    service_hours.confirm(db, lead(village), aid)
    c1 = certificates.issue(db, lead(village), rid, dt.date(2026, 1, 1), dt.date(2026, 12, 31))
    c2 = certificates.issue(db, lead(village), rid, dt.date(2026, 1, 1), dt.date(2026, 12, 31))
    d1, d2 = certificates.data_for(db, village.id, c1), certificates.data_for(db, village.id, c2)
    assert d1.number != d2.number and d1.total_minutes == 150 and len(d1.rows) == 1
    assert certificates.pdf_for(db, village.id, c1).startswith(b"%PDF")
    with pytest.raises(NotAllowed):
        certificates.issue(db, village.actors["cashier"], rid, dt.date(2026, 1, 1), dt.date(2026, 12, 31))


def test_the_totals_check_notices_a_total_that_does_not_match_the_confirmed_minutes(db, village):
    aid = new_activity(db, village)
    service_hours.set_minutes(db, lead(village), aid, village.resident_ids[0], 90)
    service_hours.confirm(db, lead(village), aid)
    assert vq.total_mismatches(db, village.id) == []
    with db.write() as s:
        s.get(VolunteerTotal, village.resident_ids[0]).minutes = 91
    assert len(vq.total_mismatches(db, village.id)) == 1
