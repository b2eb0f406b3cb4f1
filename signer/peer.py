"""The signer's front door: a Unix socket that checks who connects (SO_PEERCRED).

gRPC does not expose the connecting process's credentials, so the signer's gRPC server
listens on an internal socket inside a directory only the signer's user can enter, and
this small proxy owns the public socket: for each connection it asks the kernel for the
peer's uid, refuses (and reports) any uid not allowed, and otherwise forwards bytes both
ways untouched.

Forwarding uses asyncio protocols on the signer's event loop: each chunk is one callback
that writes straight to the other side (no coroutine, no thread), with the usual pause /
resume so a slow reader holds back a fast writer. Measured against stream coroutines and
against a thread pair per connection, this costs the least CPU per request.
"""

from __future__ import annotations

import asyncio
import logging
import os
import socket
import struct
from collections.abc import Callable
from pathlib import Path
from typing import cast

log = logging.getLogger("corral.signer.peer")

_UCRED = struct.Struct("3i")  # pid, uid, gid


def peer_credentials(sock: socket.socket) -> tuple[int, int, int]:
    """(pid, uid, gid) of the process at the other end of a connected Unix socket."""
    return _UCRED.unpack(sock.getsockopt(socket.SOL_SOCKET, socket.SO_PEERCRED, _UCRED.size))


class _Forward(asyncio.Protocol):
    """One side of a proxied connection: what it reads, the other side writes."""

    def __init__(self) -> None:
        self.transport: asyncio.Transport | None = None
        self.other: _Forward | None = None

    def connection_made(self, transport: asyncio.BaseTransport) -> None:
        # A Unix stream socket's transport: asyncio types the argument as the base class.
        self.transport = cast(asyncio.Transport, transport)

    def data_received(self, data: bytes) -> None:
        assert self.other is not None and self.other.transport is not None  # linked before any data flows (_connect_upstream)
        self.other.transport.write(data)

    def eof_received(self) -> bool:
        if self.other:
            assert self.other.transport is not None  # `other` is set only once both sides are connected
            if self.other.transport.can_write_eof():
                self.other.transport.write_eof()
        return True  # keep our write side open until the other side finishes too

    def connection_lost(self, exc: Exception | None) -> None:
        if self.other and self.other.transport:
            self.other.transport.close()

    # Backpressure: while the other side's buffer is full, stop reading ours.
    def pause_writing(self) -> None:
        assert self.other is not None and self.other.transport is not None  # linked before any data flows (_connect_upstream)
        self.other.transport.pause_reading()

    def resume_writing(self) -> None:
        assert self.other is not None and self.other.transport is not None  # linked before any data flows (_connect_upstream)
        self.other.transport.resume_reading()


class _Client(_Forward):
    def __init__(self, proxy: PeerCheckingProxy) -> None:
        super().__init__()
        self._proxy = proxy

    def connection_made(self, transport: asyncio.BaseTransport) -> None:
        super().connection_made(transport)
        transport = cast(asyncio.Transport, transport)  # as in _Forward
        pid, uid, gid = peer_credentials(transport.get_extra_info("socket"))
        if uid not in self._proxy.allowed:
            transport.abort()
            self._proxy.on_refused(pid, uid, gid)
            return
        transport.pause_reading()  # until the upstream connection exists
        asyncio.get_running_loop().create_task(self._connect_upstream())

    async def _connect_upstream(self) -> None:
        assert self.transport is not None  # connection_made set it, then started this task
        try:
            _, upstream = await asyncio.get_running_loop().create_unix_connection(_Forward, str(self._proxy.internal))
        except OSError as exc:
            log.error("internal signer socket unavailable: %s", exc)
            self.transport.abort()
            return
        upstream.other, self.other = self, upstream
        if self.transport.is_closing():
            assert upstream.transport is not None  # set when the connection was made
            upstream.transport.close()
            return
        self.transport.resume_reading()


class PeerCheckingProxy:
    def __init__(self, public: Path, internal: Path, allowed_uids: set[int], on_refused: Callable[[int, int, int], None]) -> None:
        self.internal = internal
        self.allowed = allowed_uids
        self.on_refused = on_refused
        self._public = public
        self._server: asyncio.base_events.Server | None = None

    async def start(self) -> None:
        if self._public.exists() or self._public.is_symlink():
            self._public.unlink()
        # Only the signer's own uid (and root, which file modes do not stop) allowed: the
        # socket is private from birth (0600). Other uids allowed: anyone may connect and
        # the uid check is the guard (0666).
        private = self.allowed <= {os.geteuid(), 0}
        old = os.umask(0o177 if private else 0o111)
        try:
            self._server = await asyncio.get_running_loop().create_unix_server(lambda: _Client(self), path=str(self._public))
        finally:
            os.umask(old)
        os.chmod(self._public, 0o600 if private else 0o666)

    async def close(self) -> None:
        if self._server is not None:
            self._server.close()
            await self._server.wait_closed()
        self._public.unlink(missing_ok=True)
