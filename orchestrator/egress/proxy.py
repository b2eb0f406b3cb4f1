"""One execution's egress proxy: an HTTP proxy on a Unix socket in the sandbox's socket
directory, the sandbox's only way to the network.

Inside, a loopback listener forwards each connection here (sandbox_runner/inside/egress.py)
and the usual proxy variables point clients at it. Per connection:
1. admission: the execution's connection count, concurrency and rate;
2. the request head, bounded in bytes and time (a slowloris gets 408, a flood 431);
3. `CONNECT host:port` to an HTTPS rule, or an absolute-form `http://` request to an HTTP
   rule; a host must be a declared name (an IP address is refused, so is anything else);
4. the name resolved here and every address checked (`addresses`), then a connection to a
   checked address, never to the name again;
5. CONNECT: the tunnel's first bytes must be a TLS ClientHello whose SNI is the CONNECT host;
   plain HTTP: one request (Content-Length bodies only, hop-by-hop headers dropped,
   `Connection: close`), so nothing can be smuggled behind it;
6. bytes counted against the execution's budgets each way, idle and total time bounded.
A host the session has secrets for (`secrets`) is intercepted instead of tunnelled: the proxy
answers the agent's TLS with a leaf of its own CA (`interception`), reads one request, puts
the secrets into its header values and sends it over verified TLS to the real host. Plain
HTTP requests get the same substitution. The sandbox never holds a secret's value.
An execution that records (`exchanges`) has every HTTPS host intercepted the same way, so
that each request's answer can be kept for a replay (exchanges.py); its plain HTTP requests
and chain reads are kept too.
Every connection, allowed or not, becomes a `ConnectionRecord` the runner stores.

Refusals are answered `403` with the reason in the status line, because that line is what
`requests`, `urllib` and `httpx` put into the exception an agent's log shows.
"""

from __future__ import annotations

import asyncio
import contextlib
import ipaddress
import ssl
import time
from dataclasses import dataclass, field
from pathlib import Path
from urllib.parse import urlsplit

from corral.hosts import CHAIN_READS_HOST, HostRule, Scheme
from orchestrator.config import EgressLimits
from orchestrator.egress.addresses import AddressPolicy, AddressRefused, IPAddress
from orchestrator.egress.chain_reads import MAX_REQUEST_BYTES, ChainReads
from orchestrator.egress.exchanges import ExchangeCapture, ExchangeSink
from orchestrator.egress.http1 import Headers, Refusal, answer, body_length, connect_target, origin_path, read_head
from orchestrator.egress.interception import InterceptionCA
from orchestrator.egress.secrets import BoundSecret, PlaceholderRefused, has_placeholder, substitute
from orchestrator.egress.sni import NotTls, read_client_hello
from orchestrator.metrics import EGRESS_BYTES, EGRESS_CONNECTIONS
from orchestrator.store.statuses import EgressOutcome

# Counted per chunk relayed, so /metrics moves while a long download is still running.
_BYTES_OUT, _BYTES_IN = EGRESS_BYTES.labels("out"), EGRESS_BYTES.labels("in")

_HOP_BY_HOP = {"connection", "keep-alive", "proxy-connection", "proxy-authorization", "proxy-authenticate", "te", "trailer", "upgrade"}
_CHUNK = 64 * 1024


@dataclass
class ConnectionRecord:
    method: str = ""
    host: str = ""
    port: int = 0
    address: str = ""
    bytes_out: int = 0
    bytes_in: int = 0
    duration_ms: int = 0
    outcome: EgressOutcome = EgressOutcome.REFUSED
    reason: str = ""


class _Failure(Exception):
    pass


@dataclass
class _Budget:
    limits: EgressLimits
    opened: int = 0
    active: int = 0
    bytes_out: int = 0
    bytes_in: int = 0
    tokens: float = 0.0
    refilled_at: float = field(default_factory=time.monotonic)

    def admit(self) -> None:
        now = time.monotonic()
        burst = max(float(self.limits.max_concurrent), self.limits.connections_per_second)
        self.tokens = min(burst, self.tokens + (now - self.refilled_at) * self.limits.connections_per_second)
        self.refilled_at = now
        if self.opened >= self.limits.max_connections:
            raise Refusal(429, f"this execution has used its {self.limits.max_connections} connections")
        if self.active >= self.limits.max_concurrent:
            raise Refusal(429, f"at most {self.limits.max_concurrent} connections may be open at once")
        if self.tokens < 1:
            raise Refusal(429, f"at most {self.limits.connections_per_second:g} new connections per second")
        self.tokens -= 1
        self.opened += 1


class EgressGate:
    """The proxy of one execution: `await gate.start(path)`, then `await gate.close()`,
    which ends every connection and returns what was recorded."""

    def __init__(self, rules: tuple[HostRule, ...], limits: EgressLimits, addresses: AddressPolicy,
                 chain_reads: ChainReads | None = None, secrets: tuple[BoundSecret, ...] = (),
                 interception: InterceptionCA | None = None, exchanges: ExchangeSink | None = None) -> None:
        if secrets and interception is None:
            raise ValueError("secrets need an interception CA")
        self.rules = rules
        self.secrets = secrets
        self.interception = interception
        self.exchanges = exchanges
        self.chain_reads = chain_reads
        self.limits = limits
        self.addresses = addresses
        self.records: list[ConnectionRecord] = []
        self.records_dropped = 0
        self._budget = _Budget(limits, tokens=max(float(limits.max_concurrent), limits.connections_per_second))
        self._server: asyncio.AbstractServer | None = None
        self._tasks: set[asyncio.Task[None]] = set()

    async def start(self, socket_path: Path) -> None:
        self._server = await asyncio.start_unix_server(self._handle, path=str(socket_path), limit=self.limits.head_bytes)

    async def close(self) -> list[ConnectionRecord]:
        if self._server is not None:
            self._server.close()
        for task in list(self._tasks):
            task.cancel()
        if self._tasks:
            await asyncio.gather(*self._tasks, return_exceptions=True)
        return self.records

    async def _handle(self, reader: asyncio.StreamReader, writer: asyncio.StreamWriter) -> None:
        task = asyncio.current_task()
        assert task is not None
        self._tasks.add(task)
        record = ConnectionRecord()
        started = time.monotonic()
        admitted = False
        try:
            self._budget.admit()
            admitted = True
            self._budget.active += 1
            async with asyncio.timeout(self.limits.connection_seconds):
                await self._serve(reader, writer, record)
            record.outcome = EgressOutcome.ALLOWED
        except Refusal as refusal:
            record.outcome, record.reason = EgressOutcome.REFUSED, refusal.reason
            if not refusal.answered:
                await answer(reader, writer, refusal.status, refusal.reason)
        except _Failure as failure:
            record.outcome, record.reason = EgressOutcome.FAILED, str(failure)
        except TimeoutError:
            record.outcome = EgressOutcome.FAILED
            record.reason = f"the connection was open longer than {self.limits.connection_seconds:g}s or idle past {self.limits.idle_seconds:g}s"
        except asyncio.CancelledError:
            if record.outcome is not EgressOutcome.ALLOWED:
                record.outcome = EgressOutcome.FAILED
            record.reason = "still open when the execution ended"
        except (ConnectionError, asyncio.IncompleteReadError, OSError):
            if record.outcome is not EgressOutcome.ALLOWED:  # a relayed connection may end abruptly
                record.outcome, record.reason = EgressOutcome.FAILED, "the connection was closed before it completed"
        finally:
            if admitted:
                self._budget.active -= 1
            writer.close()
            record.duration_ms = int((time.monotonic() - started) * 1000)
            EGRESS_CONNECTIONS.labels(record.outcome).inc()
            self._record(record)
            self._tasks.discard(task)

    def _record(self, record: ConnectionRecord) -> None:
        # Bounded: a refused flood is one record per admitted connection plus a count.
        if len(self.records) < self.limits.max_connections * 2:
            self.records.append(record)
        else:
            self.records_dropped += 1

    async def _serve(self, reader: asyncio.StreamReader, writer: asyncio.StreamWriter, record: ConnectionRecord) -> None:
        method, target, headers = await read_head(reader, self.limits)
        record.method = method
        if method == "CONNECT":
            await self._tunnel(target, headers, reader, writer, record)
        else:
            await self._forward(method, target, headers, reader, writer, record)

    def _allowed(self, scheme: Scheme, host: str, port: int) -> None:
        try:
            ipaddress.ip_address(host.strip("[]"))
        except ValueError:
            pass
        else:
            raise Refusal(403, f"corral egress: {host} is an IP address; connect by a declared host name")
        if not any(rule.matches(scheme, host, port) for rule in self.rules):
            shown = f"{host}:{port}" if scheme is Scheme.HTTPS else f"http://{host}:{port}"
            raise Refusal(403, f"corral egress: {shown} is not declared in circuit.toml [network] allow")

    async def _connect(self, host: str, port: int, record: ConnectionRecord) -> tuple[asyncio.StreamReader, asyncio.StreamWriter]:
        try:
            addresses: list[IPAddress] = await self.addresses.resolve(host, port)
        except AddressRefused as refused:
            raise Refusal(403, f"corral egress: {refused}") from None
        last = ""
        for address in addresses:
            record.address = str(address)
            try:
                async with asyncio.timeout(self.limits.connect_seconds):
                    return await asyncio.open_connection(str(address), port, limit=_CHUNK)
            except (OSError, TimeoutError) as exc:
                last = str(exc) or type(exc).__name__
        raise Refusal(502, f"corral egress: {host}:{port} could not be reached ({last[:120]})")

    async def _tunnel(self, target: str, headers: Headers, reader: asyncio.StreamReader,
                      writer: asyncio.StreamWriter, record: ConnectionRecord) -> None:
        host, port = connect_target(target)
        record.host, record.port = host, port
        if any(name in ("content-length", "transfer-encoding") for name, _ in headers):
            raise Refusal(400, "a CONNECT request carries no body")
        self._allowed(Scheme.HTTPS, host, port)
        has_secrets = any(secret.rule.matches(Scheme.HTTPS, host, port) for secret in self.secrets)
        if has_secrets or (self.exchanges is not None and self.interception is not None):
            reason = "the session has secrets for this host" if has_secrets else "the session records its executions"
            await self._intercept(host, port, reader, writer, record, reason)
            return
        upstream_reader, upstream_writer = await self._connect(host, port, record)
        try:
            writer.write(b"HTTP/1.1 200 Connection established\r\n\r\n")
            await writer.drain()
            try:
                async with asyncio.timeout(self.limits.head_seconds):
                    hello, server_name = await read_client_hello(reader)
            except NotTls as exc:
                raise _Failure(f"refused inside the tunnel: {exc}") from None
            except TimeoutError:
                raise _Failure(f"no TLS ClientHello within {self.limits.head_seconds:g}s") from None
            if server_name != host:
                raise _Failure(f"refused inside the tunnel: TLS names {server_name[:80]!r}, the tunnel was opened to {host!r}")
            record.outcome = EgressOutcome.ALLOWED
            self._count_out(len(hello), record)
            upstream_writer.write(hello)
            await self._relay(reader, writer, upstream_reader, upstream_writer, record)
        finally:
            upstream_writer.close()

    async def _forward(self, method: str, target: str, headers: Headers, reader: asyncio.StreamReader,
                       writer: asyncio.StreamWriter, record: ConnectionRecord) -> None:
        url = urlsplit(target)
        if url.scheme != "http" or url.username is not None or url.password is not None or not url.hostname:
            raise Refusal(400, "corral egress: send https:// through CONNECT; plain requests take an absolute http:// URL")
        host = url.hostname
        try:
            port = url.port or 80
        except ValueError:
            raise Refusal(400, "corral egress: the URL's port is not a number between 1 and 65535") from None
        record.host, record.port = host, port
        path = (url.path or "/") + (f"?{url.query}" if url.query else "")
        if host == CHAIN_READS_HOST and port == 80 and self.chain_reads is not None:
            await self._chain_read(method, path, headers, reader, writer, record)
            return
        self._allowed(Scheme.HTTP, host, port)
        length = body_length(headers, self.limits.bytes_out)
        carries_secret = has_placeholder(headers)
        headers = self._substituted(headers, Scheme.HTTP, host, port)
        upstream_reader, upstream_writer = await self._connect(host, port, record)
        capture = self._capture(method, Scheme.HTTP, host, port, path, carries_secret)
        try:
            await self._send_one(method, path, url.netloc, headers, length, reader, upstream_writer, record, capture)
            # One request per connection: whatever the client sends after it is never read.
            await self._copy(upstream_reader, writer, record, inbound=True, capture=capture)
            self._keep(capture)
        finally:
            upstream_writer.close()
            self._drop(capture)

    def _capture(self, method: str, scheme: Scheme, host: str, port: int, target: str,
                 carries_secret: bool = False) -> ExchangeCapture | None:
        """The exchange's recording, when the execution records (exchanges.py). A request the
        proxy put a secret into is counted, not kept: its host may echo the value in a form no
        mask finds (compressed, encoded, split across chunks, or a token made from it)."""
        if self.exchanges is None:
            return None
        if carries_secret:
            self.exchanges.exchange_not_recorded()
            return None
        return ExchangeCapture(self.exchanges, method, str(scheme), host, port, target)

    def _keep(self, capture: ExchangeCapture | None) -> None:
        """Keeps an exchange that ended cleanly (its answer relayed to its end)."""
        if capture is not None and not capture.done:
            capture.keep(secret.value for secret in self.secrets)

    def _drop(self, capture: ExchangeCapture | None) -> None:
        """Counts an exchange cut short (a failure, a budget, the execution's end): not kept,
        as its digest and answer would be of a part."""
        if capture is not None and not capture.done:
            capture.drop()

    def _substituted(self, headers: Headers, scheme: Scheme, host: str, port: int) -> Headers:
        if not has_placeholder(headers):
            return headers
        try:
            return substitute(headers, self.secrets, scheme, host, port)
        except PlaceholderRefused as refused:
            raise Refusal(403, str(refused)) from None

    async def _send_one(self, method: str, path: str, authority: str, headers: Headers, body_length: int,
                        reader: asyncio.StreamReader, upstream_writer: asyncio.StreamWriter, record: ConnectionRecord,
                        capture: ExchangeCapture | None) -> None:
        """One request upstream: the head rebuilt (hop-by-hop headers dropped, `Connection:
        close`), then exactly `body_length` bytes of body (its digest in `capture`)."""
        kept = [(name, value) for name, value in headers if name not in _HOP_BY_HOP and name != "host"]
        head = f"{method} {path} HTTP/1.1\r\nHost: {authority}\r\n"
        head += "".join(f"{name}: {value}\r\n" for name, value in kept) + "Connection: close\r\n\r\n"
        data = head.encode("latin-1")
        record.outcome = EgressOutcome.ALLOWED
        self._count_out(len(data), record)
        upstream_writer.write(data)
        remaining = body_length
        while remaining:
            chunk = await self._read(reader, min(remaining, _CHUNK))
            if not chunk:
                raise _Failure("the request body ended before its Content-Length")
            self._count_out(len(chunk), record)
            if capture is not None:
                capture.sent_body(chunk)
            upstream_writer.write(chunk)
            remaining -= len(chunk)
        await upstream_writer.drain()

    async def _intercept(self, host: str, port: int, reader: asyncio.StreamReader, writer: asyncio.StreamWriter,
                         record: ConnectionRecord, why: str) -> None:
        """A host with secrets, or any host of a recording execution: TLS terminated here, one
        request read, its placeholders replaced, and sent over verified TLS to `host`
        (interception.py); the exchange recorded when the execution records."""
        assert self.interception is not None
        # Made before the tunnel is answered: once it is, the agent's ClientHello may arrive, and
        # bytes read before start_tls would be lost to the handshake.
        context = await asyncio.to_thread(self.interception.server_context, host)
        writer.write(b"HTTP/1.1 200 Connection established\r\n\r\n")
        await writer.drain()
        try:
            async with asyncio.timeout(self.limits.head_seconds):
                await writer.start_tls(context)
        except TimeoutError:
            raise _Failure(f"no TLS handshake within {self.limits.head_seconds:g}s") from None
        except (ssl.SSLError, ConnectionError, OSError) as exc:
            raise _Failure(f"refused inside the tunnel: the agent's TLS handshake failed ({_tls_reason(exc)})") from None
        try:
            method, target, headers = await read_head(reader, self.limits)
            path = origin_path(method, target, headers, host, port)
            length = body_length(headers, self.limits.bytes_out)
            carries_secret = has_placeholder(headers)
            headers = self._substituted(headers, Scheme.HTTPS, host, port)
            upstream_reader, upstream_writer = await self._connect(host, port, record)
        except Refusal as refusal:  # answered inside the TLS the agent now speaks
            await answer(reader, writer, refusal.status, refusal.reason)
            refusal.answered = True
            raise
        capture: ExchangeCapture | None = None
        try:
            try:
                async with asyncio.timeout(self.limits.connect_seconds):
                    await upstream_writer.start_tls(self.interception.upstream, server_hostname=host)
            except (TimeoutError, ssl.SSLError, ConnectionError, OSError) as exc:
                reason = f"corral egress: TLS to {host}:{port} failed ({_tls_reason(exc)})"
                await answer(reader, writer, 502, reason)
                raise _Failure(reason) from None
            authority = host if port == 443 else f"{host}:{port}"
            record.reason = f"intercepted ({why})"
            capture = self._capture(method, Scheme.HTTPS, host, port, path, carries_secret)
            await self._send_one(method, path, authority, headers, length, reader, upstream_writer, record, capture)
            await self._copy(upstream_reader, writer, record, inbound=True, capture=capture)
            self._keep(capture)
        finally:
            upstream_writer.close()
            self._drop(capture)

    async def _chain_read(self, method: str, path: str, headers: Headers, reader: asyncio.StreamReader,
                          writer: asyncio.StreamWriter, record: ConnectionRecord) -> None:
        assert self.chain_reads is not None
        remaining = body_length(headers, min(self.limits.bytes_out, MAX_REQUEST_BYTES))
        body = b""
        while remaining:
            chunk = await self._read(reader, remaining)
            if not chunk:
                raise _Failure("the request body ended before its Content-Length")
            body += chunk
            remaining -= len(chunk)
        self._count_out(len(body), record)
        record.outcome = EgressOutcome.ALLOWED
        status, data = await self.chain_reads.answer(method, path, body)
        self._count_in(len(data), record)
        record.reason = f"chain read ({status})"
        head = f"HTTP/1.1 {status} {'OK' if status == 200 else 'Refused'}\r\nContent-Type: application/json\r\n"
        reply = f"{head}Content-Length: {len(data)}\r\nConnection: close\r\n\r\n".encode("ascii") + data
        if (capture := self._capture(method, Scheme.HTTP, CHAIN_READS_HOST, 80, path)) is not None:
            capture.sent_body(body)
            capture.received(reply)
            self._keep(capture)
        writer.write(reply)
        await writer.drain()

    async def _relay(self, reader: asyncio.StreamReader, writer: asyncio.StreamWriter, upstream_reader: asyncio.StreamReader,
                     upstream_writer: asyncio.StreamWriter, record: ConnectionRecord) -> None:
        outbound = asyncio.ensure_future(self._copy(reader, upstream_writer, record, inbound=False))
        inbound = asyncio.ensure_future(self._copy(upstream_reader, writer, record, inbound=True))
        try:
            # Either side may half-close; the tunnel ends when both have (or on an error).
            for finished in asyncio.as_completed([outbound, inbound]):
                await finished
        finally:
            outbound.cancel()
            inbound.cancel()
            await asyncio.gather(outbound, inbound, return_exceptions=True)

    async def _copy(self, source: asyncio.StreamReader, sink: asyncio.StreamWriter, record: ConnectionRecord, inbound: bool,
                    capture: ExchangeCapture | None = None) -> None:
        while chunk := await self._read(source, _CHUNK):
            if inbound:
                self._count_in(len(chunk), record)
                if capture is not None:
                    capture.received(chunk)
            else:
                self._count_out(len(chunk), record)
            sink.write(chunk)
            await sink.drain()
        if sink.can_write_eof():
            with contextlib.suppress(OSError):
                sink.write_eof()

    async def _read(self, source: asyncio.StreamReader, size: int) -> bytes:
        try:
            async with asyncio.timeout(self.limits.idle_seconds):
                return await source.read(size)
        except TimeoutError:
            raise _Failure(f"no data for {self.limits.idle_seconds:g}s") from None

    def _count_out(self, size: int, record: ConnectionRecord) -> None:
        _BYTES_OUT.inc(size)
        record.bytes_out += size
        self._budget.bytes_out += size
        if self._budget.bytes_out > self.limits.bytes_out:
            raise _Failure(f"this execution sent more than its {self.limits.bytes_out} bytes")

    def _count_in(self, size: int, record: ConnectionRecord) -> None:
        _BYTES_IN.inc(size)
        record.bytes_in += size
        self._budget.bytes_in += size
        if self._budget.bytes_in > self.limits.bytes_in:
            raise _Failure(f"this execution received more than its {self.limits.bytes_in} bytes")


def _tls_reason(exc: BaseException) -> str:
    return (getattr(exc, "reason", None) or type(exc).__name__)[:120]
