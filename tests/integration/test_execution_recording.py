"""An execution's recording, on a real runtime server over its Unix socket: each SDK call's
request as the sandbox sent it and the answer it got (a refusal with its code and message),
in order; log lines and the outcome report left out; past its size bound, calls counted and
not kept; stored compressed with the execution and read back whole."""

from __future__ import annotations

import asyncio

import grpc
import pytest

from corral.v1 import runtime_pb2, runtime_pb2_grpc
from orchestrator.executions import recording
from orchestrator.executions.recording import Recorder
from orchestrator.executions.runtime_service import ExecutionTicket, start_runtime_server
from orchestrator.store import Database, ExecutionRow, utcnow
from tests.helpers import OWN_CONNECTION, seed_sessions

TOKEN = "t" * 43
AUTH = (("authorization", f"Bearer {TOKEN}"),)


@pytest.fixture
def db(tmp_path):
    return Database(f"sqlite:///{tmp_path / 'o.db'}")


def run_calls(db, tmp_path, recorder: Recorder, calls) -> None:
    (session,) = seed_sessions(db, 1)
    with db.session() as s:
        s.add(ExecutionRow(id=1, session_id=1, command="run", status="running", started_at=utcnow()))
        s.commit()
    ticket = ExecutionTicket(execution_id=1, session=session, command=1, token=TOKEN, settings={}, positions_snapshot=[], recorder=recorder)
    socket_path = tmp_path / "r.sock"

    async def scenario():
        server = await start_runtime_server(str(socket_path), ticket, db, gateway=None)
        try:
            async with grpc.aio.insecure_channel(f"unix:{socket_path}", options=OWN_CONNECTION) as channel:
                await calls(runtime_pb2_grpc.AgentRuntimeStub(channel))
        finally:
            await server.stop(None)

    asyncio.run(scenario())
    with db.session() as s:
        recording.store(s, recorder.message(1))
        s.commit()


def test_each_call_is_kept_as_it_crossed_the_socket_with_its_answer(db, tmp_path):
    async def calls(stub):
        await stub.SetMemory(runtime_pb2.SetMemoryRequest(key="runs", value="7"), metadata=AUTH)
        await stub.AppendLogs(runtime_pb2.AppendLogsRequest(entries=[runtime_pb2.LogEntry(message="not an input")]), metadata=AUTH)
        await stub.GetMemory(runtime_pb2.GetMemoryRequest(key="runs"), metadata=AUTH)
        try:
            await stub.GetMemory(runtime_pb2.GetMemoryRequest(key="k" * 10_000), metadata=AUTH)
        except grpc.aio.AioRpcError:
            pass

    run_calls(db, tmp_path, Recorder(max_bytes=1024 * 1024), calls)
    with db.session() as s:
        kept = recording.load(s, 1)
    assert [(c.method, c.code) for c in kept.calls] == [("SetMemory", "OK"), ("GetMemory", "OK"), ("GetMemory", "INVALID_ARGUMENT")]
    set_call, get_call, refused = kept.calls
    assert runtime_pb2.SetMemoryRequest.FromString(set_call.request).value == "7"
    assert runtime_pb2.GetMemoryResponse.FromString(get_call.response).value == "7"  # what the agent read back
    assert refused.response == b"" and "key" in refused.details
    assert kept.execution_id == 1 and kept.calls_not_recorded == 0
    assert [c.at_ms for c in kept.calls] == sorted(c.at_ms for c in kept.calls)


def test_past_its_bound_a_recording_keeps_a_prefix_and_counts_the_rest(db, tmp_path):
    async def calls(stub):
        for index in range(20):
            await stub.SetMemory(runtime_pb2.SetMemoryRequest(key=f"k{index}", value="v" * 900), metadata=AUTH)
            await stub.GetMemory(runtime_pb2.GetMemoryRequest(key="small"), metadata=AUTH)  # would fit: not kept after a miss

    run_calls(db, tmp_path, Recorder(max_bytes=16 * 1024), calls)
    with db.session() as s:
        kept = recording.load(s, 1)
    assert 0 < len(kept.calls) < 40 and len(kept.calls) + kept.calls_not_recorded == 40
    assert sum(len(c.request) + len(c.response) for c in kept.calls) <= 16 * 1024
    expected = [name for index in range(20) for name in (f"k{index}", "small")][:len(kept.calls)]
    assert [runtime_pb2.SetMemoryRequest.FromString(c.request).key if c.method == "SetMemory"
            else runtime_pb2.GetMemoryRequest.FromString(c.request).key for c in kept.calls] == expected  # a prefix, no hole


def test_calls_on_shared_memory_are_withheld_from_who_may_not_read_it(db, tmp_path):
    async def calls(stub):
        await stub.SetMemory(runtime_pb2.SetMemoryRequest(key="mine", value="session note"), metadata=AUTH)
        await stub.SetMemory(runtime_pb2.SetMemoryRequest(key="ours", value="other users' data", scope=runtime_pb2.MEMORY_SCOPE_SHARED),
                             metadata=AUTH)
        await stub.GetMemory(runtime_pb2.GetMemoryRequest(key="ours", scope=runtime_pb2.MEMORY_SCOPE_SHARED), metadata=AUTH)

    run_calls(db, tmp_path, Recorder(max_bytes=1024 * 1024), calls)
    with db.session() as s:
        kept = recording.load(s, 1)
    recording.withhold_shared_memory(kept)
    own, shared_write, shared_read = kept.calls
    assert not own.withheld and runtime_pb2.SetMemoryRequest.FromString(own.request).value == "session note"
    for call in (shared_write, shared_read):
        assert call.withheld and call.request == b"" and call.response == b"" and call.code == "OK"
    assert b"other users" not in kept.SerializeToString()


def test_an_execution_without_a_recording_has_none(db, tmp_path):
    with db.session() as s:
        assert recording.load(s, 99) is None

