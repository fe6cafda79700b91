"""Upgrades keep data, and the migrations build exactly the models, on SQLite and PostgreSQL.

- A database is created at the *first* revision (found from Alembic's script directory,
  however many revisions there are), filled with a village, households, accounts and
  ledger entries using only the columns that revision has, upgraded to head, and then
  core.maintenance.verify is clean, every row is still there, and the core can keep writing to it.
- ``alembic upgrade head`` on an empty database yields exactly Base.metadata: Alembic's
  autogenerate comparison finds no difference, and the append-only trigger is in place.
"""

from __future__ import annotations

import datetime as dt
import os

import pytest
from alembic import command
from alembic.autogenerate import compare_metadata
from alembic.migration import MigrationContext
from alembic.script import ScriptDirectory
from sqlalchemy import MetaData, func, insert, select, update
from sqlalchemy.exc import DBAPIError, IntegrityError

from core.maintenance.verify import verify
from core.points import posting
from db.engine import Database
from db.migrate import alembic_config
from db.models import Account, Base, LedgerEntry, Village
from tests.dbs import empty_database

PG_URL = os.environ.get("JIFEN_TEST_DATABASE_URL", "")


def upgrade_to(database: Database, revision: str) -> None:
    cfg = alembic_config()
    with database.engine.begin() as conn:
        cfg.attributes["connection"] = conn
        command.upgrade(cfg, revision)


def first_revision() -> str:
    bases = ScriptDirectory.from_config(alembic_config()).get_bases()
    assert len(bases) == 1, f"the migrations must start from one base revision, found {bases}"
    return bases[0]


def revisions() -> list[str]:
    return [s.revision for s in ScriptDirectory.from_config(alembic_config()).walk_revisions()]


def _fill_at_base(database: Database) -> dict:
    """Insert through the tables as the first revision made them (reflected), not through
    today's models: only columns that exist then, every NOT NULL one given a value."""
    meta = MetaData()
    meta.reflect(database.engine)
    t = meta.tables
    today = dt.date.today()
    now = dt.datetime.now().replace(microsecond=0)

    def row(table: str, **values):
        cols = t[table].c
        return {k: v for k, v in values.items() if k in cols}

    with database.engine.begin() as conn:
        vid = conn.execute(insert(t["village"]).values(row(
            "village", name="老数据村", township="老镇", county="老县", code="OLD1", is_demo=False, created_at=now))
            .returning(t["village"].c.id)).scalar_one()
        households = []
        for i in range(5):
            hid = conn.execute(insert(t["household"]).values(row(
                "household", village_id=vid, door_no=f"老-{i}", head_name=f"老户主{i}", phone="", address="",
                needs_delivery=False, active=True, created_at=now)).returning(t["household"].c.id)).scalar_one()
            households.append(hid)
            balance = earned = 0
            for j in range(4):
                pts = 5 + i + j
                conn.execute(insert(t["ledger_entry"]).values(row(
                    "ledger_entry", village_id=vid, household_id=hid, kind="earned", delta_balance=pts,
                    delta_earned=pts, source_type="legacy", source_id=f"{hid}:{j}", occurred_on=today,
                    month=today.year * 100 + today.month, reason="升级前的流水", created_at=now)))
                balance += pts
                earned += pts
            conn.execute(insert(t["account"]).values(row(
                "account", household_id=hid, village_id=vid, balance=balance, earned_total=earned, entries=4,
                updated_at=now)))
            conn.execute(insert(t["household_month"]).values(row(
                "household_month", household_id=hid, month=today.year * 100 + today.month, village_id=vid,
                grid_id=None, earned=earned, deducted=0, redeemed=0, other=0)))
    return {"village_id": vid, "households": households}


@pytest.mark.parametrize("kind", ["sqlite", "postgresql"])
def test_data_written_at_the_first_revision_survives_the_upgrade_to_head(kind, tmp_path):
    with empty_database(kind, tmp_path) as database:
        base = first_revision()
        upgrade_to(database, base)
        filled = _fill_at_base(database)
        with database.read() as s:  # only the columns the first revision has
            before = {h: (b, e) for h, b, e in s.execute(
                select(Account.household_id, Account.balance, Account.earned_total)).all()}
        upgrade_to(database, "head")

        with database.engine.connect() as conn:
            heads = MigrationContext.configure(conn).get_current_heads()
        assert heads == tuple(ScriptDirectory.from_config(alembic_config()).get_heads())
        assert verify(database) == []
        with database.read() as s:
            after = {a.household_id: (a.balance, a.earned_total) for a in s.execute(select(Account)).scalars()}
            assert after == before
            assert s.execute(select(func.count()).select_from(LedgerEntry)).scalar_one() == 20
            assert s.get(Village, filled["village_id"]).name == "老数据村"
        # and the upgraded database takes new writes as usual
        hid = filled["households"][0]
        with database.write() as s:
            posting.post(s, household_id=hid, kind="redeemed", points=-5, source_type="after", source_id="1")
        assert verify(database) == []
        print(f"\nRELIABILITY migrations [{kind}]: {len(revisions())} revision(s), base {base}: "
              f"5 households and 20 entries kept across the upgrade")


@pytest.mark.parametrize("kind", ["sqlite", "postgresql"])
def test_deductions_that_lost_points_before_the_upgrade_are_recorded_as_outstanding(kind, tmp_path):
    """Before revision 0004 a deduction larger than the balance took only what was there and
    the rest was never taken. The upgrade records each such rest as 待扣 (a new entry naming
    the deduction) and settles it at once from points the household has again."""
    with empty_database(kind, tmp_path) as database:
        upgrade_to(database, "0003")
        filled = _fill_at_base(database)
        poor, recovered = filled["households"][:2]
        meta = MetaData()
        meta.reflect(database.engine)
        le, acc = meta.tables["ledger_entry"], meta.tables["account"]
        today = dt.date.today()
        month = today.year * 100 + today.month
        # poor: 5+6+7+8 = 26 points, then a 40-point deduction took 26 (14 lost)
        # recovered: 6+7+8+9 = 30 points, a 50-point deduction took 30 (20 lost), then earned 12
        with database.engine.begin() as conn:
            for hid, took, deduct, later in ((poor, 26, 40, 0), (recovered, 30, 50, 12)):
                conn.execute(insert(le).values(
                    village_id=filled["village_id"], household_id=hid, kind="deducted", delta_balance=-took,
                    delta_earned=-deduct, source_type="legacy", source_id=f"{hid}:d", occurred_on=today, month=month,
                    reason="旧扣分", created_at=dt.datetime.now()))
                if later:
                    conn.execute(insert(le).values(
                        village_id=filled["village_id"], household_id=hid, kind="earned", delta_balance=later,
                        delta_earned=later, source_type="legacy", source_id=f"{hid}:e", occurred_on=today, month=month,
                        reason="后来的加分", created_at=dt.datetime.now()))
                conn.execute(update(acc).where(acc.c.household_id == hid).values(
                    balance=later, earned_total=acc.c.earned_total - deduct + later,
                    entries=acc.c.entries + (2 if later else 1)))
                conn.execute(update(meta.tables["household_month"]).where(
                    meta.tables["household_month"].c.household_id == hid).values(
                    earned=meta.tables["household_month"].c.earned + later, deducted=deduct))
        upgrade_to(database, "head")
        assert verify(database) == []
        with database.read() as s:
            a_poor, a_rec = s.get(Account, poor), s.get(Account, recovered)
            assert (a_poor.balance, a_poor.outstanding) == (0, 14)
            assert (a_rec.balance, a_rec.outstanding) == (0, 8)  # 12 settled 12 of the 20
            kinds = s.execute(select(LedgerEntry.kind, LedgerEntry.delta_outstanding, LedgerEntry.source_id)
                              .where(LedgerEntry.household_id == recovered, LedgerEntry.id > 0)
                              .order_by(LedgerEntry.id)).all()
            assert [k for k, _, _ in kinds][-2:] == ["backfill", "settlement"]
            assert kinds[-2].delta_outstanding == 20 and kinds[-1].delta_outstanding == -12
        # from now on the next points settle what is left
        with database.write() as s:
            posting.post(s, household_id=recovered, kind="earned", points=10, source_type="after", source_id="1")
        with database.read() as s:
            a_rec = s.get(Account, recovered)
            assert (a_rec.balance, a_rec.outstanding) == (2, 0)
        assert verify(database) == []


@pytest.mark.parametrize("kind", ["sqlite", "postgresql"])
def test_upgrading_an_empty_database_to_head_builds_exactly_the_models(kind, tmp_path):
    with empty_database(kind, tmp_path) as database:
        upgrade_to(database, "head")
        with database.engine.connect() as conn:
            ctx = MigrationContext.configure(conn, opts={"compare_type": True, "compare_server_default": False})
            diff = compare_metadata(ctx, Base.metadata)
        assert diff == [], f"migrations and db/models differ: {diff}"
        # the append-only guard is part of the migrated schema too
        with database.engine.begin() as conn:
            vid = conn.execute(insert(Village.__table__).values(name="村", code="X1").returning(Village.id)).scalar()
        from db.models import Household
        with database.write() as s:
            h = Household(village_id=vid, door_no="1")
            s.add(h)
            s.flush()
            posting.open_account(s, h)
            s.flush()
            posting.post(s, household_id=h.id, kind="earned", points=3, source_type="t", source_id="1")
        with pytest.raises((IntegrityError, DBAPIError)), database.engine.begin() as conn:
            conn.execute(update(LedgerEntry.__table__).values(delta_balance=300))


def test_the_head_read_without_alembic_is_alembics_head():
    from db.migrate import head_revisions

    assert head_revisions() == set(ScriptDirectory.from_config(alembic_config()).get_heads())


_PREPARE = """
import sys
from core.platform import config
from db.migrate import current_revisions, head_revisions
from startup.prepare import prepare
db = prepare(config.load(), create_demo=False)
print(sorted(current_revisions(db)) == sorted(head_revisions()), "alembic" in sys.modules)
"""


@pytest.mark.parametrize("kind", ["sqlite", "postgresql"])
def test_starting_on_a_current_database_does_not_load_alembic_and_an_older_one_is_upgraded(kind, tmp_path):
    import subprocess
    import sys
    from pathlib import Path

    root = Path(__file__).resolve().parent.parent

    def start() -> str:
        env = {**os.environ, "JIFEN_DATABASE_URL": database.engine.url.render_as_string(hide_password=False), "JIFEN_DATA_DIR": str(tmp_path / "data"),
               "PYTHONPATH": str(root)}
        out = subprocess.run([sys.executable, "-c", _PREPARE], cwd=root, env=env, capture_output=True, text=True,
                             timeout=120)
        assert out.returncode == 0, out.stderr[-2000:]
        return out.stdout.split("\n")[-2]

    with empty_database(kind, tmp_path) as database:
        assert start() == "True True"  # an empty database: Alembic builds the schema
        assert start() == "True False"  # current: Alembic is not even imported
    (tmp_path / "older").mkdir()
    with empty_database(kind, tmp_path / "older") as database:
        upgrade_to(database, first_revision())  # a database left by an older version of the app
        assert first_revision() not in ScriptDirectory.from_config(alembic_config()).get_heads()
        assert start() == "True True"  # brought to head
        assert start() == "True False"


def _old_tables(database: Database):
    """The tables as the database's revision made them (reflected, not today's models), and ``add``,
    which inserts one row into one of them and returns its id."""
    meta = MetaData()
    meta.reflect(database.engine)
    t = meta.tables

    def add(conn, table: str, **values) -> int:
        return conn.execute(insert(t[table]).values(**values).returning(t[table].c.id)).scalar_one()

    return t, add


def _old_household(conn, add, now: dt.datetime) -> tuple[int, int]:
    """A village and one household in it, with only the columns every revision has: their ids."""
    vid = add(conn, "village", name="老数据村", township="老镇", county="老县", code="OLD1", is_demo=False,
              created_at=now)
    hid = add(conn, "household", village_id=vid, door_no="老-1", head_name="老户主", phone="", address="",
              needs_delivery=False, active=True, created_at=now)
    return vid, hid


@pytest.mark.parametrize("kind", ["sqlite", "postgresql"])
def test_attendance_and_votes_recorded_before_guests_could_be_named_survive_the_upgrade(kind, tmp_path):
    """Sessions recorded when only staff could attend (session_attendee keyed by user, vote by
    user) keep their attendees, in their names, and every vote, tied to the right attendee."""
    with empty_database(kind, tmp_path) as database:
        upgrade_to(database, "0002")
        t, add = _old_tables(database)
        now = dt.datetime(2026, 11, 30, 8, 30)
        day = now.date()
        with database.engine.begin() as conn:
            vid, hid = _old_household(conn, add, now)
            users = [add(conn, "staff_user", username=f"old{i}", display_name=name, password_hash="x",
                         roles="committee", village_id=vid, active=True, must_change_password=False,
                         failed_logins=0, created_at=now) for i, name in enumerate(("甲", "乙", "丙"))]
            cat = add(conn, "rule_category", village_id=vid, name="环境", sort=0, active=True)
            rule = add(conn, "rule_item", village_id=vid, category_id=cat, code="HJ01", name="整洁", points=5,
                       min_points=3, max_points=10, version=1, adopted_by="村民代表大会", active=True)
            sessions, decisions = [], []
            for k in range(2):
                sid = add(conn, "review_session", village_id=vid, held_on=day, opened_at=now, closed_at=now,
                          quorum_required=2, members_total=3, note="")
                sessions.append(sid)
                for uid in users[k:]:
                    conn.execute(insert(t["session_attendee"]).values(session_id=sid, user_id=uid))
                pid = add(conn, "proposal", village_id=vid, household_id=hid, rule_item_id=rule, points=5,
                          act_date=day, note="", source="grid", submitted_at=now, status="rejected", over_cap=False,
                          decision_reason="不属实", session_id=sid)
                did = add(conn, "decision", session_id=sid, proposal_id=pid, outcome="rejected", reason="不属实",
                          decided_at=now)
                decisions.append(did)
                for uid, vote in zip(users[k:], ("agree", "agree", "disagree"), strict=False):
                    conn.execute(insert(t["vote"]).values(decision_id=did, user_id=uid, vote=vote))

        upgrade_to(database, "head")

        from core.committee import attendance, minutes
        from db.models import SessionAttendee, Vote

        with database.read() as s:
            people = {sid: [(a.name, a.user_id, a.capacity, a.voting, a.present) for a in attendance.attendance(s, sid)]
                      for sid in sessions}
            votes = sorted(s.execute(select(Vote.decision_id, SessionAttendee.name, Vote.vote)
                                     .join(SessionAttendee, SessionAttendee.id == Vote.attendee_id)).all())
            first = minutes.minutes(s, sessions[0])
        assert people[sessions[0]] == [(n, u, "committee", True, True)
                                       for n, u in zip(("甲", "乙", "丙"), users, strict=True)]
        assert people[sessions[1]] == [(n, u, "committee", True, True)
                                       for n, u in zip(("乙", "丙"), users[1:], strict=True)]
        assert votes == sorted([(decisions[0], "甲", "agree"), (decisions[0], "乙", "agree"),
                                (decisions[0], "丙", "disagree"), (decisions[1], "乙", "agree"),
                                (decisions[1], "丙", "agree")])
        assert first.decisions[0].votes == "同意 2 · 反对 1（丙） · 弃权 0"


@pytest.mark.parametrize("kind", ["sqlite", "postgresql"])
def test_volunteer_records_made_before_outside_volunteers_survive_the_upgrade_with_their_guards(kind, tmp_path):
    """0013 rebuilds sign-ups, attendance, certificates and (on SQLite) the corrections that refer to
    attendance: every row keeps its id and values, the history guards are in place again, and the
    new CHECK holds from then on."""
    with empty_database(kind, tmp_path) as database:
        upgrade_to(database, "0010")
        t, add = _old_tables(database)
        now = dt.datetime(2026, 11, 30, 8, 30)
        with database.engine.begin() as conn:
            vid, hid = _old_household(conn, add, now)
            rid = add(conn, "resident", village_id=vid, household_id=hid, name="老志愿者", gender="男",
                      party_member=False, relation="户主", phone="", active=True)
            aid = add(conn, "activity", village_id=vid, title="老活动", category="", organiser="", place="",
                      date=now.date(), points_per_hour=2, status="done", tasks="", created_at=now)
            add(conn, "signup", activity_id=aid, resident_id=rid, status="signed", created_at=now)
            att = add(conn, "attendance", village_id=vid, activity_id=aid, resident_id=rid, household_id=hid,
                      minutes=90, confirmed_at=now)
            cid = add(conn, "hours_correction", attendance_id=att, requested_by="工作人员：甲", reason="漏记",
                      old_minutes=60, new_minutes=90, status="accepted", decided_at=now, decision_note="",
                      created_at=now)
            add(conn, "certificate", number="ZY-OLD1-2026-0001", village_id=vid, resident_id=rid,
                period_from=now.date(), period_to=now.date(), total_minutes=90, issued_at=now)

        upgrade_to(database, "head")

        from db.models import Attendance, Certificate, HoursCorrection, Signup

        with database.read() as s:
            assert s.execute(select(Attendance.id, Attendance.resident_id, Attendance.household_id,
                                    Attendance.outsider_id, Attendance.minutes)).all() == [(att, rid, hid, None, 90)]
            assert s.execute(select(HoursCorrection.id, HoursCorrection.attendance_id)).all() == [(cid, att)]
            assert s.execute(select(Signup.resident_id, Signup.status)).all() == [(rid, "signed")]
            assert s.execute(select(Certificate.number, Certificate.resident_id)).all() == [("ZY-OLD1-2026-0001", rid)]
        from db.history import guard_problems
        from db.models import HISTORY

        with database.engine.connect() as conn:
            assert guard_problems(conn, {k: HISTORY[k] for k in ("certificate", "hours_correction")}) == []
        with pytest.raises(DBAPIError), database.engine.begin() as conn:  # the certificate is history
            conn.execute(update(t["certificate"]).values(total_minutes=1))
        with pytest.raises(IntegrityError), database.engine.begin() as conn:  # neither person
            conn.execute(insert(t["signup"]).values(activity_id=aid, status="signed", created_at=now))


STATUS_TABLES = ("proposal", "objection", "card", "redemption", "activity", "signup", "hours_correction",
                 "distribution_round")


def _fill_statuses(database: Database, proposal_status: str = "posted") -> dict[str, int]:
    """At 0015 (no status CHECK yet): one row of every status table, each with a child that refers
    to it where the schema has one (objection, redemption, signup, attendance, allocation)."""
    _t, add = _old_tables(database)
    now = dt.datetime(2026, 12, 1, 9, 0)
    day = now.date()
    with database.engine.begin() as conn:
        vid, hid = _old_household(conn, add, now)
        rid = add(conn, "resident", village_id=vid, household_id=hid, name="老户主", gender="男", party_member=False,
                  relation="户主", phone="", active=True)
        cat = add(conn, "rule_category", village_id=vid, name="环境", sort=0, active=True)
        rule = add(conn, "rule_item", village_id=vid, category_id=cat, code="HJ01", name="整洁", points=5, min_points=3,
                   max_points=10, version=1, adopted_by="村民代表大会", active=True)
        pid = add(conn, "proposal", village_id=vid, household_id=hid, rule_item_id=rule, points=5, act_date=day,
                  note="", source="grid", submitted_at=now, status=proposal_status, over_cap=False,
                  decision_reason="")
        add(conn, "objection", proposal_id=pid, raised_by="村民甲", reason="不属实", logged_at=now, status="upheld",
            resolution="维持")
        card = add(conn, "card", village_id=vid, household_id=hid, token="OLD1000001", status="active", issued_at=now,
                   revoke_reason="")
        product = add(conn, "product", village_id=vid, name="肥皂", category="", kind="goods", price=5, unit="块",
                      stock=0, low_stock=5, active=True)
        red = add(conn, "redemption", village_id=vid, household_id=hid, card_id=card, receipt_no="DH0001",
                  cart_key="cart-1", total=5, month=202612, status="done", created_at=now, void_reason="",
                  delivery="pending")
        add(conn, "redemption_line", redemption_id=red, product_id=product, qty=1, price=5)
        aid = add(conn, "activity", village_id=vid, title="老活动", category="", organiser="", place="", date=day,
                  points_per_hour=2, status="done", tasks="", created_at=now)
        add(conn, "signup", activity_id=aid, resident_id=rid, status="waitlist", created_at=now)
        att = add(conn, "attendance", village_id=vid, activity_id=aid, resident_id=rid, household_id=hid, minutes=60)
        add(conn, "hours_correction", attendance_id=att, requested_by="工作人员：甲", reason="漏记", old_minutes=60,
            new_minutes=90, status="open", decision_note="", created_at=now)
        rnd = add(conn, "distribution_round", village_id=vid, title="秋收", crop="玉米", total_grams=1000,
                  rule="household", params="{}", status="confirmed", created_at=now)
        add(conn, "allocation", round_id=rnd, household_id=hid, category="", persons=1, grams=1000, signed_by="",
            via="", note="")
    return {"village": vid, "household": hid, "round": rnd}


def _rows(database: Database, tables=(*STATUS_TABLES, "redemption_line", "attendance", "allocation")) \
        -> dict[str, list]:
    meta = MetaData()
    meta.reflect(database.engine)
    with database.engine.connect() as conn:
        return {name: conn.execute(select(meta.tables[name]).order_by(*meta.tables[name].primary_key.columns)).all()
                for name in tables}


def _schema_objects(database: Database, tables=STATUS_TABLES) -> list:
    """Every index and trigger of ``tables`` as SQLite stores them (PostgreSQL: their indexes)."""
    with database.engine.connect() as conn:
        if database.is_sqlite:
            return sorted(conn.exec_driver_sql(
                "SELECT type, name, tbl_name, sql FROM sqlite_master WHERE type IN ('index', 'trigger') "
                f"AND tbl_name IN ({', '.join(repr(n) for n in tables)})").all())
        return sorted(conn.exec_driver_sql(
            "SELECT tablename, indexname, indexdef FROM pg_indexes WHERE schemaname = current_schema() "
            f"AND tablename IN ({', '.join(repr(n) for n in tables)})").all())


@pytest.mark.parametrize("kind", ["sqlite", "postgresql"])
def test_status_checks_are_added_and_removed_keeping_rows_indexes_and_history_triggers(kind, tmp_path):
    """0016 adds a CHECK per status column; on SQLite that rebuilds eight tables, some of them
    history tables and parents of other rows: every row, index and trigger is there again after
    the upgrade and after the downgrade, and only in between is an unknown status refused."""
    from db.history import guard_problems
    from db.models import HISTORY

    with empty_database(kind, tmp_path) as database:
        upgrade_to(database, "0015")
        ids = _fill_statuses(database)
        rows, objects = _rows(database), _schema_objects(database)
        assert any(o[0] == "trigger" for o in objects) or kind == "postgresql"

        upgrade_to(database, "0016")
        assert _rows(database) == rows
        assert _schema_objects(database) == objects
        with database.engine.connect() as conn:
            assert guard_problems(conn, HISTORY) == []
            if kind == "sqlite":
                assert conn.exec_driver_sql("PRAGMA foreign_key_check").all() == []
        assert verify(database) == []
        round_row = {"village_id": ids["village"], "title": "", "crop": "玉米", "total_grams": 1, "rule": "household",
                     "params": "{}", "created_at": dt.datetime(2026, 12, 2)}
        drt = Base.metadata.tables["distribution_round"]
        with pytest.raises(IntegrityError, match="ck_distribution_round_status_known"), \
                database.engine.begin() as conn:
            conn.execute(insert(drt).values(**round_row, status="finished"))
        with pytest.raises(DBAPIError, match="history table card"), database.engine.begin() as conn:
            conn.execute(update(Base.metadata.tables["card"]).values(token="changed"))  # the guard is back
        with database.engine.begin() as conn:  # a known value is written as before
            conn.execute(insert(drt).values(**round_row, status="draft"))

        _downgrade_to(database, "0015")
        assert _schema_objects(database) == objects
        with database.engine.connect() as conn:
            assert guard_problems(conn, HISTORY) == []
        with database.engine.begin() as conn:
            conn.execute(insert(drt).values(**round_row, status="finished"))  # no CHECK any more
        after = _rows(database)
        assert after["distribution_round"][:1] == rows["distribution_round"]
        assert {k: v for k, v in after.items() if k != "distribution_round"} == \
               {k: v for k, v in rows.items() if k != "distribution_round"}


@pytest.mark.parametrize("kind", ["sqlite", "postgresql"])
def test_an_unknown_status_stops_the_upgrade_with_a_message_naming_it(kind, tmp_path):
    with empty_database(kind, tmp_path) as database:
        upgrade_to(database, "0015")
        _fill_statuses(database, proposal_status="approved")
        rows = _rows(database)
        with pytest.raises(RuntimeError, match=r"proposal\.status：'approved' 1 行"):
            upgrade_to(database, "head")
        with database.engine.connect() as conn:
            assert MigrationContext.configure(conn).get_current_heads() == ("0015",)
        assert _rows(database) == rows


def _downgrade_to(database: Database, revision: str) -> None:
    cfg = alembic_config()
    with database.engine.begin() as conn:
        cfg.attributes["connection"] = conn
        command.downgrade(cfg, revision)


KIND_TABLES = ("ledger_entry", "household_event", "period_close", "honour_entry", "produce_move", "product",
               "stock_move", "decision")
# the kind tables and the rows that refer to them (proposal.posted_entry_id, vote, redemption_line)
KIND_ROWS = (*KIND_TABLES, "proposal", "vote", "redemption_line", "honour_list")


def _fill_kinds(database: Database, ledger_kind: str = "earned") -> dict[str, int]:
    """At 0016 (no kind CHECK yet): rows of every kind table, with the rows that refer to them where
    the schema has some: a reversal naming its entry, a proposal naming its posted entry, a vote of a
    decision, a redemption line of a product."""
    _t, add = _old_tables(database)
    now = dt.datetime(2026, 12, 2, 9, 0)
    day = now.date()

    def entry(conn, kind: str, points: int, cause: str, **more) -> int:
        return add(conn, "ledger_entry", village_id=vid, household_id=hid, kind=kind, delta_balance=points,
                   delta_earned=points, delta_outstanding=0, source_type="proposal", source_id=cause,
                   occurred_on=day, month=202612, reason="", created_at=now, **more)

    with database.engine.begin() as conn:
        vid, hid = _old_household(conn, add, now)
        cat = add(conn, "rule_category", village_id=vid, name="环境", sort=0, active=True)
        rule = add(conn, "rule_item", village_id=vid, category_id=cat, code="HJ01", name="整洁", points=5, min_points=3,
                   max_points=10, version=1, adopted_by="村民代表大会", active=True)
        earned = entry(conn, ledger_kind, 5, "1")
        entry(conn, "reversal", -5, "reversal:1", reverses_id=earned)
        pid = add(conn, "proposal", village_id=vid, household_id=hid, rule_item_id=rule, points=5, act_date=day,
                  note="", source="grid", submitted_at=now, status="posted", over_cap=False, decision_reason="",
                  posted_entry_id=earned)
        sid = add(conn, "review_session", village_id=vid, held_on=day, opened_at=now, closed_at=now,
                  quorum_required=1, members_total=1, note="")
        attendee = add(conn, "session_attendee", session_id=sid, name="村民代表甲", capacity="representative",
                       voting=True, arrived_at=now)
        did = add(conn, "decision", session_id=sid, proposal_id=pid, outcome="approved", reason="", decided_at=now)
        conn.execute(insert(_t["vote"]).values(decision_id=did, attendee_id=attendee, vote="agree"))
        add(conn, "household_event", village_id=vid, household_id=hid, kind="head_change", reason="", note="",
            happened_on=day, points=0, created_at=now)
        add(conn, "period_close", village_id=vid, kind="month", period=202611, balance_total=0, earned_total=0,
            outstanding_total=0, households=0, entries=0, policy="", cleared=0, closed_at=now)
        lst = add(conn, "honour_list", village_id=vid, year=2025, title="2025 年度表彰", published_at=now)
        add(conn, "honour_entry", list_id=lst, kind="household", name="老户主", door_no="老-1", level=3, points=5,
            minutes=0, number="BZ-OLD1-2025-0001")
        add(conn, "produce_move", village_id=vid, crop="玉米", grams=1000, kind="harvest", ref_type="", ref_id="",
            note="", created_at=now)
        product = add(conn, "product", village_id=vid, name="肥皂", category="", kind="goods", price=5, unit="块",
                      stock=9, low_stock=5, active=True)
        add(conn, "stock_move", village_id=vid, product_id=product, kind="purchase", qty=10, donor="", funding="",
            reason="", ref_type="", ref_id="", created_at=now)
        red = add(conn, "redemption", village_id=vid, household_id=hid, receipt_no="DH0001", cart_key="cart-1",
                  total=5, month=202612, status="done", created_at=now, void_reason="", delivery="none")
        add(conn, "redemption_line", redemption_id=red, product_id=product, qty=1, price=5)
        add(conn, "stock_move", village_id=vid, product_id=product, kind="redeem", qty=-1, donor="", funding="",
            reason="", ref_type="redemption", ref_id=str(red), created_at=now)
    return {"village": vid, "household": hid, "entry": earned}


@pytest.mark.parametrize("kind", ["sqlite", "postgresql"])
def test_kind_checks_are_added_and_removed_keeping_rows_indexes_and_history_triggers(kind, tmp_path):
    """0017 adds a CHECK per kind column; on SQLite that rebuilds eight tables, history tables
    among them (the ledger) and parents of other rows (a reversal, a proposal, a vote and a
    redemption line refer to them): every row, index and trigger is there again after the upgrade
    and after the downgrade, and only in between is an unknown kind refused."""
    from db.history import guard_problems
    from db.models import HISTORY

    with empty_database(kind, tmp_path) as database:
        upgrade_to(database, "0016")
        ids = _fill_kinds(database)
        rows, objects = _rows(database, KIND_ROWS), _schema_objects(database, KIND_TABLES)
        assert any(o[0] == "trigger" and o[2] == "ledger_entry" for o in objects) or kind == "postgresql"

        upgrade_to(database, "0017")
        assert _rows(database, KIND_ROWS) == rows
        assert _schema_objects(database, KIND_TABLES) == objects
        with database.engine.connect() as conn:
            assert guard_problems(conn, HISTORY) == []
            if kind == "sqlite":
                assert conn.exec_driver_sql("PRAGMA foreign_key_check").all() == []
        entry = {"village_id": ids["village"], "household_id": ids["household"], "delta_balance": 0,
                 "delta_earned": 0, "delta_outstanding": 0, "source_type": "test", "occurred_on": dt.date(2026, 12, 2),
                 "month": 202612, "reason": "", "created_at": dt.datetime(2026, 12, 2)}
        le = Base.metadata.tables["ledger_entry"]
        with pytest.raises(IntegrityError, match="ck_ledger_entry_kind_known"), database.engine.begin() as conn:
            conn.execute(insert(le).values(**entry, kind="bonus", source_id="a"))
        with pytest.raises(DBAPIError, match="history table ledger_entry"), database.engine.begin() as conn:
            conn.execute(update(le).values(reason="changed"))  # the guard is back
        with pytest.raises(IntegrityError), database.engine.begin() as conn:  # and the ledger's unique cause
            conn.execute(insert(le).values({**entry, "kind": "earned", "source_type": "proposal", "source_id": "1"}))

        _downgrade_to(database, "0016")
        assert _schema_objects(database, KIND_TABLES) == objects
        with database.engine.connect() as conn:
            assert guard_problems(conn, HISTORY) == []
        with database.engine.begin() as conn:
            conn.execute(insert(le).values(**entry, kind="bonus", source_id="b"))  # no CHECK any more
        after = _rows(database, KIND_ROWS)
        assert after["ledger_entry"][:-1] == rows["ledger_entry"] and after["ledger_entry"][-1].kind == "bonus"
        assert {k: v for k, v in after.items() if k != "ledger_entry"} == \
               {k: v for k, v in rows.items() if k != "ledger_entry"}


@pytest.mark.parametrize("kind", ["sqlite", "postgresql"])
def test_an_unknown_kind_stops_the_upgrade_with_a_message_naming_it(kind, tmp_path):
    with empty_database(kind, tmp_path) as database:
        upgrade_to(database, "0016")
        _fill_kinds(database, ledger_kind="bonus")
        rows = _rows(database, KIND_ROWS)
        with pytest.raises(RuntimeError, match=r"ledger_entry\.kind：'bonus' 1 行（允许：earned, deducted"):
            upgrade_to(database, "head")
        with database.engine.connect() as conn:
            assert MigrationContext.configure(conn).get_current_heads() == ("0016",)
        assert _rows(database, KIND_ROWS) == rows
