"""Idle cost: the orchestrator's CPU while nothing is due, against an idle process measured in
the same run.

    .venv/bin/python -m bench.idle_cpu [--seconds 60] [--sessions 100] [--streams 10] [--reconcile-seconds 60]

Three windows of `--seconds` each, CPU time (user + system, from /proc) as a share of one core:
  1. baseline: `python -c 'import time; time.sleep(...)'`;
  2. the orchestrator (a real one: DevStack, SQLite, no warm pool) with no sessions and no streams;
  3. the same orchestrator with `--sessions` running sessions not due for a day and `--streams`
     open WatchEvents streams.
The sessions are written straight into its database (their agent is never started), each on a
wallet of its own that holds its `--allocation`. Most of what the third window costs is the
reconciliation pass (every session's positions and wallet balance, once a minute by default):
`--reconcile-seconds 86400` leaves it out. Run the same
file against an older checkout (PYTHONPATH=that checkout) for a before/after in one sitting.
"""

from __future__ import annotations

import argparse
import asyncio
import subprocess
import sys
import tempfile
import threading
import time
from datetime import timedelta
from pathlib import Path

import grpc

from bench.common import Row, cpu_seconds, emit
from corral.v1 import orchestrator_pb2 as pb
from devtools.devstack import DevStack
from orchestrator.chains.evm import EvmChain
from orchestrator.config import ChainConfig, ReconciliationConfig
from orchestrator.sessions.reconcile import Reconciler
from orchestrator.store import AgentRow, Database, SessionRow, utcnow

NETWORK = "ethereum:31337"
MANIFEST = 'name = "Idle"\ntagline = "t"\nwalletType = "ethereum"\nruntimeIntervalMinutes = 1\nversion = "0.0.1"\n'


def share_of_a_core(pid: int, seconds: float) -> float:
    start_cpu, start = cpu_seconds(pid), time.monotonic()
    time.sleep(seconds)
    return (cpu_seconds(pid) - start_cpu) / (time.monotonic() - start)


def add_sessions(stack: DevStack, count: int, allocation: int) -> None:
    """`count` running sessions, each on a wallet of its own holding its allocation (so that
    reconciliation has every wallet's balance to read, and finds no drift)."""
    db = Database(f"sqlite:///{stack.database_path}", "bench")
    now = utcnow()
    with db.session() as s:
        s.add(AgentRow(name="Idle", version="0.0.1", image="corral-bench-idle", image_id="none", wallet_type="ethereum",
                       manifest_toml=MANIFEST, registered_at=now))
        s.flush()
        agent_id = s.query(AgentRow.id).filter(AgentRow.name == "Idle").scalar()
        for i in range(count):
            s.add(SessionRow(agent_id=agent_id, wallet_address=f"0x{i + 1:040x}", status="running", execution_mode="auto",
                             settings={}, allocation_network=NETWORK, allocation_asset="0x" + "ee" * 20,
                             allocation_amount=str(allocation), created_at=now, next_run_at=now + timedelta(days=1), stopped_at=None))
        s.commit()
    db.engine.dispose()
    for i in range(count):
        stack.web3.provider.make_request("anvil_setBalance", [f"0x{i + 1:040x}", hex(allocation)])  # type: ignore[arg-type]


def reconciliation_pass_cpu(stack: DevStack, passes: int = 5) -> float:
    """CPU seconds of one reconciliation pass over the stack's sessions, run in this process
    (the database and anvil are the orchestrator's): what the pass costs, apart from the rest."""
    db = Database(f"sqlite:///{stack.database_path}", "bench")
    chain = EvmChain(NETWORK, ChainConfig(rpc_url=stack.rpc_url))
    reconciler = Reconciler(db, {NETWORK: chain}, ReconciliationConfig())

    async def run() -> float:
        await reconciler.run_once()  # warm: connections, compiled statements
        start = time.process_time()
        for _ in range(passes):
            drifts = await reconciler.run_once()
            assert not drifts, "every wallet holds its allocation"
        spent = (time.process_time() - start) / passes
        await chain.close()
        return spent

    try:
        return asyncio.run(run())
    finally:
        db.engine.dispose()


def open_streams(api, count: int) -> list:
    streams = [api.WatchEvents(pb.WatchEventsRequest()) for _ in range(count)]

    def drain(stream) -> None:
        try:
            for _ in stream:
                pass
        except grpc.RpcError:
            pass  # cancelled at the end

    for stream in streams:
        threading.Thread(target=drain, args=(stream,), daemon=True).start()
    return streams


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--seconds", type=float, default=60.0)
    parser.add_argument("--sessions", type=int, default=100)
    parser.add_argument("--streams", type=int, default=10)
    parser.add_argument("--reconcile-seconds", type=float, default=60.0, help="[reconciliation] interval_seconds")
    parser.add_argument("--allocation", type=int, default=10**15, help="each session's allocation in wei (its wallet holds it); "
                        "0: nothing owed, so reconciliation reads no balance")
    args = parser.parse_args()

    sleeper = subprocess.Popen([sys.executable, "-c", f"import time; time.sleep({args.seconds + 5})"])
    time.sleep(1)  # past its start-up
    baseline = share_of_a_core(sleeper.pid, args.seconds)
    sleeper.wait()

    with tempfile.TemporaryDirectory(prefix="corral-bench-") as home, DevStack(
        Path(home), orchestrator_user=None, sandbox={"warm_pool_size": 0},
        reconciliation={"interval_seconds": args.reconcile_seconds},
    ) as stack:
        pid = stack.processes["orchestrator"].pid
        time.sleep(5)  # past start-up work (recovery, the first reconciliation)
        empty = share_of_a_core(pid, args.seconds)
        add_sessions(stack, args.sessions, args.allocation)
        streams = open_streams(stack.api, args.streams)
        time.sleep(5)
        loaded = share_of_a_core(pid, args.seconds)
        for stream in streams:
            stream.cancel()
        one_pass = reconciliation_pass_cpu(stack)

    print(f"idle CPU over {args.seconds:.0f} s, as a share of one core (reconciliation every {args.reconcile_seconds:.0f} s)")
    print(f"{'baseline: python sleeping':<62} {baseline * 100:6.2f}%")
    print(f"{'orchestrator, no sessions, no streams':<62} {empty * 100:6.2f}%")
    print(f"{f'orchestrator, {args.sessions} running sessions (none due), {args.streams} WatchEvents streams':<62} "
          f"{loaded * 100:6.2f}%  ({loaded / empty if empty else float('inf'):.2f}x the empty orchestrator)")
    print(f"{'one reconciliation pass over them, in process (CPU)':<62} {one_pass * 1000:6.1f} ms")
    emit(Row(f"idle orchestrator, {args.sessions} running sessions and {args.streams} streams, share of a core", f"{loaded * 100:.2f}%",
             f"the empty orchestrator: {empty * 100:.2f}% (a sleeping process: {baseline * 100:.2f}%)", None, "≤ 0.5%"))


if __name__ == "__main__":
    main()
