"""The review cadence that reminds, on SQLite and PostgreSQL: a session due by the cadence, items
waiting longer than it, a 公示 window ended with objections open; on the workbench (AppTest) and in
the admin's daily summary (Excel and PDF)."""

from __future__ import annotations

import datetime as dt

from core.committee import cadence, proposals, publicity, review, sessions
from core.platform import settings
from db import clock
from tests.factories import all_agree

TODAY = dt.date.today()


def _submit(db, v, days_ago: int) -> int:
    with clock.at(dt.datetime.combine(TODAY - dt.timedelta(days=days_ago), dt.time(9, 0))):
        return proposals.submit(db, v.actors["grid_worker"], household_id=v.household_ids[0],
                                rule_item_id=v.rule_ids["HJ01"], act_date=TODAY - dt.timedelta(days=days_ago))


def _reminders(db, v, today=TODAY):
    with db.read() as s:
        return cadence.reminders(s, v.id, today)


def test_items_waiting_longer_than_the_cadence_are_named_and_a_session_is_due(db, village):
    old, recent = _submit(db, village, 3), _submit(db, village, 0)
    r = _reminders(db, village)
    assert r.cadence == "daily" and r.waiting_total == 2
    assert r.overdue_count == 1 and [i.proposal_id for i in r.overdue] == [old] and r.overdue[0].days == 3
    notes = cadence.messages(r, TODAY)
    assert any("应于" in n and "待评议 2 件" in n for n in notes)
    assert any("1 件申报等待评议已超过评议周期（1 天）" in n and "3 天" in n for n in notes)
    settings.change(db, village.admin, village.id, "review_cadence", "weekly")
    assert _reminders(db, village).overdue_count == 0  # three days is within a week
    assert recent


def test_no_reminder_of_a_session_while_one_is_open_or_before_its_date(db, village):
    committee = village.actors["committee"]
    settings.change(db, village.admin, village.id, "review_cadence", "weekly")
    sid = sessions.open_session(db, committee, village.id, held_on=TODAY, attendee_ids=[committee.user_id])
    r = _reminders(db, village)
    assert r.session_open and not r.session_due(TODAY)
    sessions.close_session(db, committee, sid)
    r = _reminders(db, village)
    assert r.due == TODAY + dt.timedelta(days=7) and not r.session_due(TODAY)
    assert cadence.messages(r, TODAY) == []


def test_a_publicity_window_ended_with_an_objection_open_is_named_until_it_is_resolved(db, village):
    committee = village.actors["committee"]
    pid = _submit(db, village, 6)
    held = TODAY - dt.timedelta(days=5)
    with clock.at(dt.datetime.combine(held, dt.time(8, 30))):
        sid = sessions.open_session(db, committee, village.id, held_on=held, attendee_ids=[committee.user_id])
        review.decide(db, committee, sid, pid, "approved", votes=all_agree(db, sid))
    with db.write() as s:  # raised during the window, two days after the session
        publicity.log_objection_in(s, committee, pid, raised_by="邻居", reason="不属实",
                                   today=held + dt.timedelta(days=2))
    r = _reminders(db, village)
    assert r.blocked_count == 1 and r.blocked[0].proposal_id == pid and "未处理异议 1 件" in r.blocked[0].note
    assert r.blocked[0].days == (TODAY - r.blocked[0].since).days > 0
    assert any("公示期已满但异议未处理" in n for n in cadence.messages(r, TODAY))
    # the window still open: not yet a reminder
    assert _reminders(db, village, today=r.blocked[0].since).blocked_count == 0


def test_the_daily_summary_lists_the_reminders_and_their_items_for_excel_and_print(db, village):
    _submit(db, village, 4)
    r = _reminders(db, village)
    rows = cadence.summary_rows(r, TODAY)
    assert [x.text for x in rows if x.kind == "message"] == cadence.messages(r, TODAY)
    items = [x for x in rows if x.kind != "message"]
    assert [(x.kind, x.proposal_id) for x in items] == [("overdue", r.overdue[0].proposal_id)]
    assert cadence.summary_pdf(db, village.id, TODAY)[:4] == b"%PDF"


def test_the_workbench_tells_the_committee_and_offers_the_admin_the_summary(tmp_path, monkeypatch):
    from tests.app_helpers import app, db_for_env, use_data_dir
    from tests.factories import make_village

    use_data_dir(monkeypatch, tmp_path / "data", demo=False)
    db = db_for_env()
    v = make_village(db, households=2)
    _submit(db, v, 5)
    at = app(v.actors["committee"].user_id)
    at.switch_page("pages/home.py").run()
    assert not at.exception
    warnings = [w.value for w in at.warning]
    assert any("已超过评议周期" in w for w in warnings) and any("应于" in w for w in warnings)
    assert not any(b.proto.label.startswith("导出评议提醒") for b in at.get("download_button"))
    shown = at.dataframe[0].value  # the overdue items, under the reminder's name
    assert list(shown.columns) == ["kind", "proposal_id", "door_no", "head_name", "rule", "since", "days", "note"]
    assert list(shown["kind"]) == ["等待超过评议周期"] and shown.loc[0, "days"] >= 1
    at = app(v.admin.user_id)
    at.switch_page("pages/home.py").run()
    assert not at.exception
    labels = [b.proto.label for b in at.get("download_button")]
    assert "导出评议提醒日报（Excel）" in labels and "打印评议提醒日报（PDF）" in labels
    at = app(v.actors["cashier"].user_id)
    at.switch_page("pages/home.py").run()
    assert not any("评议周期" in w.value for w in at.warning)
    db.dispose()
