"""The side-by-side checkout benchmark's fallback peer (bench/peer_form.py) really serves and sells:
started as the harness starts it, one quickbuy writes exactly one sale and one balance change, a bad
one writes nothing. No browser and no timing (figures are for BENCHMARKS.md)."""

from __future__ import annotations

import sqlite3
import subprocess
import urllib.parse
import urllib.request

import pytest

from bench.checkout_peer import StarletteForm, Stregsystemet, summary
from bench.peer_form import CONFIRMED, MEMBER, PRODUCT_ID


def _post(url: str, text: str) -> str:
    body = urllib.parse.urlencode({"quickbuy": text}).encode()
    with urllib.request.urlopen(urllib.request.Request(url + "/sale", data=body), timeout=30) as r:
        return r.read().decode()


def _state(db) -> tuple[int, list[tuple]]:
    con = sqlite3.connect(db)
    try:
        balance = con.execute("select balance from member where username = ?", (MEMBER,)).fetchone()[0]
        return balance, con.execute("select member_id, product_id, price from sale").fetchall()
    finally:
        con.close()


def test_the_fallback_peer_starts_and_one_quickbuy_writes_one_sale(tmp_path):
    peer = StarletteForm(None, tmp_path)
    peer.start()
    try:
        with urllib.request.urlopen(peer.url + "/", timeout=30) as r:
            assert 'id="quickbuy"' in r.read().decode()
        before, sales = _state(peer.db)
        assert sales == []
        page = _post(peer.url, f"{MEMBER} {PRODUCT_ID}")
        assert CONFIRMED in page
        after, sales = _state(peer.db)
        assert len(sales) == 1
        assert before - after == sales[0][2] > 0
        assert CONFIRMED not in _post(peer.url, f"{MEMBER} 999")  # no such product: nothing written
        assert CONFIRMED not in _post(peer.url, "nobody")
        assert _state(peer.db) == (after, sales)
    finally:
        peer.stop()
    assert peer.proc.poll() is not None


def test_a_peer_that_cannot_be_set_up_raises_so_the_harness_falls_back(tmp_path):
    peer = Stregsystemet(None, tmp_path, str(tmp_path / "no-such-repo"))
    with pytest.raises(subprocess.CalledProcessError):
        peer.start()
    assert "no-such-repo" in (tmp_path / "peer-setup.log").read_text()


def test_summary_reports_median_p90_and_range():
    s = summary([float(x) for x in range(1, 11)])
    assert s == {"median": 5.5, "p90": 9.0, "min": 1.0, "max": 10.0, "n": 10}
