"""Volunteer time as the rules say, on SQLite and PostgreSQL: an activity's travel allowance or
fixed duration decides the time counted at check-out; the organiser confirms it; a resident asks
for a correction from the card link and sees the organiser's answer and reason."""

from __future__ import annotations

import datetime as dt

import pytest

from core.platform.errors import AlreadyDone, InvalidInput, NotFound
from core.public import volunteer_requests as vr
from core.volunteering import service_hours
from core.volunteering import volunteer as vol
from db.models import Attendance, VolunteerTotal
from tests.test_volunteer import DAY, T0, card_for, lead, new_activity


@pytest.mark.parametrize("on_site, travel, fixed, counted", [
    (95, None, None, 95), (95, 30, None, 125), (95, None, 120, 120), (10, None, 120, 120), (1430, 30, None, 1440),
])
def test_the_time_counted_is_the_fixed_duration_or_the_time_on_site_plus_travel(on_site, travel, fixed, counted):
    assert vol.counted_minutes(on_site, travel, fixed) == counted


def _scan_in_and_out(db, village, aid, minutes):
    rid = village.resident_ids[0]
    service_hours.check_in(db, lead(village), aid, rid, at=T0)
    return service_hours.check_out(db, lead(village), aid, rid, at=T0 + dt.timedelta(minutes=minutes))


def test_a_travel_allowance_is_added_at_check_out(db, village):
    aid = new_activity(db, village, travel_minutes=40)
    assert _scan_in_and_out(db, village, aid, 90) == 130


def test_a_fixed_duration_counts_the_same_for_everyone_who_checked_in_and_out(db, village):
    aid = new_activity(db, village, fixed_minutes=180)
    assert _scan_in_and_out(db, village, aid, 75) == 180


def test_an_activity_without_either_counts_the_time_on_site_only(db, village):
    aid = new_activity(db, village)
    assert _scan_in_and_out(db, village, aid, 75) == 75


def test_travel_and_a_fixed_duration_together_are_refused(db, village):
    with pytest.raises(InvalidInput, match="只能选一种"):
        new_activity(db, village, travel_minutes=30, fixed_minutes=120)


def test_the_counting_rule_cannot_change_once_time_was_confirmed(db, village):
    aid = new_activity(db, village, travel_minutes=20)
    _scan_in_and_out(db, village, aid, 60)
    service_hours.confirm(db, lead(village), aid)
    with pytest.raises(InvalidInput, match="往返路途"):
        vol.update_activity(db, lead(village), aid, title="清扫村道", date=DAY, travel_minutes=60)
    with db.read() as s:
        assert s.get(VolunteerTotal, village.resident_ids[0]).minutes == 80


def test_a_resident_asks_for_a_correction_from_the_card_and_sees_the_organisers_refusal_and_reason(db, village):
    aid = new_activity(db, village)
    rid, hh = village.resident_ids[0], village.household_ids[0]
    service_hours.check_in(db, lead(village), aid, rid, at=T0)  # forgot to check out
    token = card_for(db, village, hh)
    with db.read() as s:
        att = s.query(Attendance).filter_by(activity_id=aid, resident_id=rid).one().id
    cid = vr.request_correction(db, token, att, 150, "忘记签退，实际干到十点半")
    with pytest.raises(AlreadyDone, match="待处理"):
        vr.request_correction(db, token, att, 120, "再申请一次")
    [record] = vr.service_records(db, token)
    assert record.attendance_id == att and record.minutes is None and not record.can_request
    assert record.corrections[0].status_name == "待处理" and record.corrections[0].minutes == 150
    assert "村民本人（积分卡）" in record.corrections[0].requested_by
    with pytest.raises(InvalidInput, match="理由"):
        service_hours.decide_correction(db, lead(village), cid, accept=False)
    service_hours.decide_correction(db, lead(village), cid, accept=False, note="九点半已收工，请按九点半申请")
    [record] = vr.service_records(db, token)
    assert record.corrections[0].status_name == "未采纳"
    assert record.corrections[0].decision_note == "九点半已收工，请按九点半申请" and record.can_request
    second = vr.request_correction(db, token, att, 90, "按九点半")
    assert service_hours.decide_correction(db, lead(village), second, accept=True) == "accepted"
    [record] = vr.service_records(db, token)
    assert record.minutes == 90 and [c.status for c in record.corrections] == ["refused", "accepted"]


def test_a_card_cannot_ask_for_another_households_record_or_the_same_time(db, village):
    aid = new_activity(db, village)
    att = service_hours.set_minutes(db, lead(village), aid, village.resident_ids[0], 60)
    other = card_for(db, village, village.household_ids[1])
    with pytest.raises(NotFound, match="本户"):
        vr.request_correction(db, other, att, 90, "不是我家的")
    mine = card_for(db, village, village.household_ids[0])
    with pytest.raises(InvalidInput, match="相同"):
        vr.request_correction(db, mine, att, 60, "一样")
    with pytest.raises(InvalidInput, match="原因"):
        vr.request_correction(db, mine, att, 90, "  ")
    with pytest.raises(NotFound, match="积分卡"):
        vr.request_correction(db, "12345", att, 90, "乱填的卡")
    assert vr.service_records(db, other) == []
