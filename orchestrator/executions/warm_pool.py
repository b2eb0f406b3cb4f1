"""Pre-started sandboxes, so an execution does not wait for a container and a Python
interpreter to start.

A pooled sandbox is started for an image and its limits with a fresh socket directory
and token but no execution: its entrypoint has imported everything and waits for its
socket to appear. Taking one binds it to one execution (the runtime server then opens
its socket); each is used once and replaced in the background. Nothing about a
session is known to a sandbox before it is taken.
"""

from __future__ import annotations

import asyncio
import logging
import secrets
import time
from collections import defaultdict, deque
from collections.abc import Callable
from dataclasses import dataclass
from pathlib import Path

from sandbox_runner.host.backend import SandboxBackend, SandboxLimits, SandboxSpec, SandboxStartError, StartedSandbox

log = logging.getLogger("corral.warm_pool")

PoolKey = tuple[str, SandboxLimits]


@dataclass
class PooledSandbox:
    started: StartedSandbox
    socket_dir: Path
    token: str
    expires_at: float


class WarmPool:
    def __init__(
        self,
        backend: SandboxBackend,
        size: int,
        idle_seconds: float,
        make_spec: Callable[[str, SandboxLimits, Path, str, float], SandboxSpec],
        new_socket_dir: Callable[[str], Path],
        release_socket_dir: Callable[[Path], None],
    ) -> None:
        self._backend = backend
        self._size = size
        self._idle_seconds = idle_seconds
        self._make_spec = make_spec
        self._new_socket_dir = new_socket_dir
        self._release_socket_dir = release_socket_dir
        self._idle: defaultdict[PoolKey, deque[PooledSandbox]] = defaultdict(deque)
        self._filling: set[PoolKey] = set()
        self._closed = False

    @property
    def enabled(self) -> bool:
        return self._size > 0

    def take(self, image_id: str, limits: SandboxLimits) -> PooledSandbox | None:
        """A ready sandbox for this image and limits, or None (the caller starts one cold)."""
        queue = self._idle.get((image_id, limits))
        while queue:
            pooled = queue.popleft()
            # Leave a margin: it must not expire while the execution starts.
            if pooled.expires_at - time.time() > 5 and self._backend.is_running(pooled.started):
                return pooled
            self._discard(pooled)
        return None

    async def refill(self, image_id: str, limits: SandboxLimits) -> None:
        """Starts sandboxes until this image and limits have `size` idle ones."""
        key = (image_id, limits)
        if not self.enabled or self._closed or key in self._filling:
            return
        self._filling.add(key)
        try:
            while len(self._idle[key]) < self._size:
                pooled = await asyncio.to_thread(self._start_one, image_id, limits)
                if pooled is None:
                    return
                if self._closed:  # shut down while it started
                    await asyncio.to_thread(self._discard, pooled)
                    return
                self._idle[key].append(pooled)
        finally:
            self._filling.discard(key)

    def _start_one(self, image_id: str, limits: SandboxLimits) -> PooledSandbox | None:
        sandbox_id = secrets.token_hex(8)
        socket_dir = self._new_socket_dir(sandbox_id)
        token = secrets.token_urlsafe(32)
        spec = self._make_spec(image_id, limits, socket_dir, token, self._idle_seconds)
        try:
            started = self._backend.start(spec)
        except SandboxStartError as exc:
            log.warning("could not pre-start a sandbox for %s: %s", image_id, exc)
            self._release_socket_dir(socket_dir)
            return None
        return PooledSandbox(started, socket_dir, token, expires_at=time.time() + self._idle_seconds)

    def _discard(self, pooled: PooledSandbox) -> None:
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
