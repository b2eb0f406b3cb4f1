"""The SDK's `transactions()` reads a session's ledger a page at a time, newest first, instead of
the whole history per call: an agent that sends no paging fields gets the newest page (oldest
first within it), each reply's token leads to the changes before it, and paging through gives
every change of its own session exactly once, none of another's. Real runtime server."""

from __future__ import annotations

import sqlite3

import grpc

from corral.v1 import runtime_pb2
from orchestrator.actions import ledger_pages
from orchestrator.executions.runtime_service import ExecutionTicket
from orchestrator.store import Database, utcnow
from tests.helpers import refused_runtime_call, seed_sessions, with_runtime

TOKEN = "t" * 43
METADATA = (("authorization", f"Bearer {TOKEN}"),)


def _ledger(tmp_path, own: int, others: int) -> tuple[Database, ExecutionTicket]:
    """Session 1 with `own` changes (amounts 0, 1, ... in the order they happened), interleaved
    with `others` of session 2."""
    path = tmp_path / "o.db"
    db = Database(f"sqlite:///{path}")
    session = seed_sessions(db, 2)[0]
    rows: list[tuple[int, str]] = []
    for i in range(own):
        rows.append((1, str(i)))
        if i % 3 == 0 and others > len(rows) - i - 1:  # interleaved: another session's change every third of its own
            rows.append((2, "-1"))
    rows += [(2, "-1")] * (others - sum(1 for sid, _ in rows if sid == 2))
    with sqlite3.connect(path) as raw:  # the ledger's transactions are beside the point here (no foreign keys checked)
        raw.executemany("INSERT INTO asset_changes (session_id, transaction_id, network, tx_hash, from_address, to_address, token_address, "
                        "token_type, amount, occurred_at) VALUES (?, 1, 'ethereum:31337', 'h', 'a', 'b', 'c', 'native', ?, ?)",
                        [(sid, amount, utcnow()) for sid, amount in rows])
    return db, ExecutionTicket(execution_id=1, session=session, command=1, token=TOKEN, settings={}, positions_snapshot=[])


def _pages(tmp_path, db: Database, ticket: ExecutionTicket, page_size: int = 0) -> list[runtime_pb2.ListAssetChangesResponse]:
    async def every_page(runtime):
        pages = [await runtime.ListAssetChanges(runtime_pb2.ListAssetChangesRequest(page_size=page_size))]
        while pages[-1].next_page_token:
            pages.append(await runtime.ListAssetChanges(
                runtime_pb2.ListAssetChangesRequest(page_size=page_size, page_token=pages[-1].next_page_token)))
        return pages

    return with_runtime(tmp_path / "r.sock", ticket, db, every_page)


def test_an_agent_asking_without_paging_gets_the_newest_page_oldest_first(tmp_path):
    db, ticket = _ledger(tmp_path, own=ledger_pages.PAGE_MAX + 250, others=300)
    first, second = _pages(tmp_path, db, ticket)
    assert [int(c.amount) for c in first.changes] == list(range(250, ledger_pages.PAGE_MAX + 250))
    assert [int(c.amount) for c in second.changes] == list(range(250))
    assert second.next_page_token == ""


def test_paging_through_gives_every_change_of_the_session_once(tmp_path):
    db, ticket = _ledger(tmp_path, own=53, others=40)
    pages = _pages(tmp_path, db, ticket, page_size=10)
    assert [len(p.changes) for p in pages] == [10, 10, 10, 10, 10, 3]
    everything = [int(c.amount) for p in reversed(pages) for c in p.changes]
    assert everything == list(range(53))


def test_a_short_ledger_is_one_page_as_before(tmp_path):
    db, ticket = _ledger(tmp_path, own=3, others=0)
    (only,) = _pages(tmp_path, db, ticket)
    assert [c.amount for c in only.changes] == ["0", "1", "2"] and only.next_page_token == ""


def test_a_made_up_page_token_or_size_is_refused_clearly(tmp_path):
    db, ticket = _ledger(tmp_path, own=3, others=0)
    tokens = ["-5", "012", "abc", "\u0663", "9" * 19, "9" * 5000]  # "\u0663": an Arabic-Indic 3, which isdigit() accepts
    requests = [runtime_pb2.ListAssetChangesRequest(page_token=token) for token in tokens]
    for request in [*requests, runtime_pb2.ListAssetChangesRequest(page_size=-1)]:
        refused = refused_runtime_call(tmp_path / "r.sock", ticket, db, None, "ListAssetChanges", request)
        assert refused.code() == grpc.StatusCode.INVALID_ARGUMENT
        assert "page_token" in refused.details() or "page_size" in refused.details()


def test_a_page_token_of_another_session_is_refused(tmp_path):
    """A token names where its own session's ledger continues: another session's is not one."""
    db, ticket = _ledger(tmp_path, own=30, others=30)
    first = _pages(tmp_path, db, ticket, page_size=10)[0]
    with db.session() as s:
        other = s.get(type(ticket.session), 2)
    other_ticket = ExecutionTicket(execution_id=1, session=other, command=1, token=TOKEN, settings={}, positions_snapshot=[])
    request = runtime_pb2.ListAssetChangesRequest(page_size=10, page_token=first.next_page_token)
    refused = refused_runtime_call(tmp_path / "r.sock", other_ticket, db, None, "ListAssetChanges", request)
    assert refused.code() == grpc.StatusCode.INVALID_ARGUMENT and "page_token" in refused.details()
