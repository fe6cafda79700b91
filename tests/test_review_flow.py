"""The morning review, end to end on both databases: propose with photo, review with
attendance and votes, 公示, objection, posting, minutes, reversal — and every bad input
refused with a Chinese message and nothing written."""

from __future__ import annotations

import datetime as dt
import io

import pytest
from sqlalchemy import func, select

from core.committee import agenda, attendance, minutes, proposals, publicity, review, sessions
from core.platform import settings
from core.platform.access import SYSTEM
from core.platform.errors import AlreadyDone, InvalidInput, NotAllowed, NotFound
from core.points import corrections
from db.models import Account, Decision, LedgerEntry, Proposal, ProposalPhoto, StaffUser, Vote
from tests.factories import all_agree, make_village
from tests.pdf_sizes import smallest_font_pt

TODAY = dt.date.today()
YESTERDAY = TODAY - dt.timedelta(days=1)


def png_bytes() -> bytes:
    from PIL import Image

    buf = io.BytesIO()
    Image.new("RGB", (8, 8), (200, 30, 30)).save(buf, format="PNG")
    return buf.getvalue()


def add_committee(db, v, n=3):
    """Give the village n extra committee members; returns their ids."""
    from tests.factories import password_hash

    ids = []
    with db.write() as s:
        for i in range(n):
            u = StaffUser(username=f"pingyi{v.id}_{i}", display_name=f"评议员{i}", password_hash=password_hash(),
                          roles="committee", village_id=v.id)
            s.add(u)
            s.flush()
            ids.append(u.id)
    return ids


@pytest.fixture
def v(db):
    return make_village(db)


@pytest.fixture
def members(db, v):
    # the factory's committee user + 3 more = 4 members; majority quorum = 3
    return [v.actors["committee"].user_id] + add_committee(db, v, 3)


def propose(db, v, code="HJ01", hh=0, **kw):
    kw.setdefault("act_date", YESTERDAY)
    return proposals.submit(db, v.actors["grid_worker"], household_id=v.household_ids[hh], rule_item_id=v.rule_ids[code],
                            **kw)


def open_(db, v, members, n=3):
    return sessions.open_session(db, v.actors["committee"], v.id, held_on=TODAY, attendee_ids=members[:n])


def count(db, model):
    with db.read() as s:
        return s.execute(select(func.count()).select_from(model)).scalar_one()


def test_the_whole_flow_from_photo_to_posting_minutes_and_reversal(db, v, members, tmp_path):
    pid = propose(db, v, note="门前干净", photos=[("a.png", png_bytes())], data_dir=tmp_path)
    deduct = propose(db, v, code="HJ06", hh=1, note="倒污水")
    rejected = propose(db, v, hh=2)
    later = propose(db, v, hh=3)
    with db.read() as s:
        ph = s.execute(select(ProposalPhoto).where(ProposalPhoto.proposal_id == pid)).scalar_one()
    assert (tmp_path / ph.path).read_bytes() == png_bytes()
    assert not list(tmp_path.rglob("*.part"))

    two_days_ago = TODAY - dt.timedelta(days=2)
    sid = sessions.open_session(db, v.actors["committee"], v.id, held_on=two_days_ago, attendee_ids=members[:3])
    with db.read() as s:
        assert [q.id for q in agenda.queue(s, v.id, TODAY, sid)] == [pid, deduct, rejected, later]
    with db.read() as s:
        a0, a1, a2 = (a.id for a in attendance.present(s, sid))
    votes = {a0: "agree", a1: "agree", a2: "disagree"}
    assert review.decide(db, v.actors["committee"], sid, pid, "approved", points=8, votes=votes).status == "publicity"
    agree = all_agree(db, sid)
    review.decide(db, v.actors["committee"], sid, deduct, "approved", votes=agree)
    review.decide(db, v.actors["committee"], sid, rejected, "rejected", reason="照片与事项不符", votes=agree)
    review.decide(db, v.actors["committee"], sid, later, "deferred", reason="需核实", votes=agree)
    sessions.close_session(db, v.actors["committee"], sid)

    with db.read() as s:
        assert s.get(Proposal, pid).publicity_until == TODAY  # 3 days: two days ago, yesterday, today
        assert agenda.queue(s, v.id, TODAY)[0].id == later  # deferred comes back next time
    assert publicity.post_due(db, today=TODAY) == 0  # still in 公示

    # an objection holds the deduction; the next session upholds it
    ob = publicity.log_objection(db, v.actors["grid_worker"], deduct, raised_by="户主2", reason="不是我家倒的")
    assert publicity.post_due(db, today=TODAY + dt.timedelta(days=1)) == 1
    assert publicity.post_due(db, today=TODAY + dt.timedelta(days=1)) == 0  # idempotent
    sid2 = sessions.open_session(db, v.actors["committee"], v.id, held_on=TODAY, attendee_ids=members)
    assert review.resolve_objection(db, v.actors["committee"], sid2, ob, "upheld", "邻居作证属实",
                                    all_agree(db, sid2)).status == "posted"

    with db.read() as s:
        acc1 = s.get(Account, v.household_ids[0])
        acc2 = s.get(Account, v.household_ids[1])
        entry = s.get(LedgerEntry, s.get(Proposal, pid).posted_entry_id)
        n_votes = s.execute(select(func.count()).select_from(Vote).join(Decision)
                            .where(Decision.proposal_id == pid)).scalar_one()
        m = minutes.minutes(s, sid)
        given = minutes.minutes(s, sid, people=attendance.attendance(s, sid),
                                decisions=agenda.session_decisions(s, sid))
    assert given.attendees == m.attendees and given.decisions == m.decisions  # what the review page passes in
    assert (acc1.balance, acc1.earned_total) == (8, 8)
    assert acc2.earned_total == -5 and acc2.balance == 0
    assert entry.source_type == "proposal" and entry.rule_item_id == v.rule_ids["HJ01"]
    assert n_votes == 3
    assert [d.outcome for d in m.decisions] == ["approved", "approved", "rejected", "deferred"]
    assert m.decisions[0].disagree == 1 and m.decisions[2].reason == "照片与事项不符"
    assert minutes.minutes_pdf(m).startswith(b"%PDF") and minutes.minutes_excel(m)[:2] == b"PK"

    corrections.reverse(db, v.admin, entry.id, "评议有误")
    from core.village.households import history, side_by_side

    with db.read() as s:
        hist = history(s, v.household_ids[0])
        assert s.get(Account, v.household_ids[0]).balance == 0
    reversal_id = hist[0].id
    assert [r.link for r in hist] == [f"冲正第 {entry.id} 号", f"已被第 {reversal_id} 号冲正"]
    assert [r.delta_earned for r in hist] == [-8, 8]
    assert [r.id for r in side_by_side(hist)] == [entry.id, reversal_id]  # the reversal below its entry


def test_publicity_days_zero_posts_with_the_decision(db, v, members):
    settings.change(db, v.admin, v.id, "publicity_days", 0)
    pid = propose(db, v)
    sid = open_(db, v, members)
    assert review.decide(db, v.actors["committee"], sid, pid, "approved", votes=all_agree(db, sid)).status == "posted"
    with db.read() as s:
        assert s.get(Account, v.household_ids[0]).balance == 5


def test_an_overturned_objection_rejects_the_item_with_its_reason(db, v, members):
    pid = propose(db, v)
    sid = open_(db, v, members)
    review.decide(db, v.actors["committee"], sid, pid, "approved", votes=all_agree(db, sid))
    sessions.close_session(db, v.actors["committee"], sid)
    ob = publicity.log_objection(db, v.actors["committee"], pid, raised_by="邻居", reason="其实是村里保洁员打扫的")
    with pytest.raises(AlreadyDone):
        publicity.log_objection(db, v.actors["committee"], pid, raised_by="邻居", reason="再提一次")
    held = publicity.publicity_screen(db, v.id)
    assert [(r["id"], r["status"]) for r in held.items] == [(pid, "objected")]
    assert [o["id"] for o in held.open_objections] == [o["id"] for o in held.objections] == [ob]
    sid2 = open_(db, v, members)
    with pytest.raises(InvalidInput, match="理由"):
        review.resolve_objection(db, v.actors["committee"], sid2, ob, "overturned", " ", all_agree(db, sid2))
    assert review.resolve_objection(db, v.actors["committee"], sid2, ob, "overturned", "核实异议成立",
                                    all_agree(db, sid2)).status == "overturned"
    assert publicity.post_due(db, today=TODAY + dt.timedelta(days=10)) == 0
    assert count(db, LedgerEntry) == 0
    done = publicity.publicity_screen(db, v.id)
    assert done.items == [] and done.open_objections == [] and done.objections[0]["status"] == "overturned"


def test_bulk_approve_skips_what_is_already_decided(db, v, members):
    ids = [propose(db, v, hh=i) for i in range(4)]
    sid = open_(db, v, members)
    agree = all_agree(db, sid)
    review.decide(db, v.actors["committee"], sid, ids[0], "rejected", reason="不属实", votes=agree)
    first = review.bulk_approve(db, v.actors["committee"], sid, ids, votes=agree)
    assert (first.approved, first.skipped) == (3, 1)
    again = review.bulk_approve(db, v.actors["committee"], sid, ids, votes=agree)  # a double click
    assert (again.approved, again.skipped) == (0, 4)
    assert count(db, Decision) == 4


def test_over_cap_and_duplicates_are_flagged_not_refused(db, v, members):
    first = propose(db, v)  # HJ01: once per month
    second = propose(db, v)
    other_day = propose(db, v, act_date=YESTERDAY - dt.timedelta(days=1)) if YESTERDAY.day > 1 else None
    with db.read() as s:
        assert not s.get(Proposal, first).over_cap
        assert s.get(Proposal, second).over_cap
        items = {q.id: q for q in agenda.queue(s, v.id, TODAY)}
    assert items[first].duplicate_of == [second] and items[second].duplicate_of == [first]
    assert "超上限" in items[second].flags
    if other_day:
        assert items[other_day].duplicate_of == []


@pytest.mark.parametrize("points", [11, 2, -5, 7.5, "8.0", "八", "", "999"])
def test_amending_outside_the_rules_range_is_refused(db, v, members, points):
    pid = propose(db, v)
    sid = open_(db, v, members)
    with pytest.raises(InvalidInput):
        review.decide(db, v.actors["committee"], sid, pid, "approved", points=points, votes=all_agree(db, sid))
    assert count(db, Decision) == 0
    with db.read() as s:
        assert s.get(Proposal, pid).status == "submitted"


def test_rejecting_without_a_reason_is_refused(db, v, members):
    pid = propose(db, v)
    sid = open_(db, v, members)
    with pytest.raises(InvalidInput, match="理由"):
        review.decide(db, v.actors["committee"], sid, pid, "rejected", reason="   ")
    assert count(db, Decision) == 0


def test_deciding_twice_is_refused(db, v, members):
    pid = propose(db, v)
    sid = open_(db, v, members)
    review.decide(db, v.actors["committee"], sid, pid, "deferred", votes=all_agree(db, sid))
    with pytest.raises(AlreadyDone, match="重复"):
        review.decide(db, v.actors["committee"], sid, pid, "approved", votes=all_agree(db, sid))
    assert count(db, Decision) == 1


def test_deciding_in_a_closed_session_is_refused(db, v, members):
    pid = propose(db, v)
    sid = open_(db, v, members)
    sessions.close_session(db, v.actors["committee"], sid)
    with pytest.raises(AlreadyDone, match="已经结束"):
        review.decide(db, v.actors["committee"], sid, pid, "approved")
    with pytest.raises(AlreadyDone):
        sessions.close_session(db, v.actors["committee"], sid)
    assert count(db, Decision) == 0


def test_a_session_without_quorum_does_not_open(db, v, members):
    with pytest.raises(InvalidInput, match="法定人数"):
        open_(db, v, members, n=2)
    settings.change(db, v.admin, v.id, "quorum", 2)
    assert open_(db, v, members, n=2)


def test_attendees_must_be_committee_members_and_one_session_at_a_time(db, v, members):
    with pytest.raises(InvalidInput, match="评议小组成员"):
        sessions.open_session(db, v.actors["committee"], v.id, held_on=TODAY,
                            attendee_ids=members[:2] + [v.actors["cashier"].user_id])
    open_(db, v, members)
    with pytest.raises(AlreadyDone):
        open_(db, v, members)


def test_votes_must_come_from_attendees_and_carry_the_decision(db, v, members):
    pid = propose(db, v)
    sid = open_(db, v, members)
    with db.read() as s:
        a0, a1, a2 = (a.id for a in attendance.present(s, sid))
    with pytest.raises(InvalidInput, match="出席"):
        review.decide(db, v.actors["committee"], sid, pid, "approved", votes={a2 + 1000: "agree"})
    with pytest.raises(InvalidInput, match="表决未通过"):
        review.decide(db, v.actors["committee"], sid, pid, "approved",
                      votes={a0: "agree", a1: "disagree", a2: "abstain"})
    assert count(db, Decision) == 0


def test_a_grid_worker_cannot_decide(db, v, members):
    pid = propose(db, v)
    sid = open_(db, v, members)
    with pytest.raises(NotAllowed):
        review.decide(db, v.actors["grid_worker"], sid, pid, "approved")


def test_a_photo_that_is_not_an_image_or_too_big_writes_nothing(db, v, tmp_path):
    tmp_path = tmp_path / "data"
    with pytest.raises(InvalidInput, match="不是图片"):
        propose(db, v, photos=[("x.jpg", b"MZ\x90\x00 not an image")], data_dir=tmp_path)
    with pytest.raises(InvalidInput, match="太大"):
        propose(db, v, photos=[("big.png", png_bytes() + b"\0" * (6 * 1024 * 1024))], data_dir=tmp_path)
    with pytest.raises(InvalidInput, match="最多"):
        propose(db, v, photos=[("a.png", png_bytes())] * 5, data_dir=tmp_path)
    assert count(db, Proposal) == 0
    assert not [p for p in tmp_path.rglob("*") if p.is_file()]


def test_a_failed_transaction_leaves_no_photo_file(db, v, tmp_path):
    tmp_path = tmp_path / "data"
    with pytest.raises(InvalidInput):
        propose(db, v, points=99, photos=[("a.png", png_bytes())], data_dir=tmp_path)
    assert count(db, Proposal) == 0
    assert not [p for p in tmp_path.rglob("*") if p.is_file()]


@pytest.mark.parametrize("household", [999999, None, "1", -1])
def test_an_unknown_household_is_refused(db, v, household):
    with pytest.raises(NotFound, match="找不到该户"):
        proposals.submit(db, v.actors["grid_worker"], household_id=household, rule_item_id=v.rule_ids["HJ01"],
                         act_date=YESTERDAY)
    assert count(db, Proposal) == 0


def test_another_villages_household_or_rule_is_refused(db, v):
    other = make_village(db, name="邻村", code="T002")
    with pytest.raises(NotAllowed):
        proposals.submit(db, v.actors["grid_worker"], household_id=other.household_ids[0],
                         rule_item_id=other.rule_ids["HJ01"], act_date=YESTERDAY)
    with pytest.raises(NotFound):
        proposals.submit(db, v.actors["grid_worker"], household_id=v.household_ids[0],
                         rule_item_id=other.rule_ids["HJ01"], act_date=YESTERDAY)


def test_a_future_date_or_a_deduction_with_plus_points_is_refused(db, v):
    with pytest.raises(InvalidInput, match="晚于今天"):
        propose(db, v, act_date=TODAY + dt.timedelta(days=1))
    with pytest.raises(InvalidInput, match="范围"):
        propose(db, v, code="HJ06", points=5)
    assert count(db, Proposal) == 0


def test_volunteer_conversion_may_exceed_the_rule_max_but_not_go_negative(db, v):
    with db.write() as s:
        pid = proposals.submit_in(s, v.actors["volunteer_lead"], household_id=v.household_ids[0],
                                  rule_item_id=v.rule_ids["HJ01"], act_date=YESTERDAY, points=40,
                                  source="volunteer", source_ref="attendance:1")
    with db.read() as s:
        assert s.get(Proposal, pid).points == 40
    with pytest.raises(InvalidInput), db.write() as s:
        proposals.submit_in(s, v.actors["volunteer_lead"], household_id=v.household_ids[0],
                            rule_item_id=v.rule_ids["HJ01"], act_date=YESTERDAY, points=-3, source="volunteer")


def test_a_resident_self_reports_through_their_card(db, v):
    from core.village.cards import issue_card

    token = issue_card(db, v.admin, v.household_ids[2])
    pid = proposals.submit_self_report(db, v.id, token, rule_item_id=v.rule_ids["HJ01"], act_date=YESTERDAY,
                                       note="自家门前种了花")
    with db.read() as s:
        p = s.get(Proposal, pid)
    assert (p.source, p.household_id, p.submitted_by, p.points) == ("self", v.household_ids[2], None, 5)
    with pytest.raises(InvalidInput):
        proposals.submit_self_report(db, v.id, "1234", rule_item_id=v.rule_ids["HJ01"], act_date=YESTERDAY,
                                     note="x")


def test_post_due_from_many_runs_posts_each_item_once(db, v, members):
    ids = [propose(db, v, hh=i) for i in range(3)]
    sid = open_(db, v, members)
    review.bulk_approve(db, v.actors["committee"], sid, ids, votes=all_agree(db, sid))
    later = TODAY + dt.timedelta(days=5)
    assert publicity.post_due_if_any(db, v.actors["grid_worker"], v.id, later) == 3
    assert publicity.post_due(db, SYSTEM, None, later) == 0
    assert count(db, LedgerEntry) == 3


def test_the_publicity_sheet_prints_village_wide_and_per_grid(db, v, members):
    pid = propose(db, v, note="门前干净")
    sid = open_(db, v, members)
    review.decide(db, v.actors["committee"], sid, pid, "approved", votes=all_agree(db, sid))
    with db.read() as s:
        assert publicity.sheet_pdf(s, v.id).startswith(b"%PDF")
        assert publicity.sheet_pdf(s, v.id, v.grid_ids[0]).startswith(b"%PDF")
        assert smallest_font_pt(publicity.sheet_pdf(s, v.id)) >= 11  # a notice on the wall, read by older eyes
        assert [r["id"] for r in publicity.in_publicity(s, v.id, v.grid_ids[0])] == [pid]
    assert publicity.sheet_pdf_of(db, v.id, v.grid_ids[0]).startswith(b"%PDF")


def test_a_session_cannot_be_dated_in_the_future(db, v, members):
    with pytest.raises(InvalidInput, match="晚于今天"):
        sessions.open_session(db, v.actors["committee"], v.id, held_on=TODAY + dt.timedelta(days=1),
                            attendee_ids=members)


def test_an_objection_after_the_window_ended_is_refused(db, v, members):
    pid = propose(db, v)
    sid = sessions.open_session(db, v.actors["committee"], v.id, held_on=TODAY - dt.timedelta(days=10),
                              attendee_ids=members)
    review.decide(db, v.actors["committee"], sid, pid, "approved", votes=all_agree(db, sid))
    with pytest.raises(InvalidInput, match="公示期已于"):
        publicity.log_objection(db, v.actors["committee"], pid, raised_by="邻居", reason="太晚了")
    with pytest.raises(InvalidInput, match="提出异议的人"):
        publicity.log_objection(db, v.actors["committee"], pid, raised_by=" ", reason="x")


def test_a_proxy_entry_records_its_source_and_needs_a_note(db, v):
    with pytest.raises(InvalidInput, match="说明"):
        propose(db, v, source="proxy")
    pid = propose(db, v, source="proxy", note="张大爷口述，本人不会用手机")
    with db.read() as s:
        item = agenda.queue(s, v.id, TODAY)[0]
    assert (item.id, item.source) == (pid, "工作人员代报")


def test_the_grid_names_come_in_natural_order(db, v):
    from db.models import Grid

    with db.write() as s:
        s.add_all([Grid(village_id=v.id, name="网格10"), Grid(village_id=v.id, name="网格9")])
    names = publicity.grid_names(db, v.id)
    assert names[v.grid_ids[0]] == "第一网格" and len(names) == 3
    assert list(names.values()).index("网格9") < list(names.values()).index("网格10")
