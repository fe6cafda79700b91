"""Tills, the committee and admins at once, in threads and in separate processes, on
SQLite and PostgreSQL: afterwards nothing is overdrawn, no stock is negative, every
balance equals its entries, every cause is posted at most once, every redemption has
exactly its charge, goods and audit row, and every write a worker saw succeed is there.

Size: JIFEN_LOAD_OPS operations per worker (default 200; 6 threads + 6 processes → 2,400
operations per database, each op one or two core transactions)."""

from __future__ import annotations

import json
import os
import subprocess
import sys
import threading
from collections import Counter
from pathlib import Path

import pytest

from tests.load import figures, invariants, scenario
from tests.load.worker import Worker

ROOT = Path(__file__).resolve().parent.parent
OPS = int(os.environ.get("JIFEN_LOAD_OPS", "200"))
ROLES = ("till", "till", "committee", "admin", "till", "committee")

pytestmark = pytest.mark.slow


def _spawn(plan_path: Path, role: str, seed: int) -> subprocess.Popen:
    return subprocess.Popen(
        [sys.executable, "-m", "tests.load.worker", str(plan_path), "--role", role, "--ops", str(OPS),
         "--seed", str(seed)],
        cwd=ROOT, stdout=subprocess.PIPE, stderr=subprocess.PIPE, text=True,
    )


def test_tills_committee_and_admins_in_threads_and_processes_lose_and_double_nothing(db, tmp_path):
    plan = scenario.build(db, points_each=1500, stock_each=1500)
    plan_path = plan.dump(tmp_path / "plan.json")
    procs = [_spawn(plan_path, role, 1000 + i) for i, role in enumerate(ROLES)]
    workers = [Worker(db, plan, seed=i) for i in range(len(ROLES))]
    results: list[dict] = [{} for _ in ROLES]

    def go(i: int) -> None:
        results[i] = workers[i].run(ROLES[i], OPS)

    threads = [threading.Thread(target=go, args=(i,)) for i in range(len(ROLES))]
    for t in threads:
        t.start()
    for t in threads:
        t.join()
    for p in procs:
        out, err = p.communicate(timeout=600)
        assert p.returncode == 0, err[-2000:]
        results.append(json.loads(out))

    stats: Counter[str] = Counter()
    unexpected: list[str] = []
    for r in results:
        stats.update(r["stats"])
        unexpected += r["unexpected"]
    acked = [f for r in results for f in r["acked"]]  # threads' and processes' acknowledged writes
    problems = invariants.ledger_and_stock(db) + invariants.acknowledged_present(db, acked)
    total = sum(v for k, v in stats.items() if k.split(":")[0] in ("ok", "refused", "constraint", "error"))
    ok = sum(v for k, v in stats.items() if k.startswith("ok:"))
    refused = sum(v for k, v in stats.items() if k.startswith("refused:"))
    figures.record("concurrency", db.engine.dialect.name, {
        "workers": {"threads": len(ROLES), "processes": len(ROLES)},
        "operations": total, "succeeded": ok, "refused_cleanly": refused,
        "double_clicks_same_receipt": stats["double_click_same_receipt"],
        "by_kind": {k: v for k, v in sorted(stats.items()) if ":" in k},
        "raw_errors_shown_to_users": len(unexpected), "problems_after": len(problems),
    })
    # Data first: whatever else happened, nothing may be lost, doubled or overdrawn.
    assert problems == []
    # Then the users' view: every refusal a clean Chinese message, no raw database error.
    assert unexpected == [], "\n".join(unexpected[:10])
    assert total == OPS * len(ROLES) * 2
    # The mix must really exercise each kind of write, not just refusals.
    for op in ("checkout", "void", "review", "adjust", "reverse", "stock_in"):
        assert stats[f"ok:{op}"] > 0, (op, dict(stats))
    assert stats["refused:review:AlreadyDone"] + stats["refused:post:AlreadyDone"] > 0  # causes were contested
