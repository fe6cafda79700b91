"""The committee's pages clicked through in AppTest, as a grid worker and the committee
would: propose → open the session → decide → bulk approve → close → objection → reversal."""

from __future__ import annotations

import datetime as dt

import pytest
from sqlalchemy import func, select

from core import proposals, review
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
    _button(at, "FormSubmitter:rv_open").click().run()
    assert not at.exception
    assert _count(db, ReviewSession) == 1

    # rejecting without a reason is refused with a Chinese message
    _button(at, f"rv_no_{first}").click().run()
    assert any("理由" in e.value for e in at.error)
    assert _count(db, Decision) == 0
    at.text_input(key=f"rv_reason_{first}").input("不属实")
    _button(at, f"rv_no_{first}").click().run()
    assert _count(db, Decision, Decision.outcome == "rejected") == 1

    _button(at, "rv_bulk").click().run()
    assert any("确认按申报分值批量通过" in w.value for w in at.warning)
    _button(at, "rv_bulk_yes").click().run()
    assert _count(db, Decision, Decision.outcome == "approved") == 3
    assert "全部评议完毕" in texts(at)

    _button(at, "rv_close").click().run()
    _button(at, "rv_close_yes").click().run()
    with db.read() as s:
        assert s.execute(select(ReviewSession.closed_at)).scalar_one() is not None
    assert not at.exception

    # the minutes of the closed meeting: read only when the 往期 box is opened
    assert not any((b.key or "").startswith("rv_past_") for b in at.get("download_button"))
    at.session_state[state.REVIEW_PAST_OPEN] = True
    at.run()
    assert not at.exception
    minutes = next(d.value for d in at.dataframe if "核定分值" in d.value.columns)
    assert sorted(minutes["结果"].tolist()) == ["不通过", "通过", "通过", "通过"]
    assert {b.key for b in at.get("download_button")} >= {f"rv_past_{sid}_pdf" for sid in _session_ids(db)}


def test_staff_log_an_objection_and_the_next_session_resolves_it(small):
    db, v = small
    pid = _propose(db, v, 0)
    sid = review.open_session(db, v.actors["committee"], v.id, held_on=dt.date.today(),
                              attendee_ids=[v.actors["committee"].user_id])
    review.decide(db, v.actors["committee"], sid, pid, "approved")
    review.close_session(db, v.actors["committee"], sid)

    at = app(v.actors["grid_worker"].user_id)
    at.switch_page("pages/publicity.py").run()
    at.text_input(key="pb_ob_who").input("邻居")
    at.text_area(key="pb_ob_why").input("不是他家打扫的")
    _button(at, "FormSubmitter:pb_objection").click().run()
    assert _count(db, Objection) == 1

    at = app(v.actors["committee"].user_id)
    at.switch_page("pages/review.py").run()
    _button(at, "FormSubmitter:rv_open").click().run()
    with db.read() as s:
        ob_id = s.execute(select(Objection.id)).scalar_one()
    at.text_input(key=f"rv_ob_reason_{ob_id}").input("经核实属实")
    _button(at, "rv_ob_up_").click().run()
    assert not at.exception
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
    _button(at, "hh_confirm").click().run()
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
