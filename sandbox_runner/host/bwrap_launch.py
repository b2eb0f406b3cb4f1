"""The step between the orchestrator and `bwrap`, run as its own process:

    python -I -S bwrap_launch.py STATUS_FD SETUP_JSON -- BWRAP_ARGV...

It moves itself into the sandbox's cgroups, sets the sandbox's rlimits, drops to the
sandbox user and executes bwrap, which keeps all of that. SETUP_JSON holds
`{"cgroup_procs": [path, ...], "rlimits": {"RLIMIT_NOFILE": n, ...}, "uid": u, "gid": g}`.
If a step fails, it writes the reason to STATUS_FD and exits 1 without starting bwrap:
an unconfined sandbox never runs. If bwrap starts, STATUS_FD is closed by the exec with
nothing written: that is how the orchestrator knows the start worked.

Why a process of its own rather than `subprocess.Popen(preexec_fn=...)` in the
orchestrator: the orchestrator has threads and runs gRPC. A preexec_fn (or Popen's
user=/group=/extra_groups=) makes CPython fork() instead of vfork(), so gRPC's
pthread_atfork child handler runs in the child and restarts its event-engine threads
there. Then (in about one start in a hundred with gRPC busy) Popen's close_fds closes
the epoll fd of the restarted poller, which aborts the child ("Epoll1Poller ...
encountered epoll_wait error: Bad file descriptor", SIGABRT: the sandbox "exited with
code 134" before bwrap ever ran; grpc/grpc#43055), or the child crashes (SIGSEGV), or it
deadlocks inside that handler and the start never returns. With no preexec_fn and no user or
group change, Popen uses vfork, which runs no fork handlers and none of our code before
exec; the setup happens here, in a fresh single-threaded interpreter that never
imports gRPC.

Only the standard library may be imported: `-I -S` leaves out the orchestrator's
environment and site-packages, which also keeps this start fast.
"""

from __future__ import annotations

import json
import os
import resource
import sys


def enter(setup: dict) -> None:
    """Applies the sandbox's confinement to this process, in the order that makes each
    step still permitted: the cgroups and limits as root, then the user change last."""
    for procs in setup["cgroup_procs"]:
        with open(procs, "w") as f:
            f.write(str(os.getpid()))
    for name, value in setup["rlimits"].items():
        resource.setrlimit(getattr(resource, name), (value, value))
    os.setgroups([])
    os.setgid(setup["gid"])
    os.setuid(setup["uid"])


def find_executable(name: str) -> str:
    if "/" in name:
        return name
    for directory in os.get_exec_path():
        path = os.path.join(directory, name)
        if os.path.isfile(path) and os.access(path, os.X_OK):
            return path
    raise FileNotFoundError(f"{name} is not on PATH")


def main(argv: list[str]) -> int:
    if len(argv) < 5 or argv[3] != "--":
        print("usage: bwrap_launch.py STATUS_FD SETUP_JSON -- BWRAP_ARGV...", file=sys.stderr)
        return 2
    status_fd = int(argv[1])
    try:
        setup, command = json.loads(argv[2]), argv[4:]
        # Found while still root: the sandbox user may not read this interpreter's
        # standard library, which os.execvp's PATH search imports from.
        executable = find_executable(command[0])
        enter(setup)
        # Only bwrap's exec may close the status pipe, and the sandbox must not inherit
        # its write end (the orchestrator would wait for the sandbox to end).
        os.set_inheritable(status_fd, False)
        os.execv(executable, command)
    except Exception as exc:  # noqa: BLE001 — whatever stops the start is its reason
        os.write(status_fd, f"{type(exc).__name__}: {exc}".encode())
    return 1


if __name__ == "__main__":
    sys.exit(main(sys.argv))
