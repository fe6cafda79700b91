"""Demo history for this capability (filled in with the capability)."""

from __future__ import annotations


def populate(ctx) -> None:
    return None
