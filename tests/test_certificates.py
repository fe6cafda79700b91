"""Certificate numbers (志愿服务证明编号) on SQLite and PostgreSQL: issued at the same instant they
are still distinct and consecutive, and a gap or a foreign number never makes the next one collide."""

from __future__ import annotations

import datetime as dt
import threading

from sqlalchemy import select

from core.volunteering import certificates, service_hours
from core.volunteering import volunteer as vol
from db.models import Certificate, Village

FROM, TO = dt.date(2026, 1, 1), dt.date(2026, 12, 31)
PARALLEL = 8  # below the test PostgreSQL pool (5 + 5 overflow)


def _confirmed_volunteer(db, village) -> int:
    lead = village.actors["volunteer_lead"]
    aid = vol.create_activity(db, lead, title="清扫村道", date=dt.date(2026, 5, 1), points_per_hour=0)
    rid = village.resident_ids[0]
    service_hours.set_minutes(db, lead, aid, rid, 120)
    service_hours.confirm(db, lead, aid)
    return rid


def _prefix(db, village) -> str:
    with db.read() as s:
        code = s.get(Village, village.id).code
    return f"ZY-{code}-{dt.date.today().year}-"


def test_certificates_issued_at_the_same_instant_get_distinct_consecutive_numbers(db, village):
    rid = _confirmed_volunteer(db, village)
    lead = village.actors["volunteer_lead"]
    barrier = threading.Barrier(PARALLEL)
    ids: list[int] = []
    errors: list[BaseException] = []

    def issue() -> None:
        barrier.wait()
        try:
            ids.append(certificates.issue(db, lead, rid, FROM, TO))
        except BaseException as e:  # any error at all is the failure being tested
            errors.append(e)

    threads = [threading.Thread(target=issue) for _ in range(PARALLEL)]
    for t in threads:
        t.start()
    for t in threads:
        t.join()
    assert errors == []
    with db.read() as s:
        numbers = sorted(s.execute(select(Certificate.number).where(Certificate.id.in_(ids))).scalars())
    prefix = _prefix(db, village)
    assert numbers == [f"{prefix}{n:04d}" for n in range(1, PARALLEL + 1)]


def test_the_next_number_follows_the_highest_even_after_a_gap(db, village):
    rid = _confirmed_volunteer(db, village)
    lead = village.actors["volunteer_lead"]
    prefix = _prefix(db, village)
    first = certificates.issue(db, lead, rid, FROM, TO)
    with db.write() as s:  # e.g. numbers carried over from a paper register: 0001, then 0007
        s.add(Certificate(number=f"{prefix}0007", village_id=village.id, resident_id=rid, period_from=FROM,
                          period_to=TO, total_minutes=120))
    nxt = certificates.issue(db, lead, rid, FROM, TO)
    assert certificates.data_for(db, village.id, first).number == f"{prefix}0001"
    assert certificates.data_for(db, village.id, nxt).number == f"{prefix}0008"  # a count would give 0003


def test_numbers_keep_counting_past_9999(db, village):
    rid = _confirmed_volunteer(db, village)
    prefix = _prefix(db, village)
    with db.write() as s:
        s.add(Certificate(number=f"{prefix}9999", village_id=village.id, resident_id=rid, period_from=FROM,
                          period_to=TO, total_minutes=120))
    a = certificates.issue(db, village.actors["volunteer_lead"], rid, FROM, TO)
    b = certificates.issue(db, village.actors["volunteer_lead"], rid, FROM, TO)
    numbers = [certificates.data_for(db, village.id, c).number for c in (a, b)]
    assert numbers == [f"{prefix}10000", f"{prefix}10001"]  # "10000" sorts before "9999" as text
