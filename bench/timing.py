"""Small timing helpers: run a callable n times, report median and p95 in milliseconds."""

from __future__ import annotations

import math
import statistics
import time
from collections.abc import Callable
from dataclasses import asdict, dataclass, field


@dataclass
class Result:
    name: str
    n: int
    median_ms: float
    p95_ms: float
    note: str = ""
    extra: dict = field(default_factory=dict)

    def as_dict(self) -> dict:
        return asdict(self)


def p95(values: list[float]) -> float:
    """Nearest-rank 95th percentile."""
    if not values:
        return float("nan")
    ordered = sorted(values)
    k = max(0, min(len(ordered) - 1, math.ceil(0.95 * len(ordered)) - 1))
    return ordered[k]


def measure(name: str, fn: Callable[[int], object], n: int, warmup: int = 1, note: str = "",
            setup: Callable[[int], object] | None = None) -> Result:
    """Call ``fn(i)`` ``warmup`` times untimed, then ``n`` times timed. ``setup(i)`` runs
    untimed before each timed call (fresh proposals, for example)."""
    for i in range(warmup):
        if setup:
            setup(-1 - i)
        fn(-1 - i)
    times = []
    for i in range(n):
        if setup:
            setup(i)
        t = time.perf_counter()
        fn(i)
        times.append(time.perf_counter() - t)
    return Result(name, n, statistics.median(times) * 1000, p95(times) * 1000, note)
