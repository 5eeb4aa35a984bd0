"""The heartbeat's latency figures: p50 and p99 of a list of milliseconds, one rule for the filter and the verifier.

Nearest rank on the sorted values (no interpolation: a reported figure is a latency that happened), rounded to
microseconds; ``None`` for both when nothing was measured yet.
"""

from __future__ import annotations

from collections.abc import Iterable


def p50_p99(values: Iterable[float], ndigits: int = 3) -> tuple[float | None, float | None]:
    """(median, 99th percentile) of ``values``: the sorted values at ``n // 2`` and ``min(n - 1, int(0.99 n))``."""
    ordered = sorted(values)
    if not ordered:
        return None, None
    n = len(ordered)
    return round(ordered[n // 2], ndigits), round(ordered[min(n - 1, int(n * 0.99))], ndigits)
