"""The reliability suites print what they measured (run pytest with -s to see it) and
keep it in artifacts/reliability/<suite>-<database>.json for docs/RELIABILITY.md."""

from __future__ import annotations

import json
from pathlib import Path

OUT = Path(__file__).resolve().parents[2] / "artifacts" / "reliability"


def record(suite: str, database: str, figures: dict) -> None:
    line = json.dumps(figures, ensure_ascii=False, sort_keys=True)
    print(f"\nRELIABILITY {suite} [{database}]: {line}")
    try:
        OUT.mkdir(parents=True, exist_ok=True)
        (OUT / f"{suite}-{database}.json").write_text(line + "\n", encoding="utf-8")
    except OSError:
        pass  # a read-only checkout still runs the suite; the figures are printed above
