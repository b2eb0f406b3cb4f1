"""The sandbox's side of the egress path: a loopback listener that joins each connection to
the orchestrator's egress proxy on the execution's socket directory, and the proxy
environment every standard client reads (`requests`, `httpx`, `urllib`, web3.py's
HTTPProvider, and `aiohttp`, whose sessions here read it by default: `trust_env=True`).

The sandbox still has no network interface but loopback: this only moves bytes between
127.0.0.1 and a Unix socket; what may leave is decided on the host. One thread runs an
asyncio loop for every connection (threads count against the sandbox's process limit),
started by the first connection: every execution of an EVM session is offered egress (the
platform's chain reads), and most never use it.
"""

from __future__ import annotations

import functools
import importlib.machinery
import importlib.util
import os
import socket
import sys
import threading
import time
from collections.abc import Awaitable
from pathlib import Path
from types import ModuleType
from typing import TYPE_CHECKING, Any

from sandbox_runner.inside.contract import EGRESS_CA_NAME, EGRESS_SOCKET_NAME

if TYPE_CHECKING:
    import asyncio

# Where the image's own trust store is (Debian's ca-certificates), merged with the operator's extra CAs.
SYSTEM_CA_BUNDLE = Path("/etc/ssl/certs/ca-certificates.crt")
_CHUNK = 64 * 1024
# As asyncio.start_server's defaults.
LISTEN_BACKLOG = 100
ACCEPT_RETRY_SECONDS = 1.0


async def _pump(source: asyncio.StreamReader, sink: asyncio.StreamWriter) -> None:
    try:
        while chunk := await source.read(_CHUNK):
            sink.write(chunk)
            await sink.drain()
        if sink.can_write_eof():
            sink.write_eof()
    except (ConnectionError, OSError):
        sink.close()  # a reset on one side ends the other too, or its reader would wait forever


async def _join(egress_socket: str, client_reader: asyncio.StreamReader, client_writer: asyncio.StreamWriter) -> None:
    import asyncio

    try:
        proxy_reader, proxy_writer = await asyncio.open_unix_connection(egress_socket, limit=_CHUNK)
    except OSError:
        client_writer.close()
        return
    try:
        await asyncio.gather(_pump(client_reader, proxy_writer), _pump(proxy_reader, client_writer))
    finally:
        proxy_writer.close()
        client_writer.close()


class LoopbackForwarder:
    """`LoopbackForwarder(socket).start()` returns the loopback port clients use as their proxy.

    The port is listened on at once; the asyncio loop that forwards is started, in the
    forwarder's thread, by the first connection: an execution whose agent never uses the proxy
    never runs asyncio (about a tenth of a cold start's CPU otherwise; see sdk/lean_grpc.py).
    Until then the thread blocks in accept(), using no CPU."""

    def __init__(self, egress_socket: str) -> None:
        self.egress_socket = egress_socket

    def start(self) -> int:
        listener = socket.socket(socket.AF_INET, socket.SOCK_STREAM)
        try:
            listener.bind(("127.0.0.1", 0))
            listener.listen(LISTEN_BACKLOG)
        except OSError as exc:
            listener.close()
            raise RuntimeError(f"the egress forwarder could not listen on 127.0.0.1: {exc}") from exc
        threading.Thread(target=self._run, args=(listener,), name="corral-egress", daemon=True).start()
        port: int = listener.getsockname()[1]
        return port

    def _run(self, listener: socket.socket) -> None:
        first = _accept(listener)
        import asyncio

        asyncio.run(self._serve(listener, first))

    async def _serve(self, listener: socket.socket, first: socket.socket) -> None:
        import asyncio

        def forward(reader: asyncio.StreamReader, writer: asyncio.StreamWriter) -> Awaitable[None]:
            return _join(self.egress_socket, reader, writer)

        first.setblocking(False)
        reader, writer = await asyncio.open_connection(sock=first, limit=_CHUNK)
        server = await asyncio.start_server(forward, sock=listener, limit=_CHUNK)
        async with server:
            # As for the server's own connections, a failure forwarding the first ends only that one.
            await asyncio.gather(forward(reader, writer), server.serve_forever(), return_exceptions=True)


def _accept(listener: socket.socket) -> socket.socket:
    """The first connection (blocking). An error (out of descriptors, say) is retried after a
    second, as asyncio's servers do."""
    while True:
        try:
            connection, _ = listener.accept()
            return connection
        except OSError:
            time.sleep(ACCEPT_RETRY_SECONDS)


def proxy_environment(port: int, extra_ca: Path | None) -> dict[str, str]:
    """The variables clients read: proxies for both schemes and nothing exempt, and when the
    operator added CAs, one bundle (the image's plus those) for every client's trust store."""
    url = f"http://127.0.0.1:{port}"
    environment = {name: url for name in ("HTTP_PROXY", "HTTPS_PROXY", "http_proxy", "https_proxy", "ALL_PROXY", "all_proxy")}
    environment.update(NO_PROXY="", no_proxy="")
    if extra_ca is not None and extra_ca.exists():
        bundle = Path("/tmp/corral-ca-bundle.pem")
        system = SYSTEM_CA_BUNDLE.read_bytes() if SYSTEM_CA_BUNDLE.exists() else b""
        bundle.write_bytes(system + b"\n" + extra_ca.read_bytes())
        for name in ("SSL_CERT_FILE", "REQUESTS_CA_BUNDLE", "CURL_CA_BUNDLE"):
            environment[name] = str(bundle)
    return environment


class _AiohttpTrustsTheEnvironment:
    """aiohttp alone ignores the proxy variables unless a session is made with
    `trust_env=True`; agent code written for a host with direct network access does not say
    so. Here the proxy is the only way out, so its sessions default to reading them (an
    explicit `trust_env=False` is kept, and then fails to connect, as it would anywhere
    without a route). A meta path finder needs only `find_spec`; not deriving from
    importlib.abc.MetaPathFinder spares every start importing importlib.abc (and with it
    importlib.resources, tempfile and shutil)."""

    def find_spec(self, name: str, path: Any, target: ModuleType | None = None) -> importlib.machinery.ModuleSpec | None:
        if name != "aiohttp":
            return None
        sys.meta_path.remove(self)  # once, and without finding itself again
        spec = importlib.util.find_spec(name)
        if spec is None or spec.loader is None:
            return spec
        load = spec.loader.exec_module

        def exec_module(module: ModuleType) -> None:
            load(module)
            _default_trust_env(module.ClientSession)

        spec.loader.exec_module = exec_module  # type: ignore[method-assign]
        return spec


def _default_trust_env(session_class: type) -> None:
    init = session_class.__init__

    @functools.wraps(init)
    def __init__(self: object, *args: Any, **kwargs: Any) -> None:  # noqa: N807 — replaces the class's own
        kwargs.setdefault("trust_env", True)
        init(self, *args, **kwargs)

    session_class.__init__ = __init__  # type: ignore[misc]


def open_egress(socket_dir: str) -> int | None:
    """Starts the forwarder when the orchestrator offers egress to this execution and sets the
    proxy environment; returns the port, or None when the execution has no egress."""
    egress_socket = os.path.join(socket_dir, EGRESS_SOCKET_NAME)
    if not os.path.exists(egress_socket):
        return None
    port = LoopbackForwarder(egress_socket).start()
    try:
        environment = proxy_environment(port, Path(socket_dir) / EGRESS_CA_NAME)
    except OSError:  # /tmp full: the proxies still work, only the extra CAs are missing
        environment = proxy_environment(port, None)
    os.environ.update(environment)
    if "aiohttp" not in sys.modules:
        sys.meta_path.insert(0, _AiohttpTrustsTheEnvironment())
    return port
