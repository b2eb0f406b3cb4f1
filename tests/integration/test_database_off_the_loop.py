"""Database work on the SDK path runs on the database's threads, not on the event loop that
serves every sandbox: while one agent's memory write waits for the database (here: another
writer holds SQLite's write lock), another call on the same server is answered, and the write
lands once the lock is released. Real runtime server, real Unix socket."""

from __future__ import annotations

import asyncio
import sqlite3
import threading

import grpc

from corral.v1 import runtime_pb2, runtime_pb2_grpc
from orchestrator.executions import group_commit
from orchestrator.executions.runtime_service import ExecutionTicket, start_runtime_server
from orchestrator.store import AgentRow, Database, MemoryRow, SessionRow

TOKEN = "t" * 43


def test_a_memory_write_waiting_for_the_database_does_not_stall_other_calls(tmp_path, monkeypatch):
    path = tmp_path / "o.db"
    db = Database(f"sqlite:///{path}")
    agent = AgentRow(id=1, name="a", version="0.0.1", image="i", image_id="i", wallet_type="ethereum", manifest_toml="")
    session = SessionRow(id=3, agent_id=1, wallet_address="0x" + "22" * 20, execution_mode="auto", settings={},
                         allocation_network="ethereum:31337", allocation_asset="0x" + "ee" * 20, allocation_amount="0")
    session.agent = agent
    ticket = ExecutionTicket(execution_id=9, session=session, command=1, token=TOKEN, settings={}, positions_snapshot=[])
    socket_path = tmp_path / "r.sock"
    metadata = (("authorization", f"Bearer {TOKEN}"),)
    writing = threading.Event()
    real_commit_together = group_commit._commit_together

    def commit_together(*args, **kwargs):
        writing.set()  # the write is on its way to the database (and waits for its lock)
        return real_commit_together(*args, **kwargs)

    monkeypatch.setattr(group_commit, "_commit_together", commit_together)

    async def scenario() -> tuple[bool, runtime_pb2.GetExecutionContextResponse]:
        server = await start_runtime_server(str(socket_path), ticket, db, gateway=None)
        other_writer = sqlite3.connect(path, isolation_level=None)
        other_writer.execute("BEGIN IMMEDIATE")  # holds the write lock: the memory write waits (busy_timeout)
        try:
            async with grpc.aio.insecure_channel(f"unix:{socket_path}") as channel:
                runtime = runtime_pb2_grpc.AgentRuntimeStub(channel)
                write = asyncio.ensure_future(runtime.SetMemory(runtime_pb2.SetMemoryRequest(key="k", value="v"), metadata=metadata))
                await asyncio.to_thread(writing.wait)
                context = await runtime.GetExecutionContext(runtime_pb2.GetExecutionContextRequest(), metadata=metadata)
                write_was_waiting = not write.done()
                other_writer.execute("ROLLBACK")
                await write
                return write_was_waiting, context
        finally:
            other_writer.close()
            await server.stop(None)

    write_was_waiting, context = asyncio.run(scenario())
    assert context.session_id == 3
    assert write_was_waiting, "the context call was answered only after the memory write gave up waiting"
    with db.session() as s:
        assert [(m.key, m.value) for m in s.query(MemoryRow)] == [("k", "v")]

