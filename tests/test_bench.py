"""The benchmark harness runs end to end in --quick mode on a tiny dataset (no timing
assertions: numbers are for BENCHMARKS.md, not for tests)."""

from __future__ import annotations

import json
import os
import uuid

import pytest

import manage
from bench.timing import measure, p95


def _run(tmp_path, *extra):
    out = tmp_path / "bench.json"
    argv = ["bench", "--quick", "--scale", "tiny", "--no-memory", "--dir", str(tmp_path), "--json", str(out),
            "--tag", uuid.uuid4().hex[:8], *extra]
    assert manage.main(argv) == 0
    return json.loads(out.read_text())


def test_the_quick_benchmark_runs_every_measurement_on_sqlite(tmp_path, monkeypatch):
    for key in ("JIFEN_DATABASE_URL", "JIFEN_DATA_DIR", "JIFEN_NO_DEMO", "JIFEN_PUBLIC_URL"):
        monkeypatch.setenv(key, os.environ.get(key, ""))  # the harness sets them; restore afterwards
    report = _run(tmp_path)
    names = [r["name"] for r in report["results"]]
    for expected in ("card look-up", "balance read", "checkout commit", "decide + post 200", "raw SQL", "without a 公示 window",
                     "village overview", "rankings", "resident view", "volunteer-hours", "comparison", "county comparison, three levels",
                     "empty Streamlit page", "page home", "page checkout", "page me"):
        assert any(expected in n for n in names), expected
    failed = [r for r in report["results"] if "FAILED" in r["note"] or "EXCEPTION" in r["note"]]
    assert failed == []
    assert report["sizes"]["ledger_entry"] > 0
    by_name = {r["name"]: r for r in report["results"]}
    decide = next(r for n, r in by_name.items() if n.startswith("decide + post 200 proposals ("))
    direct = next(r for n, r in by_name.items() if n.startswith("decide + post 200 proposals without"))
    raw = next(r for n, r in by_name.items() if n.startswith("the same 200"))
    assert decide["n"] == raw["n"] == direct["n"] == 2  # app and raw batches timed in turn, as many of each
    assert decide["extra"]["rate_vs_raw"] == pytest.approx(raw["median_ms"] / decide["median_ms"], abs=0.01)
    assert direct["extra"]["rate_vs_raw"] == pytest.approx(direct["extra"]["raw_median_ms"] / direct["median_ms"],
                                                           abs=0.01)
    assert report["seed"]["rows_per_second"] > 0 and report["seed"]["raw_rows_per_second"] > 0
    assert not (tmp_path / "bench-tiny-sqlite").exists() or not any((tmp_path / "bench-tiny-sqlite").iterdir())


def test_the_growth_measurement_times_both_databases_in_turn_and_drops_the_reference(tmp_path, monkeypatch):
    for key in ("JIFEN_DATABASE_URL", "JIFEN_DATA_DIR", "JIFEN_NO_DEMO", "JIFEN_PUBLIC_URL"):
        monkeypatch.setenv(key, os.environ.get(key, ""))
    report = _run(tmp_path, "--no-pages", "--only", "card,balance,checkout", "--growth-ref", "tiny")
    g = report["growth"]
    assert g["reference_scale"] == "tiny" and g["reference_entries"] > 0 and g["entries"] > 0
    for key in ("card", "balance", "checkout"):
        assert g[key]["n"] > 0 and g[key]["small_median_ms"] > 0 and g[key]["big_median_ms"] > 0
        assert g[key]["ratio"] == pytest.approx(g[key]["big_median_ms"] / g[key]["small_median_ms"], rel=0.01)
    assert not [p for p in tmp_path.iterdir() if "ref" in p.name and any(p.iterdir())]


def test_the_quick_benchmark_runs_on_postgresql(tmp_path):
    url = os.environ.get("JIFEN_TEST_DATABASE_URL")
    if not url:
        pytest.skip("needs JIFEN_TEST_DATABASE_URL")
    report = _run(tmp_path, "--db", "postgresql", "--pg-url", url, "--no-pages")
    failed = [r for r in report["results"] if "FAILED" in r["note"]]
    assert failed == []
    assert report["machine"]["postgresql"]


def test_p95_is_the_nearest_rank_and_measure_counts_only_timed_calls():
    assert p95([float(i) for i in range(1, 101)]) == 95.0
    assert p95([3.0]) == 3.0
    calls = []
    r = measure("x", lambda i: calls.append(i), n=4, warmup=2)
    assert r.n == 4 and calls == [-1, -2, 0, 1, 2, 3]
