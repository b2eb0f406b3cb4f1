"""The bounded pieces of HTTP/1.1 an egress socket reads and writes: the proxy
(`proxy.py`) and a replay's recorded egress (`replayed.py`) parse what a sandbox sends the
same way, and refuse it the same way.

Everything is bounded before it is parsed: a request head by bytes and time, a body by its
one Content-Length (chunked request bodies are refused), a host name by its grammar.
"""

from __future__ import annotations

import asyncio
import contextlib
import re

from orchestrator.config import EgressLimits

REQUEST_LINE = re.compile(r"(?P<method>[A-Z]{3,7}) (?P<target>[\x21-\x7e]{1,8000}) HTTP/1\.[01]")
_HEADER = re.compile(r"(?P<name>[!#$%&'*+.^_`|~0-9A-Za-z-]+):[ \t]*(?P<value>[\x20-\x7e\t]*?)[ \t]*")
_AUTHORITY = re.compile(r"(?P<host>[a-z0-9.-]{1,253}):(?P<port>[0-9]{1,5})")
_LINGER_SECONDS = 1.0
_LINGER_BYTES = 1024 * 1024
_CHUNK = 64 * 1024

Headers = list[tuple[str, str]]


class Refusal(Exception):
    """A request refused with `status`; `reason` is its status line's phrase."""

    def __init__(self, status: int, reason: str) -> None:
        super().__init__(reason)
        self.status, self.reason = status, reason
        self.answered = False  # already answered inside an intercepted connection's TLS


async def read_head(reader: asyncio.StreamReader, limits: EgressLimits) -> tuple[str, str, Headers]:
    """The request line and headers (names lower-cased), read within the limits' bytes (the
    reader's own limit) and seconds."""
    try:
        async with asyncio.timeout(limits.head_seconds):
            raw = await reader.readuntil(b"\r\n\r\n")
    except TimeoutError:
        raise Refusal(408, f"the request head did not arrive within {limits.head_seconds:g}s") from None
    except asyncio.LimitOverrunError:
        raise Refusal(431, f"the request head is larger than {limits.head_bytes} bytes") from None
    lines = raw[:-4].decode("latin-1").split("\r\n")
    request = REQUEST_LINE.fullmatch(lines[0])
    if request is None:
        raise Refusal(400, "malformed request line (expected 'CONNECT host:443 HTTP/1.1')")
    headers: Headers = []
    for line in lines[1:]:
        header = _HEADER.fullmatch(line)
        if header is None:  # bare LF, NUL, obs-fold, spaces before the colon: all ambiguous
            raise Refusal(400, "malformed request header line")
        headers.append((header["name"].lower(), header["value"]))
    return request["method"], request["target"], headers


def connect_target(target: str) -> tuple[str, int]:
    """A CONNECT target's host name and port."""
    parsed = _AUTHORITY.fullmatch(target.lower())
    if parsed is None:
        raise Refusal(403, "corral egress: CONNECT takes a declared host name and port, e.g. api.example.com:443")
    return parsed["host"], int(parsed["port"])


def origin_path(method: str, target: str, headers: Headers, host: str, port: int) -> str:
    """The path of the one request inside a tunnel to `host`, which its Host must name."""
    if method == "CONNECT" or not target.startswith("/"):
        raise Refusal(400, "corral egress: inside a tunnel, one request with a path (GET /path HTTP/1.1)")
    named = {value.lower() for name, value in headers if name == "host"}
    if named - {host, f"{host}:{port}"}:
        raise Refusal(400, f"corral egress: the request's Host is not {host}, the host the tunnel was opened to")
    return target


def body_length(headers: Headers, limit: int) -> int:
    lengths = [value for name, value in headers if name == "content-length"]
    if any(name == "transfer-encoding" for name, _ in headers):
        raise Refusal(411, "corral egress: chunked request bodies are not forwarded; send a Content-Length")
    if not lengths:
        return 0
    if len(lengths) > 1 or not lengths[0].isascii() or not lengths[0].isdigit() or len(lengths[0]) > 12:
        raise Refusal(400, "corral egress: one Content-Length of ASCII digits")
    length = int(lengths[0])
    if length > limit:
        raise Refusal(413, f"corral egress: a request body of {length} bytes is over this execution's {limit}")
    return length


async def answer(reader: asyncio.StreamReader, writer: asyncio.StreamWriter, status: int, reason: str) -> None:
    """A refusal the client's HTTP library shows: `reason` in the status line and the body."""
    phrase = re.sub(r"[^\x20-\x7e]", " ", reason)[:300]
    body = (phrase + "\n").encode("ascii")
    with contextlib.suppress(ConnectionError, OSError, TimeoutError):
        writer.write(
            f"HTTP/1.1 {status} {phrase}\r\nContent-Type: text/plain\r\nContent-Length: {len(body)}\r\nConnection: close\r\n\r\n".encode("ascii")
            + body
        )
        await writer.drain()
        if not writer.can_write_eof():  # TLS (an intercepted connection) has no half-close
            return
        # Closing a socket with unread input resets it, and the reset can overtake the answer:
        # half-close, then read (and drop) what the client already sent, briefly and bounded.
        writer.write_eof()
        async with asyncio.timeout(_LINGER_SECONDS):
            drained = 0
            while drained < _LINGER_BYTES and (chunk := await reader.read(_CHUNK)):
                drained += len(chunk)
