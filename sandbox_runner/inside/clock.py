"""The agent's clock, when the platform sets it (`GetExecutionContextResponse.agent_clock`): a
backtest's run sees the time of the block it runs at, a replayed run the time the recorded
execution ran.

Python's wall-clock reads are shifted by one offset, set before the agent's code is imported:
`time.time`, `time.time_ns`, `time.localtime` / `gmtime` / `ctime` / `asctime` / `strftime`
without a time given, `datetime.datetime.now` / `utcnow` / `today` and `datetime.date.today`.
The clock then advances as usual. Monotonic clocks (durations, timeouts) are not shifted, and
native code reading the clock itself sees the host's time. gRPC's Python modules keep the
host's `time` (they turn the SDK's timeouts into deadlines its C core checks against the host's
clock: shifted, every SDK call would have expired before it was made).

`datetime.datetime` and `datetime.date` become subclasses (this module's, so their instances
pickle) whose `isinstance` checks still accept the real classes' instances (as freezegun does),
so values made before the shift, or by C code, pass the same checks. This is not a boundary (the agent may undo it): it only keeps an
agent's inputs consistent with the time they are from.
"""

from __future__ import annotations

import datetime as _datetime
import importlib
import time as _time
import types
from collections.abc import Callable

real_time: Callable[[], float] = _time.time
_real_time_ns = _time.time_ns
_RealDatetime = _datetime.datetime
_RealDate = _datetime.date
# The platform's own modules that read the wall clock to talk to the host.
HOST_CLOCK_MODULES = ("grpc._channel", "grpc._common", "grpc._utilities", "grpc._server")


_offset = 0.0  # seconds added to the host's clock (shift_clock)


def _now() -> float:
    return real_time() + _offset


class _DateType(type):
    """`isinstance(d, date)` is true for the real class's instances too (made before the
    shift, or by C code); a subclass made later keeps the ordinary check."""

    def __instancecheck__(cls, value: object) -> bool:
        return isinstance(value, _RealDate) if cls is date else type.__instancecheck__(cls, value)


class _DatetimeType(_DateType):
    def __instancecheck__(cls, value: object) -> bool:
        return isinstance(value, _RealDatetime) if cls is datetime else type.__instancecheck__(cls, value)


# Module-level, so their instances pickle (as sandbox_runner.inside.clock.date / .datetime).
class date(_RealDate, metaclass=_DateType):  # noqa: N801 — stands in for datetime.date
    @classmethod
    def today(cls):  # type: ignore[no-untyped-def]
        return cls.fromtimestamp(_now())


class datetime(_RealDatetime, date, metaclass=_DatetimeType):  # type: ignore[misc]  # noqa: N801
    @classmethod
    def now(cls, tz=None):  # type: ignore[no-untyped-def]
        return cls.fromtimestamp(_now(), tz)

    @classmethod
    def utcnow(cls):  # type: ignore[no-untyped-def]
        return cls.fromtimestamp(_now(), _datetime.UTC).replace(tzinfo=None)

    @classmethod
    def today(cls):  # type: ignore[no-untyped-def]
        return cls.fromtimestamp(_now())


def shift_clock(starts_at: float) -> None:
    """From now on, the wall clock reads `starts_at` (seconds since the epoch) plus the time
    elapsed since this call."""
    global _offset
    _offset = starts_at - real_time()
    offset_ns = int(_offset * 1_000_000_000)
    unshifted = types.ModuleType("time")
    unshifted.__dict__.update(_time.__dict__)
    for name in HOST_CLOCK_MODULES:  # imported now if not yet, so none binds the shifted clock later
        importlib.import_module(name).time = unshifted  # type: ignore[attr-defined]

    def time_ns() -> int:
        return _real_time_ns() + offset_ns

    def at_now(original: Callable) -> Callable:  # type: ignore[type-arg]
        def read(secs: float | None = None):  # type: ignore[no-untyped-def]
            return original(_now() if secs is None else secs)

        return read

    localtime = at_now(_time.localtime)
    _time.time, _time.time_ns = _now, time_ns
    _time.localtime, _time.gmtime, _time.ctime = localtime, at_now(_time.gmtime), at_now(_time.ctime)
    asctime, strftime = _time.asctime, _time.strftime
    _time.asctime = lambda t=None: asctime(localtime() if t is None else t)
    _time.strftime = lambda format, t=None: strftime(format, localtime() if t is None else t)
    _datetime.date, _datetime.datetime = date, datetime  # type: ignore[misc]
