"""Attendance and votes of the review session, on both databases: only what the committee
recorded is kept — nobody is present and no vote is cast until someone enters it; a decision
lacking the votes the village's settings require is refused, saying who has not voted;
guests (村民代表, 党员代表, residents) are named and vote only when the village allows it; the
minutes count only recorded votes; attendance and votes are only ever inserted."""

from __future__ import annotations

import datetime as dt
import io

import pytest
from sqlalchemy import event, func, select

from core.committee import attendance, minutes, proposals, publicity, review, sessions
from core.platform import settings
from core.platform.errors import AlreadyDone, InvalidInput
from db import clock
from db.models import Decision, Proposal, SessionAttendee, StaffUser, Vote
from tests.factories import make_village, password_hash

TODAY = dt.date.today()
YESTERDAY = TODAY - dt.timedelta(days=1)


@pytest.fixture
def v(db):
    return make_village(db)


@pytest.fixture
def members(db, v):
    """The factory's committee user + 3 named members = 4; a majority quorum is 3."""
    ids = [v.actors["committee"].user_id]
    with db.write() as s:
        for name in ("张三", "李四", "王五"):
            u = StaffUser(username=f"m_{name}", display_name=name, password_hash=password_hash(), roles="committee",
                          village_id=v.id)
            s.add(u)
            s.flush()
            ids.append(u.id)
    return ids


def propose(db, v, hh=0, code="HJ01"):
    return proposals.submit(db, v.actors["grid_worker"], household_id=v.household_ids[hh],
                            rule_item_id=v.rule_ids[code], act_date=YESTERDAY)


def open_(db, v, ids, guests=()):
    more = {"guests": list(guests)} if guests else {}
    return sessions.open_session(db, v.actors["committee"], v.id, held_on=TODAY, attendee_ids=ids, **more)


def present(db, sid):
    with db.read() as s:
        return attendance.present(s, sid)


def by_name(db, sid):
    return {a.name: a.id for a in present(db, sid)}


def count(db, model, *where):
    with db.read() as s:
        return s.execute(select(func.count()).select_from(model).where(*where)).scalar_one()


def nothing_decided(db, pid):
    with db.read() as s:
        return (s.get(Proposal, pid).status == "submitted"
                and s.execute(select(func.count()).select_from(Decision)).scalar_one() == 0
                and s.execute(select(func.count()).select_from(Vote)).scalar_one() == 0)


# ---------------------------------------------------------------- nobody present, no vote, until recorded


def test_a_session_with_no_one_recorded_present_does_not_open(db, v, members):
    with pytest.raises(InvalidInput, match="法定人数"):
        open_(db, v, [])
    assert count(db, SessionAttendee) == 0


def test_a_decision_without_every_present_members_vote_is_refused_naming_who_has_not_voted(db, v, members):
    pid = propose(db, v)
    sid = open_(db, v, members[1:4])  # 张三, 李四, 王五
    with pytest.raises(InvalidInput, match="还有 3 名出席人员未表决：张三、李四、王五"):
        review.decide(db, v.actors["committee"], sid, pid, "approved")
    assert nothing_decided(db, pid)
    ids = by_name(db, sid)
    with pytest.raises(InvalidInput, match="还有 2 名出席人员未表决：李四、王五"):
        review.decide(db, v.actors["committee"], sid, pid, "approved", votes={ids["张三"]: "agree"})
    with pytest.raises(InvalidInput, match="未表决：王五"):
        review.decide(db, v.actors["committee"], sid, pid, "rejected", reason="不属实",
                      votes={ids["张三"]: "agree", ids["李四"]: "agree"})
    with pytest.raises(InvalidInput, match="未表决"):
        review.decide(db, v.actors["committee"], sid, pid, "deferred")
    assert nothing_decided(db, pid)


def test_only_the_votes_entered_are_recorded_and_the_message_states_the_points(db, v, members):
    pid = propose(db, v)
    sid = open_(db, v, members[1:4])
    ids = by_name(db, sid)
    entered = {ids["张三"]: "agree", ids["李四"]: "agree", ids["王五"]: "abstain"}
    done = review.decide(db, v.actors["committee"], sid, pid, "approved", points="4", votes=entered)
    until = TODAY + dt.timedelta(days=2)
    assert done.status == "publicity" and done.points == 4
    assert done.message == f"#{pid} 通过，核定 +4 分（公示至 {until:%m月%d日}）。"
    with db.read() as s:
        rows = dict(s.execute(select(Vote.attendee_id, Vote.vote)).all())
        assert s.get(Proposal, pid).decided_points == 4
    assert rows == entered


def test_the_unanimous_action_records_an_agree_for_each_voting_attendee_present_only(db, v, members):
    sid = open_(db, v, members[1:4], guests=[attendance.Guest("赵大娘", "representative")])
    people = present(db, sid)
    assert attendance.unanimous(people) == {a.id: "agree" for a in people if a.capacity == "committee"}
    assert attendance.vote_summary({}, people) == "表决：同意 0 · 反对 0 · 弃权 0 · 未表决 3"
    some = {people[0].id: "agree", people[1].id: "abstain"}
    assert attendance.vote_summary(some, people) == "表决：同意 1 · 反对 0 · 弃权 1 · 未表决 1"


def test_votes_must_come_from_attendees_present_and_carry_the_decision(db, v, members):
    pid = propose(db, v)
    sid = open_(db, v, members[1:4])
    ids = by_name(db, sid)
    with pytest.raises(InvalidInput, match="出席"):
        review.decide(db, v.actors["committee"], sid, pid, "approved", votes={10_000: "agree"})
    with pytest.raises(InvalidInput, match="同意、反对或弃权"):
        review.decide(db, v.actors["committee"], sid, pid, "approved", votes={ids["张三"]: "yes"})
    with pytest.raises(InvalidInput, match="表决未通过：同意 1 票，反对 1 票"):
        review.decide(db, v.actors["committee"], sid, pid, "approved",
                      votes={ids["张三"]: "agree", ids["李四"]: "disagree", ids["王五"]: "abstain"})
    assert nothing_decided(db, pid)


def test_a_village_that_records_only_the_collective_result_decides_without_votes_and_the_minutes_say_so(db, v,
                                                                                                          members):
    import openpyxl

    settings.change(db, v.admin, v.id, "vote_recording", "collective")
    first, second = propose(db, v), propose(db, v, hh=1)
    sid = open_(db, v, members[1:4])
    review.decide(db, v.actors["committee"], sid, first, "approved")
    ids = by_name(db, sid)
    review.decide(db, v.actors["committee"], sid, second, "approved",
                  votes={ids["张三"]: "agree", ids["李四"]: "disagree", ids["王五"]: "agree"})
    assert count(db, Vote) == 3
    with db.read() as s:
        m = minutes.minutes(s, sid)
    rows = {d.proposal_id: d for d in m.decisions}
    assert rows[first].votes == "未逐人表决"
    assert rows[second].votes == "同意 2 · 反对 1（李四） · 弃权 0"
    assert (rows[second].agree, rows[second].disagree, rows[second].against) == (2, 1, ("李四",))
    assert (rows[first].agree, rows[first].disagree, rows[first].abstain) == (None, None, None)  # not even zeros
    book = openpyxl.load_workbook(io.BytesIO(minutes.minutes_excel(m)))
    sheet = {r[0]: r for r in book["评议决定"].iter_rows(min_row=2, values_only=True)}
    assert sheet[first][8:] == ("未逐人表决", None, None, None) and sheet[second][9:] == (2, 1, 0)


def test_the_minutes_count_only_recorded_votes_in_pdf_and_excel(db, v, members):
    import openpyxl

    pid = propose(db, v)
    sid = open_(db, v, members[1:4])
    ids = by_name(db, sid)
    review.decide(db, v.actors["committee"], sid, pid, "approved",
                  votes={ids["张三"]: "agree", ids["李四"]: "agree", ids["王五"]: "disagree"})
    with db.read() as s:
        m = minutes.minutes(s, sid)
    assert m.decisions[0].votes == "同意 2 · 反对 1（王五） · 弃权 0"
    book = openpyxl.load_workbook(io.BytesIO(minutes.minutes_excel(m)))
    detail = [tuple(r) for r in book["表决明细"].iter_rows(min_row=2, values_only=True)]
    assert sorted((r[2], r[4]) for r in detail) == [("张三", "同意"), ("李四", "同意"), ("王五", "反对")]
    text = pdf_text(minutes.minutes_pdf(m))
    assert "同意 2 · 反对 1（王五） · 弃权 0" in text


def pdf_text(data: bytes) -> str:
    import pypdfium2

    doc = pypdfium2.PdfDocument(data)
    return "".join(doc[i].get_textpage().get_text_range() for i in range(len(doc))).replace("\r", "").replace("\n", "")


# ---------------------------------------------------------------- guests, late arrivals, departures


def test_guests_appear_in_the_minutes_and_vote_only_when_the_village_allows_it(db, v, members):
    import openpyxl

    first, second = propose(db, v), propose(db, v, hh=1)
    sid = open_(db, v, members[1:4], guests=[attendance.Guest("赵大娘", "representative")])
    ids = by_name(db, sid)
    committee = {ids[n]: "agree" for n in ("张三", "李四", "王五")}
    with pytest.raises(InvalidInput, match="赵大娘是列席人员（村民代表），没有表决权"):
        review.decide(db, v.actors["committee"], sid, first, "approved", votes={**committee, ids["赵大娘"]: "agree"})
    review.decide(db, v.actors["committee"], sid, first, "approved", votes=committee)  # the guest need not vote

    settings.change(db, v.admin, v.id, "guests_vote", True)
    with db.read() as s:
        arrives = s.get(SessionAttendee, ids["张三"]).arrived_at + dt.timedelta(minutes=10)
    with clock.at(arrives):  # ten minutes after the start, whatever minute the test runs in
        guest = sessions.add_guest(db, v.actors["committee"], sid, name="", capacity="party",
                                 resident_id=v.resident_ids[2])  # the name comes from the resident
    with db.read() as s:
        row = s.get(SessionAttendee, guest)
    assert (row.name, row.capacity, row.voting, row.resident_id) == ("户主3", "party", True, v.resident_ids[2])
    with pytest.raises(InvalidInput, match="未表决：户主3"):
        review.decide(db, v.actors["committee"], sid, second, "approved", votes=committee)
    review.decide(db, v.actors["committee"], sid, second, "approved", votes={**committee, guest: "disagree"})
    assert count(db, Vote, Vote.attendee_id == guest) == 1
    assert count(db, Vote, Vote.attendee_id == ids["赵大娘"]) == 0

    with db.read() as s:
        m = minutes.minutes(s, sid)
    summary = dict(minutes.summary_rows(m))
    assert "村民代表 赵大娘（不参加表决）" in summary["列席"] and f"党员代表 户主3（参加表决，{arrives:%H:%M} 到）" in summary["列席"]
    assert "张三" in summary["出席"] and "赵大娘" not in summary["出席"]
    assert "村民代表 赵大娘" in pdf_text(minutes.minutes_pdf(m))
    book = openpyxl.load_workbook(io.BytesIO(minutes.minutes_excel(m)))
    people = {r[0]: r[1:3] for r in book["出席人员"].iter_rows(min_row=2, values_only=True)}
    assert people["赵大娘"] == ("村民代表", "无") and people["户主3"] == ("党员代表", "有") and people["张三"][1] == "有"


@pytest.mark.parametrize(("name", "capacity", "resident", "message"), [
    ("", "representative", None, "姓名"),
    ("赵大娘", "mayor", None, "身份"),
    ("赵" * 41, "representative", None, "40"),
    ("赵大娘", "representative", 10_000_000, "找不到该村民"),
])
def test_a_guest_without_a_name_or_with_an_unknown_capacity_or_resident_is_refused(db, v, members, name, capacity,
                                                                                    resident, message):
    sid = open_(db, v, members[1:4])
    with pytest.raises(InvalidInput, match=message):
        sessions.add_guest(db, v.actors["committee"], sid, name=name, capacity=capacity, resident_id=resident)
    assert count(db, SessionAttendee) == 3


def test_a_late_arrival_must_vote_from_then_on_and_a_member_who_left_no_longer_votes(db, v, members):
    first, second, third = propose(db, v), propose(db, v, hh=1), propose(db, v, hh=2)
    sid = open_(db, v, members[1:4])
    ids = by_name(db, sid)
    three = {ids[n]: "agree" for n in ("张三", "李四", "王五")}
    review.decide(db, v.actors["committee"], sid, first, "approved", votes=three)
    with db.write() as s:  # ten minutes after the start
        late = sessions.add_member_in(s, v.actors["committee"], sid, members[0],
                                    at=dt.datetime.now().replace(microsecond=0) + dt.timedelta(minutes=10))
    with pytest.raises(AlreadyDone, match="已在出席名单"):
        sessions.add_member(db, v.actors["committee"], sid, members[0])
    with pytest.raises(InvalidInput, match="未表决：committee用户"):
        review.decide(db, v.actors["committee"], sid, second, "approved", votes=three)
    review.decide(db, v.actors["committee"], sid, second, "approved", votes={**three, late: "abstain"})

    sessions.record_departure(db, v.actors["committee"], sid, ids["王五"], "left")
    with pytest.raises(InvalidInput, match="出席"):
        review.decide(db, v.actors["committee"], sid, third, "approved", votes={**three, late: "agree"})
    sessions.record_departure(db, v.actors["committee"], sid, late, "left")  # 2 committee members remain
    with pytest.raises(InvalidInput, match="法定人数"):
        review.decide(db, v.actors["committee"], sid, third, "approved",
                      votes={ids["张三"]: "agree", ids["李四"]: "agree"})
    back = sessions.add_member(db, v.actors["committee"], sid, members[3])  # 王五 comes back: a new row
    assert back != ids["王五"]
    review.decide(db, v.actors["committee"], sid, third, "approved",
                  votes={ids["张三"]: "agree", ids["李四"]: "agree", back: "agree"})
    with db.read() as s:
        m = minutes.minutes(s, sid)
    attended = dict(minutes.summary_rows(m))["出席"]
    assert "离席" in attended and " 到" in attended


def test_a_mistaken_entry_is_withdrawn_by_a_record_not_deleted_and_not_once_it_has_voted(db, v, members):
    pid = propose(db, v)
    sid = open_(db, v, members[1:4], guests=[attendance.Guest("错登的人", "other")])
    ids = by_name(db, sid)
    sessions.record_departure(db, v.actors["committee"], sid, ids["错登的人"], "mistake")
    assert "错登的人" not in by_name(db, sid)
    assert count(db, SessionAttendee) == 4  # still there, marked
    review.decide(db, v.actors["committee"], sid, pid, "approved", votes={ids[n]: "agree" for n in ("张三", "李四", "王五")})
    with pytest.raises(InvalidInput, match="已参与表决"):
        sessions.record_departure(db, v.actors["committee"], sid, ids["张三"], "mistake")
    with pytest.raises(AlreadyDone):
        sessions.record_departure(db, v.actors["committee"], sid, ids["错登的人"], "left")
    with db.read() as s:
        summary = dict(minutes.summary_rows(minutes.minutes(s, sid)))
    assert "错登的人" not in summary["列席"] and "错登的人" in summary["登记有误"]


# ---------------------------------------------------------------- bulk approval and objections


def test_bulk_approval_needs_entered_votes_and_applies_them_to_every_item(db, v, members):
    ids_ = [propose(db, v, hh=i) for i in range(3)]
    sid = open_(db, v, members[1:4])
    with pytest.raises(InvalidInput, match="还有 3 名出席人员未表决"):
        review.bulk_approve(db, v.actors["committee"], sid, ids_)
    ids = by_name(db, sid)
    with pytest.raises(InvalidInput, match="未表决：王五"):
        review.bulk_approve(db, v.actors["committee"], sid, ids_, votes={ids["张三"]: "agree", ids["李四"]: "agree"})
    assert count(db, Decision) == 0 and count(db, Vote) == 0
    entered = {ids["张三"]: "agree", ids["李四"]: "agree", ids["王五"]: "abstain"}
    done = review.bulk_approve(db, v.actors["committee"], sid, ids_, votes=entered)
    assert (done.approved, done.skipped) == (3, 0)
    assert done.points == {i: 5 for i in ids_}
    assert "已通过 3 项" in done.message and "+5 分" in done.message and "公示至" in done.message
    with db.read() as s:
        got = s.execute(select(Decision.proposal_id, Vote.attendee_id, Vote.vote).join(Vote)).all()
    assert sorted(got) == sorted((p, a, x) for p in ids_ for a, x in entered.items())


def test_bulk_approval_checks_each_items_score_like_a_single_decision(db, v, members):
    pid = propose(db, v)
    sid = open_(db, v, members[1:4])
    with db.write() as s:  # a proposal whose points lie outside its rule's range (an old import, say)
        s.get(Proposal, pid).points = 99
    with pytest.raises(InvalidInput, match="超出该细则的范围 3～10 分"):
        review.bulk_approve(db, v.actors["committee"], sid, [pid], votes=attendance.unanimous(present(db, sid)))
    assert count(db, Decision) == 0


def test_resolving_an_objection_needs_the_votes_too(db, v, members):
    pid = propose(db, v)
    sid = open_(db, v, members[1:4])
    review.decide(db, v.actors["committee"], sid, pid, "approved", votes=attendance.unanimous(present(db, sid)))
    sessions.close_session(db, v.actors["committee"], sid)
    ob = publicity.log_objection(db, v.actors["grid_worker"], pid, raised_by="邻居", reason="不是他家打扫的")
    sid2 = open_(db, v, members[0:3])
    with pytest.raises(InvalidInput, match="还有 3 名出席人员未表决"):
        review.resolve_objection(db, v.actors["committee"], sid2, ob, "upheld", "经核实属实")
    ids = by_name(db, sid2)
    entered = {ids["committee用户"]: "agree", ids["张三"]: "agree", ids["李四"]: "disagree"}
    with pytest.raises(InvalidInput, match="表决未通过"):
        review.resolve_objection(db, v.actors["committee"], sid2, ob, "upheld", "经核实属实",
                                 {**entered, ids["committee用户"]: "disagree"})
    done = review.resolve_objection(db, v.actors["committee"], sid2, ob, "upheld", "经核实属实", entered)
    assert done.status == "posted" and done.message == f"#{pid} 异议不成立，维持原决定，已记账 +5 分。"
    with db.read() as s:
        got = dict(s.execute(select(Vote.attendee_id, Vote.vote).join(Decision)
                             .where(Decision.outcome == "upheld")).all())
    assert got == entered


# ---------------------------------------------------------------- strict scores


@pytest.mark.parametrize(("typed", "message"), [
    (999, "核定分值 999 超出该细则的范围 3～10 分"),
    ("999", "核定分值 999 超出该细则的范围 3～10 分"),
    ("2", "核定分值 2 超出该细则的范围 3～10 分"),
    ("7.5", "核定分值必须是整数"),
    ("五", "核定分值必须是整数"),
    ("", "请填写核定分值"),
])
def test_an_amended_score_outside_the_range_is_refused_naming_the_range(db, v, members, typed, message):
    pid = propose(db, v)
    sid = open_(db, v, members[1:4])
    with pytest.raises(InvalidInput, match=message):
        review.decide(db, v.actors["committee"], sid, pid, "approved", points=typed,
                      votes=attendance.unanimous(present(db, sid)))
    assert nothing_decided(db, pid)


@pytest.mark.parametrize(("typed", "points"), [(" 8 ", 8), ("+9", 9), ("１０", 10), (3, 3)])
def test_a_score_typed_with_spaces_a_plus_sign_or_full_width_digits_is_read_as_the_number_shown(db, v, members,
                                                                                                   typed, points):
    pid = propose(db, v)
    sid = open_(db, v, members[1:4])
    done = review.decide(db, v.actors["committee"], sid, pid, "approved", points=typed,
                         votes=attendance.unanimous(present(db, sid)))
    assert done.points == points


def test_a_deduction_approved_without_a_window_says_what_was_posted(db, v, members):
    settings.change(db, v.admin, v.id, "publicity_days", 0)
    pid = propose(db, v, code="HJ06")
    sid = open_(db, v, members[1:4])
    done = review.decide(db, v.actors["committee"], sid, pid, "approved", points="-4",
                         votes=attendance.unanimous(present(db, sid)))
    assert (done.status, done.message) == ("posted", f"#{pid} 通过，已记账 -4 分。")


# ---------------------------------------------------------------- insert-only


def test_attendance_and_votes_are_only_ever_inserted(db, v, members):
    seen: list[str] = []

    def watch(_conn, _cursor, statement, *_args):
        head = statement.lstrip().upper()
        if head.startswith(("UPDATE", "DELETE")) and any(
                t in head.split(" WHERE")[0] for t in ("SESSION_ATTENDEE", "VOTE", "SESSION_DEPARTURE")):
            seen.append(statement)

    event.listen(db.engine, "before_cursor_execute", watch)
    try:
        pids = [propose(db, v, hh=i) for i in range(3)]
        sid = open_(db, v, members[1:4], guests=[attendance.Guest("赵大娘", "representative")])
        late = sessions.add_member(db, v.actors["committee"], sid, members[0])
        votes = attendance.unanimous(present(db, sid))
        review.decide(db, v.actors["committee"], sid, pids[0], "approved", votes=votes)
        review.bulk_approve(db, v.actors["committee"], sid, pids[1:], votes=votes)
        sessions.record_departure(db, v.actors["committee"], sid, late, "left")
        sessions.close_session(db, v.actors["committee"], sid)
    finally:
        event.remove(db.engine, "before_cursor_execute", watch)
    assert seen == []
