"""History cannot be rewritten, however the app was started.

The guards must hold in a process that started the way production starts — a second start
of the same data dir, on a schema that is already current, where Alembic is not even loaded —
and not only in test processes (whose conftest imports whatever it likes). So the attempts run
in a separate process (tests/probes/history_probe.py), on SQLite and on PostgreSQL.
"""

from __future__ import annotations

import json
import os
import subprocess
import sys
from pathlib import Path

import pytest
from sqlalchemy import text

from core.maintenance.verify import verify
from db.engine import Database
from db.history import Guard, HistoryViolation, install, sqlite_triggers
from db.models import HISTORY
from tests.dbs import empty_database

ROOT = Path(__file__).resolve().parent.parent
FIRST_START = "from core.platform import config\nfrom startup.prepare import prepare\nprepare(config.load(), create_demo=False)\n"


def _run(args: list[str], env: dict) -> str:
    out = subprocess.run([sys.executable, *args], cwd=ROOT, env=env, capture_output=True, text=True, timeout=300)
    assert out.returncode == 0, out.stderr[-3000:]
    return out.stdout


@pytest.mark.parametrize("kind", ["sqlite", "postgresql"])
def test_no_history_table_can_be_edited_after_a_second_start_of_the_same_data_dir(kind, tmp_path):
    with empty_database(kind, tmp_path) as database:
        env = {**os.environ, "JIFEN_DATA_DIR": str(tmp_path / "data"), "PYTHONPATH": str(ROOT),
               "JIFEN_DATABASE_URL": database.engine.url.render_as_string(hide_password=False)}
        _run(["-c", FIRST_START], env)  # first start: Alembic builds the schema
        report = json.loads(_run(["-m", "tests.probes.history_probe"], env).strip().splitlines()[-1])
    assert report["alembic_loaded"] is False  # the second start ran without Alembic, as in production
    assert set(report["tables"]) == set(HISTORY)
    wrong = {}
    for table, res in report["tables"].items():
        expect = {"orm_update": "refused:HistoryViolation", "orm_delete": "refused:HistoryViolation"}
        for attempt in ("sql_update", "sql_delete"):
            if not res[attempt].startswith("refused:") or res[attempt] == "refused:HistoryViolation":
                wrong[(table, attempt)] = res[attempt]  # refused by the database itself, not by Python
        if HISTORY[table].kind == "once":
            expect |= {"set_once_first": "allowed"}
            if not res["set_once_again"].startswith("refused:"):
                wrong[(table, "set_once_again")] = res["set_once_again"]
        if HISTORY[table].kind == "until":
            expect |= {"until_final": "allowed"}
        wrong |= {(table, k): res[k] for k, v in expect.items() if res[k] != v}
        if res["row_still_there"] != 1:
            wrong[(table, "row_still_there")] = res["row_still_there"]
    assert wrong == {}, wrong
    print(f"\nRELIABILITY history guards [{kind}]: {len(HISTORY)} history tables, "
          f"{4 * len(HISTORY)} edit attempts after a second start, all refused")


def test_the_history_tables_are_every_table_that_records_what_happened():
    """A new table that records what happened must be declared history (or listed here as not)."""
    working = {"village", "setting", "grid", "household", "resident", "staff_user", "auth_session", "rate_limit",
               "rule_category", "rule_item", "account", "household_month", "category_month", "proposal",
               "product", "activity", "outside_volunteer", "signup", "attendance", "volunteer_total", "plot",
               "plot_member", "season",
               "produce_stock", "beneficiary", "distribution_round", "login_throttle"}
    from db.models import Base

    assert set(Base.metadata.tables) - working == set(HISTORY)


def test_verify_reports_a_history_table_whose_trigger_was_dropped(db):
    assert verify(db) == []
    with db.engine.begin() as conn:
        if db.is_sqlite:
            conn.exec_driver_sql("DROP TRIGGER objection_no_update")
        else:
            conn.exec_driver_sql("DROP TRIGGER objection_history_guard ON objection")
    try:
        problems = verify(db)
    finally:  # the PostgreSQL test database is shared by the run: put the guard back
        with db.engine.begin() as conn:
            install(conn, {"objection": HISTORY["objection"]})
    assert len(problems) == 1 and "objection" in problems[0] and "触发器" in problems[0]
    assert verify(db) == []


def test_a_set_once_guard_allows_one_change_from_empty_and_nothing_else():
    g = Guard.set_once(status=("open",), resolution=("",), resolved_at=())
    assert g.refusal({"status": "open", "resolution": ""}, {"status": "upheld", "resolution": "理由"}) is None
    assert g.refusal({"status": "upheld"}, {"status": "overturned"}) == "column status is already set"
    assert g.refusal({"reason": "a"}, {"reason": "b"}) == "column reason cannot change"
    assert g.refusal({"resolved_at": None}, {"resolved_at": "2026-12-02"}) is None


def test_an_until_guard_lets_a_row_change_until_it_is_final():
    g = Guard.until("delivered_at", via="returned")
    assert g.refusal({"delivered_at": None, "via": ""}, {"grams": 5}) is None
    assert g.refusal({"delivered_at": "x", "via": ""}, {"grams": 5}) == "the row is final"
    assert g.refusal({"delivered_at": None, "via": "returned"}, {"note": "x"}) == "the row is final"


def test_the_sqlite_trigger_compares_every_column_the_guard_does_not_free():
    update = sqlite_triggers("objection", HISTORY["objection"], ["id", "reason", "status"])[1]
    assert "OLD.reason IS NOT NEW.reason" in update and "OLD.status IS NULL OR OLD.status IN ('open')" in update


def test_an_orm_update_statement_on_an_append_only_table_is_refused_before_sql(db, village):
    from sqlalchemy import update

    from db.models import AuditLog

    with pytest.raises(HistoryViolation), db.write() as s:
        s.execute(update(AuditLog).values(reason="改写"))
    with db.read() as s:
        assert s.execute(text("SELECT COUNT(*) FROM audit_log WHERE reason = '改写'")).scalar_one() == 0


def test_guards_survive_creating_the_tables_from_the_models(tmp_path):
    database = Database.from_url(f"sqlite:///{tmp_path / 'x.db'}")
    from db.models import Base

    Base.metadata.create_all(database.engine)
    with database.engine.connect() as conn:
        names = set(conn.execute(text("SELECT name FROM sqlite_master WHERE type = 'trigger'")).scalars())
    assert {f"{t}_no_update" for t in HISTORY} <= names and {f"{t}_no_delete" for t in HISTORY} <= names
    database.dispose()
