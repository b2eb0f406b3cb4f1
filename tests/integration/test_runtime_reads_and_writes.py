"""What an agent writes through the runtime API it reads back, on SQLite (reads on the loop) and
on PostgreSQL (reads on the database's threads): memory of both scopes, listed by prefix and
deleted, log lines, positions and its ledger. Real runtime server on a Unix socket."""

from __future__ import annotations

import asyncio
import threading

import grpc

from corral.v1 import runtime_pb2
from orchestrator.executions import memory
from orchestrator.executions.runtime_service import ExecutionTicket
from orchestrator.store import ExecutionLogRow, ExecutionRow, utcnow
from tests.helpers import seed_sessions, with_runtime

TOKEN = "t" * 43
METADATA = (("authorization", f"Bearer {TOKEN}"),)
SHARED = runtime_pb2.MEMORY_SCOPE_SHARED


def test_an_agent_reads_back_what_it_wrote(db, tmp_path):
    (session,) = seed_sessions(db, 1)
    with db.session() as s:
        s.add(ExecutionRow(id=1, session_id=1, command="run", status="running", started_at=utcnow()))
        s.commit()
    ticket = ExecutionTicket(execution_id=1, session=session, command=1, token=TOKEN, settings={}, positions_snapshot=[])

    async def write_then_read(runtime):
        await asyncio.gather(*(runtime.SetMemory(runtime_pb2.SetMemoryRequest(key=key, value=key.upper())) for key in ("a1", "a2", "b1")))
        await runtime.SetMemory(runtime_pb2.SetMemoryRequest(key="a1", value="again"))
        await runtime.SetMemory(runtime_pb2.SetMemoryRequest(key="a1", value="shared", scope=SHARED))
        await runtime.DeleteMemory(runtime_pb2.DeleteMemoryRequest(key="a2"))
        await runtime.AppendLogs(runtime_pb2.AppendLogsRequest(entries=[runtime_pb2.LogEntry(message="hello")]))
        return (
            await runtime.GetMemory(runtime_pb2.GetMemoryRequest(key="a1")),
            await runtime.GetMemory(runtime_pb2.GetMemoryRequest(key="a1", scope=SHARED)),
            await runtime.GetMemory(runtime_pb2.GetMemoryRequest(key="a2")),
            await runtime.ListMemory(runtime_pb2.ListMemoryRequest(prefix="a")),
            await runtime.GetCurrentPositions(runtime_pb2.GetCurrentPositionsRequest()),
            await runtime.ListAssetChanges(runtime_pb2.ListAssetChangesRequest()),
        )

    session_a1, shared_a1, deleted, listed, positions, ledger = with_runtime(tmp_path / "r.sock", ticket, db, write_then_read)
    assert (session_a1.value, shared_a1.value) == ("again", "shared")
    assert not deleted.HasField("value") and session_a1.updated_at_ms > 0
    assert [item.key for item in listed.items] == ["a1"]
    assert [(p.asset_address, p.current_qty) for p in positions.positions] == [("0x" + "ee" * 20, "0")]
    assert not positions.has_pending_txs and list(ledger.changes) == [] and ledger.next_page_token == ""
    with db.session() as s:
        assert [line.message for line in s.query(ExecutionLogRow)] == ["hello"]


def test_a_read_sees_what_another_connection_committed_after_the_previous_read(db, tmp_path):
    """SQLite reads share one kept connection (`loop_reads`): it must not keep the snapshot of
    an earlier read. Another writer (the frontend API, another execution) commits in between."""
    (session,) = seed_sessions(db, 1)
    ticket = ExecutionTicket(execution_id=1, session=session, command=1, token=TOKEN, settings={}, positions_snapshot=[])

    async def read_write_read(runtime):
        await runtime.SetMemory(runtime_pb2.SetMemoryRequest(key="k", value="first"))
        before = await runtime.GetMemory(runtime_pb2.GetMemoryRequest(key="k"))
        with db.session() as s:  # another writer, on a connection of its own
            memory.set_value(s, memory.session_namespace(1), "k", "second")
        return before, await runtime.GetMemory(runtime_pb2.GetMemoryRequest(key="k"))

    before, after = with_runtime(tmp_path / "r.sock", ticket, db, read_write_read)
    assert (before.value, after.value) == ("first", "second")


def test_a_stop_landing_between_a_writes_status_check_and_its_insert_leaves_no_session_memory(db, tmp_path, monkeypatch):
    """The user stops the session just after a memory write has checked that it runs: the stop
    waits for that write (or the write sees the stop), and the session's memory ends with it."""
    from orchestrator.sessions.lifecycle import Sessions
    from orchestrator.store import MemoryRow, SessionRow

    session = seed_sessions(db, 1)[0]
    ticket = ExecutionTicket(execution_id=1, session=session, command=1, token=TOKEN, settings={}, positions_snapshot=[])
    sessions = Sessions(db, signer=None, chains={})  # type: ignore[arg-type]  # stopping asks neither
    write_value, stopping = memory.write_value, []

    def stop_meanwhile(connection, namespace, key, value):
        if not stopping:
            stopping.append(threading.Thread(target=sessions.stop, args=(session.id,)))
            stopping[0].start()
            stopping[0].join(1.0)  # done at once when nothing holds it back; else it waits for this write
        return write_value(connection, namespace, key, value)

    monkeypatch.setattr(memory, "write_value", stop_meanwhile)

    async def body(stub):
        try:
            await stub.SetMemory(runtime_pb2.SetMemoryRequest(key="k", value="v"))
        except grpc.aio.AioRpcError as exc:
            assert exc.code() == grpc.StatusCode.FAILED_PRECONDITION  # the write saw the stop

    with_runtime(tmp_path / "r.sock", ticket, db, body)
    stopping[0].join()
    with db.session() as s:
        assert s.get(SessionRow, session.id).status == "stopped"
        assert s.query(MemoryRow).filter(MemoryRow.namespace == memory.session_namespace(session.id)).count() == 0
