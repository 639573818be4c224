"""The one retry schedule of the portal's background work (ALL-5)."""

from __future__ import annotations


def backoff(base: float, attempt: int, cap: float = 3600.0) -> float:
    """Exponential backoff: ``base`` seconds for the first retry (attempt 0), then twice as long each time,
    never more than ``cap``."""
    return float(min(cap, base * 2 ** max(attempt, 0)))
