"""Recording the HTTP exchanges of an execution whose session records (for replay): each
request the proxy sends, kept as a digest, and the answer it relays, kept as it came.

The request's head is not kept: its headers can carry the session's secrets (the proxy put
them there) and its URL an agent's own key; a digest of the method, scheme, host, port, path
with query and body is enough to match a replayed request (`replayed.py`). A request the proxy
put a secret into is not kept at all (counted): its host may echo the value in any form. The
answer is what the agent got, with the values of the session's secrets masked all the same.
Only an exchange that ended cleanly is kept; one cut short is counted.

Bounded: an answer is buffered only while it fits the recording's room (`ExchangeSink`), so
an execution holds at most its concurrent connections times that room; one that does not fit
is counted, not kept.
"""

from __future__ import annotations

import hashlib
import time
from collections.abc import Iterable
from typing import Protocol
from urllib.parse import urlsplit

from corral.v1.orchestrator_pb2 import RecordedExchange


class ExchangeSink(Protocol):
    """Where an execution's exchanges are kept (its recording, executions/recording.py)."""

    started: float  # time.monotonic() when the execution started

    def exchange_room(self) -> int:
        """How many more bytes the recording may hold."""
        ...

    def keep_exchange(self, exchange: RecordedExchange) -> None:
        """Keeps `exchange`, or counts it when it no longer fits."""
        ...

    def exchange_not_recorded(self) -> None:
        """Counts an exchange whose answer alone was larger than the room."""
        ...


def request_prefix(method: str, scheme: str, host: str, port: int, target: str) -> bytes:
    """What a request's digest covers before its body."""
    return b"\0".join(part.encode("latin-1") for part in (method, scheme, host, str(port), target)) + b"\0"


def request_digest(method: str, scheme: str, host: str, port: int, target: str, body: bytes) -> bytes:
    return hashlib.sha256(request_prefix(method, scheme, host, port, target) + body).digest()


def path_of(target: str) -> str:
    """A request target's path without its query (what a recording shows)."""
    return urlsplit(target).path or "/"


class ExchangeCapture:
    """One exchange as it happens: `sent_body` with each chunk of the request's body, then
    `received` with each chunk of the answer, then `keep`."""

    def __init__(self, sink: ExchangeSink, method: str, scheme: str, host: str, port: int, target: str) -> None:
        self._sink = sink
        self._limit = sink.exchange_room()
        self._digest = hashlib.sha256(request_prefix(method, scheme, host, port, target))
        self._answer = bytearray()
        self._too_large = False
        self.done = False
        self.exchange = RecordedExchange(scheme=scheme, host=host, port=port, method=method, path=path_of(target),
                                         at_ms=max(0, int((time.monotonic() - sink.started) * 1000)))

    def sent_body(self, chunk: bytes) -> None:
        self._digest.update(chunk)

    def received(self, chunk: bytes) -> None:
        if self._too_large:
            return
        if len(self._answer) + len(chunk) > self._limit:
            self._too_large = True
            self._answer = bytearray()  # counted, not kept: its memory goes now
            return
        self._answer += chunk

    def drop(self) -> None:
        """Counts the exchange as not recorded (it did not end cleanly)."""
        self.done = True
        self._answer = bytearray()
        self._sink.exchange_not_recorded()

    def keep(self, secret_values: Iterable[str]) -> None:
        """Hands the exchange to the recording (counted there when it is too large)."""
        self.done = True
        if self._too_large:
            self._sink.exchange_not_recorded()
            return
        self.exchange.request_sha256 = self._digest.digest()
        self.exchange.response = masked(bytes(self._answer), secret_values)
        self._sink.keep_exchange(self.exchange)


def masked(data: bytes, secret_values: Iterable[str]) -> bytes:
    """`data` with each secret value's bytes replaced by as many '*' (lengths unchanged, so
    the answer's Content-Length still holds)."""
    for value in secret_values:
        raw = value.encode()
        if raw:
            data = data.replace(raw, b"*" * len(raw))
    return data
