"""Service-level measurements: the real core functions against a benchmark database."""

from __future__ import annotations

import datetime as dt
import statistics
import time
import uuid

from sqlalchemy import select, text

from bench.data import Sample
from bench.timing import Result, measure, p95
from core.points import balances
from core.village import cards
from db.engine import Database


def _card_call(db: Database, sm: Sample):
    def run(i: int) -> None:
        with db.read() as s:
            cards.resolve(s, sm.village_id, sm.tokens[i % len(sm.tokens)])
    return run


def _balance_call(db: Database, sm: Sample):
    def run(i: int) -> None:
        with db.read() as s:
            _ = balances.balance(s, sm.households[(i * 7) % len(sm.households)]).balance
    return run


def _checkout_call(db: Database, sm: Sample):
    from core.supermarket import shop

    actor = sm.actors["cashier"]

    def run(i: int) -> None:
        hid = sm.households[(i * 3) % len(sm.households)]
        shop.checkout(db, actor, household_id=hid, card_id=sm.cards[hid], cart={sm.product_id: 1},
                      cart_key=f"bench-{uuid.uuid4().hex}")
    return run


def card_lookup(db: Database, sm: Sample, n: int) -> Result:
    return measure("card look-up (cards.resolve)", _card_call(db, sm), n, warmup=3)


def balance_read(db: Database, sm: Sample, n: int) -> Result:
    return measure("balance read (ledger.balance)", _balance_call(db, sm), n, warmup=3)


def checkout_commit(db: Database, sm: Sample, n: int) -> Result:
    return measure("checkout commit (shop.checkout, 1 line)", _checkout_call(db, sm), n, warmup=2)


def growth(small: tuple[Database, Sample], big: tuple[Database, Sample], n_fast: int, n_write: int) -> dict:
    """Card look-up, balance read and checkout on a small and on this (large) database, one call
    on each in turn (``_in_turn``), so that the machine's speed — which drifted 2x within minutes
    on a shared virtual machine — weighs on both sides alike. Returns the medians and big/small
    ratios."""
    out: dict = {}
    for key, make, n in (("card", _card_call, n_fast), ("balance", _balance_call, n_fast),
                         ("checkout", _checkout_call, n_write)):
        t_small, t_big = _in_turn(lambda i: None, make(*small), make(*big), n, warmup=3)
        small_ms, big_ms = statistics.median(t_small) * 1000, statistics.median(t_big) * 1000
        out[key] = {"n": n, "small_median_ms": round(small_ms, 3), "big_median_ms": round(big_ms, 3),
                    "ratio": round(big_ms / small_ms, 3)}
    return out


# ---------------------------------------------------------------- review: 200 proposals


def _positive_rules(db: Database, village_id: int) -> list[int]:
    from db.models import RuleItem

    with db.read() as s:
        return list(s.execute(select(RuleItem.id).where(RuleItem.village_id == village_id, RuleItem.active,
                                                        RuleItem.points > 0, RuleItem.cap_count.is_(None))
                              .order_by(RuleItem.id)).scalars()) or list(
            s.execute(select(RuleItem.id).where(RuleItem.village_id == village_id, RuleItem.active,
                                                RuleItem.points > 0).order_by(RuleItem.id)).scalars())


def _submit_batch(db: Database, sm: Sample, rules: list[int], size: int) -> list[int]:
    from core.committee import proposals

    actor = sm.actors.get("committee") or sm.actors["admin"]
    ids = []
    with db.write() as s:
        for k in range(size):
            ids.append(proposals.submit_in(s, actor, household_id=sm.households[k % len(sm.households)],
                                           rule_item_id=rules[k % len(rules)],
                                           act_date=sm.today - dt.timedelta(days=1), note="基准测试"))
    return ids


def _open_session(db: Database, sm: Sample) -> int:
    from core.committee import sessions

    actor = sm.actors["admin"]
    with db.read() as s:
        current = sessions.open_session_of(s, sm.village_id)
        members = [u.id for u in sessions.committee_members(s, sm.village_id)]
    if current is not None:
        sessions.close_session(db, actor, current.id)
    return sessions.open_session(db, actor, sm.village_id, held_on=sm.today, attendee_ids=members, note="基准测试")


def _all_agree(db: Database, session_id: int) -> dict[int, str]:
    """The votes of a 全体同意 click: an agree entered for each voting attendee present."""
    from core.committee import attendance

    with db.read() as s:
        return attendance.unanimous(attendance.present(s, session_id))


def _in_turn(setup, first, second, n: int, warmup: int = 1) -> tuple[list[float], list[float]]:
    """Time ``first(i)`` and ``second(i)`` alternately (the order swapped every round), each after
    an untimed ``setup(i)``: a drift of the machine's speed then weighs on both alike."""
    t_first: list[float] = []
    t_second: list[float] = []
    for i in range(-warmup, n):
        pair = ((first, t_first), (second, t_second))
        for fn, acc in (pair if i % 2 == 0 else pair[::-1]):
            setup(i)
            t = time.perf_counter()
            fn(i)
            if i >= 0:
                acc.append(time.perf_counter() - t)
    return t_first, t_second


def _result(name: str, times: list[float]) -> Result:
    return Result(name, len(times), statistics.median(times) * 1000, p95(times) * 1000)


def _against_raw(db: Database, sm: Sample, name: str, make_app_call, n: int, size: int) -> tuple[Result, Result]:
    """The app's way (``make_app_call(session_id)(ids)``) on a fresh batch of ``size`` proposals and
    the same writes in raw SQL on another fresh batch, timed in turn. The raw run writes into a
    session of its own, opened first (opening the app's session closes it)."""
    from core.committee import sessions

    actor = sm.actors["admin"]
    rules = _positive_rules(db, sm.village_id)
    raw_sid = _open_session(db, sm)
    sid = _open_session(db, sm)
    app_call = make_app_call(sid)
    batch: dict[str, list[int]] = {}

    def setup(i: int) -> None:
        batch["ids"] = _submit_batch(db, sm, rules, size)

    try:
        app_times, raw_times = _in_turn(
            setup, lambda i: app_call(batch["ids"]),
            lambda i: _raw_decide_post(db, raw_sid, actor.user_id, sm.village_id, batch["ids"]), n)
    finally:
        sessions.close_session(db, actor, sid)
    app_res = _result(name, app_times)
    raw_res = _result(f"the same {size} decisions + postings in raw SQL (executemany)", raw_times)
    ratio = raw_res.median_ms / app_res.median_ms if app_res.median_ms else 0
    app_res.extra["rate_vs_raw"] = round(ratio, 2)
    app_res.note = f"{ratio:.2f}× the raw-SQL rate (timed in turn)"
    return app_res, raw_res


def decide_and_post(db: Database, sm: Sample, n: int, size: int = 200) -> tuple[Result, Result]:
    """bulk_approve + post_due of ``size`` fresh proposals, vs the same writes in raw SQL, in turn."""
    from core.committee import publicity, review

    actor = sm.actors["admin"]
    later = sm.today + dt.timedelta(days=60)

    def make(sid: int):
        votes = _all_agree(db, sid)

        def call(ids: list[int]) -> None:
            done = review.bulk_approve(db, actor, sid, ids, votes=votes)
            assert done.approved == size, (done.approved, done.skipped)
            publicity.post_due(db, actor, sm.village_id, today=later)
        return call

    return _against_raw(db, sm, f"decide + post {size} proposals (review.bulk_approve + publicity.post_due)",
                        make, n, size)


def decide_and_post_direct(db: Database, sm: Sample, n: int, size: int = 200) -> Result:
    """The same batch in a village without a 公示 window (setting publicity_days = 0):
    ``review.bulk_approve`` decides and posts in one transaction, like the raw-SQL run; timed in
    turn with raw SQL of its own, and its ratio is against that."""
    from core.committee import review
    from core.platform import settings

    actor = sm.actors["admin"]
    with db.read() as s:
        days = settings.get(s, sm.village_id, "publicity_days")
    settings.change(db, actor, sm.village_id, "publicity_days", 0)

    def make(sid: int):
        votes = _all_agree(db, sid)

        def call(ids: list[int]) -> None:
            assert review.bulk_approve(db, actor, sid, ids, votes=votes).approved == size
        return call

    try:
        res, raw = _against_raw(
            db, sm, f"decide + post {size} proposals without a 公示 window (review.bulk_approve, one transaction)",
            make, n, size)
    finally:
        settings.change(db, actor, sm.village_id, "publicity_days", days)
    res.extra["raw_median_ms"] = round(raw.median_ms, 2)
    return res


def _raw_decide_post(db: Database, session_id: int, user_id: int, village_id: int, ids: list[int]) -> None:
    """What deciding and posting writes, as plain statements in one transaction:
    decision rows, a vote per member present, proposal updates, ledger entries, account
    updates, summary upserts, an audit row."""
    now = dt.datetime.now().replace(microsecond=0)
    with db.write() as s:
        rows = s.execute(text(
            "SELECT p.id, p.household_id, p.resident_id, p.points, p.act_date, r.id, r.category_id, h.grid_id "
            "FROM proposal p JOIN rule_item r ON r.id = p.rule_item_id JOIN household h ON h.id = p.household_id "
            "WHERE p.id IN (" + ",".join(str(int(i)) for i in ids) + ")")).all()
        s.execute(text("INSERT INTO decision (session_id, proposal_id, outcome, points, reason, decided_by, "
                       "decided_at) VALUES (:s, :p, 'approved', :pts, '', :u, :now)"),
                  [{"s": session_id, "p": r[0], "pts": r[3], "u": user_id, "now": now} for r in rows])
        s.execute(text("INSERT INTO vote (decision_id, attendee_id, vote) SELECT d.id, a.id, 'agree' FROM decision d "
                       "JOIN session_attendee a ON a.session_id = d.session_id WHERE d.session_id = :s AND "
                       "d.proposal_id IN (" + ",".join(str(int(r[0])) for r in rows) + ")"), {"s": session_id})
        entries = []
        for r in rows:
            day = r[4] if isinstance(r[4], dt.date) else dt.date.fromisoformat(str(r[4]))
            entries.append({"v": village_id, "h": r[1], "res": r[2], "d": r[3], "st": "proposal", "sid": str(r[0]),
                            "ri": r[5], "c": r[6], "day": day, "m": day.year * 100 + day.month, "u": user_id,
                            "now": now, "g": r[7], "p": r[0]})
        s.execute(text("INSERT INTO ledger_entry (village_id, household_id, resident_id, kind, delta_balance, "
                       "delta_earned, source_type, source_id, rule_item_id, category_id, occurred_on, month, "
                       "reason, created_by, created_at) VALUES (:v, :h, :res, 'earned', :d, :d, :st, :sid, :ri, "
                       ":c, :day, :m, '', :u, :now)"), entries)
        s.execute(text("UPDATE account SET balance = balance + :d, earned_total = earned_total + :d, "
                       "entries = entries + 1, updated_at = :now WHERE household_id = :h"), entries)
        s.execute(text("INSERT INTO household_month (household_id, month, village_id, grid_id, earned, deducted, "
                       "redeemed, other) VALUES (:h, :m, :v, :g, :d, 0, 0, 0) ON CONFLICT (household_id, month) "
                       "DO UPDATE SET earned = household_month.earned + excluded.earned"), entries)
        s.execute(text("INSERT INTO category_month (village_id, month, category_id, points, entries) VALUES "
                       "(:v, :m, :c, :d, 1) ON CONFLICT (village_id, month, category_id) DO UPDATE SET "
                       "points = category_month.points + excluded.points, "
                       "entries = category_month.entries + 1"), entries)
        s.execute(text("UPDATE proposal SET status = 'posted', decided_points = points, session_id = :s, "
                       "posted_entry_id = (SELECT id FROM ledger_entry WHERE source_type = 'proposal' "
                       "AND source_id = :sid) WHERE id = :p"), [{**e, "s": session_id} for e in entries])
        s.execute(text("INSERT INTO audit_log (at, user_id, village_id, action, target_type, target_id, detail, "
                       "reason) VALUES (:now, :u, :v, 'review.bulk_approve', 'review_session', :s, '', '')"),
                  {"now": now, "u": user_id, "v": village_id, "s": str(session_id)})


# ---------------------------------------------------------------- read views


def overview_queries(db: Database, sm: Sample, n: int) -> Result:
    from core.reporting import reports
    from core.reporting.periods import period_of

    period = period_of("year", sm.today)

    def run(i: int) -> None:
        with db.read() as s:
            reports.grids(s, sm.village_id)
            reports.overview(s, sm.village_id, period, None)
            reports.monthly_trend(s, sm.village_id, period.last_month, 12, None)
            reports.by_category(s, sm.village_id, period, None)
            reports.by_grid(s, sm.village_id, period)
            reports.recent_activity(s, sm.village_id, 20)
    return measure("village overview queries (reports.*, a year)", run, n, warmup=1)


def rankings_queries(db: Database, sm: Sample, n: int) -> Result:
    from core.reporting import rankings
    from core.reporting.periods import period_of

    period = period_of("year", sm.today)

    def run(i: int) -> None:
        with db.read() as s:
            rankings.households(s, sm.village_id, period)
            rankings.residents(s, sm.village_id, period)
            rankings.grids(s, sm.village_id, period)
            rankings.graded_households(s, sm.village_id, sm.today.year)
            rankings.star_counts(s, sm.village_id, sm.today.year)
            rankings.honours(s, sm.village_id, period)
    return measure("rankings (rankings.*, a year)", run, n, warmup=1)


def resident_view(db: Database, sm: Sample, n: int) -> Result:
    from core.public import resident

    def run(i: int) -> None:
        resident.view(db, sm.tokens[(i * 5) % len(sm.tokens)], client="bench")
    return measure("resident view (resident.view)", run, n, warmup=2)


def volunteer_overview(db: Database, sm: Sample, n: int) -> Result:
    from core.volunteering import volunteer_queries as vq

    year = sm.today.year

    def run(i: int) -> None:
        vq.totals(db, sm.village_id)
        vq.star_events(db, sm.village_id)
        vq.leaderboard(db, sm.village_id)
        vq.hours_by_person_month(db, sm.village_id, year)
        vq.hours_by_activity(db, sm.village_id, dt.date(year, 1, 1), dt.date(year, 12, 31))
    return measure("volunteer-hours overview (volunteer_queries.*)", run, n, warmup=1)


def county_compare(db: Database, sm: Sample, n: int) -> Result:
    from core.reporting import comparison
    from core.reporting.periods import period_of

    actor = sm.actors.get("township_viewer") or sm.actors["admin"]
    period = period_of("year", sm.today)
    with db.read() as s:
        villages = len(comparison.villages_for(s, actor))

    def run(i: int) -> None:
        with db.read() as s:
            comparison.compare(s, actor, period)
    # the measurement keeps its name (results are compared by name): the function is comparison.compare now
    r = measure("township comparison (reports.compare, a year)", run, n, warmup=1)
    r.note = f"{villages} villages compared"
    return r


def county_levels(db: Database, sm: Sample, n: int) -> Result:
    """The county admin's comparison: every village of the bench county, then added up by township
    and by county (core.reporting.comparison), a year."""
    from core.platform.access import Actor
    from core.reporting import comparison
    from core.reporting.periods import period_of
    from db.models import Village

    with db.read() as s:
        county = s.get(Village, sm.village_id).county
    actor = Actor(user_id=None, name="县级管理员", roles=frozenset({"county_admin"}), county=county)
    period = period_of("year", sm.today)
    with db.read() as s:
        villages = len(comparison.villages_for(s, actor))

    def run(i: int) -> None:
        with db.read() as s:
            for level in comparison.LEVELS:
                comparison.compare(s, actor, period, level)
    r = measure("county comparison, three levels (comparison.compare, a year)", run, n, warmup=1)
    r.note = f"{villages} villages, by village, township and county"
    return r


def timed(fn, *a, **kw):
    t = time.perf_counter()
    out = fn(*a, **kw)
    return out, time.perf_counter() - t
