"""``core.points.posting.post_many`` (the set-based path bulk approval and 公示 posting use) must write
exactly what the same entries posted one by one through ``post`` write: the same
entries, balances, earned totals and summary rows — and refuse the same things."""

from __future__ import annotations

import datetime as dt
import itertools

import pytest
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st
from sqlalchemy import func, select

from core.committee import proposals, publicity, review, sessions
from core.maintenance.verify import verify
from core.platform import settings as village_settings
from core.platform.errors import AlreadyDone, InsufficientPoints, InvalidInput, NotFound
from core.points.posting import Posting, post, post_many
from db.models import Account, AuditLog, CategoryMonth, Decision, HouseholdMonth, LedgerEntry, Proposal, Vote
from tests.factories import all_agree, give_points, make_village

TODAY = dt.date.today()
_RUN = itertools.count()
KINDS = ("earned", "deducted", "volunteer", "base", "base_locked", "redeemed", "redeem_void", "adjustment",
         "clearing")


def _points(kind: str, n: int) -> int:
    if kind in ("deducted", "redeemed"):
        return -n
    if kind in ("adjustment", "clearing"):
        return n if n % 2 else -n
    return n


posting = st.tuples(st.integers(0, 2), st.sampled_from(KINDS), st.integers(1, 40), st.integers(0, 70),
                    st.booleans())


def _state(db, v):
    """Accounts, household_month and category_month of a village, keyed by household index."""
    index = {h: i for i, h in enumerate(v.household_ids)}
    with db.read() as s:
        accounts = sorted((index[a.household_id], a.balance, a.earned_total, a.entries)
                          for a in s.execute(select(Account).where(Account.village_id == v.id)).scalars())
        months = sorted((index[m.household_id], m.month, m.earned, m.deducted, m.redeemed, m.other)
                        for m in s.execute(select(HouseholdMonth).where(HouseholdMonth.village_id == v.id)).scalars())
        cats = sorted((v.category_ids.index(c.category_id), c.month, c.points, c.entries)
                      for c in s.execute(select(CategoryMonth).where(CategoryMonth.village_id == v.id)).scalars())
        entries = [(index[e.household_id], e.kind, e.delta_balance, e.delta_earned, e.month, e.reason,
                    e.source_id.split(":")[-1]) for e in s.execute(
            select(LedgerEntry).where(LedgerEntry.village_id == v.id).order_by(LedgerEntry.id)).scalars()]
    return accounts, months, cats, entries


@pytest.fixture
def pair(db):
    a = make_village(db, name="一村", code="A001", households=3)
    b = make_village(db, name="二村", code="B001", households=3)
    for v in (a, b):
        for i, h in enumerate(v.household_ids):
            give_points(db, h, 30, f"start:{v.id}:{i}")
    return db, a, b


@settings(max_examples=25, deadline=None, suppress_health_check=[HealthCheck.function_scoped_fixture])
@given(batch=st.lists(posting, min_size=1, max_size=12))
def test_post_many_writes_what_post_writes_one_by_one(pair, batch):
    db, a, b = pair
    tag = next(_RUN)  # hypothesis may replay an example: each run posts fresh causes

    def postings(v):
        return [Posting(household_id=v.household_ids[h], kind=k, points=_points(k, n), source_type="t",
                        source_id=f"{v.id}:{tag}:{i}", occurred_on=TODAY - dt.timedelta(days=days),
                        category_id=v.category_ids[0] if cat else None, reason=f"第{i}笔")
                for i, (h, k, n, days, cat) in enumerate(batch)]

    one_error = many_error = None
    try:
        with db.write() as s:
            for p in postings(a):
                post(s, household_id=p.household_id, kind=p.kind, points=p.points,
                     source_type=p.source_type, source_id=p.source_id, occurred_on=p.occurred_on,
                     category_id=p.category_id, reason=p.reason)
    except (InsufficientPoints, InvalidInput) as e:
        one_error = type(e)
    try:
        with db.write() as s:
            ids = post_many(s, postings(b))
        assert len(ids) == len(batch) and ids == sorted(ids)
    except (InsufficientPoints, InvalidInput) as e:
        many_error = type(e)
    assert one_error == many_error
    assert _state(db, a) == _state(db, b)


def test_post_many_refuses_a_cause_twice_in_one_batch_or_posted_before_and_writes_nothing(db):
    v = make_village(db, households=2)
    h = v.household_ids[0]
    first = Posting(household_id=h, kind="earned", points=5, source_type="t", source_id="x")
    with db.write() as s:
        post_many(s, [first])
    for batch in ([Posting(household_id=h, kind="earned", points=1, source_type="t", source_id="y")] * 2,
                  [Posting(household_id=h, kind="earned", points=1, source_type="t", source_id="z"), first]):
        with pytest.raises(AlreadyDone), db.write() as s:
            post_many(s, batch)
    with pytest.raises(InsufficientPoints), db.write() as s:
        post_many(s, [Posting(household_id=h, kind="earned", points=2, source_type="t", source_id="a"),
                      Posting(household_id=h, kind="redeemed", points=-8, source_type="t", source_id="b")])
    with pytest.raises(NotFound), db.write() as s:
        post_many(s, [Posting(household_id=10**9, kind="earned", points=2, source_type="t", source_id="c")])
    with db.read() as s:
        assert s.execute(select(func.count()).select_from(LedgerEntry)).scalar_one() == 1
        assert s.get(Account, h).balance == 5
    assert verify(db) == []


def _submit(db, v, n, code="HJ01"):
    with db.write() as s:
        return [proposals.submit_in(s, v.actors["committee"], household_id=v.household_ids[k % len(v.household_ids)],
                                    rule_item_id=v.rule_ids[code], act_date=TODAY - dt.timedelta(days=1), note="门前")
                for k in range(n)]


def _session(db, v):
    with db.read() as s:
        members = [u.id for u in sessions.committee_members(s, v.id)]
    return sessions.open_session(db, v.actors["admin"], v.id, held_on=TODAY, attendee_ids=members), members


def test_bulk_approve_records_each_decision_and_vote_then_post_due_posts_each_once(db):
    v = make_village(db, households=3)
    sid, members = _session(db, v)
    ids = _submit(db, v, 5)
    votes = all_agree(db, sid)
    done = review.bulk_approve(db, v.actors["committee"], sid, ids + ids[:2], votes=votes)
    assert (done.approved, done.skipped) == (5, 0)
    again = review.bulk_approve(db, v.actors["committee"], sid, ids, votes=votes)
    assert (again.approved, again.skipped) == (0, 5)
    with db.read() as s:
        props = s.execute(select(Proposal).where(Proposal.id.in_(ids))).scalars().all()
        assert {p.status for p in props} == {"publicity"}
        assert all(p.publicity_until >= TODAY and p.decided_points == p.points and p.session_id == sid for p in props)
        assert s.execute(select(func.count()).select_from(Decision)).scalar_one() == 5
        assert s.execute(select(func.count()).select_from(Vote)).scalar_one() == 5 * len(members)
    later = TODAY + dt.timedelta(days=30)
    assert publicity.post_due(db, today=later) == 5
    assert publicity.post_due(db, today=later) == 0
    with db.read() as s:
        rows = s.execute(select(Proposal.posted_entry_id, LedgerEntry.source_id, LedgerEntry.reason)
                         .join(LedgerEntry, LedgerEntry.id == Proposal.posted_entry_id)
                         .where(Proposal.id.in_(ids)).order_by(Proposal.id)).all()
        assert [r.source_id for r in rows] == [str(i) for i in ids]
        assert all(r.reason.startswith("HJ01 ") and r.reason.endswith("：门前") for r in rows)
        audit = s.execute(select(AuditLog.action).where(AuditLog.action.in_(
            ("review.bulk_approve", "publicity.post_due")))).scalars().all()
        assert sorted(audit) == ["publicity.post_due", "review.bulk_approve", "review.bulk_approve"]
    assert verify(db) == []


def test_bulk_approve_posts_at_once_without_a_publicity_window(db):
    v = make_village(db, households=2)
    village_settings.change(db, v.actors["admin"], v.id, "publicity_days", 0)
    sid, _ = _session(db, v)
    ids = _submit(db, v, 4)
    done = review.bulk_approve(db, v.actors["committee"], sid, ids, votes=all_agree(db, sid))
    assert (done.approved, done.skipped, done.publicity_until) == (4, 0, None)
    with db.read() as s:
        assert set(s.execute(select(Proposal.status).where(Proposal.id.in_(ids))).scalars()) == {"posted"}
        assert s.execute(select(func.count()).select_from(LedgerEntry)).scalar_one() == 4
    assert verify(db) == []


def test_bulk_approve_with_a_proposal_of_another_village_changes_nothing(db):
    v = make_village(db, households=2)
    other = make_village(db, name="邻村", code="N001", households=1)
    sid, _ = _session(db, v)
    ids = _submit(db, v, 2) + _submit(db, other, 1)
    with pytest.raises(NotFound):
        review.bulk_approve(db, v.actors["committee"], sid, ids, votes=all_agree(db, sid))
    with db.read() as s:
        assert s.execute(select(func.count()).select_from(Decision)).scalar_one() == 0
        assert set(s.execute(select(Proposal.status)).scalars()) == {"submitted"}
