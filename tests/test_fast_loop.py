"""The developer loop (`scripts/test.sh --fast`) leaves out exactly the PostgreSQL side of the tests."""

from __future__ import annotations

import subprocess
import sys
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent


def _collected(*args: str) -> list[str]:
    out = subprocess.run(
        [sys.executable, "-m", "pytest", "--collect-only", "-q", "-p", "no:cacheprovider", "-p", "no:randomly",
         "tests/test_auth.py", *args],
        cwd=ROOT, capture_output=True, text=True, check=True,
        env={"PATH": "/usr/bin:/bin", "JIFEN_TEST_DATABASE_URL": "postgresql+psycopg://example/none"},
    ).stdout
    return [line for line in out.splitlines() if "::" in line]


def test_the_postgresql_marker_selects_the_postgresql_runs_only():
    every = _collected()
    fast = _collected("-m", "not postgresql")
    pg = _collected("-m", "postgresql")
    assert fast and pg
    assert all("[postgresql" in t for t in pg)
    assert not any("postgresql" in t for t in fast)
    assert sorted(fast + pg) == sorted(every)
