"""A pre-started sandbox waits on its doorbell, not in a polling loop: the host's side
(`sandbox_runner/host/doorbell.py`) against the sandbox's (`wait_for_doorbell`)."""

from __future__ import annotations

import asyncio
import os
import socket
from pathlib import Path

from corral.v1 import runtime_pb2
from sandbox_runner.host.doorbell import Doorbell
from sandbox_runner.inside.contract import DOORBELL_CONTEXT_MAX_BYTES, DOORBELL_NAME
from sandbox_runner.inside.doorbell import Rung, wait_for_doorbell


def _open_to_all(path: Path) -> None:
    os.chmod(path, 0o666)


async def _until(condition, what: str) -> None:
    for _ in range(1000):
        if condition():
            return
        await asyncio.sleep(0.01)
    raise AssertionError(f"never {what}")


def test_a_waiting_sandbox_goes_when_rung_and_the_doorbell_is_gone_before_its_code_runs(tmp_path):
    async def scenario() -> Rung | None:
        doorbell = await Doorbell.open(tmp_path / DOORBELL_NAME, _open_to_all)
        waiting = asyncio.create_task(asyncio.to_thread(wait_for_doorbell, str(tmp_path), 60))
        await _until(lambda: doorbell.waiting, "connected")
        assert not waiting.done()  # it blocks until rung
        doorbell.ring()
        assert not (tmp_path / DOORBELL_NAME).exists()
        went = await waiting
        doorbell.close()
        return went

    assert asyncio.run(scenario()) == Rung(context=None)


def test_a_ring_before_the_sandbox_connects_is_kept_for_it(tmp_path):
    async def scenario() -> Rung | None:
        doorbell = await Doorbell.open(tmp_path / DOORBELL_NAME, _open_to_all)
        doorbell.ring()  # taken while it still imports
        assert (tmp_path / DOORBELL_NAME).exists()  # so it can still connect
        went = await asyncio.to_thread(wait_for_doorbell, str(tmp_path), 60)
        doorbell.close()
        return went

    assert asyncio.run(scenario()) == Rung(context=None)


def test_a_sandbox_sent_away_unused_ends(tmp_path):
    async def scenario() -> Rung | None:
        doorbell = await Doorbell.open(tmp_path / DOORBELL_NAME, _open_to_all)
        waiting = asyncio.create_task(asyncio.to_thread(wait_for_doorbell, str(tmp_path), 60))
        await _until(lambda: doorbell.waiting, "connected")
        doorbell.close()
        return await waiting

    assert asyncio.run(scenario()) is None
    assert not (tmp_path / DOORBELL_NAME).exists()


def test_without_a_doorbell_or_past_its_idle_time_the_sandbox_ends_unused(tmp_path):
    assert wait_for_doorbell(str(tmp_path), 60) is None  # nothing to connect to

    async def scenario() -> Rung | None:
        doorbell = await Doorbell.open(tmp_path / DOORBELL_NAME, _open_to_all)
        went = await asyncio.to_thread(wait_for_doorbell, str(tmp_path), 0.2)  # never rung
        doorbell.close()
        return went

    assert asyncio.run(scenario()) is None


def test_one_connection_only_and_a_sandbox_that_goes_away_is_seen_gone(tmp_path):
    async def scenario() -> None:
        doorbell = await Doorbell.open(tmp_path / DOORBELL_NAME, _open_to_all)
        first = socket.socket(socket.AF_UNIX, socket.SOCK_STREAM)
        first.connect(str(tmp_path / DOORBELL_NAME))
        await _until(lambda: doorbell.waiting, "connected")
        second = socket.socket(socket.AF_UNIX, socket.SOCK_STREAM)
        second.settimeout(5)
        try:  # the listener stopped after the first: refused, or accepted by the kernel and closed unread
            second.connect(str(tmp_path / DOORBELL_NAME))
            assert await asyncio.to_thread(second.recv, 1) == b""
        except OSError:
            pass
        second.close()
        assert doorbell.waiting
        first.close()  # the sandbox ended (or was killed)
        await _until(lambda: doorbell.hung_up, "seen hung up")
        assert not doorbell.waiting
        doorbell.close()

    asyncio.run(scenario())


def test_close_from_another_thread_hangs_up_on_the_loop(tmp_path):
    async def scenario() -> Rung | None:
        doorbell = await Doorbell.open(tmp_path / DOORBELL_NAME, _open_to_all)
        waiting = asyncio.create_task(asyncio.to_thread(wait_for_doorbell, str(tmp_path), 60))
        await _until(lambda: doorbell.waiting, "connected")
        await asyncio.to_thread(doorbell.close)  # as a pool's discard does, in a worker thread
        return await waiting

    assert asyncio.run(scenario()) is None


def test_the_ring_hands_over_the_execution_context_and_one_over_its_bound_is_asked_for_instead(tmp_path):
    context = runtime_pb2.GetExecutionContextResponse(session_id=7, execution_id=31, environment={"A": "b"})
    too_big = runtime_pb2.GetExecutionContextResponse(session_id=8, environment={"BIG": "x" * DOORBELL_CONTEXT_MAX_BYTES})

    async def scenario(sent: runtime_pb2.GetExecutionContextResponse) -> Rung | None:
        doorbell = await Doorbell.open(tmp_path / DOORBELL_NAME, _open_to_all)
        waiting = asyncio.create_task(asyncio.to_thread(wait_for_doorbell, str(tmp_path), 60))
        await _until(lambda: doorbell.waiting, "connected")
        doorbell.ring(sent.SerializeToString())
        went = await waiting
        doorbell.close()
        return went

    assert asyncio.run(scenario(context)) == Rung(context=context)
    assert asyncio.run(scenario(too_big)) == Rung(context=None)  # the sandbox asks GetExecutionContext
