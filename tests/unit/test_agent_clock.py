"""The agent's clock (sandbox_runner/inside/clock.py), set in a process of its own as the
sandbox's entrypoint sets it: every wall-clock read of Python's time and datetime starts at the
time given and advances from there; monotonic clocks do not move; values made before the shift
or by C code still pass isinstance checks against datetime's classes."""

from __future__ import annotations

import json
import subprocess
import sys

PROGRAM = """
import datetime, json, pickle, time
import grpc
made_before = datetime.datetime(2030, 1, 1)
monotonic_before = time.monotonic()
from sandbox_runner.inside.clock import shift_clock
shift_clock(1_600_000_000.5)  # 2020-09-13T12:26:40.5Z
from datetime import date, datetime as dt, UTC
print(json.dumps({
    "time": time.time(), "time_ns": time.time_ns(), "gmtime_year": time.gmtime().tm_year, "ctime": time.ctime()[-4:],
    "strftime": time.strftime("%Y"), "asctime": time.asctime()[-4:], "given": time.gmtime(0).tm_year,
    "now": dt.now(UTC).isoformat(), "utcnow": dt.utcnow().year, "today": dt.today().year, "date": date.today().year,
    "isinstance": [isinstance(made_before, dt), isinstance(made_before, date), isinstance(dt.now(), dt),
                   isinstance(datetime.date(2020, 1, 1), datetime.datetime)],
    "arithmetic": (dt.now(UTC) + datetime.timedelta(days=1)).year,
    "monotonic_moved": time.monotonic() - monotonic_before < 60,
    "grpc_deadline": grpc._channel._deadline(10) - time.time(),
    "pickled": pickle.loads(pickle.dumps(dt.now(UTC))).year,
    "subclass": isinstance(made_before, type("Later", (dt,), {})),
}))
"""


def test_a_shifted_clock_reads_the_given_time_everywhere_python_reads_the_wall_clock():
    out = subprocess.run([sys.executable, "-c", PROGRAM], capture_output=True, text=True, check=True).stdout
    seen = json.loads(out)
    assert 1_600_000_000.5 <= seen["time"] < 1_600_000_060 and 1_600_000_000 * 10**9 <= seen["time_ns"] < 1_600_000_060 * 10**9
    assert (seen["gmtime_year"], seen["ctime"], seen["strftime"], seen["asctime"], seen["given"]) == (2020, "2020", "2020", "2020", 1970)
    assert seen["now"].startswith("2020-09-13T12:2") and seen["now"].endswith("+00:00")
    assert (seen["utcnow"], seen["today"], seen["date"], seen["arithmetic"]) == (2020, 2020, 2020, 2020)
    assert seen["isinstance"] == [True, True, True, False]
    assert seen["pickled"] == 2020 and seen["subclass"] is False  # values pickle; a later subclass keeps the ordinary check
    assert seen["monotonic_moved"] is True
    # gRPC's deadlines stay on the host's clock (else every SDK call would expire before it is made).
    assert seen["grpc_deadline"] > 5 * 365 * 24 * 3600  # the host is years past 2020
