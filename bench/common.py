"""Small helpers for the benchmarks: percentiles, a line printer, and the rows of the table
`python -m bench` collects."""

from __future__ import annotations

import json
import os
import statistics
from dataclasses import asdict, dataclass
from pathlib import Path

# A benchmark's machine-readable result line starts with this; `python -m bench` reads them.
ROW_PREFIX = "BENCH-ROW "


def cpu_seconds(*pids: int) -> float:
    """User + system CPU of these processes (their threads included) from /proc; a process
    that has ended counts nothing."""
    ticks = 0
    for pid in pids:
        try:
            fields = Path(f"/proc/{pid}/stat").read_text().rsplit(")", 1)[1].split()
        except OSError:
            continue
        ticks += int(fields[11]) + int(fields[12])  # utime, stime
    return ticks / os.sysconf("SC_CLK_TCK")


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


@dataclass(frozen=True)
class Row:
    """One row of the benchmark table: a figure, its baseline measured in the same run, the
    ratio between them (how the figure is judged: it compares across machines) and the goal."""

    figure: str
    value: str
    baseline: str
    ratio: float | None
    goal: str


def emit(row: Row) -> None:
    print(ROW_PREFIX + json.dumps(asdict(row)), flush=True)
