"""The demo village's charity-field year reads like the seed village's (about 20 亩, about
14 t, 500+ people reached) and its produce stock adds up."""

from __future__ import annotations

import datetime as dt

from core.charity import distribution, produce
from core.charity.field_report import season_report
from startup.demo import build_demo


def test_the_demo_field_year_matches_the_seed_story_and_its_stock_adds_up(sqlite_db):
    (vid,) = build_demo(sqlite_db, steps=["startup.demo_shop", "startup.demo_field"])
    today = dt.date.today()
    rep = season_report(sqlite_db, vid, today - dt.timedelta(days=365), today)
    assert 18 <= rep.area_mu <= 22
    assert 13_000_000 <= rep.harvested_grams <= 15_000_000
    assert rep.work_days >= 30
    assert rep.people >= 500
    assert produce.verify_produce(sqlite_db, vid) == []
    rounds = distribution.rounds(sqlite_db, vid)
    assert sum(r.delivered < r.households for r in rounds) == 1  # one round partly undelivered
    stock = produce.stock(sqlite_db, vid)
    assert stock and all(s.grams >= 0 for s in stock)


def test_a_thousand_households_with_bounds_still_sum_exactly():
    from core.charity.allocation import Claim, allocate

    claims = [Claim(i, 1 + i % 5, (("elderly", "dibao", "wubao")[i % 3],)) for i in range(1, 1001)]
    out = allocate(123_457, claims, "weighted", {"elderly": 1.0, "dibao": 1.5, "wubao": 2.0}, 50, 300)
    assert sum(out.values()) == 123_457
    assert min(out.values()) >= 50 and max(out.values()) <= 300
