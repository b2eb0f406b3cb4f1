"""What an agent writes reaches its execution's record, bounded, and comes back out through
the API a bounded page at a time: a real runtime server on a Unix socket, a real database."""

from __future__ import annotations

import asyncio

import grpc
import pytest

from corral.limits import TRACEBACK_MAX_CHARS
from corral.v1 import orchestrator_pb2 as pb
from corral.v1 import runtime_pb2, runtime_pb2_grpc
from orchestrator.api import execution_logs
from orchestrator.api.service import OrchestratorApi
from orchestrator.executions.runtime_service import CallBudget, ExecutionTicket, start_runtime_server
from orchestrator.store import AgentRow, Database, ExecutionLogRow, ExecutionRow, SessionRow, utcnow

TOKEN = "t" * 40


@pytest.fixture
def db(tmp_path):
    database = Database(f"sqlite:///{tmp_path / 'o.db'}")
    with database.session() as s:
        s.add(AgentRow(id=1, name="a", version="1", image="i", image_id="i", wallet_type="ethereum", manifest_toml="",
                       registered_at=utcnow()))
        s.flush()
        s.add(SessionRow(id=3, agent_id=1, wallet_address="0x" + "22" * 20, status="running", execution_mode="auto", settings={},
                         allocation_network="ethereum:31337", allocation_asset="0x" + "ee" * 20, allocation_amount="0",
                         created_at=utcnow()))
        s.flush()
        s.add(ExecutionRow(id=9, session_id=3, command="run", status="running", started_at=utcnow()))
        s.commit()
    return database


def test_log_lines_past_the_limit_are_refused_and_counted_and_the_traceback_is_bounded(tmp_path, db):
    with db.session() as s:
        session = s.get(SessionRow, 3)
    ticket = ExecutionTicket(execution_id=9, session=session, command=1, token=TOKEN, settings={}, positions_snapshot=[],
                             budget=CallBudget(max_log_lines=3))
    info = runtime_pb2.LOG_LEVEL_INFO

    async def scenario():
        server = await start_runtime_server(str(tmp_path / "r.sock"), ticket, db, gateway=None)
        md = (("authorization", f"Bearer {TOKEN}"),)
        try:
            async with grpc.aio.insecure_channel(f"unix:{tmp_path / 'r.sock'}") as channel:
                stub = runtime_pb2_grpc.AgentRuntimeStub(channel)
                await stub.AppendLogs(runtime_pb2.AppendLogsRequest(entries=[
                    runtime_pb2.LogEntry(level=info, message=f"line {n}") for n in (1, 2)]), metadata=md)
                with pytest.raises(grpc.aio.AioRpcError) as refused:
                    await stub.AppendLogs(runtime_pb2.AppendLogsRequest(entries=[
                        runtime_pb2.LogEntry(level=info, message=f"line {n}") for n in (3, 4, 5)]), metadata=md)
                assert refused.value.code() == grpc.StatusCode.RESOURCE_EXHAUSTED
                assert "all 3 of its log lines; later lines are dropped and counted" in refused.value.details()
                await stub.SetMemory(runtime_pb2.SetMemoryRequest(key="k", value="v"), metadata=md)
                await stub.CompleteExecution(runtime_pb2.CompleteExecutionRequest(
                    success=False, error="ValueError: x", traceback="Traceback\n" + "x" * 50_000 + "\nValueError: x\n"), metadata=md)
        finally:
            await server.stop(None)

    asyncio.run(scenario())
    assert (ticket.budget.log_lines, ticket.budget.log_lines_dropped) == (3, 2)
    with db.session() as s:
        assert [row.message for row in s.query(ExecutionLogRow).order_by(ExecutionLogRow.id)] == ["line 1", "line 2", "line 3"]
    # What the agent did last, even past the limit, is what a deadline report quotes.
    assert ticket.progress.last_log_line == "line 5" and ticket.progress.last_call == "SetMemory"
    assert len(ticket.traceback) <= TRACEBACK_MAX_CHARS and ticket.traceback.endswith("x\nValueError: x\n")
    assert ticket.traceback.startswith("[... ")


class AbortingContext:
    async def abort(self, code, message):
        raise grpc.RpcError(code, message)


def test_get_execution_logs_pages_through_everything_with_bounded_replies(db):
    output = "".join(f"output line {n}\n" for n in range(11_000))  # 186,890 characters: 3 pages
    with db.session() as s:
        row = s.get(ExecutionRow, 9)
        row.output, row.output_dropped_bytes, row.log_lines_dropped = output, 123, 4
        s.add_all(ExecutionLogRow(execution_id=9, level="info", message=f"log {n}", logged_at=utcnow()) for n in range(450))
        s.commit()
    api = OrchestratorApi(db, None, None, None, None, {}, None)

    def page(token: str = "", size: int = 200) -> pb.GetExecutionLogsResponse:
        request = pb.GetExecutionLogsRequest(execution_id=9, page_size=size, page_token=token)
        return asyncio.run(api.GetExecutionLogs(request, AbortingContext()))

    pages = [page()]
    while pages[-1].next_page_token:
        pages.append(page(pages[-1].next_page_token))
    assert len(pages) == 3
    assert [len(p.logs) for p in pages] == [200, 200, 50]
    assert [line.message for p in pages for line in p.logs] == [f"log {n}" for n in range(450)]
    assert all(len(p.output) <= execution_logs.OUTPUT_PAGE_MAX_CHARS for p in pages)
    assert "".join(p.output for p in pages) == output
    first = pages[0].execution
    assert (first.id, first.log_lines_dropped, first.output_dropped_bytes, list(first.logs)) == (9, 4, 123, [])
    # More lines than the output's pages: the pages go on for the lines alone.
    small = [page(size=100)]
    while small[-1].next_page_token:
        small.append(page(small[-1].next_page_token, size=100))
    assert len(small) == 5 and "".join(p.output for p in small) == output and small[-1].output == ""
    with pytest.raises(grpc.RpcError) as missing:
        asyncio.run(api.GetExecutionLogs(pb.GetExecutionLogsRequest(execution_id=999), AbortingContext()))
    assert missing.value.args[0] == grpc.StatusCode.NOT_FOUND and "execution 999 does not exist" in missing.value.args[1]
