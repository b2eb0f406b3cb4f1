"""The host's side of a pre-started sandbox's doorbell (see `DOORBELL_NAME` in the contract).

`Doorbell.open(path, hand_over)` binds a Unix socket in the sandbox's socket directory before
the sandbox starts; the sandbox connects and blocks reading. `ring(context)` tells it that its
execution's socket is in place and hands it the execution's context (so it enters `run()`
without asking for it); `close()` sends it away unused (it reads end of file).

What crosses the boundary goes host to sandbox: the ring, and the context within its bound
(`DOORBELL_CONTEXT_MAX_BYTES`; a larger one is not sent, and the sandbox asks for it over its
runtime socket). The host reads at most one byte from the sandbox, only to learn that it hung
up, and accepts one connection only (any further one is closed at once, and the listener stops
after the first), so a sandbox can make the host hold neither data nor descriptors.
"""

from __future__ import annotations

import asyncio
import contextlib
from collections.abc import Callable
from pathlib import Path

from sandbox_runner.inside.contract import DOORBELL_CONTEXT_LENGTH_BYTES, DOORBELL_CONTEXT_MAX_BYTES, DOORBELL_RING


class Doorbell:
    def __init__(self, path: Path) -> None:
        self.path = path
        self._server: asyncio.AbstractServer | None = None
        self._writer: asyncio.StreamWriter | None = None
        self._ring: bytes | None = None
        self._closed = False
        self._hung_up = False
        self._loop: asyncio.AbstractEventLoop | None = None

    @classmethod
    async def open(cls, path: Path, hand_over: Callable[[Path], None]) -> Doorbell:
        """Binds the doorbell at `path`; `hand_over` lets the sandbox user connect to it."""
        doorbell = cls(path)
        doorbell._loop = asyncio.get_running_loop()
        doorbell._server = await asyncio.start_unix_server(doorbell._answer, path=str(path), backlog=1)
        hand_over(path)
        return doorbell

    async def _answer(self, reader: asyncio.StreamReader, writer: asyncio.StreamWriter) -> None:
        if self._writer is not None or self._closed:
            writer.close()  # one sandbox, one connection
            return
        self._writer = writer
        if self._server is not None:
            self._server.close()  # no further connections
        if self._ring is not None:  # rung before the sandbox got as far as connecting
            self._send()
            return
        # The sandbox never writes: end of file (or anything at all) means it is gone.
        with contextlib.suppress(OSError):
            await reader.read(1)
        self._hung_up = True

    @property
    def waiting(self) -> bool:
        """The sandbox is connected and still waits (it has imported what it needs and lives)."""
        return self._writer is not None and not self._hung_up

    @property
    def hung_up(self) -> bool:
        """The sandbox connected and then went away (it ended, or was killed)."""
        return self._hung_up

    def ring(self, context: bytes | None = None) -> None:
        """The execution is assigned and its runtime socket is in place: the sandbox may go.
        `context`: its serialized GetExecutionContextResponse, handed over with the ring."""
        self._ring = ring_message(context)
        if self._writer is not None:
            self._send()

    def _send(self) -> None:
        assert self._writer is not None and self._ring is not None
        # Gone before the agent's code runs: the execution's socket directory then holds its
        # runtime socket (and egress socket) only, as a cold sandbox's does.
        self.path.unlink(missing_ok=True)
        with contextlib.suppress(OSError, RuntimeError):  # the sandbox is gone: its execution will say so
            self._writer.write(self._ring)
        self._hang_up()  # after what was written has gone: asyncio closes a transport once its buffer is sent

    def _hang_up(self) -> None:
        if self._writer is not None:
            self._writer.close()

    def close(self) -> None:
        """Stops listening and hangs up (an unused sandbox then ends by itself) and removes the
        socket file. From any thread: the sockets are closed on their event loop."""
        self._closed = True
        self.path.unlink(missing_ok=True)
        try:
            current = asyncio.get_running_loop()
        except RuntimeError:
            current = None
        if current is self._loop:
            self._close_now()
        elif self._loop is not None:
            with contextlib.suppress(RuntimeError):  # the loop is closed: its sockets went with it
                self._loop.call_soon_threadsafe(self._close_now)

    def _close_now(self) -> None:
        if self._server is not None:
            self._server.close()
        self._hang_up()


def ring_message(context: bytes | None) -> bytes:
    """What the doorbell writes: the ring, and the context after its length when it is within
    the bound (the sandbox then needs no GetExecutionContext round trip before `run()`)."""
    if context is None or len(context) > DOORBELL_CONTEXT_MAX_BYTES:
        return DOORBELL_RING
    return DOORBELL_RING + len(context).to_bytes(DOORBELL_CONTEXT_LENGTH_BYTES, "big") + context
