"""A lean JSON-RPC 2.0 client for the orchestrator's chain calls: async on the event loop
(aiohttp, one kept-alive connection pool per node), with batches, so that the calls a step
needs travel in one HTTP round trip instead of one each through a worker thread.

A node is a party we do not control: its reply is bounded in size and nesting before it is
parsed, and a reply that is not JSON-RPC is a clear error, not a crash. The node's URL often
carries an API key, so messages name only its host.
"""

from __future__ import annotations

import asyncio
import itertools
from typing import Any
from urllib.parse import urlsplit
from urllib.request import proxy_bypass

import aiohttp
from aiohttp.helpers import basicauth_from_netrc, netrc_from_env, proxies_from_env
from opentelemetry.trace import SpanKind

from corral import bounded_json
from orchestrator.tracing import TRACER

# A receipt with many logs or a full block is the largest reply the platform asks for.
MAX_REPLY_BYTES = 16 * 1024 * 1024
MAX_REPLY_DEPTH = 16


class RpcError(ValueError):
    """The node answered the call with a JSON-RPC error (its code, message and data)."""

    def __init__(self, code: int, message: str, data: Any = None) -> None:
        super().__init__(message)
        self.code = code
        self.message = message
        self.data = data


class JsonRpc:
    def __init__(self, url: str, timeout_seconds: float = 30.0) -> None:
        self._url = url
        self._where = urlsplit(url).hostname or "the node"
        self._timeout = aiohttp.ClientTimeout(total=timeout_seconds)
        self._ids = itertools.count(1)
        self._route = _route_from_environment(url)
        self._hidden: tuple[str, ...] = ()
        # One session per event loop: a session is bound to the loop it was made on.
        self._http: aiohttp.ClientSession | None = None
        self._loop: asyncio.AbstractEventLoop | None = None

    def hide(self, text: str) -> None:
        """Never passes `text` on in an error from this node: a fork's upstream URL, which may
        hold the operator's key and which anvil quotes when the upstream fails."""
        self._hidden = (*self._hidden, text)

    def _shown(self, text: str) -> str:
        for hidden in self._hidden:
            text = text.replace(hidden, "(the node it forks)")
        return text

    def _session(self) -> aiohttp.ClientSession:
        loop = asyncio.get_running_loop()
        if self._http is None or self._loop is not loop or self._http.closed:
            self._http = aiohttp.ClientSession(timeout=self._timeout)
            self._loop = loop
        return self._http

    async def call(self, method: str, *params: Any) -> Any:
        """The call's result; raises RpcError when the node answers with an error and
        ConnectionError (an OSError) when it cannot be reached or answers nonsense."""
        [answer] = await self.batch([(method, list(params))])
        if isinstance(answer, RpcError):
            raise answer
        return answer

    async def batch(self, calls: list[tuple[str, list[Any]]]) -> list[Any]:
        """Each call's result in order, or the RpcError the node answered it with (returned,
        not raised: one failed call does not hide the others' answers)."""
        ids = [next(self._ids) for _ in calls]
        body = [{"jsonrpc": "2.0", "id": i, "method": method, "params": params} for i, (method, params) in zip(ids, calls, strict=True)]
        methods = [method for method, _ in calls]
        with TRACER.start_as_current_span(f"jsonrpc {' '.join(methods)}", kind=SpanKind.CLIENT, attributes={
            "rpc.system": "jsonrpc", "rpc.method": methods, "server.address": self._where,
        }):
            reply = await self._post(body if len(body) > 1 else body[0])
        answers = reply if isinstance(reply, list) else [reply]
        by_id: dict[Any, Any] = {a.get("id"): a for a in answers if isinstance(a, dict)}
        results = []
        for i, (method, _) in zip(ids, calls, strict=True):
            answer = by_id.get(i)
            if answer is None:
                raise ConnectionError(f"the node at {self._where} did not answer {method} in its reply")
            error = answer.get("error")
            if error is not None:
                error = error if isinstance(error, dict) else {}
                data = error.get("data")
                results.append(RpcError(int(error.get("code") or 0), self._shown(str(error.get("message") or "error"))[:2000],
                                        self._shown(data) if isinstance(data, str) else data))
            else:
                results.append(answer.get("result"))
        return results

    async def _post(self, body: Any) -> Any:
        try:
            async with self._session().post(self._url, json=body, **self._route) as response:
                data = await response.content.read(MAX_REPLY_BYTES + 1)
        except (aiohttp.ClientError, TimeoutError) as exc:
            raise ConnectionError(f"the node at {self._where} did not answer ({type(exc).__name__})") from None
        if len(data) > MAX_REPLY_BYTES:
            raise ConnectionError(f"the node at {self._where} replied with more than {MAX_REPLY_BYTES} bytes")
        try:
            return bounded_json.loads(data, max_bytes=MAX_REPLY_BYTES, max_depth=MAX_REPLY_DEPTH)
        except (ValueError, UnicodeDecodeError):
            raise ConnectionError(f"the node at {self._where} answered HTTP {response.status} without JSON-RPC") from None

    async def close(self) -> None:
        if self._http is not None and not self._http.closed:
            await self._http.close()


def _route_from_environment(url: str) -> dict[str, Any]:
    """The proxy (HTTP(S)_PROXY, NO_PROXY) and .netrc credentials an operator's environment
    gives the node's URL, as aiohttp's `trust_env` finds them, looked up once: `trust_env`
    looks them up on every request, in two hops to a worker thread that cost more CPU than
    the request itself."""
    parts = urlsplit(url)
    host = parts.hostname
    route: dict[str, Any] = {}
    if host is not None and not proxy_bypass(host):
        proxy = proxies_from_env().get(parts.scheme)
        if proxy is not None:
            route.update(proxy=proxy.proxy, proxy_auth=proxy.proxy_auth)
    if host is not None and parts.username is None:  # credentials in the URL win, as with trust_env
        try:
            route["headers"] = {"Authorization": basicauth_from_netrc(netrc_from_env(), host).encode()}
        except LookupError:
            pass
    return route
