"""Backtest throughput: agent executions per second of a backtest on the warm pool.

    .venv/bin/python -m bench.backtest_throughput [--runs 100] [--warm-pool 2]

On a dev stack (runc, a warm pool), the noop agent (it logs once and returns) is backtested
over `--runs` blocks of the stack's own anvil, one run per block: each step moves the session's
fork to its block (`anvil_reset`), mints its holdings again and values them, then runs the agent
in a pre-started sandbox. Timed from the first run's start to the last run's end.

The baseline, in the same run on the same stack: the same agent in a plain session, always due
(its next run as soon as the last ended, as a backtest's), for the same number of runs: what the
warm pool gives without the fork's steps. The ratio is the backtest's share of that.
"""

from __future__ import annotations

import argparse
import sqlite3
import tempfile
import time
from datetime import datetime
from pathlib import Path

from bench.common import Row, emit
from corral.v1 import common_pb2
from corral.v1 import orchestrator_pb2 as pb
from devtools.devstack import DevStack
from orchestrator.agents.images import build_agent_image

NOOP_AGENT = Path(__file__).resolve().parent / "agents" / "noop"


def _finished_runs(database: Path, session_id: int) -> list[tuple[datetime, datetime, str]]:
    with sqlite3.connect(f"file:{database}?mode=ro", uri=True) as db:
        rows = db.execute("SELECT started_at, finished_at, status FROM executions WHERE session_id = ? AND finished_at IS NOT NULL "
                          "ORDER BY id", (session_id,)).fetchall()
    return [(datetime.fromisoformat(a), datetime.fromisoformat(b), status) for a, b, status in rows]


def _rate(stack: DevStack, session_id: int, runs: int) -> tuple[float, int]:
    """Executions per second over the session's first `runs` runs, and how many failed."""
    while len(done := _finished_runs(stack.database_path, session_id)) < runs:
        time.sleep(0.5)
    done = done[:runs]
    seconds = (done[-1][1] - done[0][0]).total_seconds()
    return runs / seconds, sum(1 for _, _, status in done if status != "succeeded")


def measure(image: str, runs: int, warm_pool: int) -> tuple[float, float, int]:
    with tempfile.TemporaryDirectory(prefix="corral-bench-") as home, DevStack(
            Path(home), minute_seconds=0.001, sandbox={"warm_pool_size": warm_pool}) as stack:
        agent = stack.api.RegisterAgent(pb.RegisterAgentRequest(image=image)).agent
        # The baseline first: a plain session, always due, on the same pool.
        plain_wallet, backtest_wallet = stack.create_wallets(2)
        stack.web3.provider.make_request("anvil_setBalance", [plain_wallet, hex(10**18)])
        plain = stack.api.StartSession(pb.StartSessionRequest(agent_id=agent.id, wallet_address=plain_wallet, allocation_amount="1")).session
        plain_rate, plain_failed = _rate(stack, plain.id, runs)
        stack.api.StopSession(pb.StopSessionRequest(session_id=plain.id))
        # History to backtest over: `runs` blocks of this anvil.
        stack.web3.provider.make_request("anvil_mine", [hex(runs + 1)])
        head = stack.web3.eth.block_number
        backtest = stack.api.StartSession(pb.StartSessionRequest(
            agent_id=agent.id, wallet_address=backtest_wallet, allocation_amount="1", execution_mode=common_pb2.EXECUTION_MODE_AUTO,
            backtest=pb.Backtest(from_block=head - runs + 1, to_block=head, every_blocks=1))).session
        backtest_rate, backtest_failed = _rate(stack, backtest.id, runs)
        stack.api.StopSession(pb.StopSessionRequest(session_id=backtest.id))
    return backtest_rate, plain_rate, plain_failed + backtest_failed


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--runs", type=int, default=100)
    parser.add_argument("--warm-pool", type=int, default=2)
    args = parser.parse_args()
    image = build_agent_image(NOOP_AGENT)
    backtest_rate, plain_rate, failed = measure(image, args.runs, args.warm_pool)
    print(f"backtest: {backtest_rate:.2f} executions/s over {args.runs} blocks; plain session, always due: {plain_rate:.2f}/s; "
          f"{backtest_rate / plain_rate:.2f}x ({failed} runs not succeeded)")
    emit(Row(f"backtest, agent executions per second on the warm pool ({args.runs} blocks, noop agent, runc)",
             f"{backtest_rate:.2f}/s", f"the same agent in a plain session always due, same pool: {plain_rate:.2f}/s",
             backtest_rate / plain_rate, ""))


if __name__ == "__main__":
    main()
