"""The sandbox's side of the egress path: a loopback listener that joins each connection to
the orchestrator's egress proxy on the execution's socket directory, and the proxy
environment every standard client reads (`requests`, `httpx`, `urllib`, web3.py's
HTTPProvider, and `aiohttp`, whose sessions here read it by default: `trust_env=True`).

The sandbox still has no network interface but loopback: this only moves bytes between
127.0.0.1 and a Unix socket; what may leave is decided on the host. One thread runs an
asyncio loop for every connection (threads count against the sandbox's process limit).
"""

from __future__ import annotations

import asyncio
import functools
import importlib.abc
import importlib.machinery
import importlib.util
import os
import sys
import threading
from pathlib import Path
from types import ModuleType
from typing import Any

from sandbox_runner.inside.contract import EGRESS_CA_NAME, EGRESS_SOCKET_NAME

# Where the image's own trust store is (Debian's ca-certificates), merged with the operator's extra CAs.
SYSTEM_CA_BUNDLE = Path("/etc/ssl/certs/ca-certificates.crt")
_CHUNK = 64 * 1024


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
    """`LoopbackForwarder(socket).start()` returns the loopback port clients use as their proxy."""

    def __init__(self, egress_socket: str) -> None:
        self.egress_socket = egress_socket
        self._ready = threading.Event()
        self._port = 0
        self._error: BaseException | None = None

    def start(self) -> int:
        threading.Thread(target=self._run, name="corral-egress", daemon=True).start()
        self._ready.wait(10)
        if self._error is not None:
            raise RuntimeError(f"the egress forwarder could not listen on 127.0.0.1: {self._error}")
        return self._port

    def _run(self) -> None:
        asyncio.run(self._serve())

    async def _serve(self) -> None:
        try:
            server = await asyncio.start_server(lambda r, w: _join(self.egress_socket, r, w), "127.0.0.1", 0, limit=_CHUNK)
        except OSError as exc:
            self._error = exc
            self._ready.set()
            return
        self._port = server.sockets[0].getsockname()[1]
        self._ready.set()
        async with server:
            await server.serve_forever()


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


class _AiohttpTrustsTheEnvironment(importlib.abc.MetaPathFinder):
    """aiohttp alone ignores the proxy variables unless a session is made with
    `trust_env=True`; agent code written for a host with direct network access does not say
    so. Here the proxy is the only way out, so its sessions default to reading them (an
    explicit `trust_env=False` is kept, and then fails to connect, as it would anywhere
    without a route)."""

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
