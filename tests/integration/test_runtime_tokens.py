"""Each execution's socket answers only to that execution's token: two live runtime
servers over real Unix sockets, and each refuses the other's token."""

from __future__ import annotations

import asyncio

import grpc
import pytest

from corral.v1 import runtime_pb2, runtime_pb2_grpc
from orchestrator.executions.runtime_service import ExecutionTicket, start_runtime_server
from orchestrator.store import Database, MemoryRow, SessionRow


def ticket(execution_id: int, session_id: int, token: str) -> ExecutionTicket:
    session = SessionRow(id=session_id, agent_id=1, wallet_address="0x" + "11" * 20, execution_mode="auto", settings={})
    return ExecutionTicket(execution_id=execution_id, session=session, command=1, token=token, settings={}, positions_snapshot=[])


async def call_set_memory(socket_path, token: str, key: str):
    async with grpc.aio.insecure_channel(f"unix:{socket_path}") as channel:
        stub = runtime_pb2_grpc.AgentRuntimeStub(channel)
        return await stub.SetMemory(
            runtime_pb2.SetMemoryRequest(key=key, value="v", scope=runtime_pb2.MEMORY_SCOPE_SESSION),
            metadata=(("authorization", f"Bearer {token}"),),
        )


def test_another_executions_token_is_refused(tmp_path):
    db = Database(f"sqlite:///{tmp_path / 'o.db'}")

    async def scenario():
        a, b = ticket(1, 10, "token-of-a" * 4), ticket(2, 20, "token-of-b" * 4)
        server_a = await start_runtime_server(str(tmp_path / "a.sock"), a, db, gateway=None)
        server_b = await start_runtime_server(str(tmp_path / "b.sock"), b, db, gateway=None)
        try:
            await call_set_memory(tmp_path / "a.sock", a.token, "mine")  # its own token works
            for socket_name, token in (("a.sock", b.token), ("b.sock", a.token), ("a.sock", "")):
                with pytest.raises(grpc.aio.AioRpcError) as refused:
                    await call_set_memory(tmp_path / socket_name, token, "stolen")
                assert refused.value.code() == grpc.StatusCode.UNAUTHENTICATED
        finally:
            await server_a.stop(None)
            await server_b.stop(None)

    asyncio.run(scenario())
    with db.session() as s:
        keys = {(row.namespace, row.key) for row in s.query(MemoryRow)}
    assert keys == {("session:10", "mine")}
