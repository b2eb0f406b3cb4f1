"""ExportSession / `corral export`: a session's whole history as JSON lines, in bounded chunks."""

from __future__ import annotations

import asyncio
import json
from datetime import datetime

import grpc
import pytest

from corral.v1 import orchestrator_pb2 as pb
from corral_cli import export as export_cli
from orchestrator.api import export
from orchestrator.api.service import log_message
from orchestrator.store import (
    EventRow,
    ExecutionLogRow,
    ExecutionRow,
    SessionRow,
    SuggestionRow,
    TransactionRow,
    utcnow,
)
from tests.integration.api_in_process import NATIVE, NETWORK, WALLET, serving

LOG_LINES = 450  # past two pages of export.PAGE_ROWS


def _seed_history(db) -> None:
    now = utcnow()
    with db.session() as s:
        s.add(SessionRow(id=2, agent_id=1, wallet_address=WALLET, status="running", execution_mode="auto", settings={},
                         allocation_network=NETWORK, allocation_asset=NATIVE, allocation_amount="5", created_at=now))
        s.flush()
        for execution_id, session_id in ((1, 1), (2, 2), (3, 1)):
            s.add(ExecutionRow(id=execution_id, session_id=session_id, command="run", status="succeeded", started_at=now,
                               finished_at=now, output=f"output of {execution_id}\n\x1b[2J", traceback=""))
        s.flush()
        for n in range(LOG_LINES):
            s.add(ExecutionLogRow(execution_id=1, level="info", message=f"line {n} ünïcode", logged_at=now))
        s.add(ExecutionLogRow(execution_id=2, level="info", message="another session's line", logged_at=now))
        s.add(ExecutionLogRow(execution_id=3, level="error", message="last run", logged_at=now))
        for tx_id, session_id in ((1, 1), (2, 2)):
            s.add(TransactionRow(id=tx_id, session_id=session_id, execution_id=None, request_id=f"r{tx_id}", network=NETWORK,
                                 from_address=WALLET, to_address=WALLET, value="7", nonce=0, status="confirmed",
                                 tx_hash=f"0x{tx_id:064x}", created_at=now, updated_at=now))
        s.add(SuggestionRow(id=1, session_id=1, execution_id=3, kind="transaction", request=b"", details={"value": "7"},
                            status="pending", created_at=now, expires_at=None, decided_at=None, deleted_at=None))
        s.add(EventRow(kind="session", change="running", session_id=1, ref_id=1, occurred_at=now))
        s.add(EventRow(kind="session", change="running", session_id=2, ref_id=2, occurred_at=now))
        s.commit()


def _export(api, session_id: int) -> list[bytes]:
    async def chunks():
        return [reply.data async for reply in api.stub.ExportSession(pb.ExportSessionRequest(session_id=session_id))]

    return api.loop.run(chunks())


def test_export_holds_the_sessions_whole_history_in_order_and_nothing_else(tmp_path):
    with serving(tmp_path) as api:
        _seed_history(api.db)
        records = [json.loads(line) for line in b"".join(_export(api, 1)).decode().splitlines()]
    types = [r["type"] for r in records]
    assert types == ["session", "execution", *["log"] * LOG_LINES, "execution", "log", "transaction", "suggestion", "event"]
    assert records[0]["id"] == "1" and records[0]["status"] == "SESSION_STATUS_RUNNING"
    assert records[1]["id"] == "1" and records[1]["output"] == "output of 1\n\x1b[2J"  # as stored: JSON escapes it
    assert [r["message"] for r in records if r["type"] == "log"] == [f"line {n} ünïcode" for n in range(LOG_LINES)] + ["last run"]
    assert {r["execution_id"] for r in records if r["type"] == "log"} == {"1", "3"}
    assert records[-3]["tx_hash"] == f"0x{1:064x}" and records[-2]["details"] == {"value": "7"}
    assert records[-1] == {**records[-1], "type": "event", "kind": "session", "change": "running", "ref_id": "1"}
    assert not any("another session" in json.dumps(r) for r in records)


@pytest.mark.parametrize("microsecond", [0, 123000, 123456, 1])
def test_a_log_record_is_the_json_form_of_its_message(microsecond):
    """Log lines are written without the message (they are most of an export): the same record."""
    logged = datetime(2026, 11, 30, 15, 55, 22, microsecond)
    row = ExecutionLogRow(id=1, execution_id=3, level="error", message='a "quoted"\nline ü', logged_at=logged)
    assert export.log_line(row) == export.message_record("log", log_message(row), execution_id="3")
    event = EventRow(id=4, kind="log", change="appended", session_id=1, ref_id=1, occurred_at=logged)
    assert json.loads(export._event_line(event))["occurred_at"] == json.loads(export.log_line(row))["logged_at"]


def test_chunks_are_bounded_and_end_at_a_line_unless_the_line_is_longer():
    async def lines():
        for line in (b"a" * 10 + b"\n", b"b" * 10 + b"\n", b"c" * 30 + b"\n", b"d\n"):
            yield line

    async def collect():
        return [chunk async for chunk in export.chunked(lines(), limit=25)]

    chunks = asyncio.run(collect())
    assert all(len(chunk) <= 25 for chunk in chunks)
    assert b"".join(chunks) == b"a" * 10 + b"\n" + b"b" * 10 + b"\n" + b"c" * 30 + b"\nd\n"
    assert chunks[0] == b"a" * 10 + b"\n" + b"b" * 10 + b"\n"


def test_an_unknown_session_is_not_found(tmp_path):
    with serving(tmp_path) as api:
        code, details = api.call_raw("ExportSession", pb.ExportSessionRequest(session_id=99).SerializeToString(), streaming=True)
    assert code == grpc.StatusCode.NOT_FOUND and "99" in details


def test_corral_export_writes_the_chunks_as_they_come(capsysbinary):
    class Api:
        def ExportSession(self, request, metadata):
            assert request.session_id == 7
            yield pb.ExportSessionResponse(data=b'{"type":"session"}\n{"type":')
            yield pb.ExportSessionResponse(data=b'"event"}\n')

    assert export_cli.run(Api(), (), type("Args", (), {"session_id": 7})()) == 0
    assert capsysbinary.readouterr().out == b'{"type":"session"}\n{"type":"event"}\n'
