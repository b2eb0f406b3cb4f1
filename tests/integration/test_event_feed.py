"""The event feed behind WatchEvents: one reader per process fans every committed event out to
every stream, once and in id order, woken by commits (the re-check is set to an hour, so
nothing here is found by polling). A stream that stops reading loses nothing: past its queue
it reads the table from its own cursor. On PostgreSQL the feed hears another replica's
commits by NOTIFY, and an id that commits after a higher one is delivered, in order, instead
of skipped (issue 18: stored [1, 2], delivered [2]), however long its transaction stays open.
Streams can ask for heartbeats; a cursor past the head is refused."""

from __future__ import annotations

import asyncio
import contextlib
import threading
import time
from collections.abc import AsyncIterator, Awaitable, Callable

import grpc
import pytest
from sqlalchemy.orm import Session

from corral.v1 import orchestrator_pb2 as pb
from corral.v1 import orchestrator_pb2_grpc
from devtools.devpostgres import PostgresServer
from orchestrator.api.service import OrchestratorApi
from orchestrator.app.api_guard import ApiGuard, ApiGuardInterceptor
from orchestrator.store import AgentRow, Database, EventRow, SessionRow, changes, events, utcnow
from orchestrator.store.events import EventFeed, Position

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


def run(main: Callable[[], Awaitable[None]], *databases: Database) -> None:
    try:
        asyncio.run(main())
    finally:
        for database in databases:
            database.engine.dispose()


@contextlib.asynccontextmanager
async def running(database: Database, **options) -> AsyncIterator[EventFeed]:
    feed = EventFeed(database, recheck_seconds=HOUR, **options)
    task = asyncio.create_task(feed.run_forever())
    try:
        yield feed
    finally:
        task.cancel()


@contextlib.asynccontextmanager
async def serving(database: Database, feed: EventFeed) -> AsyncIterator[orchestrator_pb2_grpc.OrchestratorServiceStub]:
    """WatchEvents as a client reaches it, over gRPC (nothing else of the API is needed), behind
    the guard of an API without keys (every caller LOCAL)."""
    server = grpc.aio.server(interceptors=[ApiGuardInterceptor(ApiGuard(None, None))])
    api = OrchestratorApi(database, None, None, None, None, {}, None, feed=feed)  # type: ignore[arg-type]
    orchestrator_pb2_grpc.add_OrchestratorServiceServicer_to_server(api, server)
    port = server.add_insecure_port("127.0.0.1:0")
    await server.start()
    try:
        async with grpc.aio.insecure_channel(f"127.0.0.1:{port}") as channel:
            yield orchestrator_pb2_grpc.OrchestratorServiceStub(channel)
    finally:
        await server.stop(None)


def write(database: Database, count: int, session_id: int | None = None, per_commit: int = 1) -> list[int]:
    """`count` events, `per_commit` to a transaction; returns the ids of every event stored."""
    for start in range(0, count, per_commit):
        with database.session() as s:
            for _ in range(min(per_commit, count - start)):
                events.record(s, "log", "appended", session_id, 0)
            s.flush()
            s.commit()
    return stored_ids(database)


def write_slowly(database: Database, session_id: int, count: int, pause: float) -> None:
    for _ in range(count):
        write(database, 1, session_id)
        time.sleep(pause)


def stored_ids(database: Database) -> list[int]:
    with database.session() as s:
        return list(s.scalars(EventRow.__table__.select().with_only_columns(EventRow.id).order_by(EventRow.id)))


def take_an_id(database: Database) -> Session:
    """An open transaction that has taken the next event id: it commits (or not) when the test says."""
    held = database.session()
    events.record(held, "log", "appended", None, 0)
    held.flush()
    return held


async def take(stream: AsyncIterator[EventRow], count: int) -> list[int]:
    async def go() -> list[int]:
        got = []
        async for row in stream:
            got.append(row.id)
            if len(got) == count:
                return got
        return got

    return await asyncio.wait_for(go(), FAIL_AFTER)


async def delivered_within(stream: AsyncIterator[EventRow], count: int, seconds: float) -> list[int]:
    """The ids `stream` delivers within `seconds` (up to `count`): what a watcher got, to compare."""
    got: list[int] = []

    async def go() -> None:
        async for row in stream:
            got.append(row.id)
            if len(got) == count:
                return

    with contextlib.suppress(TimeoutError):
        await asyncio.wait_for(go(), seconds)
    return got


def test_every_stream_gets_every_event_once_in_order(url):
    database = open_database(url, "a")

    async def main() -> None:
        async with running(database) as feed:
            streams = [feed.watch(None, None) for _ in range(5)]
            readers = [asyncio.create_task(take(stream, 60)) for stream in streams]
            write(database, 20)
            await asyncio.to_thread(write, database, 20, None, 4)  # commits from another thread
            ids = write(database, 20, None, 20)
            got = await asyncio.gather(*readers)
            assert got == [ids] * 5

    run(main, database)


def test_a_stream_that_stops_reading_loses_nothing(url):
    database = open_database(url, "a")

    async def main() -> None:
        async with running(database, queue_rows=5) as feed:
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

    run(main, database)


def test_a_sessions_stream_gets_only_its_events_from_its_cursor(url):
    database = open_database(url, "a")
    before = write(database, 3, 1)

    async def main() -> None:
        async with running(database) as feed:
            mine = feed.watch(1, before[0])  # replays after the first of its events, then follows
            reader = asyncio.create_task(take(mine, 4))
            write(database, 5, 2)
            ids = write(database, 2, 1)
            assert await reader == [*before[1:], *ids[-2:]]

    run(main, database)


def test_another_replicas_commits_reach_the_feed_in_order_even_when_they_commit_out_of_order(postgres, tmp_path):
    url = postgres.create_database(f"order_{tmp_path.name[-12:]}")
    writer, reader = open_database(url, "a"), open_database(url, "b")  # two engines: only NOTIFY links them

    async def main() -> None:
        async with running(reader) as feed:
            await asyncio.wait_for(changes.hub(reader.engine).listening.wait(), FAIL_AFTER)
            got = asyncio.create_task(take(feed.watch(None, None), 4))
            ids = await asyncio.to_thread(write, writer, 1)

            # The next id is taken by a transaction that commits after the one with the id above it.
            late = take_an_id(writer)
            await asyncio.to_thread(write, writer, 1)
            for _ in range(int(FAIL_AFTER / 0.05)):  # until the feed saw the gap and held back
                if feed._unsettled is not None:
                    break
                await asyncio.sleep(0.05)
            assert feed._unsettled is not None and feed.high == ids[-1], "the feed stepped past an id still in flight"
            late.commit()
            late.close()

            # A rolled-back id is passed once no transaction that could hold it is left.
            gone = take_an_id(writer)
            gone.rollback()
            gone.close()
            everything = await asyncio.to_thread(write, writer, 1)
            assert await got == everything

    run(main, writer, reader)


def test_a_watcher_that_opens_while_a_lower_id_is_in_flight_gets_it_when_it_commits(postgres, tmp_path):
    """Issue 18: replica A takes id 1 and commits late; replica B commits id 2 meanwhile, and a
    watcher opens on B before A commits. It used to get [2] and never 1 (stored [1, 2])."""
    url = postgres.create_database(f"startup_{tmp_path.name[-12:]}")
    replica_a, replica_b = open_database(url, "a"), open_database(url, "b")

    async def main() -> None:
        late = take_an_id(replica_a)
        await asyncio.to_thread(write, replica_b, 1)
        async with running(replica_b) as feed:
            watcher = asyncio.create_task(delivered_within(feed.watch(None, 0), 2, FAIL_AFTER))
            await asyncio.sleep(0.5)  # the watcher has read what B can see
            late.commit()
            late.close()
            assert await watcher == stored_ids(replica_b) == [1, 2]

    run(main, replica_a, replica_b)


def test_an_id_held_back_by_a_long_transaction_is_delivered_in_order_however_long_it_takes(postgres, tmp_path, monkeypatch):
    """Two transactions in one process: the one holding the lower id stays open past the time the
    feed used to give up on it (it then stepped over it for good)."""
    monkeypatch.setattr(events, "GAP_MAX_SECONDS", 0.2, raising=False)  # the old give-up time, shortened
    database = open_database(postgres.create_database(f"long_{tmp_path.name[-12:]}"), "a")

    async def main() -> None:
        async with running(database) as feed:
            watcher = asyncio.create_task(delivered_within(feed.watch(None, None), 3, FAIL_AFTER))
            late = take_an_id(database)
            await asyncio.to_thread(write, database, 1)
            await asyncio.sleep(1.5)  # well past the old give-up time
            late.commit()
            late.close()
            await asyncio.to_thread(write, database, 1)
            assert await watcher == stored_ids(database)

    run(main, database)


def test_a_sessions_heartbeat_passes_other_sessions_events_and_resuming_from_it_is_exact(url):
    database = open_database(url, "a")
    mine = write(database, 2, 1)

    async def main() -> None:
        async with running(database) as feed:
            stream = feed.watch(1, 0, heartbeat_seconds=0.2)
            assert [(await anext(stream)).id for _ in mine] == mine
            assert await anext(stream) == Position(mine[-1], caught_up=True)
            # Session 2's events keep coming, more often than the heartbeat: this stream is idle all the same.
            others = asyncio.create_task(asyncio.to_thread(write_slowly, database, 2, 40, 0.05))
            beat = await asyncio.wait_for(anext(stream), FAIL_AFTER)
            assert isinstance(beat, Position) and not beat.caught_up and beat.after > mine[-1]
            assert not others.done(), "the heartbeat waited for the other session's traffic to stop"
            await others
            ids = await asyncio.to_thread(write, database, 1, 1)
            assert await take(feed.watch(1, beat.after), 1) == ids[-1:]

    run(main, database)


def test_an_idle_stream_gets_a_caught_up_marker_then_heartbeats_then_events(url):
    database = open_database(url, "a")
    before = write(database, 2)

    async def main() -> None:
        async with running(database) as feed, serving(database, feed) as api:
            stream = api.WatchEvents(pb.WatchEventsRequest(after_event_id=0, heartbeat_seconds=1))
            got = [await asyncio.wait_for(stream.read(), FAIL_AFTER) for _ in range(4)]
            assert [e.id for e in got[:2]] == before
            assert [(e.kind, e.id, e.heartbeat.position, e.heartbeat.caught_up) for e in got[2:]] == [
                (pb.EVENT_KIND_HEARTBEAT, 0, before[-1], True), (pb.EVENT_KIND_HEARTBEAT, 0, before[-1], False)]
            ids = await asyncio.to_thread(write, database, 1)
            assert (await asyncio.wait_for(stream.read(), FAIL_AFTER)).id == ids[-1]
            stream.cancel()

    run(main, database)


def test_a_cursor_past_the_head_or_a_heartbeat_out_of_range_is_refused_naming_the_field(url):
    database = open_database(url, "a")
    ids = write(database, 2)

    async def main() -> None:
        async with running(database) as feed, serving(database, feed) as api:
            for request, code, field in [
                (pb.WatchEventsRequest(after_event_id=ids[-1] + 1), grpc.StatusCode.OUT_OF_RANGE, "after_event_id"),
                (pb.WatchEventsRequest(after_event_id=-1), grpc.StatusCode.INVALID_ARGUMENT, "after_event_id"),
                (pb.WatchEventsRequest(heartbeat_seconds=3601), grpc.StatusCode.INVALID_ARGUMENT, "heartbeat_seconds"),
            ]:
                with pytest.raises(grpc.aio.AioRpcError) as refused:
                    await asyncio.wait_for(api.WatchEvents(request).read(), FAIL_AFTER)
                assert refused.value.code() == code and field in refused.value.details(), request
            # The newest id itself is a good cursor: the stream waits for what follows it.
            await resumes_after(api, database, ids[-1])

    run(main, database)


def test_on_postgresql_a_cursor_stays_good_when_retention_removed_every_event(postgres, tmp_path):
    database = open_database(postgres.create_database(f"emptied_{tmp_path.name[-12:]}"), "a")
    ids = write(database, 2)
    with database.session() as s:
        s.execute(EventRow.__table__.delete())
        s.commit()

    async def main() -> None:
        async with running(database) as feed, serving(database, feed) as api:
            await resumes_after(api, database, ids[-1])

    run(main, database)


async def resumes_after(api: orchestrator_pb2_grpc.OrchestratorServiceStub, database: Database, cursor: int) -> None:
    stream = api.WatchEvents(pb.WatchEventsRequest(after_event_id=cursor))
    more = await asyncio.to_thread(write, database, 1)
    assert (await asyncio.wait_for(stream.read(), FAIL_AFTER)).id == more[-1]
    stream.cancel()


def test_a_replay_waiting_for_the_database_does_not_hold_the_event_loop(postgres, tmp_path):
    """A stream's replay reads the table on the database's threads: while another transaction
    holds the events table locked, the replay waits and the loop (every sandbox's SDK calls)
    runs on. The lock is let go by a timer thread whatever happens, so a blocked loop shows as
    a flag, not a hang."""
    database = open_database(postgres.create_database(f"feed_lock_{tmp_path.name[-8:]}"), "a")
    ids = write(database, 3)
    released = threading.Event()

    async def main() -> tuple[bool, list[int]]:
        async with running(database) as feed:
            stream = feed.watch(None, 0)
            first = asyncio.ensure_future(anext(stream))
            locker = database.engine.connect()
            locker.exec_driver_sql("BEGIN; LOCK TABLE events IN ACCESS EXCLUSIVE MODE")

            def release() -> None:
                locker.exec_driver_sql("COMMIT")
                locker.close()
                released.set()

            timer = threading.Timer(3.0, release)
            timer.start()
            await asyncio.sleep(0.3)  # on a blocked loop this returns only after the release
            loop_ran_while_locked = not released.is_set()
            got = [(await first).id] + [(await anext(stream)).id for _ in ids[1:]]
            timer.join()
            return loop_ran_while_locked, got

    loop_ran_while_locked, got = asyncio.run(main())
    database.engine.dispose()
    assert loop_ran_while_locked, "the loop stood still while the replay waited for the database"
    assert got == ids
