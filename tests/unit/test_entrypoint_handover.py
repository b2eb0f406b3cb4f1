"""A pre-started sandbox is handed its execution's context with the doorbell's ring: its
`run(agent)` gets the same agent as a cold sandbox's, which asks GetExecutionContext, and a
ring it cannot read ends it without running the agent's code (not even its imports)."""

from __future__ import annotations

import socket
import threading
from pathlib import Path

import pytest

import tests.unit.test_sdk_fakes  # noqa: F401  (puts sdk/compat on sys.path)
from corral.v1 import common_pb2, runtime_pb2
from sandbox_runner.host.doorbell import ring_message
from sandbox_runner.inside.contract import DOORBELL_CONTEXT_MAX_BYTES, DOORBELL_NAME, DOORBELL_RING, WAIT_FOR_SOCKET_ENV
from sdk.testing import MockRuntime, RpcRefusal
from tests.helpers import run_entrypoint

# Logs what it was given, and marks that its module ran (its imports are the agent's code too).
AGENT = """\
import json, os, pathlib
pathlib.Path(os.environ["IMPORTED_MARK"]).write_text("imported")

def run(agent):
    agent.log(json.dumps({
        "session": agent.sessionId, "wallet": agent.sessionWalletAddress, "mode": agent.executionMode,
        "settings": agent.settings, "positions": [p.model_dump() for p in agent.currentPositions],
        "env": os.environ.get("SESSION_SETTING"),
    }, sort_keys=True))
"""


def _context() -> runtime_pb2.GetExecutionContextResponse:
    ctx = runtime_pb2.GetExecutionContextResponse(
        session_id=7, session_wallet_address="0x" + "ab" * 20, execution_mode=common_pb2.EXECUTION_MODE_MANUAL,
        command=common_pb2.EXECUTION_COMMAND_RUN, execution_id=31, environment={"SESSION_SETTING": "on"},
        current_positions=[common_pb2.Position(network="ethereum:1", asset_address="0x" + "e" * 40, avg_unit_cost="2", current_qty="5")],
    )
    ctx.settings.update({"count": 3, "ratio": 0.25, "name": "x"})
    return ctx


def _doorbell(socket_dir: Path, written: bytes) -> threading.Thread:
    """The host's side, writing `written` (whatever it is) to the one sandbox that connects."""
    listener = socket.socket(socket.AF_UNIX, socket.SOCK_STREAM)
    listener.bind(str(socket_dir / DOORBELL_NAME))
    listener.listen(1)

    def answer() -> None:
        connection, _ = listener.accept()
        connection.sendall(written)
        connection.close()
        listener.close()

    thread = threading.Thread(target=answer, daemon=True)
    thread.start()
    return thread


def _run(monkeypatch, tmp_path: Path, fake: MockRuntime, ring: bytes | None) -> int:
    """The entrypoint, in process, on `fake`; pre-started and rung with `ring` unless None (cold)."""
    agent_dir, socket_dir = tmp_path / "agent", tmp_path / "sockets"
    agent_dir.mkdir(exist_ok=True)
    socket_dir.mkdir(exist_ok=True)
    (agent_dir / "main.py").write_text(AGENT)
    monkeypatch.setenv("IMPORTED_MARK", str(tmp_path / "imported"))
    monkeypatch.setenv("CORRAL_SOCKET", str(socket_dir / "runtime.sock"))
    monkeypatch.delenv("SESSION_SETTING", raising=False)
    if ring is None:
        monkeypatch.delenv(WAIT_FOR_SOCKET_ENV, raising=False)
    else:
        monkeypatch.setenv(WAIT_FOR_SOCKET_ENV, "30")
        host = _doorbell(socket_dir, ring)
    try:
        return run_entrypoint(monkeypatch, agent_dir, fake)
    finally:
        if ring is not None:
            host.join(5)


def _logged(fake: MockRuntime) -> list[str]:
    return [entry.message for request in fake.requests("AppendLogs") for entry in request.entries]


def _outcome(fake: MockRuntime) -> tuple[bool, str]:
    (report,) = fake.requests("CompleteExecution")
    return report.success, report.error


def test_a_ring_with_the_context_gives_run_the_same_agent_as_asking_for_it(monkeypatch, tmp_path):
    cold = MockRuntime(GetExecutionContext=_context())
    assert _run(monkeypatch, tmp_path, cold, ring=None) == 0
    # Asking would fail: the ring's context is the only one there is.
    warm = MockRuntime(GetExecutionContext=RpcRefusal(None, "not asked for by a sandbox rung with its context"))
    assert _run(monkeypatch, tmp_path, warm, ring=ring_message(_context().SerializeToString())) == 0

    assert _outcome(warm) == _outcome(cold) == (True, "")
    assert len(cold.requests("GetExecutionContext")) == 1 and warm.requests("GetExecutionContext") == []
    assert _logged(warm) == _logged(cold)
    assert '"env": "on"' in _logged(cold)[0] and '"session": 7' in _logged(cold)[0] and '"count": 3' in _logged(cold)[0]


def test_a_ring_without_a_context_still_asks_for_it(monkeypatch, tmp_path):
    fake = MockRuntime(GetExecutionContext=_context())
    assert _run(monkeypatch, tmp_path, fake, ring=DOORBELL_RING) == 0
    assert len(fake.requests("GetExecutionContext")) == 1 and '"session": 7' in _logged(fake)[0]


def _length(n: int) -> bytes:
    return n.to_bytes(4, "big")


@pytest.mark.parametrize(("ring", "said"), [
    (DOORBELL_RING + _length(DOORBELL_CONTEXT_MAX_BYTES + 1), f"over its bound of {DOORBELL_CONTEXT_MAX_BYTES}"),
    (DOORBELL_RING + _length(100) + b"\x08\x07", "cut short: 2 of 100 bytes"),
    (DOORBELL_RING + b"\x00\x00", "cut short: 2 of 4 bytes"),
    (DOORBELL_RING + _length(3) + b"\xff\xff\xff", "is not a GetExecutionContextResponse"),
], ids=["oversized", "body cut short", "length cut short", "not the message"])
def test_a_ring_that_cannot_be_read_ends_the_sandbox_without_running_the_agent(monkeypatch, tmp_path, ring, said):
    fake = MockRuntime(GetExecutionContext=_context())
    assert _run(monkeypatch, tmp_path, fake, ring=ring) == 1
    success, error = _outcome(fake)
    assert not success and said in error and error.endswith("the agent did not run"), error
    assert not (tmp_path / "imported").exists()  # not even its module-level code ran
    assert fake.requests("GetExecutionContext") == [] and _logged(fake) == []
