"""The sandbox's side of a pre-started sandbox's doorbell (see `DOORBELL_NAME` in the contract;
the host's side is sandbox_runner/host/doorbell.py).

`wait_for_doorbell` blocks on one read until the host rings, and returns what the ring
carried: the execution's context, or nothing (the sandbox then asks GetExecutionContext). The
ring comes from the host, which the sandbox trusts as it trusts the runtime socket's answers;
it is still read within its bound and parsed once, and a ring that is cut short, too long or
not a GetExecutionContextResponse is refused (`BadRing`) rather than guessed at.
"""

from __future__ import annotations

import os
import socket
from dataclasses import dataclass

from google.protobuf.message import DecodeError

from corral.v1 import runtime_pb2
from sandbox_runner.inside.contract import DOORBELL_CONTEXT_LENGTH_BYTES, DOORBELL_CONTEXT_MAX_BYTES, DOORBELL_NAME, DOORBELL_RING

# Once rung, the rest is already written (the host writes the ring whole, then hangs up).
RING_READ_SECONDS = 10.0


class BadRing(Exception):
    """The ring's context could not be read: the sandbox ends without running the agent."""


@dataclass(frozen=True)
class Rung:
    """The host rang. `context`: the execution's, when the ring carried it."""

    context: runtime_pb2.GetExecutionContextResponse | None


def wait_for_doorbell(socket_dir: str, seconds: float) -> Rung | None:
    """A pre-started (warm pool) sandbox: everything is imported; block on the doorbell the
    host made in the socket directory until it rings (an execution is assigned and its
    socket is in place: a `Rung`) or the host hangs up, the doorbell is missing, or `seconds`
    pass (None: end unused). One blocking read, no polling."""
    bell = socket.socket(socket.AF_UNIX, socket.SOCK_STREAM)
    bell.settimeout(seconds)
    try:
        try:
            bell.connect(os.path.join(socket_dir, DOORBELL_NAME))
            if bell.recv(1) != DOORBELL_RING:
                return None
        except OSError:  # refused, missing, or timed out
            return None
        bell.settimeout(RING_READ_SECONDS)
        return Rung(_context(bell))
    finally:
        bell.close()


def _context(bell: socket.socket) -> runtime_pb2.GetExecutionContextResponse | None:
    header = _read_exactly(bell, DOORBELL_CONTEXT_LENGTH_BYTES, allow_nothing=True)
    if header is None:
        return None  # a ring without a context
    length = int.from_bytes(header, "big")
    if length > DOORBELL_CONTEXT_MAX_BYTES:  # checked before a byte of it is read
        raise BadRing(f"the doorbell's execution context is {length} bytes, over its bound of {DOORBELL_CONTEXT_MAX_BYTES}")
    body = _read_exactly(bell, length, allow_nothing=False)
    assert body is not None
    try:
        return runtime_pb2.GetExecutionContextResponse.FromString(body)
    except DecodeError as exc:
        raise BadRing(f"the doorbell's execution context is not a GetExecutionContextResponse: {exc}") from None


def _read_exactly(bell: socket.socket, count: int, allow_nothing: bool) -> bytes | None:
    """`count` bytes; None at end of file before the first one if `allow_nothing`."""
    chunks, received = [], 0
    while received < count:
        try:
            chunk = bell.recv(min(count - received, 1 << 16))
        except OSError as exc:  # timed out, or reset
            raise BadRing(f"the doorbell's execution context could not be read: {exc}") from None
        if not chunk:
            if received == 0 and allow_nothing:
                return None
            raise BadRing(f"the doorbell's execution context was cut short: {received} of {count} bytes")
        chunks.append(chunk)
        received += len(chunk)
    return b"".join(chunks)
