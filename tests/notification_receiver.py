"""A local webhook receiver for the notification tests and benchmark: records each request
(with when it arrived) and answers with the statuses it is told to, then 200."""

from __future__ import annotations

import asyncio
import json
import time
from dataclasses import dataclass, field

from aiohttp import web


@dataclass
class Received:
    headers: dict[str, str]
    body: bytes
    status: int
    at: float = field(default_factory=time.monotonic)

    @property
    def json(self) -> dict:
        return json.loads(self.body)


class Receiver:
    def __init__(self, fail_with: list[int] | None = None, failing_session: int | None = None, hang: int = 0) -> None:
        self.requests: list[Received] = []
        self._fail_with = list(fail_with or [])
        self._failing_session = failing_session  # set: only this session's events are failed
        self._hang = hang  # the first `hang` requests get no answer until the receiver stops
        self._released = asyncio.Event()
        self._runner: web.AppRunner | None = None
        self.url = ""

    @property
    def accepted(self) -> list[Received]:
        return [r for r in self.requests if r.status == 200]

    async def _handle(self, request: web.Request) -> web.Response:
        body = await request.read()
        if self._hang:
            self._hang -= 1
            self.requests.append(Received(dict(request.headers), body, 0))
            await self._released.wait()
            return web.Response(status=503)
        chosen = self._failing_session is None or json.loads(body)["event"]["session_id"] == self._failing_session
        status = self._fail_with.pop(0) if self._fail_with and chosen else 200
        self.requests.append(Received(dict(request.headers), body, status))
        return web.Response(status=status, text="ok" if status == 200 else "try later")

    async def __aenter__(self) -> Receiver:
        app = web.Application()
        app.router.add_post("/{tail:.*}", self._handle)
        self._runner = web.AppRunner(app, access_log=None)
        await self._runner.setup()
        site = web.TCPSite(self._runner, "127.0.0.1", 0)
        await site.start()
        port = self._runner.addresses[0][1]
        self.url = f"http://127.0.0.1:{port}/hooks/corral"
        return self

    async def __aexit__(self, *exc) -> None:
        assert self._runner is not None
        self._released.set()
        await self._runner.cleanup()
