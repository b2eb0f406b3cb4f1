"""The event feed behind WatchEvents: one reader per process fans every committed event out to
every stream, once and in id order, woken by commits (the re-check is set to an hour, so
nothing here is found by polling). A stream that stops reading loses nothing: past its queue
it reads the table from its own cursor. On PostgreSQL the feed hears another replica's
commits by NOTIFY, and an id that commits after a higher one is delivered, in order, instead
of skipped (issue 18: stored [1, 2], delivered [2])."""

from __future__ import annotations

import asyncio
from collections.abc import AsyncIterator

import pytest

from devtools.devpostgres import PostgresServer
from orchestrator.store import AgentRow, Database, EventRow, SessionRow, changes, events, utcnow
from orchestrator.store.events import EventFeed

HOUR = 3600.0
FAIL_AFTER = 20.0
MANIFEST = 'name = "Quick"\ntagline = "t"\nwalletType = "ethereum"\nruntimeIntervalMinutes = 1\nversion = "0.0.1"\n'


@pytest.fixture(scope="module")
def postgres():
    with PostgresServer() as server:
        yield server


def open_database(url: str, replica: str) -> Database:
    database = Database(url, replica)
    with database.session() as s:
        if s.get(AgentRow, 1) is None:
            now = utcnow()
            s.add(AgentRow(id=1, name="Quick", version="0.0.1", image="i", image_id="i", wallet_type="ethereum",
                           manifest_toml=MANIFEST, registered_at=now))
            for session_id in (1, 2):
                s.add(SessionRow(id=session_id, agent_id=1, wallet_address=f"0x{session_id:040x}", status="running",
                                 execution_mode="auto", settings={}, allocation_network="ethereum:31337",
                                 allocation_asset="0x" + "ee" * 20, allocation_amount="0", created_at=now, next_run_at=None,
                                 stopped_at=None))
            s.commit()
    return database


@pytest.fixture(params=["sqlite", "postgresql"])
def url(request, tmp_path):
    if request.param == "sqlite":
        return f"sqlite:///{tmp_path / 'o.db'}"
    server = request.getfixturevalue("postgres")
    return server.create_database(f"feed_{tmp_path.name[-12:]}")


def write(database: Database, count: int, session_id: int | None = None, per_commit: int = 1) -> list[int]:
    """`count` events, `per_commit` to a transaction; returns their ids."""
    ids = []
    for start in range(0, count, per_commit):
        with database.session() as s:
            for _ in range(min(per_commit, count - start)):
                events.record(s, "log", "appended", session_id, 0)
            s.flush()
            s.commit()
        with database.session() as s:
            ids = [row for row in s.scalars(EventRow.__table__.select().with_only_columns(EventRow.id).order_by(EventRow.id))]
    return ids


async def take(stream: AsyncIterator[EventRow], count: int) -> list[int]:
    async def go() -> list[int]:
        got = []
        async for row in stream:
            got.append(row.id)
            if len(got) == count:
                return got
        return got

    return await asyncio.wait_for(go(), FAIL_AFTER)


def test_every_stream_gets_every_event_once_in_order(url):
    database = open_database(url, "a")

    async def main() -> None:
        feed = EventFeed(database, recheck_seconds=HOUR)
        task = asyncio.create_task(feed.run_forever())
        streams = [feed.watch(None, None) for _ in range(5)]
        readers = [asyncio.create_task(take(stream, 60)) for stream in streams]
        write(database, 20)
        await asyncio.to_thread(write, database, 20, None, 4)  # commits from another thread
        ids = write(database, 20, None, 20)
        got = await asyncio.gather(*readers)
        assert got == [ids] * 5
        task.cancel()

    try:
        asyncio.run(main())
    finally:
        database.engine.dispose()


def test_a_stream_that_stops_reading_loses_nothing(url):
    database = open_database(url, "a")

    async def main() -> None:
        feed = EventFeed(database, recheck_seconds=HOUR, queue_rows=5)
        task = asyncio.create_task(feed.run_forever())
        slow, fast = feed.watch(None, None), feed.watch(None, None)
        fast_reader = asyncio.create_task(take(fast, 101))
        first = asyncio.create_task(take(slow, 1))
        write(database, 1)
        assert len(await first) == 1
        for _ in range(10):  # the slow stream reads nothing while 100 more commit
            await asyncio.to_thread(write, database, 10, None, 10)
        ids = await fast_reader
        assert feed.overflows >= 1  # the slow stream's queue overflowed: it reads the table now
        rest = await take(slow, 100)
        assert [*await first, *rest] == ids
        task.cancel()

    try:
        asyncio.run(main())
    finally:
        database.engine.dispose()


def test_a_sessions_stream_gets_only_its_events_from_its_cursor(url):
    database = open_database(url, "a")
    before = write(database, 3, 1)

    async def main() -> None:
        feed = EventFeed(database, recheck_seconds=HOUR)
        task = asyncio.create_task(feed.run_forever())
        mine = feed.watch(1, before[0])  # replays after the first of its events, then follows
        reader = asyncio.create_task(take(mine, 4))
        write(database, 5, 2)
        ids = write(database, 2, 1)
        assert await reader == [*before[1:], *ids[-2:]]
        task.cancel()

    try:
        asyncio.run(main())
    finally:
        database.engine.dispose()


def test_another_replicas_commits_reach_the_feed_in_order_even_when_they_commit_out_of_order(postgres, tmp_path):
    url = postgres.create_database(f"order_{tmp_path.name[-12:]}")
    writer, reader = open_database(url, "a"), open_database(url, "b")  # two engines: only NOTIFY links them

    async def main() -> None:
        feed = EventFeed(reader, recheck_seconds=HOUR)
        task = asyncio.create_task(feed.run_forever())
        await asyncio.wait_for(changes.hub(reader.engine).listening.wait(), FAIL_AFTER)
        stream = feed.watch(None, None)
        got = asyncio.create_task(take(stream, 4))
        ids = await asyncio.to_thread(write, writer, 1)

        # The next id is taken by a transaction that commits after the one with the id above it.
        late = writer.session()
        events.record(late, "log", "appended", None, 0)
        late.flush()
        await asyncio.to_thread(write, writer, 1)
        for _ in range(int(FAIL_AFTER / 0.05)):  # until the feed saw the gap and held back
            if feed._gap is not None:
                break
            await asyncio.sleep(0.05)
        assert feed._gap is not None and feed.high == ids[-1], "the feed stepped past an id still in flight"
        late.commit()
        late.close()

        # A rolled-back id is passed once no transaction that could hold it is left.
        gone = writer.session()
        events.record(gone, "log", "appended", None, 0)
        gone.flush()
        gone.rollback()
        gone.close()
        everything = await asyncio.to_thread(write, writer, 1)
        assert await got == everything
        task.cancel()

    try:
        asyncio.run(main())
    finally:
        writer.engine.dispose()
        reader.engine.dispose()
