"""The keyset pages and the FULL view's log tails on both databases (SQLite and PostgreSQL):
integer and text keys, both orders, the window query that picks each execution's last lines,
and tokens refused across filters."""

from __future__ import annotations

import pytest
from sqlalchemy import insert

from corral.v1 import orchestrator_pb2 as pb
from orchestrator.api import resources
from orchestrator.errors import Refused
from orchestrator.store import AgentRow, ExecutionLogRow, ExecutionRow, MemoryRow, SessionRow, utcnow


def _seed(db) -> None:
    now = utcnow()
    with db.session() as s:
        s.add(AgentRow(id=1, name="a", version="1", image="i", image_id="i", wallet_type="ethereum", manifest_toml="", registered_at=now))
        s.flush()
        for session_id, status in ((1, "running"), (2, "stopped")):
            s.add(SessionRow(id=session_id, agent_id=1, wallet_address="0x" + "22" * 20, status=status, execution_mode="auto",
                             settings={}, allocation_network="n", allocation_asset="a", allocation_amount="1", created_at=now))
        s.flush()
        s.execute(insert(ExecutionRow), [{"id": i, "session_id": 1 + i % 2, "command": "run", "status": "succeeded", "started_at": now}
                                         for i in range(1, 51)])
        s.execute(insert(ExecutionLogRow), [{"execution_id": i, "level": "info", "message": f"{i}:{n}", "logged_at": now}
                                            for i in (2, 4) for n in range(150 if i == 2 else 3)])
        s.execute(insert(MemoryRow), [{"namespace": "session:1", "key": f"k{n:03d}", "value": "v", "updated_at": now} for n in range(25)])
        s.commit()


def _through(db, read, request) -> list:
    rows = []
    while True:
        with db.session() as s:
            page = read(s, request)
            kept, token = page.reply([pb.Transaction(id=1) for _ in page.rows])
            rows += page.rows[: len(kept)]
            if not token:
                return rows
            request.page_token = token


def test_pages_logs_and_tokens_on_both_databases(db):
    _seed(db)
    executions = _through(db, resources.executions, pb.ListExecutionsRequest(session_id=1, page_size=7))
    assert [row.id for row in executions] == list(range(50, 0, -2))
    with db.session() as s:
        found = resources.log_lines(s, [2, 4, 6], resources.LOG_TAIL)
    assert [(len(lines), kept) for lines, kept in (found[2], found[4], found[6])] == [(100, 150), (3, 3), (0, 0)]
    assert [line.message for line in found[2][0]][:2] == ["2:50", "2:51"]
    entries = _through(db, lambda s, r: resources.memory(s, "session:1", r), pb.ListSessionMemoryRequest(session_id=1, page_size=4))
    assert [row.key for row in entries] == [f"k{n:03d}" for n in range(25)]
    sessions = _through(db, resources.sessions, pb.ListSessionsRequest())
    assert [row.id for row in sessions] == [1]
    assert [row.id for row in _through(db, resources.sessions, pb.ListSessionsRequest(statuses=[pb.SESSION_STATUS_STOPPED]))] == [2]

    with db.session() as s:
        token = resources.executions(s, pb.ListExecutionsRequest(session_id=1, page_size=7)).reply([pb.Transaction()] * 7)[1]
        memory_token = resources.memory(s, "session:1", pb.ListSessionMemoryRequest(session_id=1, page_size=4)).reply([pb.MemoryEntry()] * 4)[1]
        for read in (lambda: resources.executions(s, pb.ListExecutionsRequest(session_id=2, page_token=token)),
                     lambda: resources.memory(s, "session:2", pb.ListSessionMemoryRequest(session_id=2, page_token=memory_token))):
            with pytest.raises(Refused) as refused:
                read()
            assert "page_token" in refused.value.message
