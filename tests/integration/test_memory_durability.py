"""Memory writes commit without waiting for the disk (docs/operators.md, "Agent memory and
crashes"), and still a write the SDK was told is stored survives the orchestrator's process
being killed: on SQLite and on PostgreSQL, a real process serving the runtime API on a real
Unix socket is SIGKILLed right after its last answer, and a new process reads every write back."""

from __future__ import annotations

import os
import signal
import subprocess
import sys
from pathlib import Path

import grpc
from sqlalchemy import text

from corral.v1 import runtime_pb2, runtime_pb2_grpc
from orchestrator.store import Database, MemoryRow
from tests.helpers import seed_sessions

TOKEN = "t" * 43
METADATA = (("authorization", f"Bearer {TOKEN}"),)


def _serving(url: str, socket_path: Path) -> subprocess.Popen:
    process = subprocess.Popen(
        [sys.executable, "-m", "tests.standins.runtime_process", url, str(socket_path), "1"],
        env={**os.environ, "CORRAL_TOKEN": TOKEN}, stdout=subprocess.PIPE, stderr=subprocess.PIPE, text=True,
        cwd=Path(__file__).resolve().parents[2],
    )
    assert process.stdout is not None
    if process.stdout.readline().strip() != "serving":
        process.kill()
        raise AssertionError(f"the runtime process did not start: {process.communicate()[1][-2000:]}")
    return process


def test_acknowledged_memory_writes_survive_a_kill_of_the_orchestrator_process(db: Database, tmp_path: Path):
    seed_sessions(db, 1)
    url = db.engine.url.render_as_string(hide_password=False)
    db.dispose()  # the killed process is the only writer
    socket_path = tmp_path / "runtime.sock"
    process = _serving(url, socket_path)
    try:
        with grpc.insecure_channel(f"unix:{socket_path}") as channel:
            runtime = runtime_pb2_grpc.AgentRuntimeStub(channel)
            for i in range(50):
                runtime.SetMemory(runtime_pb2.SetMemoryRequest(key=f"k{i}", value=f"v{i}"), metadata=METADATA)
            runtime.DeleteMemory(runtime_pb2.DeleteMemoryRequest(key="k0"), metadata=METADATA)
            runtime.SetMemory(runtime_pb2.SetMemoryRequest(key="last", value="shared", scope=runtime_pb2.MEMORY_SCOPE_SHARED),
                              metadata=METADATA)
            os.kill(process.pid, signal.SIGKILL)  # right after the last answer
    finally:
        process.kill()
        process.wait()
    assert process.returncode == -signal.SIGKILL

    restarted = Database(url)
    try:
        with restarted.session() as s:
            stored = {(row.namespace, row.key): row.value for row in s.query(MemoryRow)}
    finally:
        restarted.dispose()
    expected = {("session:1", f"k{i}"): f"v{i}" for i in range(1, 50)} | {("shared:1", "last"): "shared"}
    assert stored == expected


def test_only_memory_writes_commit_without_waiting_for_the_disk(db: Database):
    """The relaxed setting is on the memory-write connection alone: every other commit (an
    execution's end, a transaction intent) still waits for the disk, and so flushes the
    memory writes before it (docs/operators.md)."""
    if db.backend == "sqlite":
        setting, relaxed, durable = "PRAGMA synchronous", 1, 2  # NORMAL; FULL, SQLite's default
    else:
        setting, relaxed, durable = "SHOW synchronous_commit", "off", "on"
        with db.engine.connect() as connection:  # the test server runs with it off: on for this database
            connection.execute(text(f'ALTER DATABASE "{db.engine.url.database}" SET synchronous_commit = on'))
            connection.commit()
        db.dispose()
    with db.memory_engine.connect() as connection:
        for _ in range(2):  # and again in the connection's next transaction (a group retried write by write)
            assert connection.execute(text(setting)).scalar() == relaxed
            connection.commit()
    with db.engine.connect() as connection:
        assert connection.execute(text(setting)).scalar() == durable
