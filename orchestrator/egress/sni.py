"""The server name (SNI) of a TLS ClientHello, read without terminating TLS.

Bounded: at most `MAX_HELLO_BYTES` are read, across as many TLS records as the handshake
message spans; anything that is not a ClientHello with exactly one host name is refused.
"""

from __future__ import annotations

import asyncio

MAX_HELLO_BYTES = 16 * 1024
_HANDSHAKE = 0x16
_CLIENT_HELLO = 0x01
_SERVER_NAME = 0x0000


class NotTls(ValueError):
    """The first bytes are not a TLS ClientHello naming one host."""


async def read_client_hello(reader: asyncio.StreamReader) -> tuple[bytes, str]:
    """Reads TLS records until the ClientHello is whole; returns (the raw bytes read, the
    server name in lower case)."""
    raw = b""
    handshake = b""
    while True:
        header = await reader.readexactly(5)
        if header[0] != _HANDSHAKE or header[1] != 0x03:
            raise NotTls("the tunnel's first bytes are not a TLS handshake (HTTPS hosts only carry TLS)")
        length = int.from_bytes(header[3:5], "big")
        if length == 0 or len(raw) + 5 + length > MAX_HELLO_BYTES:
            raise NotTls(f"the TLS ClientHello is empty or larger than {MAX_HELLO_BYTES} bytes")
        body = await reader.readexactly(length)
        raw += header + body
        handshake += body
        if len(handshake) >= 4:
            if handshake[0] != _CLIENT_HELLO:
                raise NotTls("the first TLS handshake message is not a ClientHello")
            needed = 4 + int.from_bytes(handshake[1:4], "big")
            if len(handshake) >= needed:
                return raw, server_name(handshake[4:needed])


def server_name(hello: bytes) -> str:
    """The host name in a ClientHello body (after the 4-byte handshake header)."""
    try:
        at = 2 + 32  # client version, random
        at += 1 + hello[at]  # session id
        at += 2 + int.from_bytes(hello[at : at + 2], "big")  # cipher suites
        at += 1 + hello[at]  # compression methods
        end = at + 2 + int.from_bytes(hello[at : at + 2], "big")
        if end > len(hello):
            raise NotTls("the ClientHello's extensions run past its end")
        at += 2
        names: list[str] = []
        while at + 4 <= end:
            kind = int.from_bytes(hello[at : at + 2], "big")
            size = int.from_bytes(hello[at + 2 : at + 4], "big")
            data = hello[at + 4 : at + 4 + size]
            if len(data) != size:
                raise NotTls("a ClientHello extension runs past its end")
            if kind == _SERVER_NAME:
                names += _names(data)
            at += 4 + size
    except IndexError:
        raise NotTls("the ClientHello is cut short") from None
    if len(names) != 1:
        raise NotTls("the ClientHello names no host (SNI) or more than one")
    return names[0]


def _names(data: bytes) -> list[str]:
    names: list[str] = []
    at, end = 2, 2 + int.from_bytes(data[0:2], "big")
    while at + 3 <= min(end, len(data)):
        kind, size = data[at], int.from_bytes(data[at + 1 : at + 3], "big")
        name = data[at + 3 : at + 3 + size]
        if kind == 0:
            try:
                names.append(name.decode("ascii").lower())
            except UnicodeDecodeError:
                raise NotTls("the SNI host name is not ASCII") from None
        at += 3 + size
    return names
