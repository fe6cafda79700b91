"""The committee's pages clicked through in AppTest, as a grid worker and the committee
would: propose → open the session → decide → bulk approve → close → objection → reversal."""

from __future__ import annotations

import datetime as dt

import pytest
from sqlalchemy import func, select

from core.committee import attendance, proposals, review, sessions
from db.models import Decision, LedgerEntry, Objection, Proposal, ReviewSession
from tests.app_helpers import app, db_for_env, texts, use_data_dir
from tests.factories import make_village
from ui import state


@pytest.fixture
def small(tmp_path, monkeypatch):
    use_data_dir(monkeypatch, tmp_path / "data", demo=False)
    db = db_for_env()
    v = make_village(db, households=4)
    return db, v


def _count(db, model, *where):
    with db.read() as s:
        return s.execute(select(func.count()).select_from(model).where(*where)).scalar_one()


def _propose(db, v, hh):
    return proposals.submit(db, v.actors["grid_worker"], household_id=v.household_ids[hh],
                            rule_item_id=v.rule_ids["HJ01"], act_date=dt.date.today())


def _session_ids(db):
    with db.read() as s:
        return list(s.execute(select(ReviewSession.id)).scalars())


def _button(at, prefix):
    return next(b for b in at.button if (b.key or "").startswith(prefix))


def test_a_grid_worker_finds_a_household_and_submits_once(small):
    db, v = small
    at = app(v.actors["grid_worker"].user_id)
    at.switch_page("pages/proposal_new.py").run()
    at.text_input(key="pn_search").input("户主2").run()
    at.text_area(key="pn_note_0").input("门前干净")
    submit = _button(at, "FormSubmitter:pn_form_0")
    submit.click().run()
    assert not at.exception
    with db.read() as s:
        p = s.execute(select(Proposal)).scalar_one()
    assert (p.household_id, p.note, p.source) == (v.household_ids[1], "门前干净", "grid")
    assert "已提交" in texts(at)


def test_the_committee_opens_decides_bulk_approves_and_closes(small):
    db, v = small
    first, *rest = [_propose(db, v, i) for i in range(4)]
    at = app(v.actors["committee"].user_id)
    at.switch_page("pages/review.py").run()
    at.checkbox(key=f"rv_open_member_{v.actors['committee'].user_id}").check()
    _button(at, "FormSubmitter:rv_open").click().run()
    assert not at.exception
    assert _count(db, ReviewSession) == 1

    # rejecting without a reason is refused with a Chinese message
    _button(at, f"rv_vote_{first}_all").click().run()
    _button(at, f"rv_no_{first}").click().run()
    assert any("理由" in e.value for e in at.error)
    assert _count(db, Decision) == 0
    at.text_input(key=f"rv_reason_{first}").input("不属实")
    _button(at, f"rv_no_{first}").click().run()
    assert _count(db, Decision, Decision.outcome == "rejected") == 1
    assert f"#{first} 不通过，不记分。" in texts(at)
    done = next(d.value for d in at.dataframe if "votes" in d.value.columns)  # 本次决定, codes in words
    assert list(done["outcome"]) == ["不通过"] and list(done["reason"]) == ["不属实"]
    assert list(done["votes"]) == ["同意 1 · 反对 0 · 弃权 0"] and list(done["agree"]) == [1]

    _button(at, "rv_bulk").click().run()
    assert any("确认按申报分值批量通过" in w.value for w in at.warning)
    _button(at, "rv_bulk_vote_all").click().run()
    _button(at, "rv_bulk_do").click().run()
    assert _count(db, Decision, Decision.outcome == "approved") == 3
    assert "全部评议完毕" in texts(at)

    _button(at, "rv_close").click().run()
    _button(at, "rv_close_do").click().run()
    with db.read() as s:
        assert s.execute(select(ReviewSession.closed_at)).scalar_one() is not None
    assert not at.exception

    # the minutes of the closed meeting: read only when the 往期 box is opened
    assert not any((b.key or "").startswith("rv_past_") for b in at.get("download_button"))
    at.session_state[state.REVIEW_PAST_OPEN] = True
    at.run()
    assert not at.exception
    minutes = next(d.value for d in at.dataframe if "votes" in d.value.columns)
    assert sorted(minutes["outcome"].tolist()) == ["不通过", "通过", "通过", "通过"]
    assert minutes["points"].isna().sum() == 1 and set(minutes["points"].dropna()) == {5}  # none given when rejected
    assert {b.key for b in at.get("download_button")} >= {f"rv_past_{sid}_pdf" for sid in _session_ids(db)}


def test_staff_log_an_objection_and_the_next_session_resolves_it(small):
    db, v = small
    pid = _propose(db, v, 0)
    sid = sessions.open_session(db, v.actors["committee"], v.id, held_on=dt.date.today(),
                              attendee_ids=[v.actors["committee"].user_id])
    with db.read() as s:
        votes = attendance.unanimous(attendance.present(s, sid))
    review.decide(db, v.actors["committee"], sid, pid, "approved", votes=votes)
    sessions.close_session(db, v.actors["committee"], sid)

    at = app(v.actors["grid_worker"].user_id)
    at.switch_page("pages/publicity.py").run()
    at.text_input(key="pb_ob_who").input("邻居")
    at.text_area(key="pb_ob_why").input("不是他家打扫的")
    _button(at, "FormSubmitter:pb_objection").click().run()
    assert _count(db, Objection) == 1

    at = app(v.actors["committee"].user_id)
    at.switch_page("pages/review.py").run()
    at.checkbox(key=f"rv_open_member_{v.actors['committee'].user_id}").check()
    _button(at, "FormSubmitter:rv_open").click().run()
    with db.read() as s:
        ob_id = s.execute(select(Objection.id)).scalar_one()
    at.text_input(key=f"rv_ob_reason_{ob_id}").input("经核实属实")
    _button(at, "rv_ob_up_").click().run()
    assert any("未表决" in e.value for e in at.error)  # no vote entered yet: nothing resolved
    with db.read() as s:
        assert s.get(Proposal, pid).status == "objected"
    _button(at, f"rv_ob_vote_{ob_id}_all").click().run()
    _button(at, "rv_ob_up_").click().run()
    assert not at.exception
    assert f"#{pid} 异议不成立，维持原决定，已记账 +5 分。" in texts(at)
    with db.read() as s:
        assert s.get(Proposal, pid).status == "posted"


def test_an_admin_reverses_an_entry_after_confirming_and_sees_it_beside_the_original(small):
    db, v = small
    from tests.factories import give_points

    give_points(db, v.household_ids[0], 10, "c1")
    at = app(v.actors["admin"].user_id)
    at.switch_page("pages/households.py").run()
    at.text_input(key="hh_search").input("1-001").run()
    form_reason = next(t for t in at.text_input if t.label.startswith("冲正原因"))
    form_reason.input("录入错误")
    _button(at, "FormSubmitter:hh_reverse").click().run()
    assert _count(db, LedgerEntry) == 1  # not yet: waiting for 确认
    _button(at, "hh_correct_do").click().run()
    assert _count(db, LedgerEntry) == 2
    shown = at.dataframe[0].value
    assert list(shown["冲正"]) == ["已被第 2 号冲正", "冲正第 1 号"]
    assert list(shown["可用积分变化"]) == [10, -10]


def test_an_admin_revises_a_rule_into_a_new_version_from_the_rules_page(small):
    db, v = small
    from db.models import RuleItem

    at = app(v.actors["admin"].user_id)
    at.switch_page("pages/rules.py").run()
    form = f"rl_rev_{v.rule_ids['HJ01']}"
    nums = [n for n in at.number_input if n.label == "分值"]
    nums[0].set_value(6)
    _button(at, f"FormSubmitter:{form}").click().run()
    assert not at.exception
    with db.read() as s:
        versions = s.execute(select(RuleItem.version, RuleItem.points, RuleItem.active)
                             .where(RuleItem.code == "HJ01").order_by(RuleItem.version)).all()
    assert [tuple(r) for r in versions] == [(1, 5, False), (2, 6, True)]


# ---------------------------------------------------------------- attendance, votes and scores


def _members(db, v, n=2):
    """Give the village n more committee members; returns every member's id, the factory's first."""
    from db.models import StaffUser
    from tests.factories import password_hash

    ids = [v.actors["committee"].user_id]
    with db.write() as s:
        for i in range(n):
            u = StaffUser(username=f"member{i}", display_name=f"成员{i + 1}", password_hash=password_hash(),
                          roles="committee", village_id=v.id)
            s.add(u)
            s.flush()
            ids.append(u.id)
    return ids


def _widget(at, key):
    """The element with this key, whatever kind of input it is."""
    for kind in ("text_input", "number_input", "checkbox", "multiselect"):
        for el in getattr(at, kind):
            if el.key == key:
                return el
    raise KeyError(key)


def test_opening_the_review_shows_no_one_present_and_an_empty_session_is_refused(small):
    db, v = small
    _propose(db, v, 0)
    members = _members(db, v)
    at = app(v.actors["committee"].user_id)
    at.switch_page("pages/review.py").run()
    _button(at, "FormSubmitter:rv_open").click().run()  # nobody ticked
    assert not at.exception
    assert _count(db, ReviewSession) == 0
    assert any("法定人数" in e.value for e in at.error)
    ticks = [c for c in at.checkbox if (c.key or "").startswith("rv_open_member_")]
    assert len(ticks) == len(members) and not any(c.value for c in ticks)
    for c in ticks[:2]:
        c.check()
    _button(at, "FormSubmitter:rv_open").click().run()
    assert _count(db, ReviewSession) == 1
    assert "未表决 2" in texts(at)  # the vote label counts what was entered: nothing yet


def _opened(db, v, members):
    sid = sessions.open_session(db, v.actors["committee"], v.id, held_on=dt.date.today(), attendee_ids=members)
    at = app(v.actors["committee"].user_id)
    at.switch_page("pages/review.py").run()
    assert not at.exception
    return sid, at


def test_a_score_typed_out_of_range_is_refused_and_nothing_is_decided(small):
    db, v = small
    pid = _propose(db, v, 0)
    sid, at = _opened(db, v, _members(db, v))
    box = _widget(at, f"rv_pts_{pid}")
    box.set_value("999" if box.type == "text_input" else 999).run()
    if any((b.key or "").startswith(f"rv_vote_{pid}_all") for b in at.button):
        _button(at, f"rv_vote_{pid}_all").click().run()
    _button(at, f"rv_ok_{pid}").click().run()
    assert not at.exception
    assert any("核定分值 999 超出该细则的范围 3～10 分" in e.value for e in at.error)
    assert _count(db, Decision) == 0
    with db.read() as s:
        assert s.get(Proposal, pid).status == "submitted"
    assert _widget(at, f"rv_pts_{pid}").value in ("999", 999)  # the box still shows what was typed


def test_votes_are_entered_per_attendee_and_the_label_counts_only_what_was_entered(small):
    db, v = small
    pid = _propose(db, v, 0)
    sid, at = _opened(db, v, _members(db, v))
    assert "表决：同意 0 · 反对 0 · 弃权 0 · 未表决 3" in texts(at)
    _button(at, f"rv_ok_{pid}").click().run()
    assert any("还有 3 名出席人员未表决" in e.value for e in at.error)
    assert _count(db, Decision) == 0
    _button(at, f"rv_vote_{pid}_all").click().run()  # 全体同意: the operator enters an agree for everyone
    assert "表决：同意 3 · 反对 0 · 弃权 0 · 未表决 0" in texts(at)
    grid = [g for g in at.get("button_group") if (g.key or "").startswith(f"rv_vote_{pid}_")]
    grid[-1].set_value("abstain").run()
    assert "表决：同意 2 · 反对 0 · 弃权 1 · 未表决 0" in texts(at)
    _button(at, f"rv_ok_{pid}").click().run()
    assert not at.exception
    assert f"#{pid} 通过，核定 +5 分" in texts(at)
    with db.read() as s:
        from db.models import Vote

        assert sorted(s.execute(select(Vote.vote)).scalars()) == ["abstain", "agree", "agree"]


def test_bulk_approval_on_the_page_records_the_votes_entered_for_it(small):
    db, v = small
    ids = [_propose(db, v, i) for i in range(3)]
    sid, at = _opened(db, v, _members(db, v))
    _button(at, "rv_bulk").click().run()
    _button(at, "rv_bulk_do").click().run()
    assert any("未表决" in e.value for e in at.error)
    assert _count(db, Decision) == 0
    _button(at, "rv_bulk_vote_all").click().run()
    _button(at, "rv_bulk_do").click().run()
    assert not at.exception
    assert _count(db, Decision, Decision.outcome == "approved") == len(ids)
    assert "已通过 3 项" in texts(at)
    from db.models import Vote

    assert _count(db, Vote) == 3 * 3


def _keyed(at, kind, prefix):
    """The widget whose key starts with ``prefix_`` (the attendance inputs carry a round number)."""
    return next(w for w in at.get(kind) if (w.key or "").startswith(prefix + "_"))


def test_a_late_member_a_guest_and_a_departure_are_recorded_on_the_page(small):
    db, v = small
    pid = _propose(db, v, 0)
    members = _members(db, v)
    sid, at = _opened(db, v, members[:2])
    assert "未表决 2" in texts(at)
    _keyed(at, "selectbox", "rv_late_pick").set_value(members[2]).run()
    _keyed(at, "button", "rv_late_add").click().run()
    assert "已登记成员2到会" in texts(at) and "未表决 3" in texts(at)
    _keyed(at, "text_input", "rv_guest_name").input("户主2").run()  # a resident's name: offered as a link
    _keyed(at, "selectbox", "rv_guest_capacity").set_value("representative")
    _keyed(at, "selectbox", "rv_guest_resident").set_value(v.resident_ids[1])
    _keyed(at, "button", "rv_guest_add").click().run()
    assert not at.exception
    assert "村民代表 户主2（不表决）" in texts(at) and "未表决 3" in texts(at)  # a guest without a vote
    with db.read() as s:
        people = {a.name: a for a in attendance.attendance(s, sid)}
    assert people["户主2"].resident_id == v.resident_ids[1] and not people["户主2"].voting
    _keyed(at, "selectbox", "rv_leave_pick").set_value(people["成员1"].id)
    _keyed(at, "radio", "rv_leave_kind").set_value("left").run()
    _keyed(at, "button", "rv_leave_add").click().run()
    assert not at.exception
    assert "已登记成员1（评议小组成员）中途离席" in texts(at) and "未表决 2" in texts(at)
    _button(at, f"rv_vote_{pid}_all").click().run()
    _button(at, f"rv_ok_{pid}").click().run()
    assert f"#{pid} 通过，核定 +5 分" in texts(at)
    from db.models import Vote

    assert _count(db, Vote) == 2
