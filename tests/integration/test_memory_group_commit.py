"""Memory writes of many sandboxes share commits, and a shared commit never weakens what a
call promises: a set that returns is stored; a write the database refuses fails alone, with a
clear error, and stores nothing, while the other sandboxes' writes of its group are stored.
Real runtime servers on Unix sockets, one per execution, on one SQLite database."""

from __future__ import annotations

import asyncio
import sqlite3
import threading
from collections.abc import Awaitable, Callable
from functools import partial
from pathlib import Path
from typing import Any

import grpc
import pytest
from sqlalchemy import event

from corral.v1 import runtime_pb2, runtime_pb2_grpc
from orchestrator.executions import group_commit, memory
from orchestrator.executions.runtime_service import ExecutionTicket, start_runtime_server
from orchestrator.store import Database, MemoryRow
from tests.helpers import seed_sessions

TOKEN = "t" * 43
METADATA = (("authorization", f"Bearer {TOKEN}"),)
Send = Callable[[], Awaitable[Any]]  # makes one call (a gRPC call starts when it is made)


def _tickets(db: Database, count: int) -> list[ExecutionTicket]:
    return [ExecutionTicket(execution_id=session.id, session=session, command=1, token=TOKEN, settings={}, positions_snapshot=[])
            for session in seed_sessions(db, count)]


def _stored(db: Database) -> dict[tuple[str, str], str]:
    with db.session() as s:
        return {(row.namespace, row.key): row.value for row in s.query(MemoryRow)}


def _commits(db: Database) -> list[int]:
    """Counts the commits of memory write groups (a list, so the listener can add to it)."""
    counted: list[int] = []
    event.listen(db.memory_engine, "commit", lambda connection: counted.append(1))
    return counted


async def _servers(tmp_path: Path, db: Database, tickets: list[ExecutionTicket]):
    servers, stubs, channels = [], [], []
    for ticket in tickets:
        path = tmp_path / f"r{ticket.execution_id}.sock"
        servers.append(await start_runtime_server(str(path), ticket, db, gateway=None))
        channel = grpc.aio.insecure_channel(f"unix:{path}")
        channels.append(channel)
        stubs.append(runtime_pb2_grpc.AgentRuntimeStub(channel))
    return servers, channels, stubs


async def _close(servers, channels) -> None:
    for channel in channels:
        await channel.close()
    for server in servers:
        await server.stop(None)


def _with_servers(tmp_path: Path, db: Database, tickets: list[ExecutionTicket], other: sqlite3.Connection, body):
    """Runs `await body(stubs)` with a runtime server per ticket; closes the servers and `other`."""
    async def scenario():
        servers, channels, stubs = await _servers(tmp_path, db, tickets)
        try:
            return await body(stubs)
        finally:
            await _close(servers, channels)

    try:
        return asyncio.run(scenario())
    finally:
        other.close()


async def _queued(db: Database, count: int) -> None:
    """Until `count` writes wait for the next group (the first group holds the database)."""
    for _ in range(2000):
        if len(group_commit.memory_writes(db)._queued) >= count:
            return
        await asyncio.sleep(0.005)
    raise AssertionError(f"{count} writes never queued")


def _lock_after_first_write(monkeypatch, db_path: Path):
    """The first group to reach the database finds SQLite's write lock held by another
    connection (its transaction waits to begin, busy_timeout), so the writes after it queue for
    the next group. Returns (the other connection, an event set when the first group is on
    its way to the database)."""
    other = sqlite3.connect(db_path, isolation_level=None, check_same_thread=False)
    other.execute("BEGIN IMMEDIATE")
    reached = threading.Event()
    real = group_commit._commit_together

    def commit_together(*args, **kwargs):
        reached.set()
        return real(*args, **kwargs)

    monkeypatch.setattr(group_commit, "_commit_together", commit_together)
    return other, reached


def _set(stub, key: str, value: str, scope: int = runtime_pb2.MEMORY_SCOPE_SESSION) -> Send:
    return partial(stub.SetMemory, runtime_pb2.SetMemoryRequest(key=key, value=value, scope=scope), metadata=METADATA)


async def _first_then_group(db: Database, held: tuple[sqlite3.Connection, threading.Event], first: Send, group: list[Send]):
    """Sends `first`; once it waits for the held database, sends every call of `group`; once
    they all wait in the queue, releases the database: `first` commits alone, `group` together.
    Returns (`first`'s reply, `group`'s replies or errors)."""
    other, reached = held
    sent = asyncio.ensure_future(first())
    await asyncio.to_thread(reached.wait)
    pending = [asyncio.ensure_future(send()) for send in group]
    await _queued(db, len(pending))
    other.execute("ROLLBACK")
    return await sent, await asyncio.gather(*pending, return_exceptions=True)


def test_concurrent_sets_of_many_sandboxes_share_commits_and_are_all_stored(tmp_path, monkeypatch):
    path = tmp_path / "o.db"
    db = Database(f"sqlite:///{path}")
    tickets = _tickets(db, 8)
    held = _lock_after_first_write(monkeypatch, path)
    commits = _commits(db)

    async def body(stubs):
        # Every sandbox writes 5 keys of its session memory and one shared by its agent, all at once.
        calls = [_set(stub, f"k{i}", f"s{n}-{i}") for n, stub in enumerate(stubs, start=1) for i in range(5)]
        calls += [_set(stub, "shared", f"agent{n}", runtime_pb2.MEMORY_SCOPE_SHARED) for n, stub in enumerate(stubs, start=1)]
        first = _set(stubs[0], "first", "1")
        _, replies = await _first_then_group(db, held, first, calls)
        # Read back through the SDK's own path: every set is there once its call returned.
        got = await asyncio.gather(*(stub.GetMemory(runtime_pb2.GetMemoryRequest(key="k4"), metadata=METADATA) for stub in stubs))
        return replies, got

    replies, got = _with_servers(tmp_path, db, tickets, held[0], body)
    assert len(replies) == 48
    assert [g.value for g in got] == [f"s{n}-4" for n in range(1, 9)]
    expected = {(f"session:{n}", f"k{i}"): f"s{n}-{i}" for n in range(1, 9) for i in range(5)}
    expected |= {(f"shared:{n}", "shared"): f"agent{n}" for n in range(1, 9)}
    expected[("session:1", "first")] = "1"
    assert _stored(db) == expected
    # 49 writes, 2 commits: the first alone, then the 48 that arrived while it waited.
    assert len(commits) == 2


def test_a_write_the_database_refuses_fails_alone_and_the_rest_of_its_group_is_stored(tmp_path, monkeypatch):
    path = tmp_path / "o.db"
    db = Database(f"sqlite:///{path}")
    tickets = _tickets(db, 3)
    # The database refuses one value: one sandbox's bad write must not fail another's.
    with sqlite3.connect(path) as setup:
        setup.execute("CREATE TRIGGER poison BEFORE INSERT ON memory WHEN NEW.value = 'poison' BEGIN SELECT RAISE(ABORT, 'refused'); END")
    held = _lock_after_first_write(monkeypatch, path)

    async def body(stubs):
        first = _set(stubs[0], "before", "kept")
        group = [_set(stubs[n], "k", value) for n, value in ((1, "fine"), (2, "poison"), (0, "fine too"))]
        _, outcomes = await _first_then_group(db, held, first, group)
        after = await stubs[1].SetMemory(runtime_pb2.SetMemoryRequest(key="after", value="stored"), metadata=METADATA)
        return outcomes, after

    outcomes, after = _with_servers(tmp_path, db, tickets, held[0], body)
    fine, poisoned, fine_too = outcomes
    assert isinstance(poisoned, grpc.aio.AioRpcError) and poisoned.code() == grpc.StatusCode.UNAVAILABLE
    assert "not stored" in poisoned.details() and "try again" in poisoned.details()
    assert fine.key == "k" and fine_too.key == "k" and after.key == "after"
    assert _stored(db) == {("session:1", "before"): "kept", ("session:2", "k"): "fine", ("session:1", "k"): "fine too",
                           ("session:2", "after"): "stored"}


def test_a_refused_write_in_a_group_refuses_only_itself(tmp_path, monkeypatch):
    path = tmp_path / "o.db"
    db = Database(f"sqlite:///{path}")
    tickets = _tickets(db, 2)
    monkeypatch.setattr(memory, "MAX_KEYS", 1)
    held = _lock_after_first_write(monkeypatch, path)

    async def body(stubs):
        first = _set(stubs[0], "a", "1")
        group = [_set(stub, key, "v") for stub, key in ((stubs[0], "b"), (stubs[1], "x"), (stubs[0], "a"))]  # session 1's "b": over its quota
        _, outcomes = await _first_then_group(db, held, first, group)
        return outcomes

    outcomes = _with_servers(tmp_path, db, tickets, held[0], body)
    over_quota, other_session, replaced = outcomes
    assert isinstance(over_quota, grpc.aio.AioRpcError) and over_quota.code() == grpc.StatusCode.RESOURCE_EXHAUSTED
    assert other_session.key == "x" and replaced.key == "a"
    assert _stored(db) == {("session:1", "a"): "v", ("session:2", "x"): "v"}


@pytest.mark.parametrize("scope", [runtime_pb2.MEMORY_SCOPE_SESSION, runtime_pb2.MEMORY_SCOPE_SHARED])
def test_deletes_and_sets_of_one_key_in_one_group_apply_in_the_order_they_were_called(tmp_path, monkeypatch, scope):
    path = tmp_path / "o.db"
    db = Database(f"sqlite:///{path}")
    tickets = _tickets(db, 1)
    other, reached = _lock_after_first_write(monkeypatch, path)

    async def body(stubs):
        runtime = stubs[0]
        first = asyncio.ensure_future(runtime.SetMemory(runtime_pb2.SetMemoryRequest(key="k", value="1", scope=scope), metadata=METADATA))
        await asyncio.to_thread(reached.wait)
        delete = asyncio.ensure_future(runtime.DeleteMemory(runtime_pb2.DeleteMemoryRequest(key="k", scope=scope), metadata=METADATA))
        await _queued(db, 1)
        again = asyncio.ensure_future(runtime.SetMemory(runtime_pb2.SetMemoryRequest(key="k", value="2", scope=scope), metadata=METADATA))
        await _queued(db, 2)
        other.execute("ROLLBACK")
        await asyncio.gather(first, delete, again)
        return await runtime.GetMemory(runtime_pb2.GetMemoryRequest(key="k", scope=scope), metadata=METADATA)

    got = _with_servers(tmp_path, db, tickets, other, body)
    assert got.value == "2"
