"""The frontend API for browsers: OrchestratorService over the Connect protocol and gRPC-Web
(HTTP/1.1 or HTTP/2), served by Hypercorn in the orchestrator's own event loop beside the
native gRPC port, with the same servicer, token check, TLS certificate and request size bound."""

from __future__ import annotations

import asyncio
import json
import logging
import socket

from connectrpc.errors import ConnectError
from connectrpc.request import RequestContext
from hypercorn.asyncio import serve
from hypercorn.config import Config as HypercornConfig

from corral.v1.orchestrator_connect import OrchestratorServiceASGIApplication
from orchestrator.api.access import CALLER
from orchestrator.api.connect_adapter import ConnectOrchestrator, connect_code
from orchestrator.api.service import OrchestratorApi
from orchestrator.app.api_guard import ApiGuard
from orchestrator.app.browser_cors import Cors
from orchestrator.app.connect_codecs import request_codecs
from orchestrator.app.console_files import BUILT_CONSOLE, PREFIX, ConsoleFiles, load_console
from orchestrator.config import API_MAX_REQUEST_BYTES, OrchestratorConfig, split_listen
from orchestrator.errors import Refused

log = logging.getLogger("corral.orchestrator.browser")


class ConnectApiGuard:
    """ApiGuard as a Connect metadata interceptor: it runs before the request body is read, in
    the request's own task, so the CALLER it sets is the one the handler reads."""

    def __init__(self, guard: ApiGuard) -> None:
        self._guard = guard

    async def on_start(self, ctx: RequestContext) -> None:
        method = f"/{ctx.method.service_name}/{ctx.method.name}"
        try:
            principal = await self._guard.caller(method, ctx.request_headers.get("authorization", ""))
        except Refused as refused:
            raise ConnectError(connect_code(refused.code), refused.message) from None
        if principal is not None:
            CALLER.set(principal)

    async def on_end(self, token: None, ctx: RequestContext, error: Exception | None) -> None:
        return None


def browser_app(api: OrchestratorApi, guard: ApiGuard, allowed_origins: list[str], console: dict | None = None,
                own_origins: list[str] | None = None):
    """The ASGI application: CORS around the generated Connect application, and the web
    console's files at /console when it is built (`console`, from console_files.load_console).
    The console calls the API from this port's own origins (`own_origins`), so they are allowed
    too: by the listen address only, never by the request's Host header, which a DNS-rebinding
    page would choose."""
    connect = OrchestratorServiceASGIApplication(
        ConnectOrchestrator(api), interceptors=[ConnectApiGuard(guard)], read_max_bytes=API_MAX_REQUEST_BYTES,
        codecs=request_codecs(),
    )
    if console is None:
        return Cors(_TextHeadersOnly(connect), allowed_origins)
    return ConsoleFiles(Cors(_TextHeadersOnly(connect), [*allowed_origins, *(own_origins or [])]), console)


def own_origins(listen: str, tls: bool) -> list[str]:
    """The origins a page served on `listen` has: the address itself, and localhost for a
    loopback address (what a browser on this machine shows as well)."""
    scheme = "https" if tls else "http"
    host, port = split_listen(listen)
    origins = [f"{scheme}://{listen}"]
    if host in ("127.0.0.1", "[::1]", "::1"):
        origins.append(f"{scheme}://localhost:{port}")
    return origins


class _TextHeadersOnly:
    """connectrpc decodes every header as UTF-8 and would answer one that is not with UNKNOWN and
    the decoder's Python text: such a request is refused here first, naming the header."""

    def __init__(self, app) -> None:
        self._app = app

    async def __call__(self, scope, receive, send) -> None:
        for name, value in scope.get("headers", ()) if scope["type"] == "http" else ():
            try:
                value.decode()
            except UnicodeDecodeError:
                problem = {"code": "invalid_argument", "message": f"header {name.decode('latin-1')[:64]} is not UTF-8 text"}
                body = json.dumps(problem).encode()
                await send({"type": "http.response.start", "status": 400,
                            "headers": [(b"content-type", b"application/json"), (b"content-length", str(len(body)).encode())]})
                await send({"type": "http.response.body", "body": body})
                return
        await self._app(scope, receive, send)


def _listening_socket(listen: str) -> socket.socket:
    """Bound here, not by Hypercorn: an address in use fails the start at once, as gRPC's does."""
    host, port = split_listen(listen)
    family = socket.AF_INET6 if ":" in host else socket.AF_INET
    try:
        return socket.create_server((host, int(port)), family=family)
    except OSError as exc:
        raise RuntimeError(f"could not listen on browser.listen {listen}: {exc.strerror}") from None


class BrowserServer:
    def __init__(self, task: asyncio.Task, stopping: asyncio.Event) -> None:
        self._task = task
        self._stopping = stopping

    @classmethod
    async def start(cls, config: OrchestratorConfig, api: OrchestratorApi, guard: ApiGuard) -> BrowserServer:
        assert config.browser.listen is not None
        listening = _listening_socket(config.browser.listen)
        settings = HypercornConfig()
        # Hypercorn takes the descriptor over (and closes it when it stops).
        settings.bind = [f"fd://{listening.detach()}"]
        settings.accesslog = None
        settings.errorlog = log
        # Open WatchEvents streams get this long to end when the orchestrator stops (gRPC's grace).
        settings.graceful_timeout = 2.0
        if config.tls_cert_file is not None:
            settings.certfile, settings.keyfile = str(config.tls_cert_file), str(config.tls_key_file)
        stopping = asyncio.Event()
        console = load_console(config.browser.console_dir or BUILT_CONSOLE)
        app = browser_app(api, guard, config.browser.allowed_origins, console,
                          own_origins(config.browser.listen, config.tls_cert_file is not None))
        task = asyncio.create_task(serve(app, settings, shutdown_trigger=stopping.wait, mode="asgi"), name="browser server")
        print(f"orchestrator serving browsers (Connect, gRPC-Web) on {config.browser.listen}", flush=True)
        if console is not None:
            scheme = "https" if config.tls_cert_file is not None else "http"
            print(f"web console on {scheme}://{config.browser.listen}{PREFIX}/", flush=True)
        task.add_done_callback(_log_failure)
        return cls(task, stopping)

    async def stop(self) -> None:
        self._stopping.set()
        await self._task


def _log_failure(task: asyncio.Task) -> None:
    if not task.cancelled() and task.exception() is not None:
        log.error("the browser port stopped serving", exc_info=task.exception())
