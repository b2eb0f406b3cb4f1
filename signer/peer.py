"""The signer's front door: a Unix socket that checks who connects (SO_PEERCRED).

gRPC does not expose the connecting process's credentials, so the signer's gRPC server
listens on an internal socket inside a directory only the signer's user can enter, and
this small proxy owns the public socket: for each connection it asks the kernel for the
peer's uid, refuses (and audits) any uid not allowed, and otherwise forwards bytes both
ways untouched.
"""

from __future__ import annotations

import asyncio
import logging
import os
import socket
import struct
from pathlib import Path
from typing import Callable

log = logging.getLogger("corral.signer.peer")

_UCRED = struct.Struct("3i")  # pid, uid, gid


def peer_credentials(sock: socket.socket) -> tuple[int, int, int]:
    """(pid, uid, gid) of the process at the other end of a connected Unix socket."""
    return _UCRED.unpack(sock.getsockopt(socket.SOL_SOCKET, socket.SO_PEERCRED, _UCRED.size))


class PeerCheckingProxy:
    def __init__(self, public: Path, internal: Path, allowed_uids: set[int], on_refused: Callable[[int, int, int], None]) -> None:
        self._public = public
        self._internal = internal
        self._allowed = allowed_uids
        self._on_refused = on_refused
        self._server: asyncio.base_events.Server | None = None

    async def start(self) -> None:
        if self._public.exists() or self._public.is_symlink():
            self._public.unlink()
        # Only the signer's own uid allowed: the socket is private from birth (0600).
        # Other uids allowed: anyone may connect and the uid check is the guard (0666).
        private = self._allowed == {os.geteuid()}
        old = os.umask(0o177 if private else 0o111)
        try:
            self._server = await asyncio.start_unix_server(self._handle, path=str(self._public))
        finally:
            os.umask(old)
        os.chmod(self._public, 0o600 if private else 0o666)

    async def close(self) -> None:
        if self._server is not None:
            self._server.close()
            await self._server.wait_closed()
        self._public.unlink(missing_ok=True)

    async def _handle(self, reader: asyncio.StreamReader, writer: asyncio.StreamWriter) -> None:
        pid, uid, gid = peer_credentials(writer.get_extra_info("socket"))
        if uid not in self._allowed:
            self._on_refused(pid, uid, gid)
            writer.close()
            return
        try:
            up_reader, up_writer = await asyncio.open_unix_connection(str(self._internal))
        except OSError as exc:
            log.error("internal signer socket unavailable: %s", exc)
            writer.close()
            return
        await asyncio.gather(_pipe(reader, up_writer), _pipe(up_reader, writer), return_exceptions=True)


async def _pipe(reader: asyncio.StreamReader, writer: asyncio.StreamWriter) -> None:
    try:
        while data := await reader.read(65536):
            writer.write(data)
            await writer.drain()
    finally:
        writer.close()
