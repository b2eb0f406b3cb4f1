"""CORS for the browser port: only the configured origins may call the API from a web page.

A preflight from an allowed origin is answered with what Connect and gRPC-Web clients send and
read; any other origin gets no CORS headers at all (its browser then refuses the call), and its
requests are refused here too, so a page elsewhere cannot make even a "simple" request. Clients
that send no Origin (servers, `buf curl`) are not browsers and pass unchanged."""

from __future__ import annotations

from collections.abc import Awaitable, Callable, Iterable, MutableMapping
from typing import Any

Scope = MutableMapping[str, Any]
Message = MutableMapping[str, Any]
Receive = Callable[[], Awaitable[Message]]
Send = Callable[[Message], Awaitable[None]]
App = Callable[[Scope, Receive, Send], Awaitable[None]]

# What connect-web's Connect and gRPC-Web transports send, and the token.
ALLOWED_HEADERS = ("Content-Type", "Connect-Protocol-Version", "Connect-Timeout-Ms", "Grpc-Timeout", "X-Grpc-Web",
                   "X-User-Agent", "Authorization")
# gRPC-Web answers a call refused before any message in these headers.
EXPOSED_HEADERS = ("Grpc-Status", "Grpc-Message", "Grpc-Status-Details-Bin")
# Browsers may keep a preflight's answer this long (Chromium caps it at 2 hours).
PREFLIGHT_MAX_AGE_SECONDS = 7200


class Cors:
    def __init__(self, app: App, allowed_origins: Iterable[str]) -> None:
        self._app = app
        self._allowed = frozenset(origin.encode() for origin in allowed_origins)

    async def __call__(self, scope: Scope, receive: Receive, send: Send) -> None:
        if scope["type"] != "http":
            return await self._app(scope, receive, send)
        headers = dict(scope.get("headers", ()))
        origin = headers.get(b"origin")
        if origin is None:
            return await self._app(scope, receive, send)
        if origin not in self._allowed:
            return await _answer(send, 403, [])
        if scope["method"] == "OPTIONS" and b"access-control-request-method" in headers:
            return await _answer(send, 204, [
                (b"access-control-allow-origin", origin),
                (b"access-control-allow-methods", b"POST"),
                (b"access-control-allow-headers", ", ".join(ALLOWED_HEADERS).encode()),
                (b"access-control-max-age", str(PREFLIGHT_MAX_AGE_SECONDS).encode()),
                (b"vary", b"Origin"),
            ])

        async def with_cors(message: Message) -> None:
            if message["type"] == "http.response.start":
                message["headers"] = [*message.get("headers", ()), (b"access-control-allow-origin", origin),
                                      (b"access-control-expose-headers", ", ".join(EXPOSED_HEADERS).encode()), (b"vary", b"Origin")]
            await send(message)

        return await self._app(scope, receive, with_cors)


async def _answer(send: Send, status: int, headers: list[tuple[bytes, bytes]]) -> None:
    await send({"type": "http.response.start", "status": status, "headers": [*headers, (b"content-length", b"0")]})
    await send({"type": "http.response.body", "body": b""})
