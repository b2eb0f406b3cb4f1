"""The orchestrator's own share of an SDK call: each runtime handler called in process.

    .venv/bin/python -m bench.sdk_handlers [--calls N] [--concurrent K]

No sandbox, no socket: a real `RuntimeServicer` on a SQLite file (as the orchestrator runs
it) with one session, its handlers awaited directly. Prints per call the process's CPU (the
event loop's and the database threads') and the wall time, for the calls bench.sdk_roundtrip
times from a sandbox. `--concurrent K` also runs K memory writers at once (K sandboxes), whose
wall time per write shows how their commits share fsyncs.
"""

from __future__ import annotations

import argparse
import asyncio
import tempfile
import time
from collections.abc import Awaitable, Callable
from pathlib import Path

from corral.v1 import runtime_pb2
from orchestrator.executions.runtime_service import ExecutionTicket, RuntimeServicer
from orchestrator.store import AgentRow, Database, SessionRow, utcnow

Call = Callable[[], Awaitable[object]]


def _servicer(db: Database, session_id: int) -> RuntimeServicer:
    with db.session() as s:
        s.add(AgentRow(id=session_id, name=f"a{session_id}", version="0.0.1", image="i", image_id=f"i{session_id}", wallet_type="ethereum",
                       manifest_toml="", registered_at=utcnow()))
        s.add(SessionRow(id=session_id, agent_id=session_id, wallet_address="0x" + "22" * 20, status="running", execution_mode="auto",
                         settings={}, allocation_network="ethereum:31337", allocation_asset="0x" + "ee" * 20,
                         allocation_amount="1000", created_at=utcnow()))
        s.commit()
        session = s.get(SessionRow, session_id)
        assert session is not None
        _ = session.agent
    ticket = ExecutionTicket(execution_id=session_id, session=session, command=1, token="t" * 43, settings={}, positions_snapshot=[])
    return RuntimeServicer(ticket, db, gateway=None)  # type: ignore[arg-type]  # the calls timed here never act


async def _per_call(call: Call, calls: int) -> tuple[float, float]:
    """(CPU ms, wall ms) per call, after a few warm-up calls."""
    for _ in range(20):
        await call()
    cpu, wall = time.process_time(), time.perf_counter()
    for _ in range(calls):
        await call()
    return (time.process_time() - cpu) / calls * 1000, (time.perf_counter() - wall) / calls * 1000


async def _concurrent_writes(servicers: list[RuntimeServicer], calls: int) -> tuple[float, float]:
    """(CPU ms, wall ms) per write with every servicer writing at once, `calls` writes each."""
    async def writer(servicer: RuntimeServicer) -> None:
        for i in range(calls):
            await servicer.SetMemory(runtime_pb2.SetMemoryRequest(key="k", value=f"{i:0100d}"), None)

    cpu, wall = time.process_time(), time.perf_counter()
    await asyncio.gather(*(writer(s) for s in servicers))
    total = calls * len(servicers)
    return (time.process_time() - cpu) / total * 1000, (time.perf_counter() - wall) / total * 1000


async def measure(home: Path, calls: int, concurrent: int) -> None:
    db = Database(f"sqlite:///{home / 'orchestrator.db'}")
    runtime = _servicer(db, 1)
    value = "v" * 100
    await runtime.SetMemory(runtime_pb2.SetMemoryRequest(key="k", value=value), None)
    kinds: dict[str, Call] = {
        "context": lambda: runtime.GetExecutionContext(runtime_pb2.GetExecutionContextRequest(), None),
        "memory.get": lambda: runtime.GetMemory(runtime_pb2.GetMemoryRequest(key="k"), None),
        "positions": lambda: runtime.GetCurrentPositions(runtime_pb2.GetCurrentPositionsRequest(), None),
        "memory.set": lambda: runtime.SetMemory(runtime_pb2.SetMemoryRequest(key="k", value=value), None),
    }
    for name, call in kinds.items():
        cpu, wall = await _per_call(call, calls if name != "memory.set" else max(calls // 10, 20))
        print(f"handler {name:<12} CPU {cpu:.3f} ms/call  wall {wall:.3f} ms/call", flush=True)
    if concurrent:
        writers = [_servicer(db, 100 + i) for i in range(concurrent)]
        cpu, wall = await _concurrent_writes(writers, max(calls // 20, 10))
        print(f"memory.set, {concurrent} writers at once: CPU {cpu:.3f} ms/write  wall {wall:.3f} ms/write", flush=True)


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--calls", type=int, default=2000, help="calls per kind (memory.set: a tenth)")
    parser.add_argument("--concurrent", type=int, default=8, help="memory writers at once (0: none)")
    args = parser.parse_args()
    with tempfile.TemporaryDirectory(prefix="corral-handlers-") as home:
        asyncio.run(measure(Path(home), args.calls, args.concurrent))


if __name__ == "__main__":
    main()
