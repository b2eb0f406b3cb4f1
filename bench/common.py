"""Small helpers for the benchmarks: percentiles and a table printer."""

from __future__ import annotations

import statistics


def percentile(values: list[float], p: float) -> float:
    ordered = sorted(values)
    if not ordered:
        return float("nan")
    k = (len(ordered) - 1) * p / 100
    low, high = int(k), min(int(k) + 1, len(ordered) - 1)
    return ordered[low] + (ordered[high] - ordered[low]) * (k - low)


def summary(name: str, seconds: list[float], baseline: float | None = None) -> str:
    p50, p90 = percentile(seconds, 50), percentile(seconds, 90)
    ratio = f"{p50 / baseline:6.2f}x" if baseline else "  (baseline)"
    return f"{name:<52} n={len(seconds):<4} p50 {p50 * 1000:7.1f} ms  p90 {p90 * 1000:7.1f} ms  mean {statistics.mean(seconds) * 1000:7.1f} ms  {ratio}"
