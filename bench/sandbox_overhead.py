"""Sandbox cost, per backend, as ratios against that backend's raw start measured in the same run:

- raw start (the baseline): `docker run --rm --network none IMAGE python3 -c pass` (runc, runsc),
  `bwrap --unshare-all ... python3 -c pass` over the same directory image (bubblewrap);
- cold: execution due -> the agent's `run` entered, and -> its first SDK call (`memory.get`)
  returned, every execution in a fresh sandbox (what a start defers past `run()` shows in the second);
- warm: the same with the default warm pool (pre-started sandboxes), over the executions that
  found one (those that did not are counted and left out: the pool had not refilled yet);
- idle: CPU that N pre-started sandboxes use while they wait for work (% of one core, each);
- parallel: PARALLEL sessions due at once on the warm pool, due -> `run` entered, and how
  many of their executions had to start cold.

    .venv/bin/python -m bench.sandbox_overhead [--runs 10] [--sandbox runc runsc bubblewrap] [--idle 4] [--parallel 8] [--no-warm] [--no-cold]

Absolute numbers depend on the (shared, noisy) machine; compare the ratios.
"""

from __future__ import annotations

import argparse
import os
import re
import socket
import subprocess
import tempfile
import time
from datetime import UTC
from pathlib import Path
from typing import NamedTuple

from bench.common import Row, cpu_seconds, emit, percentile, summary
from corral.v1 import orchestrator_pb2 as pb
from devtools.devstack import DevStack
from orchestrator.agents.images import build_agent_dir_image, build_agent_image
from sandbox_runner.host.backend import WAIT_FOR_SOCKET_ENV, SandboxBackend, SandboxSpec

# Logs when `run` was entered and when its first SDK call returned, both taken inside the sandbox.
FIRST_CALL_AGENT = Path(__file__).resolve().parent / "agents" / "first_call"
MARKS = re.compile(r"entered=([0-9.]+) first_call_returned=([0-9.]+)")
INTERVAL_SECONDS = 0.5
# On the warm pool, sessions run every WARM_INTERVAL: long enough for the pool to refill
# between runs on a busy 2-core machine (a shorter one measures cold starts again).
WARM_INTERVAL_SECONDS = 3.0
IDLE_MEASURE_SECONDS = 10.0
# What the orchestrator logs when an execution finds no pre-started sandbox (runner.py).
COLD_FALLBACK = re.compile(r"execution (\d+): no pre-started sandbox")


def raw_docker_runs(image: str, runs: int, runtime: str | None) -> list[float]:
    argv = ["docker", "run", "--rm", "--network", "none"]
    if runtime:
        argv += ["--runtime", runtime]
    argv += ["--entrypoint", "python3", image, "-c", "pass"]
    subprocess.run(argv, check=True, capture_output=True)  # warm the image cache
    return _timed(argv, runs)


def raw_bwrap_runs(dir_image: Path, runs: int) -> list[float]:
    """bwrap with the sandbox's namespaces over the image's root filesystem, as the sandbox user."""
    import json

    meta = json.loads((dir_image / "image.json").read_text())
    argv = ["setpriv", "--reuid=65534", "--regid=65534", "--clear-groups", "--",
            "bwrap", "--unshare-all", "--unshare-user", "--die-with-parent", "--new-session", "--cap-drop", "ALL",
            "--ro-bind", meta["rootfs"], "/", "--ro-bind", meta["base"], "/opt/corral", "--proc", "/proc", "--dev", "/dev",
            "--tmpfs", "/tmp", "--clearenv", "--setenv", "PATH", "/usr/bin:/bin", "--", "python3", "-c", "pass"]
    subprocess.run(argv, check=True, capture_output=True)
    return _timed(argv, runs)


def _timed(argv: list[str], runs: int) -> list[float]:
    times = []
    for _ in range(runs):
        start = time.perf_counter()
        subprocess.run(argv, check=True, capture_output=True)
        times.append(time.perf_counter() - start)
    return times


def _sandbox_config(sandbox_kind: str, warm_pool: int) -> dict[str, object]:
    sandbox: dict[str, object] = {"warm_pool_size": warm_pool}
    if sandbox_kind == "runsc":
        sandbox["runtime"] = "runsc"
    if sandbox_kind == "bubblewrap":
        sandbox["backend"] = "bubblewrap"
    return sandbox


class Starts(NamedTuple):
    """Per execution, seconds from its due time until the agent's `run` was entered, and until
    its first SDK call had returned."""

    run: list[float]
    first_call: list[float]


def _starts(executions: list, interval: float, skip: set[int]) -> Starts:
    """Per execution after the first (rolling schedule: execution k is due `interval` after
    execution k-1 finished), but for the execution ids in `skip`."""
    done = sorted(executions, key=lambda e: e.id)
    failed = [e.error for e in done if e.status != pb.EXECUTION_STATUS_SUCCEEDED]
    if failed:
        raise SystemExit(f"benchmark executions failed: {failed[:3]}")
    starts = Starts([], [])
    for previous, current in zip(done, done[1:], strict=False):
        if current.id in skip:
            continue
        due = previous.finished_at.ToDatetime(tzinfo=UTC).timestamp() + interval
        marks = MARKS.search(current.logs[0].message)
        if marks is None:
            raise SystemExit(f"execution {current.id} logged no marks: {current.logs[0].message!r}")
        starts.run.append(float(marks.group(1)) - due)
        starts.first_call.append(float(marks.group(2)) - due)
    return starts


def platform_runs(image: str, runs: int, sandbox_kind: str, warm_pool: int, sessions: int = 1,
                  interval: float = INTERVAL_SECONDS, only_warm: bool = False) -> tuple[Starts, int]:
    """(due -> run entered and -> first SDK call returned, per execution; executions that fell
    back to a cold start).
    `only_warm`: leave out the executions that found no pre-started sandbox (where the
    orchestrator says so; an older one does not, and then every execution counts)."""
    with tempfile.TemporaryDirectory(prefix="corral-bench-") as home, DevStack(
        Path(home), minute_seconds=interval, sandbox=_sandbox_config(sandbox_kind, warm_pool),
        max_parallel_executions=max(4, sessions),
    ) as stack:
        agent = stack.api.RegisterAgent(pb.RegisterAgentRequest(image=image)).agent
        started = []
        for wallet in stack.create_wallets(sessions):
            stack.fund(wallet, 10**18)
            started.append(stack.api.StartSession(pb.StartSessionRequest(agent_id=agent.id, wallet_address=wallet)).session)
        per_session: dict[int, list] = {}
        while True:
            for session in started:
                per_session[session.id] = [
                    e for e in stack.api.ListExecutions(pb.ListExecutionsRequest(session_id=session.id, page_size=1000, view=pb.RESOURCE_VIEW_FULL)).executions
                    if e.status != pb.EXECUTION_STATUS_RUNNING
                ]
            if all(len(done) >= runs + 1 for done in per_session.values()):
                break
            time.sleep(0.2)
        for session in started:
            stack.api.StopSession(pb.StopSessionRequest(session_id=session.id))
        cold = {int(n) for n in COLD_FALLBACK.findall(stack.log_text("orchestrator"))}
    starts = Starts([], [])
    for done in per_session.values():
        session_starts = _starts(done, interval, cold if only_warm else set())
        starts.run.extend(session_starts.run[:runs])
        starts.first_call.extend(session_starts.first_call[:runs])
    return starts, len(cold)


def _backend(sandbox_kind: str, state_dir: Path) -> SandboxBackend:
    if sandbox_kind == "bubblewrap":
        from sandbox_runner.host.bwrap_backend import BubblewrapBackend

        return BubblewrapBackend(state_dir)
    from sandbox_runner.host.docker_backend import DockerBackend

    return DockerBackend(runtime="runsc" if sandbox_kind == "runsc" else None)


def _sandbox_pids(sandbox_kind: str, sandbox_id: str) -> list[int]:
    if sandbox_kind == "bubblewrap":
        procs = Path(f"/sys/fs/cgroup/pids/corral/{sandbox_id}/cgroup.procs")
    else:
        import docker

        container = docker.from_env().containers.list(filters={"label": f"org.corral.sandbox-id={sandbox_id}"})[0]
        procs = Path(f"/sys/fs/cgroup/pids/docker/{container.id}/cgroup.procs")
    return [int(pid) for pid in procs.read_text().split()]


def idle_cpu(image: str, sandbox_kind: str, count: int) -> float:
    """% of one core each of `count` pre-started sandboxes uses while it waits for work."""
    with tempfile.TemporaryDirectory(prefix="corral-bench-idle-") as tmp:
        root = Path(tmp)
        os.chmod(root, 0o711)
        backend = _backend(sandbox_kind, root / "state")
        started, doorbells = [], []
        try:
            for n in range(count):
                socket_dir = root / f"sockets-{n}"
                socket_dir.mkdir(mode=0o711)
                doorbells.append(_doorbell(socket_dir))
                spec = SandboxSpec(image=image, command=["run"], socket_dir=socket_dir, environment={WAIT_FOR_SOCKET_ENV: "120"},
                                   idle_seconds=120.0)
                started.append(backend.start(spec))
            time.sleep(8)  # every sandbox has imported what it needs and waits
            pids = [pid for s in started for pid in _sandbox_pids(sandbox_kind, s.spec.sandbox_id)]
            before, t0 = cpu_seconds(*pids), time.monotonic()
            time.sleep(IDLE_MEASURE_SECONDS)
            used, elapsed = cpu_seconds(*pids) - before, time.monotonic() - t0
        finally:
            for sandbox in started:
                backend.discard(sandbox)
            for doorbell in doorbells:
                if doorbell is not None:
                    doorbell.close()
    return 100 * used / elapsed / count


def _doorbell(socket_dir: Path) -> socket.socket | None:
    """The host's side of a pre-started sandbox's doorbell (where the platform has one), never rung."""
    try:
        from sandbox_runner.inside.contract import DOORBELL_NAME
    except ImportError:  # an older platform: its sandboxes poll for their socket
        return None
    listener = socket.socket(socket.AF_UNIX, socket.SOCK_STREAM)
    path = socket_dir / DOORBELL_NAME
    listener.bind(str(path))
    os.chmod(path, 0o666)
    listener.listen(4)
    return listener


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--runs", type=int, default=10, help="executions per figure")
    parser.add_argument("--sandbox", nargs="+", choices=["runc", "runsc", "bubblewrap"], default=["runc", "runsc", "bubblewrap"])
    parser.add_argument("--idle", type=int, default=4, help="pre-started sandboxes whose idle CPU is measured (0: skip)")
    parser.add_argument("--parallel", type=int, default=8, help="sessions due at once on the warm pool (0: skip)")
    parser.add_argument("--no-warm", action="store_true", help="skip the warm-pool figure")
    parser.add_argument("--no-cold", action="store_true", help="skip the cold-start figures")
    args = parser.parse_args()
    image = build_agent_image(FIRST_CALL_AGENT)
    dir_image = build_agent_dir_image(FIRST_CALL_AGENT)
    for kind in args.sandbox:
        target = str(dir_image) if kind == "bubblewrap" else image
        if kind == "bubblewrap":
            raw, raw_name = raw_bwrap_runs(dir_image, args.runs), "raw bwrap --unshare-all ... python3 -c pass"
        else:
            raw, raw_name = raw_docker_runs(image, args.runs, "runsc" if kind == "runsc" else None), "raw docker run ... python3 -c pass"
        baseline = percentile(raw, 50)
        print(f"\nsandbox {kind}, {args.runs} executions per figure")
        print(summary(raw_name, raw), flush=True)
        if not args.no_cold:
            cold, _ = platform_runs(target, args.runs, kind, warm_pool=0)
            print(summary("cold: execution due -> run() entered", cold.run, baseline), flush=True)
            print(summary("cold: execution due -> first SDK call returned", cold.first_call, baseline), flush=True)
            emit(Row(f"cold start ({kind}), due → `run()` p50", f"{percentile(cold.run, 50) * 1000:,.0f} ms",
                     f"{raw_name}: {baseline * 1000:,.0f} ms", percentile(cold.run, 50) / baseline, "≤ 1.3x"))
            emit(Row(f"cold start ({kind}), due → first SDK call returned p50", f"{percentile(cold.first_call, 50) * 1000:,.0f} ms",
                     f"{raw_name}: {baseline * 1000:,.0f} ms", percentile(cold.first_call, 50) / baseline, ""))
        if not args.no_warm:
            warm, fell_back = platform_runs(target, args.runs + 3, kind, warm_pool=1, interval=WARM_INTERVAL_SECONDS, only_warm=True)
            print(summary("warm pool: execution due -> run() entered", warm.run, baseline) + f"  cold fallbacks left out {fell_back}",
                  flush=True)
            print(summary("warm pool: execution due -> first SDK call returned", warm.first_call, baseline), flush=True)
            emit(Row(f"warm pool ({kind}), due → `run()` p50", f"{percentile(warm.run, 50) * 1000:,.0f} ms",
                     f"{raw_name}: {baseline * 1000:,.0f} ms", percentile(warm.run, 50) / baseline, "≤ 10 ms at default settings"))
        if args.idle:
            print(f"idle: {args.idle} pre-started sandboxes use {idle_cpu(target, kind, args.idle):.2f}% of a core each", flush=True)
        if args.parallel:
            parallel, fell_back = platform_runs(target, 3, kind, warm_pool=1, sessions=args.parallel, interval=WARM_INTERVAL_SECONDS)
            print(summary(f"{args.parallel} parallel on the pool: due -> run()", parallel.run, baseline)
                  + f"  cold fallbacks {fell_back} of {len(parallel.run) + args.parallel}", flush=True)


if __name__ == "__main__":
    main()
