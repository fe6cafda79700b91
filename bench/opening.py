"""How long a village's opening import takes (期初积分导入): reading and checking the workbook
(preview), posting it (commit), the reconciliation and its PDF, for books of 300 and 1,000
households with three history rows each, on a fresh SQLite file (and PostgreSQL with --pg-url).

    python -m bench.opening [--pg-url postgresql+psycopg://…] [--json bench/results/opening.json]

The median of 3 runs of each step; the commit runs once per fresh database."""

from __future__ import annotations

import argparse
import datetime as dt
import io
import json
import statistics
import tempfile
import time
import uuid


def _book(n: int) -> bytes:
    from openpyxl import Workbook

    wb = Workbook()
    b = wb.active
    b.title = "期初余额"
    b.append(["门牌号", "户主", "期初积分", "累计积分"])
    for i in range(n):
        b.append([f"1-{i + 1:04d}", f"户主{i + 1}", (i * 13) % 97, (i * 13) % 97 + 20])
    h = wb.create_sheet("历史明细")
    h.append(["门牌号", "日期", "事项", "积分"])
    for i in range(n):
        for k in range(3):
            h.append([f"1-{i + 1:04d}", dt.date(2025, 3 + k, 1 + i % 28), "HJ01" if k else "参加义务劳动", 5])
    buf = io.BytesIO()
    wb.save(buf)
    return buf.getvalue()


def _timed(fn, runs: int = 3) -> float:
    out = []
    for _ in range(runs):
        t = time.perf_counter()
        fn()
        out.append(time.perf_counter() - t)
    return round(statistics.median(out), 3)


def measure(url: str, n: int) -> dict:
    from core.maintenance.verify import verify
    from core.village import opening, reconciliation
    from db.engine import Database
    from db.models import Base
    from tests.factories import make_village

    db = Database.from_url(url)
    Base.metadata.create_all(db.engine)
    try:
        v = make_village(db, households=n, code=f"B{uuid.uuid4().hex[:6]}")
        # make_village names doors 1-001…; this book uses four digits, so rename to match
        from sqlalchemy import update

        from db.models import Household
        with db.write() as s:
            for i, hid in enumerate(v.household_ids):
                s.execute(update(Household).where(Household.id == hid).values(door_no=f"1-{i + 1:04d}"))
        data = _book(n)
        cut = opening.default_cutover()
        out = {"households": n, "history_rows": 3 * n, "file_kb": round(len(data) / 1024)}
        out["preview_s"] = _timed(lambda: opening.preview(db, v.admin, v.id, "b.xlsx", data, cut))
        t = time.perf_counter()
        opening.commit(db, v.admin, v.id, "b.xlsx", data, cut)
        out["commit_s"] = round(time.perf_counter() - t, 3)
        plan = opening.preview(db, v.admin, v.id, "b.xlsx", data, cut)
        out["reconciliation_s"] = _timed(lambda: reconciliation.reconciliation(db, v.admin, v.id, "b.xlsx", data, cut,
                                                                        plan=plan))
        r = reconciliation.reconciliation(db, v.admin, v.id, "b.xlsx", data, cut, plan=plan)
        out["reconciliation_pdf_s"] = _timed(lambda: reconciliation.reconciliation_pdf(r), runs=1)
        out["verify_clean"] = verify(db) == []
        return out
    finally:
        db.dispose()


def main() -> None:
    ap = argparse.ArgumentParser()
    ap.add_argument("--pg-url", default="")
    ap.add_argument("--json", default="")
    args = ap.parse_args()
    results = {}
    for n in (300, 1000):
        with tempfile.TemporaryDirectory() as d:
            results[f"sqlite-{n}"] = measure(f"sqlite:///{d}/b.db", n)
        if args.pg_url:
            results[f"postgresql-{n}"] = measure(args.pg_url, n)
    text = json.dumps(results, ensure_ascii=False, indent=2)
    print(text)
    if args.json:
        with open(args.json, "w", encoding="utf-8") as f:
            f.write(text + "\n")


if __name__ == "__main__":
    main()
