"""The chains' JSON-RPC client reaches the node the way the operator's environment says
(HTTP_PROXY / NO_PROXY, .netrc credentials), looked up once when it is made: a call takes no
hop to a worker thread (aiohttp's `trust_env` took two per request, more CPU than the call)."""

from __future__ import annotations

import asyncio
import base64
from concurrent.futures import ThreadPoolExecutor

from aiohttp import web

from orchestrator.chains.jsonrpc import JsonRpc


class Node:
    """A JSON-RPC node (or a proxy in front of one) that records what reached it."""

    def __init__(self) -> None:
        self.seen: list[tuple[str, str]] = []  # (the request's target, its Authorization header)
        self.port = 0
        self._runner: web.AppRunner | None = None

    async def __aenter__(self) -> Node:
        app = web.Application()
        app.router.add_route("*", "/{tail:.*}", self._answer)
        self._runner = web.AppRunner(app)
        await self._runner.setup()
        site = web.TCPSite(self._runner, "127.0.0.1", 0)
        await site.start()
        self.port = site._server.sockets[0].getsockname()[1]  # type: ignore[union-attr]
        return self

    async def __aexit__(self, *exc) -> None:
        assert self._runner is not None
        await self._runner.cleanup()

    async def _answer(self, request: web.Request) -> web.Response:
        self.seen.append((f"{request.host}{request.path_qs}",
                          request.headers.get("Authorization", "")))
        body = await request.json()
        return web.json_response({"jsonrpc": "2.0", "id": body["id"], "result": "0x1"})


class CountingExecutor(ThreadPoolExecutor):
    submitted = 0

    def submit(self, *args, **kwargs):
        CountingExecutor.submitted += 1
        return super().submit(*args, **kwargs)


def run(scenario):
    async def main():
        asyncio.get_running_loop().set_default_executor(CountingExecutor(2))
        return await scenario()

    return asyncio.run(main())


def test_a_proxy_from_the_environment_carries_the_calls_and_no_call_takes_a_worker_thread(monkeypatch):
    async def scenario():
        async with Node() as proxy:
            monkeypatch.setenv("HTTP_PROXY", f"http://127.0.0.1:{proxy.port}")
            monkeypatch.delenv("NO_PROXY", raising=False)
            monkeypatch.delenv("no_proxy", raising=False)
            rpc = JsonRpc("http://node.invalid:8545/v3/KEY")  # a name that resolves nowhere: only the proxy can reach it
            CountingExecutor.submitted = 0
            answers = [await rpc.call("eth_blockNumber") for _ in range(5)]
            await rpc.close()
            return answers, proxy.seen, CountingExecutor.submitted

    answers, seen, submitted = run(scenario)
    assert answers == ["0x1"] * 5
    assert len(seen) == 5 and all(target.startswith("node.invalid") and target.endswith("/v3/KEY") for target, _ in seen)
    assert submitted == 0


def test_no_proxy_and_netrc_credentials_are_honoured(monkeypatch, tmp_path):
    netrc = tmp_path / "netrc"
    netrc.write_text("machine 127.0.0.1 login operator password s3cret\n")
    netrc.chmod(0o600)

    async def scenario():
        async with Node() as node:
            monkeypatch.setenv("HTTP_PROXY", "http://127.0.0.1:9")  # nothing listens there
            monkeypatch.setenv("NO_PROXY", "127.0.0.1")
            monkeypatch.setenv("NETRC", str(netrc))
            rpc = JsonRpc(f"http://127.0.0.1:{node.port}/")
            answer = await rpc.call("eth_chainId")
            with_credentials = JsonRpc(f"http://other:pw@127.0.0.1:{node.port}/")  # the URL's own win over .netrc
            await with_credentials.call("eth_chainId")
            await rpc.close()
            await with_credentials.close()
            return answer, node.seen

    answer, seen = run(scenario)
    assert answer == "0x1"
    assert [auth for _, auth in seen] == ["Basic " + base64.b64encode(b"operator:s3cret").decode(),
                                          "Basic " + base64.b64encode(b"other:pw").decode()]
