"""Crash test: a load process doing real core writes is killed with SIGKILL at random
moments, many times, on SQLite and PostgreSQL. After every kill the database is opened
afresh and must be whole: core.maintenance.verify clean, no overdraft or negative stock, no cause
posted twice, every redemption complete (charge, lines, goods, audit row), no photo file
without its row or row without its file, and every write the process had seen succeed
(its journal) still there.

Size: JIFEN_CRASH_KILLS kills per database (default 25)."""

from __future__ import annotations

import json
import os
import random
import signal
import subprocess
import sys
import time
from pathlib import Path

import pytest
from sqlalchemy import text

from db.engine import Database
from tests.load import figures, invariants, scenario

ROOT = Path(__file__).resolve().parent.parent
KILLS = int(os.environ.get("JIFEN_CRASH_KILLS", "25"))
PHOTO_KILLS = int(os.environ.get("JIFEN_CRASH_PHOTO_KILLS", "15"))

pytestmark = pytest.mark.slow


def _journal(path: Path) -> list[dict]:
    facts = []
    for line in path.read_text(encoding="utf-8").splitlines():
        try:
            facts.append(json.loads(line))
        except json.JSONDecodeError:
            pass  # the kill may cut the last line: that write was not acknowledged
    return facts


def _acked(journal: Path) -> int:
    return sum(1 for f in _journal(journal) if f.get("op") != "started") if journal.exists() else 0


def restart_recovery(db, data_dir: Path) -> None:
    """What the app does when it starts again, if core offers it: finish or remove photos a
    crash left between the file write and the commit."""
    from core.committee import photos

    for name in ("recover", "sweep", "recover_staged", "cleanup"):
        fn = getattr(photos, name, None)
        if fn is not None:
            fn(db, data_dir)
            return


def _manage_py_verify(url: str, data_dir: Path) -> int:
    """What an operator runs after a crash: ``python manage.py verify`` on this database.
    (The test schema comes from the models, so it is first stamped as migrated.)"""
    from alembic import command

    from db.migrate import alembic_config

    db = Database.from_url(url)
    try:
        cfg = alembic_config()
        with db.engine.begin() as conn:
            cfg.attributes["connection"] = conn
            command.stamp(cfg, "head")
    finally:
        db.dispose()
    env = {**os.environ, "JIFEN_DATABASE_URL": url, "JIFEN_DATA_DIR": str(data_dir), "JIFEN_NO_DEMO": "1"}
    done = subprocess.run([sys.executable, "manage.py", "verify"], cwd=ROOT, env=env, capture_output=True, text=True)
    assert "全部一致" in done.stdout, done.stdout + done.stderr
    return done.returncode


def _run_and_kill(plan_path: Path, journal: Path, role: str, seed: int, rng: random.Random) -> int:
    """Start a worker, let it acknowledge a random number of writes, then SIGKILL it
    (plus a random few milliseconds, so the kill lands anywhere in a transaction)."""
    before = _acked(journal)
    want = before + rng.randint(1, 12)
    proc = subprocess.Popen(
        [sys.executable, "-m", "tests.load.worker", str(plan_path), "--role", role, "--forever",
         "--seed", str(seed), "--journal", str(journal)],
        cwd=ROOT, stdout=subprocess.DEVNULL, stderr=subprocess.PIPE,
    )
    deadline = time.monotonic() + 120
    while _acked(journal) < want:
        if proc.poll() is not None:
            raise AssertionError(f"worker died by itself: {proc.stderr.read().decode()[-2000:]}")
        if time.monotonic() > deadline:
            proc.kill()
            raise AssertionError("worker made no progress in 120 s")
        time.sleep(0.005)
    time.sleep(rng.random() * 0.03)
    proc.send_signal(signal.SIGKILL)
    proc.wait()
    proc.stderr.close()
    assert proc.returncode == -signal.SIGKILL
    return _acked(journal) - before


@pytest.mark.parametrize("role,kills", [("mixed", KILLS), ("photos", PHOTO_KILLS)], ids=["writes", "photos"])
def test_a_writer_killed_at_random_moments_leaves_nothing_half_written(db, tmp_path, role, kills):
    """``mixed``: checkouts, voids, the review flow, posts, adjustments, reversals, stock;
    ``photos``: proposals with 1–3 photos each, so kills land between file and row."""
    data_dir = tmp_path / "data"
    plan = scenario.build(db, households=8, stock_each=2000, points_each=2000, data_dir=str(data_dir))
    plan_path = plan.dump(tmp_path / "plan.json")
    journal = tmp_path / "journal.jsonl"
    rng = random.Random(20261122)
    url = scenario.url_of(db)
    acked_total = torn = 0
    for k in range(kills):
        acked_total += _run_and_kill(plan_path, journal, role, seed=k, rng=rng)
        fresh = Database.from_url(url)  # "after the restart"
        try:
            parts = list((data_dir / "photos").rglob("*.part")) if (data_dir / "photos").exists() else []
            torn += bool(parts)
            restart_recovery(fresh, data_dir)
            if fresh.is_sqlite:
                with fresh.engine.connect() as conn:
                    assert conn.execute(text("PRAGMA integrity_check")).scalar() == "ok"
            problems = (invariants.ledger_and_stock(fresh) + invariants.photos(fresh, data_dir)
                        + invariants.acknowledged_present(fresh, _journal(journal)))
            assert problems == [], f"after kill {k + 1}: {problems[:10]}"
        finally:
            fresh.dispose()
    assert _manage_py_verify(url, data_dir) == 0
    ops = _acked(journal)
    assert ops == acked_total and ops >= kills
    figures.record(f"crash_{role}", db.engine.dialect.name, {
        "kills": kills, "acknowledged_writes": ops,
        "by_kind": {op: sum(1 for f in _journal(journal) if f.get("op") == op)
                    for op in sorted({f.get("op") for f in _journal(journal)} - {None, "started"})},
        "kills_that_tore_a_photo_write": torn, "lost_or_half_written": 0})
