"""PID 1 of every sandbox: `python3 -I /opt/corral/lib/sandbox_runner/inside/watchdog.py SECONDS -- COMMAND...`.

It starts COMMAND (the agent entrypoint), and if it has not ended after SECONDS, exits
with 137 — which tears down the sandbox's whole PID namespace. So a sandbox ends by its
deadline even when the orchestrator that should kill it has crashed.

Agent code runs as the same user, so the watchdog makes itself non-dumpable first: the
agent can then neither ptrace it nor read its memory. As PID 1 of its namespace it also
ignores signals it installs no handler for, SIGKILL included, when they come from inside.
"""

from __future__ import annotations

import ctypes
import ctypes.util
import subprocess
import sys

PR_SET_DUMPABLE = 4
KILLED_EXIT_CODE = 137


def main(argv: list[str]) -> int:
    if len(argv) < 4 or argv[2] != "--":
        print("usage: python3 -I watchdog.py SECONDS -- COMMAND...", file=sys.stderr)
        return 2
    seconds = float(argv[1])
    libc = ctypes.CDLL(ctypes.util.find_library("c"), use_errno=True)
    if libc.prctl(PR_SET_DUMPABLE, 0, 0, 0, 0) != 0:
        print("watchdog: could not make itself non-dumpable; refusing to run", file=sys.stderr)
        return 2
    child = subprocess.Popen(argv[3:])
    try:
        code = child.wait(timeout=seconds)
    except subprocess.TimeoutExpired:
        print(f"watchdog: deadline of {seconds:g}s passed; ending the sandbox", file=sys.stderr, flush=True)
        return KILLED_EXIT_CODE
    # A child killed by signal N exits as a shell would report it: 128 + N (137 = SIGKILL,
    # e.g. the kernel's OOM killer).
    return 128 - code if code < 0 else code


if __name__ == "__main__":
    sys.exit(main(sys.argv))
