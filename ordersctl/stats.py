"""Latency percentiles and throughput: pure functions over measured numbers."""

from __future__ import annotations

import math
from collections.abc import Sequence
from dataclasses import dataclass


def percentile(values: Sequence[float], pct: float) -> float | None:
    """The ``pct``-th percentile by the nearest-rank method (``None`` for no values)."""
    if not 0 <= pct <= 100:
        raise ValueError(f"percentile must be in [0, 100] (given {pct})")
    if not values:
        return None
    ordered = sorted(values)
    rank = max(1, math.ceil(pct / 100 * len(ordered)))
    return ordered[rank - 1]


@dataclass(frozen=True)
class LatencySummary:
    """Count, throughput and p50/p95/p99/max latency (seconds) of a run."""

    count: int
    elapsed_seconds: float
    p50: float | None
    p95: float | None
    p99: float | None
    max: float | None

    @property
    def throughput_per_second(self) -> float:
        """Requests completed per second of wall-clock time."""
        return self.count / self.elapsed_seconds if self.elapsed_seconds > 0 else 0.0


def summarize(latencies: Sequence[float], elapsed_seconds: float) -> LatencySummary:
    """Summarize measured latencies of a run that took ``elapsed_seconds``."""
    return LatencySummary(
        count=len(latencies),
        elapsed_seconds=elapsed_seconds,
        p50=percentile(latencies, 50),
        p95=percentile(latencies, 95),
        p99=percentile(latencies, 99),
        max=max(latencies) if latencies else None,
    )
