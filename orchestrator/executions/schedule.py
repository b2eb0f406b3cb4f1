"""When a session runs next: rolling or fixed schedules, as Circuit defines them.

- rolling: the next run starts one interval after the previous one *finished*.
- fixed: runs start on clock-aligned boundaries (multiples of the interval since the
  Unix epoch, UTC); a run that overruns its slot skips to the next free boundary.

Times are naive UTC datetimes, as stored. `minute_seconds` is how long one
`runtimeIntervalMinutes` minute lasts (60 in production, less in demos and tests).
"""

from __future__ import annotations

import math
from datetime import datetime, timedelta

EPOCH = datetime(1970, 1, 1)


def next_run_after(finished_at: datetime, interval_minutes: int, schedule: str, minute_seconds: float) -> datetime:
    interval = timedelta(seconds=interval_minutes * minute_seconds)
    if schedule == "fixed":
        return _next_boundary(finished_at, interval)
    return finished_at + interval


def resume_at(scheduled: datetime | None, now: datetime, interval_minutes: int, schedule: str, minute_seconds: float) -> datetime:
    """Where a resumed session picks up: its next scheduled time if still ahead, otherwise
    the first later slot of its schedule (a pause never makes runs pile up)."""
    if scheduled is None:
        return now
    if scheduled >= now:
        return scheduled
    interval = timedelta(seconds=interval_minutes * minute_seconds)
    if schedule == "fixed":
        return _next_boundary(now, interval)
    missed = math.ceil((now - scheduled) / interval)
    return scheduled + missed * interval


def _next_boundary(after: datetime, interval: timedelta) -> datetime:
    slots = math.floor((after - EPOCH) / interval) + 1
    return EPOCH + slots * interval
