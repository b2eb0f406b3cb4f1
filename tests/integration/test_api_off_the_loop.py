"""The frontend API's database work runs on the database's threads, not on the event loop that
serves every sandbox: while a console's write waits for the database (here: another writer holds
SQLite's write lock), the console's reads are answered, and the write lands once the lock is
released."""

from __future__ import annotations

import asyncio
import sqlite3
import threading

from corral.v1 import orchestrator_pb2
from orchestrator.api.access import CALLER
from orchestrator.api.service import OrchestratorApi
from orchestrator.sessions.kill_switch import KillSwitch, stored_halt
from orchestrator.sessions.lifecycle import Sessions
from orchestrator.store import Database, SessionRow
from orchestrator.store.principals import LOCAL
from tests.helpers import seed_sessions
from tests.integration.api_in_process import NETWORK, WALLET, StandInChain, StandInSigner, seed


def test_a_session_stop_waiting_for_the_database_does_not_stall_other_api_calls(tmp_path, monkeypatch):
    path = tmp_path / "o.db"
    db = Database(f"sqlite:///{path}")
    seed_sessions(db, 2)
    sessions = Sessions(db, signer=None, chains={})  # type: ignore[arg-type]  # stopping asks neither
    api = OrchestratorApi(db, backend=None, sessions=sessions, suggestions=None, signer=None, chains={}, kill_switch=None)  # type: ignore[arg-type]
    stopping = threading.Event()
    real_stop = sessions.stop

    def stop(session_id: int, actor: str = ""):
        stopping.set()  # the stop has reached the database (and waits for its lock)
        return real_stop(session_id, actor)

    monkeypatch.setattr(sessions, "stop", stop)

    async def scenario():
        CALLER.set(LOCAL)  # the servicer called directly, as the guard leaves it on an API without keys
        other_writer = sqlite3.connect(path, isolation_level=None)
        other_writer.execute("BEGIN IMMEDIATE")  # holds the write lock: the stop waits (busy_timeout)
        try:
            stop_call = asyncio.ensure_future(api.StopSession(orchestrator_pb2.StopSessionRequest(session_id=1), None))
            await asyncio.to_thread(stopping.wait)
            listed = await api.ListSessions(orchestrator_pb2.ListSessionsRequest(), None)
            memory = await api.ListSessionMemory(orchestrator_pb2.ListSessionMemoryRequest(session_id=2), None)
            stop_was_waiting = not stop_call.done()
            other_writer.execute("ROLLBACK")
            stopped = await stop_call
            return stop_was_waiting, listed, memory, stopped
        finally:
            other_writer.close()

    stop_was_waiting, listed, memory, stopped = asyncio.run(scenario())
    assert sorted(s.id for s in listed.sessions) == [1, 2] and list(memory.entries) == []
    assert stop_was_waiting, "the other API calls were answered only after the stop had finished waiting for the database"
    assert stopped.session.status == orchestrator_pb2.SESSION_STATUS_STOPPED
    with db.session() as s:
        assert s.get(SessionRow, 1).status == "stopped"


class _NothingRunning:
    async def kill_running(self, reason: str) -> int:
        return 0

    def lift_halt(self) -> None:
        pass


class _Signer:
    async def halt_signing(self, reason: str) -> None:
        pass


def test_a_halt_refuses_signing_at_once_and_its_write_waiting_for_the_database_stalls_nothing(tmp_path):
    path = tmp_path / "o.db"
    db = Database(f"sqlite:///{path}")
    seed_sessions(db, 1)
    kill_switch = KillSwitch(db, _Signer(), _NothingRunning())  # type: ignore[arg-type]
    sessions = Sessions(db, signer=None, chains={})  # type: ignore[arg-type]
    api = OrchestratorApi(db, backend=None, sessions=sessions, suggestions=None, signer=None, chains={}, kill_switch=kill_switch)  # type: ignore[arg-type]

    async def scenario():
        CALLER.set(LOCAL)  # the servicer called directly, as the guard leaves it on an API without keys
        other_writer = sqlite3.connect(path, isolation_level=None)
        other_writer.execute("BEGIN IMMEDIATE")  # holds the write lock: the halt's write waits (busy_timeout)
        try:
            halting = asyncio.ensure_future(api.HaltPlatform(orchestrator_pb2.HaltPlatformRequest(reason="test"), None))
            await asyncio.sleep(0.2)  # time for the halt to reach the database, where it waits
            refused_meanwhile = kill_switch.refusal() is not None
            listed = await api.ListSessions(orchestrator_pb2.ListSessionsRequest(), None)
            halt_was_waiting = not halting.done()
            other_writer.execute("ROLLBACK")
            await halting
            return refused_meanwhile, halt_was_waiting, listed
        finally:
            other_writer.close()

    refused_meanwhile, halt_was_waiting, listed = asyncio.run(scenario())
    assert refused_meanwhile, "signing was still allowed while the halt waited for the database"
    assert halt_was_waiting, "the other API calls were answered only after the halt had finished waiting for the database"
    assert [s.id for s in listed.sessions] == [1]
    with db.session() as s:
        assert stored_halt(s) is not None


def test_a_session_start_waiting_for_the_database_stalls_nothing(tmp_path):
    path = tmp_path / "o.db"
    db = Database(f"sqlite:///{path}")
    seed(db)  # agent 1 (starting asset: the native coin, minimum 1000) and its session 1 on WALLET
    chains = {NETWORK: StandInChain()}
    sessions = Sessions(db, StandInSigner(), chains)  # type: ignore[arg-type]
    api = OrchestratorApi(db, backend=None, sessions=sessions, suggestions=None, signer=None, chains=chains, kill_switch=None)  # type: ignore[arg-type]
    with db.session() as s:
        s.get(SessionRow, 1).status = "stopped"  # the agent may start again on the wallet
        s.commit()

    async def scenario():
        CALLER.set(LOCAL)
        other_writer = sqlite3.connect(path, isolation_level=None)
        other_writer.execute("BEGIN IMMEDIATE")  # the start's insert waits for the lock (busy_timeout)
        try:
            starting = asyncio.ensure_future(api.StartSession(orchestrator_pb2.StartSessionRequest(agent_id=1, wallet_address=WALLET), None))
            await asyncio.sleep(0.3)  # time for the start to reach its insert, where it waits
            listed = await api.ListSessions(orchestrator_pb2.ListSessionsRequest(statuses=[orchestrator_pb2.SESSION_STATUS_STOPPED]), None)
            start_was_waiting = not starting.done()
            other_writer.execute("ROLLBACK")
            return start_was_waiting, listed, await starting
        finally:
            other_writer.close()

    start_was_waiting, listed, started = asyncio.run(scenario())
    assert [s.id for s in listed.sessions] == [1]
    assert start_was_waiting, "the other API calls were answered only after the start had finished waiting for the database"
    assert started.session.status == orchestrator_pb2.SESSION_STATUS_RUNNING and started.session.id == 2
