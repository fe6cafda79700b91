"""Outside volunteers on SQLite and PostgreSQL: the register, sign-ups sharing the queue with
residents, check-in by name and by card, hours that count for their unit and never for a
household, certificates, and the CHECK that a row names exactly one person."""

from __future__ import annotations

import datetime as dt
import io

import pandas as pd
import pytest
from sqlalchemy import func, insert, select
from sqlalchemy.exc import IntegrityError

from core.maintenance.verify import verify
from core.platform.errors import AlreadyDone, InvalidInput, NotAllowed, NotFound
from core.volunteering import certificates, service_hours
from core.volunteering import outsiders as out
from core.volunteering import volunteer as vol
from core.volunteering import volunteer_queries as vq
from db.enums import CorrectionStatus, SignupStatus
from db.models import Account, Attendance, Certificate, HouseholdMonth, LedgerEntry, Proposal, Signup
from tests.factories import make_village

DAY = dt.date(2026, 5, 1)
T0 = dt.datetime(2026, 5, 1, 8, 0)


def lead(village):
    return village.actors["volunteer_lead"]


def activity(db, village, **kw):
    args = dict(title="清扫村道", date=DAY, points_per_hour=3)
    args.update(kw)
    return vol.create_activity(db, lead(village), **args)


def add(db, village, name="王建国", unit="镇财政所", **kw):
    return out.add(db, lead(village), name=name, unit=unit, phone=kw.pop("phone", "13812345678"),
                   party_member=kw.pop("party_member", True), **kw)


def count(db, model, *where) -> int:
    with db.read() as s:
        return s.execute(select(func.count()).select_from(model).where(*where)).scalar_one()


def test_a_row_naming_neither_or_both_people_is_refused_by_the_database(db, village):
    aid = activity(db, village)
    oid = add(db, village)
    rid, hh = village.resident_ids[0], village.household_ids[0]
    for values in ({}, {"resident_id": rid, "outsider_id": oid}):
        with pytest.raises(IntegrityError), db.write() as s:
            s.execute(insert(Signup).values(activity_id=aid, status="signed", created_at=T0, **values))
        with pytest.raises(IntegrityError), db.write() as s:
            s.execute(insert(Attendance).values(village_id=village.id, activity_id=aid, minutes=60,
                                                household_id=hh if values else None, **values))
        with pytest.raises(IntegrityError), db.write() as s:
            s.execute(insert(Certificate).values(number=f"X-{len(values)}", village_id=village.id, period_from=DAY,
                                                 period_to=DAY, total_minutes=60, issued_at=T0, **values))
    # an outsider's attendance may not carry a household
    with pytest.raises(IntegrityError), db.write() as s:
        s.execute(insert(Attendance).values(village_id=village.id, activity_id=aid, minutes=60, outsider_id=oid,
                                            household_id=hh))
    assert count(db, Signup) == count(db, Attendance) == count(db, Certificate) == 0


def test_the_register_refuses_blank_names_and_units_and_a_card_number_given_twice(db, village):
    with pytest.raises(InvalidInput, match="姓名"):
        add(db, village, name=" ")
    with pytest.raises(InvalidInput, match="单位"):
        add(db, village, unit="")
    with pytest.raises(InvalidInput, match="电话"):
        add(db, village, phone="call me")
    add(db, village, card_no="ZYK-001")
    with pytest.raises(AlreadyDone, match="ZYK-001"):
        add(db, village, name="李四", card_no="ＺＹＫ－００１")


def test_phones_are_masked_for_anyone_but_the_lead_and_the_admin(db, village):
    add(db, village)
    assert [o.phone for o in out.register(db, lead(village), village.id)] == ["13812345678"]
    assert [o.phone for o in out.register(db, village.admin, village.id)] == ["13812345678"]
    assert [o.phone for o in out.register(db, village.actors["field_lead"], village.id)] == ["138****5678"]


def test_outsiders_and_residents_share_the_places_and_the_waitlist(db, village):
    aid = activity(db, village, capacity=1)
    a, b = add(db, village), add(db, village, name="赵敏", unit="县供电公司")
    assert out.sign_up(db, lead(village), aid, a) == "signed"
    assert vol.sign_up(db, lead(village), aid, village.resident_ids[0]) == "waitlist"
    assert out.sign_up(db, lead(village), aid, b) == "waitlist"
    with pytest.raises(AlreadyDone):
        out.sign_up(db, lead(village), aid, a)
    out.cancel_signup(db, lead(village), aid, a)  # the resident, first in line, moves up
    assert [r.status for r in vq.signups(db, village.id, aid)] == [SignupStatus.SIGNED]
    assert {r.outsider_id: r.status for r in out.signups(db, village.id, aid)} == {
        a: SignupStatus.CANCELLED, b: SignupStatus.WAITLIST}


def test_a_deactivated_outsider_cannot_sign_up_or_check_in_and_deactivating_needs_a_reason(db, village):
    aid = activity(db, village)
    oid = add(db, village)
    with pytest.raises(InvalidInput, match="原因"):
        out.set_active(db, lead(village), oid, False)
    out.set_active(db, lead(village), oid, False, "调离本镇")
    with pytest.raises(InvalidInput, match="停用"):
        out.sign_up(db, lead(village), aid, oid)
    with pytest.raises(InvalidInput, match="停用"):
        out.check_in(db, lead(village), aid, oid)
    assert out.find(db, village.id, "王") == []
    out.set_active(db, lead(village), oid, True)
    assert out.find(db, village.id, "财政")[0][0] == oid


def test_outsider_hours_count_for_their_unit_and_never_for_a_household(db, village):
    aid = activity(db, village)
    a = add(db, village)
    b = add(db, village, name="赵敏", unit="镇财政所", party_member=False, card_no="K-9")
    c = add(db, village, name="钱多", unit="县供电公司")
    rid = village.resident_ids[0]
    assert "签到成功" in out.check_in(db, lead(village), aid, a, at=T0)
    assert "赵敏" in out.check_in_by_card(db, lead(village), aid, "k-9".upper(), at=T0)
    with pytest.raises(AlreadyDone):
        out.check_in(db, lead(village), aid, a, at=T0)
    assert out.check_out(db, lead(village), aid, a, at=T0 + dt.timedelta(minutes=150)) == 150
    assert out.check_out(db, lead(village), aid, b, at=T0 + dt.timedelta(minutes=60)) == 60
    out.set_minutes(db, lead(village), aid, c, 90)
    service_hours.set_minutes(db, lead(village), aid, rid, 120)  # a resident at the same activity
    with db.read() as s:
        before = {h: s.get(Account, h).balance for h in village.household_ids}
    vol.settings.change(db, village.admin, village.id, "volunteer_direct_post", True)
    assert service_hours.confirm(db, lead(village), aid) == 4
    with db.read() as s:
        entries = s.execute(select(LedgerEntry.household_id, LedgerEntry.delta_balance)
                            .where(LedgerEntry.source_type == "attendance")).all()
        after = {h: s.get(Account, h).balance for h in village.household_ids}
        month_earned = s.execute(select(func.sum(HouseholdMonth.earned))).scalar()
    assert entries == [(village.household_ids[0], 6)]  # the resident's 2 h × 3; nothing for the outsiders
    assert {h: after[h] - before[h] for h in after} == {h: (6 if h == village.household_ids[0] else 0)
                                                         for h in after}
    assert month_earned == 6
    assert count(db, Proposal) == 0
    totals = out.unit_totals(db, village.id, DAY, DAY)
    assert totals == [
        out.UnitTotalRow(unit="镇财政所", people=2, party_members=1, times=2, minutes=210),
        out.UnitTotalRow(unit="县供电公司", people=1, party_members=1, times=1, minutes=90),
    ]
    assert out.unit_totals(db, village.id, DAY + dt.timedelta(days=1), DAY + dt.timedelta(days=9)) == []
    assert {o.outsider_id: o.minutes for o in out.register(db, lead(village), village.id)} == {a: 150, b: 60, c: 90}
    # the village's own readers take the rows without a resident in their stride
    assert verify(db) == []
    assert [t.resident_id for t in vq.totals(db, village.id)] == [rid]
    assert len(vq.attendance(db, village.id, aid)) == 1
    assert len(out.attendance(db, village.id, aid)) == 3


def test_unit_totals_count_confirmed_time_only_and_export_to_excel(db, village):
    aid = activity(db, village)
    oid = add(db, village)
    out.set_minutes(db, lead(village), aid, oid, 45)
    assert out.unit_totals(db, village.id, DAY, DAY) == []
    service_hours.confirm(db, lead(village), aid)
    assert [u.minutes for u in out.unit_totals(db, village.id, DAY, DAY)] == [45]
    book = pd.read_excel(io.BytesIO(out.unit_totals_xlsx(db, village.id, DAY, DAY)))
    assert book.to_dict("records") == [
        {"单位": "镇财政所", "人数": 1, "其中党员": 1, "服务人次": 1, "时长（分钟）": 45, "时长（小时）": 0.8}]
    with pytest.raises(InvalidInput):
        out.unit_totals(db, village.id, DAY, DAY - dt.timedelta(days=1))


def test_a_correction_of_an_outsiders_confirmed_time_changes_no_points(db, village):
    aid = activity(db, village)
    oid = add(db, village)
    att = out.set_minutes(db, lead(village), aid, oid, 60)
    service_hours.confirm(db, lead(village), aid)
    cid = service_hours.request_correction(db, lead(village), att, 120, "漏记一小时")
    assert service_hours.decide_correction(db, lead(village), cid, True) == "accepted"
    assert [u.minutes for u in out.unit_totals(db, village.id, DAY, DAY)] == [120]
    assert [(c.name, c.status) for c in vq.corrections(db, village.id)] == [("王建国", CorrectionStatus.ACCEPTED)]
    assert count(db, LedgerEntry) == 0
    assert verify(db) == []


def test_an_outsider_gets_a_certificate_of_their_confirmed_service(db, village):
    aid = activity(db, village)
    oid = add(db, village)
    with pytest.raises(InvalidInput, match="没有已确认"):
        certificates.issue_outsider(db, lead(village), oid, DAY, DAY)
    out.set_minutes(db, lead(village), aid, oid, 150)
    service_hours.confirm(db, lead(village), aid)
    cid = certificates.issue_outsider(db, lead(village), oid, DAY, DAY)
    data = certificates.data_for(db, village.id, cid)
    assert (data.person, data.unit, data.total_minutes, len(data.rows)) == ("王建国", "镇财政所", 150, 1)
    assert certificates.pdf_for(db, village.id, cid)[:5] == b"%PDF-"
    assert [c["姓名"] for c in certificates.issued(db, village.id)] == ["王建国"]


def test_another_village_cannot_touch_an_outsider_and_roles_are_checked(db, village):
    other = make_village(db, name="邻村", code="T002")
    oid = add(db, village)
    aid_other = vol.create_activity(db, lead(other), title="邻村活动", date=DAY)
    with pytest.raises(NotFound):
        out.sign_up(db, lead(other), aid_other, oid)
    with pytest.raises(NotFound):
        out.update(db, lead(other), oid, name="改名", unit="单位")
    with pytest.raises(NotAllowed):
        out.add(db, village.actors["cashier"], name="张三", unit="某单位")
    with pytest.raises(NotFound):
        out.check_in_by_card(db, lead(village), activity(db, village), "NO-SUCH")
