"""A replay's egress socket: the sandbox's HTTP requests answered from the recorded
execution's exchanges (exchanges.py), reaching no network.

It speaks to the sandbox as the proxy does (`CONNECT host:port` then TLS, or an absolute
`http://` request; the same bounded parsing, http1.py), terminating TLS with a certificate
authority made for this replay alone, which the replay's sandbox trusts; a tunnel to a host
the recording never reached is refused before any certificate is made. Each request is
answered with the first unused recorded exchange of the same request (its digest); failing
that, a GET or HEAD with one of the same scheme, host, port and path (its query differed: a
timestamp, a nonce), said in `by_path` (a POST's body is what it asks, a JSON-RPC call's
above all: never answered with another's); failing that, refused with 502 and said in
`missing` (both bounded: the first REPORTED_REQUESTS). Withheld exchanges answer nothing.
Nothing is ever forwarded.
"""

from __future__ import annotations

import asyncio
import contextlib
import ssl
from collections import deque
from collections.abc import Sequence
from urllib.parse import urlsplit

from corral.limits import shortened
from corral.v1.orchestrator_pb2 import RecordedExchange
from orchestrator.config import EgressLimits
from orchestrator.egress.exchanges import path_of, request_digest
from orchestrator.egress.http1 import Refusal, answer, body_length, connect_target, origin_path, read_head
from orchestrator.egress.interception import InterceptionCA

_Route = tuple[str, str, str, int, str]  # method, scheme, host, port, path
# What a report keeps of the requests met by path or not met (a shadow run stores them): the
# first ones, each cut, so a replayed agent cannot grow a stored report by asking more.
REPORTED_REQUESTS = 50
REPORTED_REQUEST_CHARS = 300


def shown(method: str, scheme: str, host: str, port: int, path: str) -> str:
    """A request as a replay's report names it, e.g. `GET https://api.example.com/prices`."""
    default = 443 if scheme == "https" else 80
    return shortened(f"{method} {scheme}://{host}{'' if port == default else f':{port}'}{path}", REPORTED_REQUEST_CHARS)


def _report(into: list[str], request: str) -> None:
    if len(into) < REPORTED_REQUESTS:
        into.append(request)


class ReplayedEgress:
    """`await egress.start(path)`, then `await egress.close()`; `answered`, `by_path` and
    `missing` say how the replayed agent's requests were met."""

    def __init__(self, exchanges: Sequence[RecordedExchange], ca: InterceptionCA, limits: EgressLimits | None = None) -> None:
        self.limits = limits or EgressLimits()
        self._ca = ca
        self._exchanges = [exchange for exchange in exchanges if not exchange.withheld]
        self._hosts = {(exchange.scheme, exchange.host, exchange.port) for exchange in self._exchanges}
        self._used = [False] * len(self._exchanges)
        self._by_digest: dict[bytes, deque[int]] = {}
        self._by_route: dict[_Route, deque[int]] = {}
        for index, exchange in enumerate(self._exchanges):
            self._by_digest.setdefault(exchange.request_sha256, deque()).append(index)
            route = (exchange.method, exchange.scheme, exchange.host, exchange.port, exchange.path)
            self._by_route.setdefault(route, deque()).append(index)
        self.answered = 0
        self.by_path: list[str] = []
        self.missing: list[str] = []
        self._connections = self._active = 0
        self._server: asyncio.AbstractServer | None = None
        self._tasks: set[asyncio.Task[None]] = set()

    @property
    def certificate_pem(self) -> bytes:
        """The certificate the replay's sandbox trusts."""
        return self._ca.certificate_pem

    async def start(self, socket_path: str) -> None:
        self._server = await asyncio.start_unix_server(self._handle, path=socket_path, limit=self.limits.head_bytes)

    async def close(self) -> None:
        if self._server is not None:
            self._server.close()
        for task in list(self._tasks):
            task.cancel()
        if self._tasks:
            await asyncio.gather(*self._tasks, return_exceptions=True)

    async def _handle(self, reader: asyncio.StreamReader, writer: asyncio.StreamWriter) -> None:
        task = asyncio.current_task()
        assert task is not None
        self._tasks.add(task)
        admitted = False
        try:
            # The proxy's bounds: a replayed agent's bodies are read here, in the orchestrator for a shadow run.
            if self._connections >= self.limits.max_connections:
                raise Refusal(429, f"this execution has used its {self.limits.max_connections} connections")
            if self._active >= self.limits.max_concurrent:
                raise Refusal(429, f"at most {self.limits.max_concurrent} connections may be open at once")
            self._connections += 1
            self._active += 1
            admitted = True
            async with asyncio.timeout(self.limits.connection_seconds):
                await self._serve(reader, writer)
        except Refusal as refusal:
            if not refusal.answered:
                await answer(reader, writer, refusal.status, refusal.reason)
        except (TimeoutError, ConnectionError, OSError, ssl.SSLError, asyncio.IncompleteReadError):
            pass  # the replayed agent sees its connection end, as it would have
        finally:
            if admitted:
                self._active -= 1
            writer.close()
            self._tasks.discard(task)

    async def _serve(self, reader: asyncio.StreamReader, writer: asyncio.StreamWriter) -> None:
        method, target, headers = await read_head(reader, self.limits)
        if method == "CONNECT":
            host, port = connect_target(target)
            if any(name in ("content-length", "transfer-encoding") for name, _ in headers):
                raise Refusal(400, "a CONNECT request carries no body")
            if ("https", host, port) not in self._hosts:
                self._missing(f"CONNECT {host}:{port}")
                raise Refusal(502, f"corral replay: the recorded execution reached no {host}:{port}")
            context = await asyncio.to_thread(self._ca.server_context, host)  # before the answer: see proxy._intercept
            writer.write(b"HTTP/1.1 200 Connection established\r\n\r\n")
            await writer.drain()
            async with asyncio.timeout(self.limits.head_seconds):
                await writer.start_tls(context)
            try:
                method, target, headers = await read_head(reader, self.limits)
                target = origin_path(method, target, headers, host, port)
            except Refusal as refusal:
                await answer(reader, writer, refusal.status, refusal.reason)
                refusal.answered = True
                raise
            scheme = "https"
        else:
            url = urlsplit(target)
            if url.scheme != "http" or url.username is not None or url.password is not None or not url.hostname:
                raise Refusal(400, "corral egress: send https:// through CONNECT; plain requests take an absolute http:// URL")
            try:
                host, port, scheme = url.hostname, url.port or 80, "http"
            except ValueError:
                raise Refusal(400, "corral egress: the URL's port is not a number between 1 and 65535") from None
            target = (url.path or "/") + (f"?{url.query}" if url.query else "")
        body = await reader.readexactly(body_length(headers, self.limits.bytes_out))
        recorded = self._take(method, scheme, host, port, target, body)
        if recorded is None:
            request = shown(method, scheme, host, port, path_of(target))
            self._missing(request)
            await answer(reader, writer, 502, f"corral replay: the recording holds no {request} request (not made, or not recorded)")
            return
        self.answered += 1
        writer.write(recorded.response)
        with contextlib.suppress(ConnectionError, OSError):
            await writer.drain()

    def _take(self, method: str, scheme: str, host: str, port: int, target: str, body: bytes) -> RecordedExchange | None:
        """The first unused recorded exchange of this request, else of its route (said)."""
        exact = self._first_unused(self._by_digest.get(request_digest(method, scheme, host, port, target, body)))
        if exact is not None:
            return exact
        if method not in ("GET", "HEAD"):
            return None
        route = (method, scheme, host, port, path_of(target))
        near = self._first_unused(self._by_route.get(route))
        if near is not None:
            _report(self.by_path, shown(*route))
        return near

    def _missing(self, request: str) -> None:
        _report(self.missing, shortened(request, REPORTED_REQUEST_CHARS))

    def _first_unused(self, indexes: deque[int] | None) -> RecordedExchange | None:
        while indexes:
            index = indexes.popleft()
            if not self._used[index]:
                self._used[index] = True
                return self._exchanges[index]
        return None
