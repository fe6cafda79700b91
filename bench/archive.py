"""How long a village archive takes: export, check and import of the demo village (SQLite).

    python -m bench.archive [--households 300] [--days 120]

Builds the demo village (startup.demo) in a scratch SQLite file, then times ``core.maintenance.archive.export_archive``,
``check_archive`` and ``import_archive`` into a second, empty (migrated) file, and prints rows, file
size and seconds. Results go in BENCHMARKS.md by hand.
"""

from __future__ import annotations

import argparse
import tempfile
import time
from pathlib import Path

from core.maintenance import archive
from db.engine import Database
from db.migrate import upgrade
from startup.demo import build_demo


def main(argv: list[str] | None = None) -> None:
    p = argparse.ArgumentParser(prog="python -m bench.archive")
    p.add_argument("--households", type=int, default=300)
    p.add_argument("--days", type=int, default=120)
    args = p.parse_args(argv)
    with tempfile.TemporaryDirectory() as tmp:
        src = Database.from_url(f"sqlite:///{Path(tmp) / 'src.db'}")
        dst = Database.from_url(f"sqlite:///{Path(tmp) / 'dst.db'}")
        upgrade(src)
        upgrade(dst)
        t = time.perf_counter()
        (vid,) = build_demo(src, households=args.households, days=args.days)
        seeded = time.perf_counter() - t
        t = time.perf_counter()
        data = archive.export_archive(src, vid)
        exported = time.perf_counter() - t
        t = time.perf_counter()
        counts = archive.check_archive(data)
        checked = time.perf_counter() - t
        t = time.perf_counter()
        archive.import_archive(dst, data)
        imported = time.perf_counter() - t
        src.dispose()
        dst.dispose()
    print(f"demo village {args.households} households, {args.days} days (seeded in {seeded:.0f} s): "
          f"{sum(counts.values())} rows in {len(counts)} tables, {counts['ledger_entry']} ledger entries; "
          f"archive {len(data) / 1024:.0f} KB; export {exported:.1f} s, check {checked:.1f} s, "
          f"import {imported:.1f} s")


if __name__ == "__main__":
    main()
