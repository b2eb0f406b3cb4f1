"""JSON over HTTP to a venue, with the venue's failures turned into refusals an agent can read.

A venue that cannot be reached or answers 5xx is UNAVAILABLE (try again later); a 4xx is
the venue refusing the request, passed on as FAILED_PRECONDITION with what it said.
"""

from __future__ import annotations

import json
from typing import Any

import aiohttp
import grpc

from corral import bounded_json
from orchestrator.errors import Refused

# A venue's answers (market metadata, books, histories) are parsed within these bounds: a
# hostile or broken venue cannot exhaust the parser.
MAX_ANSWER_BYTES = 16 * 1024 * 1024
MAX_ANSWER_DEPTH = 64


class VenueRefused(Refused):
    """The venue answered 4xx: FAILED_PRECONDITION with what it said, and its HTTP status."""

    def __init__(self, message: str, http_status: int) -> None:
        super().__init__(grpc.StatusCode.FAILED_PRECONDITION, message)
        self.http_status = http_status


class VenueHttp:
    def __init__(self, name: str, base_url: str, timeout_seconds: float) -> None:
        self.name = name
        self._base = base_url.rstrip("/")
        self._timeout = aiohttp.ClientTimeout(total=timeout_seconds)
        self._session: aiohttp.ClientSession | None = None

    def _client(self) -> aiohttp.ClientSession:
        # Created on first use, inside the event loop that serves the calls.
        if self._session is None or self._session.closed:
            self._session = aiohttp.ClientSession(timeout=self._timeout)
        return self._session

    async def request(self, method: str, path: str, *, params: dict | None = None, body: str | None = None,
                      headers: dict[str, str] | None = None) -> Any:
        """`body` is sent as given (already JSON): some venues sign the exact bytes."""
        all_headers = {"Content-Type": "application/json", **(headers or {})}
        try:
            async with self._client().request(method, self._base + path, params=params, data=body, headers=all_headers) as response:
                text = await response.text()
        except (aiohttp.ClientError, TimeoutError) as exc:
            raise Refused(grpc.StatusCode.UNAVAILABLE, f"{self.name}: the venue did not answer ({type(exc).__name__}: {exc})") from None
        if response.status >= 500:
            raise Refused(grpc.StatusCode.UNAVAILABLE, f"{self.name}: the venue failed (HTTP {response.status}): {text[:300]}")
        try:
            answer = bounded_json.loads(text, max_bytes=MAX_ANSWER_BYTES, max_depth=MAX_ANSWER_DEPTH) if text else None
        except bounded_json.JsonTooLarge as exc:
            raise Refused(grpc.StatusCode.UNAVAILABLE, f"{self.name}: the venue's answer is out of bounds ({exc})") from None
        except ValueError:
            answer = text
        if response.status >= 400:
            said = answer.get("error") or answer.get("errorMsg") or answer if isinstance(answer, dict) else answer
            raise VenueRefused(f"{self.name}: {said}", response.status)
        return answer

    async def post_json(self, path: str, payload: Any, headers: dict[str, str] | None = None) -> Any:
        return await self.request("POST", path, body=json.dumps(payload), headers=headers)

    async def close(self) -> None:
        if self._session is not None:
            await self._session.close()
