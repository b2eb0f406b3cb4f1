"""The bubblewrap backend's start path: it survives the orchestrator's gRPC threads, and
the sandbox it starts still gets its cgroups, rlimits and user.

The first test is a regression test for an isolation-suite flake: a bwrap sandbox whose
"agent" exited with code 134 and only printed gRPC's
`Epoll1Poller ... encountered epoll_wait error: Bad file descriptor`. It was never the
agent: the child that Popen forked to become bwrap ran gRPC's fork handlers (because of
preexec_fn), those restarted gRPC's poller thread, close_fds closed its epoll fd, and
the poller aborted the child before exec (grpc/grpc#43055). The start now forks with vfork only
(no preexec_fn, user or group) and runs no interpreter: see sandbox_runner/host/bwrap_backend.py.
"""

from __future__ import annotations

import contextlib
import errno
import os
import shutil
import socket
import tempfile
import threading
import time
from concurrent.futures import ThreadPoolExecutor
from pathlib import Path

import grpc
import pytest
from grpc_health.v1 import health, health_pb2, health_pb2_grpc

from sandbox_runner.host.backend import DOORBELL_NAME, WAIT_FOR_SOCKET_ENV, SandboxLimits, SandboxSpec, SandboxStartError, run_sandbox
from sandbox_runner.host.bwrap_backend import BubblewrapBackend
from sandbox_runner.host.cgroups import SandboxCgroup
from tests.conftest import AGENTS_DIR

# Before the fix, 0.5-1% of starts died this way on a 2-CPU host: 1000 starts catch it
# all but about once in 150 runs.
STARTS = 1000


@pytest.fixture(scope="module")
def dir_image(agent_dir_image) -> str:
    return agent_dir_image(AGENTS_DIR / "sleeper")


@pytest.fixture
def busy_grpc(tmp_path):
    """gRPC in this process with calls in flight, as in the orchestrator, whose threads
    are what the forked child inherited."""
    server = grpc.server(ThreadPoolExecutor(4))
    health_pb2_grpc.add_HealthServicer_to_server(health.HealthServicer(), server)
    socket_path = tmp_path / "busy.sock"
    server.add_insecure_port(f"unix:{socket_path}")
    server.start()
    channel = grpc.insecure_channel(f"unix:{socket_path}")
    stub = health_pb2_grpc.HealthStub(channel)
    stop = threading.Event()

    def call_forever() -> None:
        while not stop.is_set():
            stub.Check(health_pb2.HealthCheckRequest(), timeout=10)
            time.sleep(0.001)

    callers = [threading.Thread(target=call_forever, daemon=True) for _ in range(2)]
    for caller in callers:
        caller.start()
    yield
    stop.set()
    for caller in callers:
        caller.join(timeout=10)
    channel.close()
    server.stop(None)


@pytest.fixture
def host_dir():
    """A directory the sandbox user can reach (pytest's tmp_path is not: it is under a
    0700 directory), for the backend's state and the socket directory."""
    path = Path(tempfile.mkdtemp(prefix="corral-bwrap-test-"))
    path.chmod(0o711)
    yield path
    shutil.rmtree(path, ignore_errors=True)


def socket_dir(host_dir: Path) -> Path:
    path = host_dir / "socket"
    path.mkdir()
    path.chmod(0o755)
    return path


@contextlib.contextmanager
def doorbell(directory: Path):
    """A pre-started sandbox's doorbell that never rings: the sandbox waits on it until it
    is finished, discarded or its idle time passes."""
    listener = socket.socket(socket.AF_UNIX, socket.SOCK_STREAM)
    listener.bind(str(directory / DOORBELL_NAME))
    os.chmod(directory / DOORBELL_NAME, 0o666)
    listener.listen(8)
    try:
        yield
    finally:
        listener.close()
        (directory / DOORBELL_NAME).unlink(missing_ok=True)


STAND_IN_BWRAP = """#!/bin/bash
while [ $# -gt 0 ]; do
  case "$1" in
    --info-fd) info=$2; shift ;;
    --block-fd) block=$2; shift ;;
  esac
  shift
done
echo "{\\"child-pid\\": $$}" >&"$info"
head -c 1 <&"$block" > /dev/null
"""


def test_starting_beside_busy_grpc_threads_never_kills_the_start(busy_grpc, dir_image, host_dir):
    # bwrap itself is replaced by a stand-in that only does its part of the start (names its
    # sandboxed child on --info-fd, waits on --block-fd): the failure happened between fork
    # and exec, so what is executed does not matter, and the many starts stay quick.
    stand_in = host_dir / "bwrap"
    stand_in.write_text(STAND_IN_BWRAP)
    stand_in.chmod(0o755)
    backend = BubblewrapBackend(host_dir / "state", bwrap=str(stand_in))
    sockets = socket_dir(host_dir)

    def start_one(_):
        return run_sandbox(backend, SandboxSpec(image=dir_image, command=["run"], socket_dir=sockets))

    with ThreadPoolExecutor(4) as pool:
        results = list(pool.map(start_one, range(STARTS)))
    failed = [(r.exit_code, r.start_error, r.output[-200:]) for r in results if r.exit_code != 0]
    assert failed == [], f"{len(failed)} of {STARTS} starts failed, e.g. {failed[:3]}"
    assert list((host_dir / "state").iterdir()) == []


def test_every_sandbox_process_is_confined(dir_image, host_dir):
    backend = BubblewrapBackend(host_dir / "state")
    limits = SandboxLimits(nofile=200, fsize_mb=32)
    # A pooled sandbox: it waits on a doorbell that never rings, and ends unused once it is gone.
    sockets = socket_dir(host_dir)
    spec = SandboxSpec(image=dir_image, command=["run"], socket_dir=sockets, environment={WAIT_FOR_SOCKET_ENV: "5"}, limits=limits)
    started = None
    try:
        with doorbell(sockets):
            started = backend.start(spec)
            cgroup = SandboxCgroup(spec.sandbox_id)
            # bwrap, the watchdog (its sandboxed child, PID 1 inside: --as-pid-1, no reaper of
            # bwrap's between them) and the entrypoint (a fork of the watchdog)
            pids = wait_for_pids(cgroup, 3)
            assert started.handle.process.pid in pids
            for controller in ("memory", "cpu"):
                assert sorted(map(int, (cgroup.paths[controller] / "cgroup.procs").read_text().split())) == pids
            for pid in pids:
                status = dict(line.split(":", 1) for line in Path(f"/proc/{pid}/status").read_text().splitlines())
                assert status["Uid"].split() == ["65534"] * 4 and status["Gid"].split() == ["65534"] * 4
                assert status["Groups"].strip() == ""
                assert status["NoNewPrivs"].strip() == "1"
                if pid != started.handle.process.pid:  # bwrap installs the filter in its sandboxed child
                    assert status["Seccomp"].strip() == "2"
                rlimits = {line[:26].strip(): line[26:].split()[:2] for line in Path(f"/proc/{pid}/limits").read_text().splitlines()[1:]}
                assert rlimits["Max open files"] == ["200", "200"]
                assert rlimits["Max file size"] == [str(32 * 2**20)] * 2
                assert rlimits["Max core file size"] == ["0", "0"]
                # The start's status pipe is not inherited: only bwrap's own descriptors and the agent's.
                assert open_pipes(pid) == []
    finally:
        result = backend.finish(started, 30) if started is not None else None
    assert result is not None and result.exit_code == 0, result


def test_a_sandbox_that_cannot_be_confined_does_not_start(dir_image, host_dir, monkeypatch):
    backend = BubblewrapBackend(host_dir / "state")
    monkeypatch.setattr(SandboxCgroup, "procs_files", lambda self: [Path("/sys/fs/cgroup/pids/corral/no-such-group/cgroup.procs")])
    with pytest.raises(SandboxStartError, match="no-such-group"):
        backend.start(SandboxSpec(image=dir_image, command=["run"], socket_dir=socket_dir(host_dir)))
    assert list((host_dir / "state").iterdir()) == []


def test_a_sandbox_confined_only_in_part_is_killed_not_let_go(dir_image, host_dir, monkeypatch):
    """The first cgroup takes the sandbox's processes, the next one fails: the start fails and
    bwrap's sandboxed child does not go on unconfined once the block pipe closes (a pooled
    sandbox would then wait on its doorbell, outside its cgroups, for 60 s). The backend kills
    that child itself rather than count on bwrap's --die-with-parent, armed only after the pipe."""
    from sandbox_runner.host import bwrap_backend

    backend = BubblewrapBackend(host_dir / "state")
    real_procs_files = SandboxCgroup.procs_files
    monkeypatch.setattr(SandboxCgroup, "procs_files", lambda self: [real_procs_files(self)[0],
                                                                    Path("/sys/fs/cgroup/pids/corral/no-such-group/cgroup.procs")])
    children: list[int] = []
    real_child_pid = bwrap_backend._child_pid

    def child_pid(info_fd: int) -> int | None:
        children.append(real_child_pid(info_fd))
        return children[-1]

    monkeypatch.setattr(bwrap_backend, "_child_pid", child_pid)
    sockets = socket_dir(host_dir)
    spec = SandboxSpec(image=dir_image, command=["run"], socket_dir=sockets, environment={WAIT_FOR_SOCKET_ENV: "60"})
    with doorbell(sockets), pytest.raises(SandboxStartError, match="no-such-group"):
        backend.start(spec)
    assert len(children) == 1 and isinstance(children[0], int)
    for _ in range(100):  # a killed process is reaped by init soon after; a live one waits 60 s on its doorbell
        if not alive(children[0]):
            break
        time.sleep(0.05)
    assert not alive(children[0]), "the sandboxed child went on outside its cgroups"


def alive(pid: int) -> bool:
    try:
        return Path(f"/proc/{pid}/stat").read_text().rsplit(")", 1)[1].split()[0] != "Z"
    except OSError:
        return False


def wait_for_pids(cgroup: SandboxCgroup, count: int) -> list[int]:
    """The cgroup's processes once the entrypoint runs (the watchdog's start of it, with
    its own short-lived pipe, is over)."""
    deadline = time.monotonic() + 20
    while time.monotonic() < deadline:
        pids = sorted(cgroup.pids())
        if len(pids) >= count and any(b"sandbox_runner.inside.entrypoint" in cmdline(pid) for pid in pids):
            time.sleep(0.3)
            return sorted(cgroup.pids())
        time.sleep(0.05)
    raise AssertionError(f"the sandbox's cgroup holds {cgroup.pids()}, not {count} processes")


def cmdline(pid: int) -> bytes:
    try:
        return Path(f"/proc/{pid}/cmdline").read_bytes()
    except OSError:
        return b""


def open_pipes(pid: int) -> list[int]:
    """Descriptors above stderr that are pipes (files the agent opens and closes meanwhile
    are skipped)."""
    pipes = []
    for fd in os.listdir(f"/proc/{pid}/fd"):
        try:
            if int(fd) > 2 and os.readlink(f"/proc/{pid}/fd/{fd}").startswith("pipe:"):
                pipes.append(int(fd))
        except FileNotFoundError:
            pass
    return pipes


def test_a_discard_racing_a_finish_leaves_nothing_and_raises_nothing(dir_image, host_dir):
    """The orchestrator's shutdown discards a sandbox while its execution finishes it: both
    kill and remove the same cgroup, and a group removed while the other reads it answers
    ENODEV (what once failed the shutdown)."""
    backend = BubblewrapBackend(host_dir / "state")
    sockets = socket_dir(host_dir)
    for _ in range(5):
        spec = SandboxSpec(image=dir_image, command=["run"], socket_dir=sockets, environment={WAIT_FOR_SOCKET_ENV: "30"})
        with doorbell(sockets):
            started = backend.start(spec)
            wait_for_pids(SandboxCgroup(spec.sandbox_id), 3)
            with ThreadPoolExecutor(2) as pool:
                finishing = pool.submit(backend.finish, started, 60)
                discarding = pool.submit(backend.discard, started)
                discarding.result(timeout=60)
                finishing.result(timeout=60)
        assert not any(path.exists() for path in SandboxCgroup(spec.sandbox_id).paths.values())
    assert list((host_dir / "state").iterdir()) == []


def test_a_group_removed_while_it_is_read_counts_as_empty(monkeypatch):
    # The kernel answers ENODEV to a read of a cgroup file whose group was removed after the
    # file was found: the race above, made certain.
    def removed_under_the_reader(self, *args, **kwargs):
        raise OSError(errno.ENODEV, "No such device")

    cgroup = SandboxCgroup("0123456789abcdef")
    cgroup.create(memory_mb=64, cpus=0.5, pids=8)
    try:
        with monkeypatch.context() as patched:
            patched.setattr(Path, "read_text", removed_under_the_reader)
            assert cgroup.pids() == [] and cgroup.oom_killed() is False
            cgroup.kill_all()
    finally:
        cgroup.remove()
    assert not any(path.exists() for path in cgroup.paths.values())
