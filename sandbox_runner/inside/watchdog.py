"""PID 1 of every sandbox: `python3 -I /opt/corral/lib/sandbox_runner/inside/watchdog.py SECONDS -- COMMAND...`.

It starts COMMAND (the agent entrypoint), and if it has not ended after SECONDS, exits
with 137 — which tears down the sandbox's whole PID namespace. So a sandbox ends by its
deadline even when the orchestrator that should kill it has crashed.

One interpreter per sandbox: the watchdog forks, and the child becomes COMMAND. When
COMMAND is `python3 -m MODULE ARGS...` (the entrypoint contract), the child runs MODULE in
this interpreter, with the path and flags `python3 -m` would have had from the environment
(`-I` ignored them here), instead of starting a second Python (about 20 ms of CPU, a third of
a cold start's import time under the sandbox's CPU quota). Any other COMMAND is executed.

Agent code runs as the same user, so the watchdog makes itself non-dumpable first: the
agent can then neither ptrace it nor read its memory (the child, which runs the agent,
is made dumpable again: its own /proc files stay its own). As PID 1 of its namespace it
also ignores signals it installs no handler for, SIGKILL and SIGSTOP included, when they come
from inside (under Docker and bubblewrap's `--as-pid-1`; not under gVisor, see SECURITY.md).
The watchdog imports only the standard library, before the child adds /agent or anything
of the environment to the path.
"""

from __future__ import annotations

import ctypes
import ctypes.util
import io
import os
import signal
import sys
from typing import TextIO

PR_SET_DUMPABLE = 4
KILLED_EXIT_CODE = 137
# `python3 -m MODULE` as the contract's entrypoint spells it.
PYTHON_NAMES = {"python3", "python", os.path.basename(sys.executable)}


def become_module(module: str, args: list[str]) -> None:
    """Runs `module` as `python3 -m module args...` would in this environment; never returns."""
    import runpy

    # What -I left out: the working directory first (as -m puts it), then PYTHONPATH.
    extra = [entry for entry in os.environ.get("PYTHONPATH", "").split(os.pathsep) if entry]
    sys.path[:0] = [os.getcwd(), *extra]
    if os.environ.get("PYTHONDONTWRITEBYTECODE"):
        sys.dont_write_bytecode = True
    if os.environ.get("PYTHONUNBUFFERED"):
        # As -u: no buffer under the text layer either (write_through alone leaves the binary
        # layer's buffer, and what an agent printed before a deadline kill would be lost).
        sys.stdout, sys.stderr = (unbuffered(stream) for stream in (sys.stdout, sys.stderr))
    sys.argv = [module, *args]
    runpy.run_module(module, run_name="__main__", alter_sys=True)
    sys.exit(0)


def unbuffered(stream: TextIO) -> TextIO:
    """A text stream on `stream`'s file descriptor that hands every write to the descriptor."""
    stream.flush()
    raw = io.FileIO(stream.fileno(), "w", closefd=False)
    return io.TextIOWrapper(raw, encoding=stream.encoding, errors=stream.errors, write_through=True)


def run_child(libc: ctypes.CDLL, command: list[str]) -> None:
    """In the forked child: become COMMAND. Never returns."""
    signal.signal(signal.SIGALRM, signal.SIG_DFL)
    libc.prctl(PR_SET_DUMPABLE, 1, 0, 0, 0)
    if os.path.basename(command[0]) in PYTHON_NAMES and len(command) >= 3 and command[1] == "-m":
        become_module(command[2], command[3:])
    try:
        os.execvp(command[0], command)
    except OSError as exc:
        print(f"watchdog: could not start {command[0]}: {exc}", file=sys.stderr, flush=True)
    os._exit(127)


def main(argv: list[str]) -> int:
    if len(argv) < 4 or argv[2] != "--":
        print("usage: python3 -I watchdog.py SECONDS -- COMMAND...", file=sys.stderr)
        return 2
    seconds = float(argv[1])
    libc = ctypes.CDLL(ctypes.util.find_library("c"), use_errno=True)
    if libc.prctl(PR_SET_DUMPABLE, 0, 0, 0, 0) != 0:
        print("watchdog: could not make itself non-dumpable; refusing to run", file=sys.stderr)
        return 2

    def deadline_passed(signum: int, frame: object) -> None:
        print(f"watchdog: deadline of {seconds:g}s passed; ending the sandbox", file=sys.stderr, flush=True)
        os._exit(KILLED_EXIT_CODE)

    signal.signal(signal.SIGALRM, deadline_passed)
    signal.setitimer(signal.ITIMER_REAL, seconds)
    sys.stdout.flush()
    sys.stderr.flush()
    child = os.fork()
    if child == 0:
        run_child(libc, argv[3:])
    # As PID 1, orphans of the sandbox are reparented here: reap them too, until the child ends.
    while True:
        try:
            pid, status = os.wait()
        except ChildProcessError:
            return 0
        if pid == child:
            break
    # A child killed by signal N exits as a shell would report it: 128 + N (137 = SIGKILL,
    # e.g. the kernel's OOM killer).
    return 128 + os.WTERMSIG(status) if os.WIFSIGNALED(status) else os.WEXITSTATUS(status)


if __name__ == "__main__":
    sys.exit(main(sys.argv))
