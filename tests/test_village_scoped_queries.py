"""The dashboards of one village read only that village's rows (issue 9, county scale).

Two checks on SQLite and PostgreSQL for what the village overview, the rankings page and the
volunteer-hours overview call:
- a busy neighbour village (more points, more hours, star volunteers) changes none of the numbers;
- every statement names the village on every table it reads that has a ``village_id`` column, so the
  database can use the village indexes instead of reading the whole county's households or residents.
"""

from __future__ import annotations

import datetime as dt
import re

from sqlalchemy import event, select, update

from core.points import posting
from core.reporting import periods, rankings, reports
from core.volunteering import volunteer_queries as vq
from db.models import Activity, Attendance, Base, Household, Resident, StarLevelEvent, VolunteerTotal
from tests.factories import make_village
from tests.test_reports_helpers import populate

TODAY = dt.date.today()
YEAR = periods.period_of("year", TODAY)
MONTH = periods.period_of("month", TODAY)
VILLAGE_TABLES = {t.name for t in Base.metadata.sorted_tables if "village_id" in t.c}


def add_star_volunteer(db, village_id: int, resident_id: int, minutes: int, level: int) -> None:
    with db.write() as s:
        s.add(VolunteerTotal(resident_id=resident_id, village_id=village_id, minutes=minutes, star_level=level))
        for lv in range(1, level + 1):
            s.add(StarLevelEvent(resident_id=resident_id, level=lv, reached_on=TODAY, minutes_at=minutes))


def busy_neighbour(db, township: str) -> None:
    """Another village with more points, hours and stars than the test village, in the same months."""
    n = make_village(db, name="邻村", code="N001", township=township)
    with db.write() as s:
        for i, (hid, rid) in enumerate(zip(n.household_ids, n.resident_ids, strict=True)):
            s.execute(update(Household).where(Household.id == hid).values(head_name=f"邻户{i + 1}"))
            s.execute(update(Resident).where(Resident.id == rid).values(name=f"邻户{i + 1}"))
    for i, (hid, rid) in enumerate(zip(n.household_ids, n.resident_ids, strict=True)):
        with db.write() as s:
            posting.post(s, household_id=hid, kind="earned", points=50 + i, source_type="t", source_id=f"n-e{i}",
                         occurred_on=TODAY, resident_id=rid, category_id=n.category_ids[0],
                         rule_item_id=n.rule_ids["HJ01"])
            posting.post(s, household_id=hid, kind="deducted", points=-3, source_type="t", source_id=f"n-d{i}",
                         occurred_on=TODAY, resident_id=rid, category_id=n.category_ids[0])
    with db.write() as s:
        act = Activity(village_id=n.id, title="邻村义务劳动", date=TODAY, status="done")
        s.add(act)
        s.flush()
        now = dt.datetime.combine(TODAY, dt.time(9))
        s.add_all([Attendance(village_id=n.id, activity_id=act.id, resident_id=rid, household_id=hid, minutes=600,
                              confirmed_at=now)
                   for hid, rid in zip(n.household_ids, n.resident_ids, strict=True)])
    for rid in n.resident_ids:
        add_star_volunteer(db, n.id, rid, 30000, 3)


def snapshot(db, village_id: int) -> dict:
    """Everything the three pages show for the village, as plain Python values."""

    def plain(rows):  # typed rows: dataclasses compare by value
        return list(rows)

    out = {}
    with db.read() as s:
        grid_id = reports.grids(s, village_id)[-1][0]
        out["overview"] = reports.overview(s, village_id, YEAR)
        out["overview_grid"] = reports.overview(s, village_id, YEAR, grid_id)
        out["trend"] = plain(reports.monthly_trend(s, village_id, YEAR.last_month, 12))
        out["category"] = plain(reports.by_category(s, village_id, YEAR))
        out["category_grid"] = plain(reports.by_category(s, village_id, YEAR, grid_id))
        out["by_grid"] = plain(reports.by_grid(s, village_id, YEAR))
        out["recent"] = plain(reports.recent_activity(s, village_id, 20))
        out["households"] = plain(rankings.households(s, village_id, YEAR))
        out["residents"] = plain(rankings.residents(s, village_id, YEAR))
        out["grids"] = plain(rankings.grids(s, village_id, YEAR))
        out["stars"] = plain(rankings.graded_households(s, village_id, TODAY.year))
        out["star_counts"] = rankings.star_counts(s, village_id, TODAY.year)
        h = rankings.honours(s, village_id, MONTH, top=3)
        out["honours"] = [plain(h.households), plain(h.residents), plain(h.volunteers)]
        first = s.execute(select(Household.id).where(Household.village_id == village_id)
                          .order_by(Household.id).limit(1)).scalar_one()
        out["rank"] = rankings.household_rank(s, village_id, first, YEAR)
    out["totals"] = vq.totals(db, village_id)  # typed rows: they compare as they are
    out["star_events"] = vq.star_events(db, village_id)
    out["leaderboard"] = vq.leaderboard(db, village_id)
    out["by_person_month"] = vq.hours_by_person_month(db, village_id, TODAY.year)
    out["by_activity"] = vq.hours_by_activity(db, village_id, YEAR.start, YEAR.end)
    return out


def test_a_busy_neighbour_village_changes_none_of_the_dashboards(db, village):
    populate(db, village, TODAY)
    add_star_volunteer(db, village.id, village.resident_ids[0], 6030, 1)
    alone = snapshot(db, village.id)
    assert alone["residents"] and alone["totals"] and alone["by_person_month"]
    busy_neighbour(db, village.township)
    assert snapshot(db, village.id) == alone
    assert "邻户" not in repr(alone)


def statements_of(db, fn) -> list[str]:
    seen: list[str] = []

    def record(conn, cursor, statement, parameters, context, executemany):
        seen.append(statement)

    event.listen(db.engine, "before_cursor_execute", record)
    try:
        fn()
    finally:
        event.remove(db.engine, "before_cursor_execute", record)
    return seen


def unscoped_tables(statement: str) -> set[str]:
    """Tables with a village_id that the statement reads without naming the village on them."""
    read = {m.group(1) for m in re.finditer(r"\b(?:FROM|JOIN)\s+\"?(\w+)\"?", statement)}
    return {t for t in read & VILLAGE_TABLES
            if not re.search(rf"\b{t}\.village_id\s*(=|IN\b)", statement)}


def test_unscoped_tables_finds_a_join_without_the_village():
    assert unscoped_tables("SELECT 1 FROM resident JOIN household ON household.id = resident.household_id "
                           "WHERE resident.village_id = ?") == {"household"}
    assert unscoped_tables("SELECT 1 FROM household_month WHERE household_month.village_id = %(v)s") == set()


def test_every_dashboard_statement_names_the_village_on_each_village_table(db, village):
    populate(db, village, TODAY)
    add_star_volunteer(db, village.id, village.resident_ids[0], 6030, 1)
    busy_neighbour(db, village.township)
    statements = statements_of(db, lambda: snapshot(db, village.id))
    assert len(statements) > 30
    problems = {" ".join(st.split())[:200]: sorted(bad) for st in statements if (bad := unscoped_tables(st))}
    assert problems == {}
