"""What the 村情总览 page reads: one function per part of the screen, each in a read transaction
of its own, so the page opens none itself. The figures and tables are those of
core.reporting.reports; this module only decides what is read together.

It sits beside reports (which rankings imports) because the grid tab reads one figure of each:
the grids' table and whether the village ranks at all (an unranked village's bars keep the
grids' own order).
"""

from __future__ import annotations

from dataclasses import dataclass

from core.reporting import rankings, reports
from core.reporting.periods import Period


def grid_choices(db, village_id: int) -> list[tuple[int, str]]:
    """(id, name) of the village's grids, for the grid filter."""
    with db.read() as s:
        return reports.grids(s, village_id)


def overview_figures(db, village_id: int, period: Period, grid_id: int | None = None) -> reports.Overview:
    with db.read() as s:
        return reports.overview(s, village_id, period, grid_id)


def monthly_trend(db, village_id: int, last_month: int, n: int = 12,
                  grid_id: int | None = None) -> list[reports.MonthFigures]:
    with db.read() as s:
        return reports.monthly_trend(s, village_id, last_month, n, grid_id)


def categories(db, village_id: int, period: Period, grid_id: int | None = None) -> list[reports.CategoryFigures]:
    with db.read() as s:
        return reports.by_category(s, village_id, period, grid_id)


@dataclass(frozen=True)
class GridComparison:
    """The grids side by side for a period (:func:`core.reporting.reports.by_grid`), whether any grid
    earned or lost points in it (else there is nothing to chart), and whether the village ranks
    (else the chart keeps the grids' order instead of sorting them)."""

    grids: list[reports.GridFigures]
    any_points: bool
    ranked: bool


def grid_comparison(db, village_id: int, period: Period) -> GridComparison:
    with db.read() as s:
        rows = reports.by_grid(s, village_id, period)
        ranked = rankings.rankings_enabled(s, village_id)
    return GridComparison(rows, any(r.earned or r.deducted for r in rows), ranked)


def activity_feed(db, village_id: int, limit: int = 20) -> list[reports.FeedItem]:
    """The newest ledger entries and volunteer activities (:func:`core.reporting.reports.recent_activity`)."""
    with db.read() as s:
        return reports.recent_activity(s, village_id, limit)
