"""The web console's files at /console on the browser port (console/, built by scripts/setup).

Only the files the build wrote, read once at start-up: a request names one of them or gets 404,
so no path reaches the file system. Every answer carries a Content-Security-Policy that allows
only this origin's scripts, styles and API (no inline script or style, no other host, no
framing), so even a rendering bug could not run an agent's text as code or send it elsewhere.
"""

from __future__ import annotations

from pathlib import Path

from orchestrator.app.browser_cors import App, Receive, Scope, Send

PREFIX = "/console"
# The checkout's build (scripts/setup runs `npm run build` in console/).
BUILT_CONSOLE = Path(__file__).resolve().parents[2] / "console" / "dist"
CONTENT_SECURITY_POLICY = (
    "default-src 'none'; script-src 'self'; style-src 'self'; connect-src 'self'; img-src 'self' data:; "
    "base-uri 'none'; form-action 'none'; frame-ancestors 'none'"
)
_TYPES = {".html": b"text/html; charset=utf-8", ".js": b"text/javascript; charset=utf-8", ".css": b"text/css; charset=utf-8",
          ".map": b"application/json"}
_HEADERS = [
    (b"content-security-policy", CONTENT_SECURITY_POLICY.encode()), (b"x-content-type-options", b"nosniff"),
    (b"referrer-policy", b"no-referrer"), (b"cache-control", b"no-cache"), (b"cross-origin-opener-policy", b"same-origin"),
]


def load_console(directory: Path) -> dict[str, tuple[bytes, bytes]] | None:
    """name -> (content type, bytes) of the built console, or None when it is not built."""
    if not (directory / "index.html").is_file():
        return None
    return {path.name: (_TYPES[path.suffix], path.read_bytes()) for path in directory.iterdir()
            if path.is_file() and path.suffix in _TYPES}


class ConsoleFiles:
    """/console/* from `files`; everything else goes to `app` (the API)."""

    def __init__(self, app: App, files: dict[str, tuple[bytes, bytes]]) -> None:
        self._app = app
        self._files = files

    async def __call__(self, scope: Scope, receive: Receive, send: Send) -> None:
        path = scope.get("path", "") if scope["type"] == "http" else ""
        if path != PREFIX and not path.startswith(PREFIX + "/"):
            return await self._app(scope, receive, send)
        if path == PREFIX:  # the page's relative links need the trailing slash
            return await _answer(send, 308, b"", [(b"location", (PREFIX + "/").encode())])
        if scope["method"] not in ("GET", "HEAD"):
            return await _answer(send, 405, b"", [(b"allow", b"GET, HEAD")])
        found = self._files.get(path[len(PREFIX) + 1:] or "index.html")
        if found is None:
            return await _answer(send, 404, b"not found\n", [(b"content-type", b"text/plain; charset=utf-8")])
        content_type, body = found
        await _answer(send, 200, body if scope["method"] == "GET" else b"", [(b"content-type", content_type)], len(body))


async def _answer(send: Send, status: int, body: bytes, headers: list[tuple[bytes, bytes]], length: int | None = None) -> None:
    length = len(body) if length is None else length
    await send({"type": "http.response.start", "status": status,
                "headers": [*_HEADERS, *headers, (b"content-length", str(length).encode())]})
    await send({"type": "http.response.body", "body": body})
