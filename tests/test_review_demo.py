"""The demo holds a history of sessions (attendance and votes entered explicitly), items in
公示, one open objection and a realistic queue for this morning — all made through the real
review functions."""

from __future__ import annotations

import datetime as dt

from sqlalchemy import func, select

from core.committee import agenda, review, sessions
from core.maintenance.verify import verify
from db.models import Decision, Objection, Proposal, ProposalPhoto, ReviewSession, SessionAttendee, Vote


def test_the_demo_has_history_a_morning_queue_and_an_open_objection(db, tmp_path, monkeypatch):
    monkeypatch.setenv("JIFEN_DATA_DIR", str(tmp_path / "data"))
    from startup.demo import build_demo

    today = dt.date.today()
    (vid,) = build_demo(db, households=60, days=15, steps=["startup.demo_review"], today=today)
    with db.read() as s:
        queue = agenda.queue(s, vid, today)
        closed = s.execute(select(func.count()).select_from(ReviewSession)
                           .where(ReviewSession.closed_at.is_not(None))).scalar_one()
        open_obs = s.execute(select(func.count()).select_from(Objection).where(Objection.status == "open")).scalar_one()
        in_publicity = s.execute(select(func.count()).select_from(Proposal)
                                 .where(Proposal.status == "publicity")).scalar_one()
        photos = s.execute(select(func.count()).select_from(ProposalPhoto)).scalar_one()
        open_sessions = s.execute(select(func.count()).select_from(ReviewSession)
                                  .where(ReviewSession.closed_at.is_(None))).scalar_one()
    assert 40 <= len(queue) <= 60
    assert any(q.duplicate_of for q in queue)
    assert {q.source for q in queue} >= {"网格员发现", "村民自报"}
    assert closed == 14 and open_sessions == 0
    with db.read() as s:  # every decision carries the votes entered for it, from attendees of its own session
        per_decision = s.execute(select(func.count(Vote.attendee_id)).select_from(Decision)
                                 .outerjoin(Vote, Vote.decision_id == Decision.id).group_by(Decision.id)).scalars().all()
        foreign = s.execute(select(func.count()).select_from(Vote)
                            .join(Decision, Decision.id == Vote.decision_id)
                            .join(SessionAttendee, SessionAttendee.id == Vote.attendee_id)
                            .where(SessionAttendee.session_id != Decision.session_id)).scalar_one()
    assert per_decision and min(per_decision) >= 3 and foreign == 0
    assert open_obs == 1 and in_publicity > 0 and photos == 6
    assert all(p.is_file() for p in (tmp_path / "data" / "photos").rglob("*.jpg"))
    assert not list((tmp_path / "data").rglob("*.part"))
    assert verify(db) == []


def test_manage_post_due_posts_and_a_second_run_does_nothing(db, tmp_path, monkeypatch, capsys):
    import manage
    from core.committee import proposals, publicity
    from tests.factories import all_agree, make_village

    v = make_village(db)
    pid = proposals.submit(db, v.actors["grid_worker"], household_id=v.household_ids[0],
                           rule_item_id=v.rule_ids["HJ01"], act_date=dt.date.today())
    sid = sessions.open_session(db, v.actors["committee"], v.id, held_on=dt.date.today() - dt.timedelta(days=5),
                              attendee_ids=[v.actors["committee"].user_id])
    review.decide(db, v.actors["committee"], sid, pid, "approved", votes=all_agree(db, sid))
    monkeypatch.setattr(manage, "_db", lambda create_demo=False: db)
    assert manage.main(["post-due"]) == 0
    assert manage.main(["post-due"]) == 0
    out = capsys.readouterr().out
    assert "1 项" in out and "0 项" in out
    with db.read() as s:
        assert s.get(Proposal, pid).status == "posted"
    assert publicity.post_due(db) == 0


def test_every_demo_note_describes_an_act_under_its_own_item(db, tmp_path, monkeypatch):
    """HJ02 环境整治 with "按时参加主题党日" read false to a committee trying the demo."""
    monkeypatch.setenv("JIFEN_DATA_DIR", str(tmp_path / "data"))
    from db.models import RuleItem
    from startup.demo import build_demo
    from startup.demo_review import NOTES

    build_demo(db, households=40, days=6, steps=["startup.demo_review"], today=dt.date.today())
    with db.read() as s:
        rows = s.execute(select(RuleItem.code, RuleItem.name, Proposal.note)
                         .join(RuleItem, RuleItem.id == Proposal.rule_item_id)).all()
    assert len(rows) > 50
    suffixes = ("（本人不会用手机，代报）", "（附照片）")
    wrong = []
    for code, name, note in rows:
        plain = note
        for suffix in suffixes:
            plain = plain.removesuffix(suffix)
        if plain == "同一件事，评议小组成员也报了":  # the duplicate the queue flags
            continue
        if plain not in NOTES.get(code, (f"{name}（网格员现场核实）",)):
            wrong.append((code, note))
    assert wrong == []
    assert {code for code, _, _ in rows} - set(NOTES) <= {"ZY01"}  # every template item has its own notes
