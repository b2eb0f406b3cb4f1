"""Pre-started sandboxes, so an execution does not wait for a container and a Python
interpreter to start.

A pooled sandbox is started for an image and its limits with a fresh socket directory
and token but no execution: its entrypoint imports everything and then blocks on the
doorbell the pool bound in its socket directory (`sandbox_runner.host.doorbell`), using no
CPU. Taking one binds it to one execution (the runner opens its runtime socket, then rings);
each is used once and replaced in the background. Nothing about a session is known to a
sandbox before it is taken.

How many wait per image and limits follows demand: the most executions of that key that
were starting or running at once within the last `DEMAND_WINDOW_SECONDS`, at least the
configured size and at most `ceiling` (the orchestrator's parallel-execution bound: more
could never be taken at once). So parallel runs find a sandbox each instead of falling
back to cold starts, and a burst that has passed stops costing idle sandboxes.
"""

from __future__ import annotations

import asyncio
import logging
import secrets
import time
from collections import Counter, defaultdict, deque
from collections.abc import Callable
from dataclasses import dataclass
from pathlib import Path

from orchestrator.executions.telemetry import timed_start
from sandbox_runner.host.backend import DOORBELL_NAME, SandboxBackend, SandboxLimits, SandboxSpec, StartedSandbox
from sandbox_runner.host.doorbell import Doorbell

log = logging.getLogger("corral.warm_pool")

PoolKey = tuple[str, SandboxLimits]
# How long a peak of concurrent executions keeps its image's pool that large.
DEMAND_WINDOW_SECONDS = 600.0
# Sandboxes one refill starts at once (each start is mostly the engine's and the kernel's work).
STARTS_AT_ONCE = 4


@dataclass
class PooledSandbox:
    started: StartedSandbox
    socket_dir: Path
    token: str
    expires_at: float
    doorbell: Doorbell


class Demand:
    """Per key: how many executions are starting or running now, and the peaks of that
    count over the window."""

    def __init__(self, window_seconds: float = DEMAND_WINDOW_SECONDS) -> None:
        self._window = window_seconds
        self._now: Counter[PoolKey] = Counter()
        self._peaks: defaultdict[PoolKey, deque[tuple[float, int]]] = defaultdict(deque)

    def begin(self, key: PoolKey, now: float | None = None) -> None:
        self._now[key] += 1
        peaks = self._peaks[key]
        # Only a new maximum within the window needs keeping: a monotonic queue.
        while peaks and peaks[-1][1] <= self._now[key]:
            peaks.pop()
        peaks.append((time.monotonic() if now is None else now, self._now[key]))

    def end(self, key: PoolKey) -> None:
        self._now[key] = max(0, self._now[key] - 1)

    def peak(self, key: PoolKey, now: float | None = None) -> int:
        now = time.monotonic() if now is None else now
        peaks = self._peaks[key]
        while peaks and peaks[0][0] < now - self._window:
            peaks.popleft()
        return max(peaks[0][1] if peaks else 0, self._now[key])


class WarmPool:
    def __init__(
        self,
        backend: SandboxBackend,
        size: int,
        idle_seconds: float,
        make_spec: Callable[[str, SandboxLimits, Path, str, float], SandboxSpec],
        new_socket_dir: Callable[[str], Path],
        release_socket_dir: Callable[[Path], None],
        hand_over: Callable[[Path], None],
        ceiling: int | None = None,
        backend_label: str = "unknown",
    ) -> None:
        """`size`: sandboxes kept per image even without demand (0: no pool at all);
        `ceiling`: at most this many per image, whatever the demand."""
        self._backend = backend
        self._backend_label = backend_label
        self._size = size
        self._ceiling = max(size, ceiling if ceiling is not None else size)
        self._idle_seconds = idle_seconds
        self._make_spec = make_spec
        self._new_socket_dir = new_socket_dir
        self._release_socket_dir = release_socket_dir
        self._hand_over = hand_over
        self._idle: defaultdict[PoolKey, deque[PooledSandbox]] = defaultdict(deque)
        self._filling: set[PoolKey] = set()
        self._closed = False
        self.demand = Demand()

    @property
    def enabled(self) -> bool:
        return self._size > 0

    def target(self, key: PoolKey) -> int:
        """Idle sandboxes wanted for this image and limits now: the configured size, grown to
        the recent demand, but the demand-driven ones of all images together within the
        ceiling (no more can run at once anyway), so bursts of many agents in turn cannot
        leave agents × ceiling idle sandboxes behind."""
        if not self.enabled:
            return 0
        others = sum(len(queue) for other, queue in self._idle.items() if other != key)
        room = max(0, self._ceiling - others)
        return max(self._size, min(self._ceiling, self.demand.peak(key), room))

    def idle_count(self, image_id: str, limits: SandboxLimits) -> int:
        return len(self._idle.get((image_id, limits), ()))

    def take(self, image_id: str, limits: SandboxLimits) -> PooledSandbox | None:
        """A ready sandbox for this image and limits, or None (the caller starts one cold).
        Counts as a start for the demand either way: call `done` when the execution ends."""
        key = (image_id, limits)
        self.demand.begin(key)
        queue = self._idle.get(key)
        while queue:
            pooled = queue.popleft()
            # Leave a margin: it must not expire while the execution starts. A sandbox on its
            # doorbell is alive without asking the engine (which would block the event loop).
            if pooled.expires_at - time.time() > 5 and not pooled.doorbell.hung_up and (
                pooled.doorbell.waiting or self._backend.is_running(pooled.started)
            ):
                return pooled
            self._discard(pooled)
        return None

    def give_back(self, pooled: PooledSandbox) -> None:
        """A sandbox taken and never handed an execution goes back, first in line (it was the
        next to be taken). Its key's demand is ended by `done` as always."""
        key = (pooled.started.spec.image, pooled.started.spec.limits)
        if self._closed:
            self._discard(pooled)
        else:
            self._idle[key].appendleft(pooled)

    def done(self, image_id: str, limits: SandboxLimits) -> None:
        self.demand.end((image_id, limits))

    async def refill(self, image_id: str, limits: SandboxLimits) -> None:
        """Starts sandboxes until this image and limits have their target of idle ones, and
        removes those beyond it."""
        key = (image_id, limits)
        if not self.enabled or self._closed or key in self._filling:
            return
        self._filling.add(key)
        try:
            queue = self._idle[key]
            while len(queue) > self.target(key):
                await asyncio.to_thread(self._discard, queue.pop())
            while not self._closed and (missing := self.target(key) - len(queue)) > 0:
                started = await asyncio.gather(*(self._start_one(image_id, limits) for _ in range(min(missing, STARTS_AT_ONCE))))
                for pooled in started:
                    if pooled is None:
                        continue
                    if self._closed:  # shut down while it started
                        await asyncio.to_thread(self._discard, pooled)
                    else:
                        queue.append(pooled)
                if None in started:
                    return  # the engine refuses: the next execution tries again
        finally:
            self._filling.discard(key)

    async def _start_one(self, image_id: str, limits: SandboxLimits) -> PooledSandbox | None:
        sandbox_id = secrets.token_hex(8)
        socket_dir: Path | None = None
        doorbell = None
        try:
            socket_dir = await asyncio.to_thread(self._new_socket_dir, sandbox_id)
            # Before the sandbox starts, so it finds the doorbell when it has imported.
            doorbell = await Doorbell.open(socket_dir / DOORBELL_NAME, self._hand_over)
            token = secrets.token_urlsafe(32)
            spec = self._make_spec(image_id, limits, socket_dir, token, self._idle_seconds)
            started = await asyncio.to_thread(timed_start, self._backend, spec, self._backend_label)
        except Exception as exc:  # the engine, the launcher or the disk: whatever failed, nothing is left behind
            log.warning("could not pre-start a sandbox for %s: %s", image_id, exc)
            if doorbell is not None:
                doorbell.close()
            if socket_dir is not None:
                await asyncio.to_thread(self._release_socket_dir, socket_dir)
            return None
        return PooledSandbox(started, socket_dir, token, expires_at=time.time() + self._idle_seconds, doorbell=doorbell)

    def discard(self, pooled: PooledSandbox) -> None:
        """Removes a sandbox taken but never handed an execution (blocks: call it in a thread)."""
        self._discard(pooled)

    def _discard(self, pooled: PooledSandbox) -> None:
        pooled.doorbell.close()
        try:
            self._backend.discard(pooled.started)
        finally:
            self._release_socket_dir(pooled.socket_dir)

    def close(self) -> None:
        """No more refills; then `drain` removes what is idle."""
        self._closed = True

    def drain(self) -> None:
        """Removes every idle sandbox (shutdown)."""
        self._closed = True
        for queue in self._idle.values():
            while queue:
                self._discard(queue.popleft())
