"""Sandbox cost: how long from "execution due" to the agent's `run` entered, and the
whole execution, against a raw `docker run --rm --network none IMAGE python3 -c pass`
measured in the same run on the same image.

    .venv/bin/python -m bench.sandbox_overhead [--runs 20] [--sandbox runc|runsc|bubblewrap] [--warm-pool 2]

Figures are ratios against the raw run's p50; absolute numbers depend on the machine.
"""

from __future__ import annotations

import argparse
import subprocess
import tempfile
import time
from datetime import UTC
from pathlib import Path

from bench.common import percentile, summary
from corral.v1 import orchestrator_pb2 as pb
from devtools.devstack import DevStack
from orchestrator.agents.images import build_agent_dir_image, build_agent_image

NOOP_AGENT = Path(__file__).resolve().parent / "agents" / "noop"
INTERVAL_SECONDS = 0.5


def raw_docker_runs(image: str, runs: int, runtime: str | None) -> list[float]:
    argv = ["docker", "run", "--rm", "--network", "none"]
    if runtime:
        argv += ["--runtime", runtime]
    argv += ["--entrypoint", "python3", image, "-c", "pass"]
    subprocess.run(argv, check=True, capture_output=True)  # warm the image cache
    times = []
    for _ in range(runs):
        start = time.perf_counter()
        subprocess.run(argv, check=True, capture_output=True)
        times.append(time.perf_counter() - start)
    return times


def platform_runs(image: str, runs: int, sandbox_kind: str, warm_pool: int) -> tuple[list[float], list[float]]:
    """Returns (due → run entered, due → execution finished) per execution."""
    sandbox: dict[str, object] = {"warm_pool_size": warm_pool}
    if sandbox_kind == "runsc":
        sandbox["runtime"] = "runsc"
    if sandbox_kind == "bubblewrap":
        sandbox["backend"] = "bubblewrap"
        image = str(build_agent_dir_image(NOOP_AGENT))
    with tempfile.TemporaryDirectory(prefix="corral-bench-") as home, DevStack(
        Path(home), minute_seconds=INTERVAL_SECONDS, sandbox=sandbox
    ) as stack:
        wallet = stack.create_wallet()
        stack.fund(wallet, 10**18)
        agent = stack.api.RegisterAgent(pb.RegisterAgentRequest(image=image)).agent
        session = stack.api.StartSession(pb.StartSessionRequest(agent_id=agent.id, wallet_address=wallet)).session
        while True:
            done = [e for e in stack.api.ListExecutions(pb.ListExecutionsRequest(session_id=session.id, page_size=1000)).executions
                    if e.status != pb.EXECUTION_STATUS_RUNNING]
            if len(done) >= runs + 1:
                break
            time.sleep(0.2)
        stack.api.StopSession(pb.StopSessionRequest(session_id=session.id))
    done = sorted(done, key=lambda e: e.id)
    failed = [e.error for e in done if e.status != pb.EXECUTION_STATUS_SUCCEEDED]
    if failed:
        raise SystemExit(f"benchmark executions failed: {failed[:3]}")
    entered, total = [], []
    # Rolling schedule: execution k is due INTERVAL after execution k-1 finished.
    for previous, current in zip(done, done[1:], strict=False):
        due = previous.finished_at.ToDatetime(tzinfo=UTC).timestamp() + INTERVAL_SECONDS
        entered.append(current.logs[0].logged_at.ToDatetime(tzinfo=UTC).timestamp() - due)
        total.append(current.finished_at.ToDatetime(tzinfo=UTC).timestamp() - due)
    return entered[:runs], total[:runs]


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--runs", type=int, default=20)
    parser.add_argument("--sandbox", choices=["runc", "runsc", "bubblewrap"], default="runc")
    parser.add_argument("--warm-pool", type=int, default=0, help="pre-started sandboxes per image (0: cold starts)")
    args = parser.parse_args()
    image = build_agent_image(NOOP_AGENT)

    raw = raw_docker_runs(image, args.runs, "runsc" if args.sandbox == "runsc" else None)
    entered, total = platform_runs(image, args.runs, args.sandbox, args.warm_pool)
    baseline = percentile(raw, 50)
    mode = f"warm pool of {args.warm_pool}" if args.warm_pool else "cold"
    print(f"sandbox {args.sandbox}, {mode}, {args.runs} executions each")
    print(summary("raw docker run --rm --network none python3 -c pass", raw))
    print(summary("corral: execution due -> run() entered", entered, baseline))
    print(summary("corral: execution due -> execution recorded", total, baseline))


if __name__ == "__main__":
    main()
