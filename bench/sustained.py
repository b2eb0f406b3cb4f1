"""Sustained load: many sessions of a trivial agent running in real sandboxes on the warm pool
for minutes, against raw `docker run` at the same parallelism in the same run.

    .venv/bin/python -m bench.sustained [--sessions 1000] [--seconds 600] [--interval 120] [--parallel 8]
                                        [--warm-pool 8] [--sandbox runc|runsc|bubblewrap]

Every session is due `--interval` seconds after its previous run finished (a rolling
schedule). It prints executions per minute (and that rate against `--parallel` raw `docker
run --rm --network none IMAGE python3 -c pass` loops run for a while in the same run), the
delay from due to dispatch (p50/p99, from the executions' own records: a run is due
`--interval` after its session's previous one finished), and the orchestrator process's CPU
per execution. With `--interval 0` every session is always due: the platform's throughput.
"""

from __future__ import annotations

import argparse
import sqlite3
import subprocess
import tempfile
import threading
import time
from datetime import datetime
from pathlib import Path

from bench.common import Row, cpu_seconds, emit, percentile
from corral.v1 import orchestrator_pb2 as pb
from devtools.devstack import DevStack
from orchestrator.agents.images import build_agent_dir_image, build_agent_image

NOOP_AGENT = Path(__file__).resolve().parent / "agents" / "noop"
RAW_SECONDS = 30.0


def raw_docker_rate(image: str, parallel: int, runtime: str | None) -> float:
    """Raw `docker run`s per minute with `parallel` loops side by side for RAW_SECONDS."""
    argv = ["docker", "run", "--rm", "--network", "none", *(["--runtime", runtime] if runtime else []),
            "--entrypoint", "python3", image, "-c", "pass"]
    subprocess.run(argv, check=True, capture_output=True)  # the image in the page cache
    done: list[float] = []
    deadline = time.monotonic() + RAW_SECONDS

    def loop() -> None:
        while time.monotonic() < deadline:
            subprocess.run(argv, check=True, capture_output=True)
            done.append(time.monotonic())

    threads = [threading.Thread(target=loop) for _ in range(parallel)]
    start = time.monotonic()
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join()
    return len(done) / (time.monotonic() - start) * 60


def executions(database: Path) -> list[tuple[int, str, datetime, datetime | None]]:
    """(session, status, started, finished) of every execution, read from the orchestrator's
    SQLite file read-only (WAL lets it read while the orchestrator writes)."""
    with sqlite3.connect(f"file:{database}?mode=ro", uri=True) as db:
        rows = db.execute("SELECT session_id, status, started_at, finished_at FROM executions ORDER BY id").fetchall()
    return [(s, status, datetime.fromisoformat(a), datetime.fromisoformat(b) if b else None) for s, status, a, b in rows]


def dispatch_delays(rows: list[tuple[int, str, datetime, datetime | None]], interval: float, since: datetime) -> list[float]:
    """Started minus due, for runs started after `since`: due is `interval` after the session's
    previous run finished."""
    previous: dict[int, datetime] = {}
    delays = []
    for session_id, _, started, finished in sorted(rows, key=lambda r: r[2]):
        if session_id in previous and started >= since:
            delays.append((started - previous[session_id]).total_seconds() - interval)
        if finished is not None:
            previous[session_id] = finished
    return delays


def sustained(image: str, args: argparse.Namespace) -> float:
    sandbox: dict[str, object] = {"warm_pool_size": args.warm_pool}
    if args.sandbox == "runsc":
        sandbox["runtime"] = "runsc"
    if args.sandbox == "bubblewrap":
        sandbox["backend"] = "bubblewrap"
        image = str(build_agent_dir_image(NOOP_AGENT))
    # The noop agent runs every "minute"; a minute is --interval seconds here (at least a
    # millisecond: 0 means always due).
    with tempfile.TemporaryDirectory(prefix="corral-bench-") as home, DevStack(
        Path(home), minute_seconds=max(args.interval, 0.001), sandbox=sandbox, max_parallel_executions=args.parallel,
    ) as stack:
        # One session of an agent per wallet: a wallet each, funded with anvil's cheat call.
        wallets = stack.create_wallets(args.sessions)
        agent = stack.api.RegisterAgent(pb.RegisterAgentRequest(image=image)).agent
        for wallet in wallets:
            stack.web3.provider.make_request("anvil_setBalance", [wallet, hex(10**18)])
            stack.api.StartSession(pb.StartSessionRequest(agent_id=agent.id, wallet_address=wallet, allocation_amount="1"))
        # Measured from when every session has finished a run: the first wave (cold image
        # cache, pools filling) is start-up, not load.
        while len({r[0] for r in executions(stack.database_path) if r[3] is not None}) < args.sessions:
            time.sleep(1)
        pid = stack.processes["orchestrator"].pid
        since = datetime.utcnow()  # noqa: DTZ003 - compared with the orchestrator's naive UTC times
        before = len(executions(stack.database_path))
        cpu_before = cpu_seconds(pid)
        time.sleep(args.seconds)
        cpu = cpu_seconds(pid) - cpu_before
        rows = executions(stack.database_path)
    finished = [r for r in rows[before:] if r[3] is not None]
    failed = [r for r in finished if r[1] != "succeeded"]
    delays = dispatch_delays(rows, args.interval, since)
    rate = len(finished) / args.seconds * 60
    print(f"{args.sessions} sessions, {args.sandbox}, warm pool {args.warm_pool}, {args.parallel} in parallel, "
          f"due every {args.interval:g} s after their last run, {args.seconds:g} s measured")
    print(f"executions: {len(finished)} ({len(failed)} not succeeded), {rate:.0f}/min")
    print(f"due -> dispatched: p50 {percentile(delays, 50) * 1000:.0f} ms, p99 {percentile(delays, 99) * 1000:.0f} ms")
    cpu_per_execution = cpu / max(len(finished), 1)
    print(f"orchestrator CPU: {cpu_per_execution * 1000:.1f} ms per execution ({cpu / args.seconds * 100:.1f}% of a core)")
    emit(Row(f"{args.sessions} sessions on the warm pool ({args.sandbox}), due → dispatch",
             f"p50 {percentile(delays, 50) * 1000:,.0f} ms, p99 {percentile(delays, 99) * 1000:,.0f} ms; orchestrator CPU "
             f"{cpu_per_execution * 1000:.1f} ms per execution", "", None, "p99 < 1 s"))
    return rate


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--sessions", type=int, default=1000)
    parser.add_argument("--seconds", type=float, default=600.0)
    parser.add_argument("--interval", type=float, default=120.0, help="seconds from a run's end to the session's next run (0: always due)")
    parser.add_argument("--parallel", type=int, default=8)
    parser.add_argument("--warm-pool", type=int, default=8)
    parser.add_argument("--sandbox", choices=["runc", "runsc", "bubblewrap"], default="runc")
    args = parser.parse_args()
    image = build_agent_image(NOOP_AGENT)
    raw = raw_docker_rate(image, args.parallel, "runsc" if args.sandbox == "runsc" else None)
    rate = sustained(image, args)
    print(f"raw docker run, {args.parallel} loops side by side: {raw:.0f}/min; corral {rate / raw:.2f}x of it")
    emit(Row(f"executions per minute, trivial agent, {args.parallel} in parallel ({args.sandbox})", f"{rate:,.0f}/min",
             f"raw `docker run`, {args.parallel} in parallel: {raw:,.0f}/min", rate / raw, "≥ 0.8x"))


if __name__ == "__main__":
    main()
