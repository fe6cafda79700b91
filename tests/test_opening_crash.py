"""An opening import killed with SIGKILL at random moments (the office PC loses power while the
admin imports a 300-household points book): after every kill the database holds either the
whole book or none of it, `verify` is clean, and importing again finishes the job once."""

from __future__ import annotations

import random
import signal
import subprocess
import sys
import time
from pathlib import Path

import pytest
from sqlalchemy import func, select

from core.maintenance.verify import verify
from core.village import opening
from db.engine import Database
from db.models import Account, ImportBatch, LedgerEntry
from tests.factories import make_village
from tests.load.scenario import url_of
from tests.test_opening import CUTOVER, book

pytestmark = pytest.mark.slow
ROOT = Path(__file__).resolve().parent.parent
HOUSEHOLDS = 300
WORKER = """
import datetime as dt, sys
from sqlalchemy import select
from core.village import opening
from core.platform.auth import actor_for
from db.engine import Database
from db.models import StaffUser
url, username, path, cutover = sys.argv[1:5]
db = Database.from_url(url)
with db.read() as s:
    actor = actor_for(s.execute(select(StaffUser).where(StaffUser.username == username)).scalar_one())
print("ready", flush=True)
opening.commit(db, actor, actor.village_id, "台账.xlsx", open(path, "rb").read(), dt.date.fromisoformat(cutover))
print("done", flush=True)
"""


def _state(db, village_id: int) -> tuple[int, int, int]:
    with db.read() as s:
        carried = s.execute(select(func.count()).select_from(LedgerEntry)
                            .where(LedgerEntry.village_id == village_id, LedgerEntry.kind == "carryover")).scalar_one()
        total = s.execute(select(func.coalesce(func.sum(Account.balance), 0))
                          .where(Account.village_id == village_id)).scalar_one()
        batches = s.execute(select(func.count()).select_from(ImportBatch)).scalar_one()
    return carried, int(total), batches


def test_an_opening_import_killed_at_random_moments_is_all_or_nothing(db, tmp_path):
    v = make_village(db, households=HOUSEHOLDS, code="K300")
    rows = [[f"1-{i + 1:03d}", f"户主{i + 1}", (i * 13) % 97, None] for i in range(HOUSEHOLDS)]
    history = [[f"1-{i + 1:03d}", "2025-06-01", "HJ01", 5] for i in range(0, HOUSEHOLDS, 2)]
    path = tmp_path / "台账.xlsx"
    path.write_bytes(book(rows, history))
    whole = sum(r[2] for r in rows)
    rng = random.Random(20261202)
    outcomes = []
    for _ in range(8):
        proc = subprocess.Popen([sys.executable, "-c", WORKER, url_of(db), "k300_admin", str(path), CUTOVER.isoformat()],
                                cwd=ROOT, stdout=subprocess.PIPE, stderr=subprocess.PIPE, text=True)
        assert proc.stdout.readline().strip() == "ready", proc.stderr.read()
        time.sleep(rng.random() * 0.6)  # the commit itself takes a few hundred milliseconds
        proc.send_signal(signal.SIGKILL)
        proc.wait()
        fresh = Database.from_url(url_of(db))  # "after the restart"
        try:
            state = _state(fresh, v.id)
            assert state in ((0, 0, 0), (HOUSEHOLDS, whole, 1)), state
            assert verify(fresh) == []
        finally:
            fresh.dispose()
        outcomes.append(state[0] == HOUSEHOLDS)
        if state[0] == HOUSEHOLDS:
            break
    opening.commit(db, v.admin, v.id, "台账.xlsx", path.read_bytes(), CUTOVER)  # the admin imports again
    assert _state(db, v.id) == (HOUSEHOLDS, whole, 1)
    assert verify(db) == []
