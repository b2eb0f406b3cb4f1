"""The warm pool sizes itself per image from demand (bounded), starts each sandbox with its
doorbell already bound, and hands out sandboxes that wait on it without asking the engine."""

from __future__ import annotations

import asyncio
import os
import socket
from pathlib import Path

from orchestrator.executions.warm_pool import Demand, WarmPool
from sandbox_runner.host.backend import DOORBELL_NAME, SandboxLimits, SandboxSpec, StartedSandbox

LIMITS = SandboxLimits()
KEY = ("image-a", LIMITS)


class FakeBackend:
    """Starts "sandboxes" that connect to their doorbell at once, as a real one does once imported."""

    def __init__(self) -> None:
        self.started: list[SandboxSpec] = []
        self.discarded: list[str] = []
        self.is_running_calls = 0
        self._bells: list[socket.socket] = []

    def start(self, spec: SandboxSpec) -> StartedSandbox:
        bell = spec.socket_dir / DOORBELL_NAME
        assert bell.exists(), "the doorbell must be bound before the sandbox starts"
        client = socket.socket(socket.AF_UNIX, socket.SOCK_STREAM)
        client.connect(str(bell))
        self._bells.append(client)
        self.started.append(spec)
        return StartedSandbox(spec=spec, handle=spec.sandbox_id)

    def discard(self, sandbox: StartedSandbox) -> None:
        self.discarded.append(sandbox.handle)

    def is_running(self, sandbox: StartedSandbox) -> bool:
        self.is_running_calls += 1
        return True

    def close(self) -> None:
        for bell in self._bells:
            bell.close()


def make_pool(tmp_path: Path, backend: FakeBackend, size: int = 1, ceiling: int = 8) -> WarmPool:
    def new_socket_dir(sandbox_id: str) -> Path:
        directory = tmp_path / f"sbx-{sandbox_id}"
        directory.mkdir()
        return directory

    def make_spec(image: str, limits: SandboxLimits, socket_dir: Path, token: str, idle: float) -> SandboxSpec:
        return SandboxSpec(image=image, command=["run"], socket_dir=socket_dir, sandbox_id=socket_dir.name[4:], limits=limits,
                           idle_seconds=idle)

    return WarmPool(backend, size=size, idle_seconds=300, make_spec=make_spec, new_socket_dir=new_socket_dir,
                    release_socket_dir=lambda d: None, hand_over=lambda p: os.chmod(p, 0o666), ceiling=ceiling)


def test_demand_is_the_peak_of_concurrent_starts_within_the_window():
    demand = Demand(window_seconds=100)
    for t in range(3):
        demand.begin(KEY, now=float(t))
    assert demand.peak(KEY, now=3) == 3
    for _ in range(3):
        demand.end(KEY)
    demand.begin(KEY, now=50)
    assert demand.peak(KEY, now=60) == 3  # the burst is still recent
    demand.end(KEY)
    assert demand.peak(KEY, now=160) == 0  # and forgotten once it is older than the window
    assert demand.peak(("image-b", LIMITS), now=160) == 0  # per image


def test_parallel_executions_grow_the_pool_to_their_number_within_the_ceiling(tmp_path):
    backend = FakeBackend()
    pool = make_pool(tmp_path, backend, size=1, ceiling=6)

    async def scenario() -> None:
        await pool.refill(*KEY)
        assert pool.idle_count(*KEY) == 1  # the configured size without demand
        # Eight executions at once: one finds a sandbox, seven start cold; all count as demand.
        taken = [pool.take(*KEY) for _ in range(8)]
        assert sum(t is not None for t in taken) == 1
        for _ in taken:
            pool.done(*KEY)
        await pool.refill(*KEY)
        assert pool.target(KEY) == 6 and pool.idle_count(*KEY) == 6  # the peak, bounded by the ceiling
        assert [pool.take(*KEY) is not None for _ in range(6)] == [True] * 6
        pool.drain()

    try:
        asyncio.run(scenario())
    finally:
        backend.close()


def test_bursts_of_several_images_in_turn_stay_within_one_ceiling_of_idle_sandboxes(tmp_path):
    backend = FakeBackend()
    pool = make_pool(tmp_path, backend, size=1, ceiling=4)
    images = [(f"image-{n}", LIMITS) for n in range(3)]

    async def scenario() -> None:
        for key in images:  # each image's burst of 4 in turn, then its refill
            for _ in range(4):
                pool.take(*key)
            for _ in range(4):
                pool.done(*key)
            await pool.refill(*key)
        idle = [pool.idle_count(*key) for key in images]
        assert idle == [4, 1, 1], idle  # every image keeps its size; the demand-driven rest shares the ceiling
        pool.drain()

    try:
        asyncio.run(scenario())
    finally:
        backend.close()


def test_a_sandbox_waiting_on_its_doorbell_is_taken_without_asking_the_engine(tmp_path):
    backend = FakeBackend()
    pool = make_pool(tmp_path, backend)

    async def scenario() -> None:
        await pool.refill(*KEY)
        pooled = pool._idle[KEY][0]
        for _ in range(200):
            if pooled.doorbell.waiting:
                break
            await asyncio.sleep(0.01)
        assert pool.take(*KEY) is pooled
        assert backend.is_running_calls == 0
        pool.done(*KEY)
        pooled.doorbell.close()

    try:
        asyncio.run(scenario())
    finally:
        backend.close()


def test_a_sandbox_that_hung_up_is_discarded_not_handed_out(tmp_path):
    backend = FakeBackend()
    pool = make_pool(tmp_path, backend)

    async def scenario() -> None:
        await pool.refill(*KEY)
        pooled = pool._idle[KEY][0]
        backend.close()  # the sandbox died after connecting
        for _ in range(200):
            if pooled.doorbell.hung_up:
                break
            await asyncio.sleep(0.01)
        assert pool.take(*KEY) is None
        assert backend.discarded == [pooled.started.handle]

    asyncio.run(scenario())


def test_idle_sandboxes_beyond_the_target_are_removed(tmp_path):
    backend = FakeBackend()
    pool = make_pool(tmp_path, backend, size=1, ceiling=4)

    async def scenario() -> None:
        for _ in range(3):
            pool.take(*KEY)
        for _ in range(3):
            pool.done(*KEY)
        await pool.refill(*KEY)
        assert pool.idle_count(*KEY) == 3
        pool.demand = Demand(window_seconds=100)  # the burst has passed
        await pool.refill(*KEY)
        assert pool.idle_count(*KEY) == 1
        assert len(backend.discarded) == 2
        pool.drain()

    try:
        asyncio.run(scenario())
    finally:
        backend.close()


def test_a_sandbox_given_back_unused_is_the_next_one_taken_and_discarded_once_the_pool_closes(tmp_path):
    backend = FakeBackend()
    pool = make_pool(tmp_path, backend, size=2)

    async def scenario() -> None:
        await pool.refill(*KEY)
        first = pool.take(*KEY)
        pool.give_back(first)  # its session was stopped before it was handed anything
        pool.done(*KEY)
        assert pool.idle_count(*KEY) == 2 and backend.discarded == []
        again = pool.take(*KEY)
        assert again is first
        pool.close()
        pool.give_back(again)
        pool.done(*KEY)
        assert backend.discarded == [first.started.handle]
        pool.drain()

    try:
        asyncio.run(scenario())
    finally:
        backend.close()
