"""A paper fork that dies before it is ready: the refusal says where its output is, never what
it printed (an anvil that cannot reach its node prints the node's URL, often with a provider's
key in it, and the refusal goes back to an API caller); nothing is left running or counted."""

from __future__ import annotations

import asyncio

import pytest

from orchestrator.chains.evm import EvmChain
from orchestrator.chains.paper_forks import ForkError, PaperForks
from orchestrator.config import ChainConfig, PaperConfig

SECRET_URL = "http://127.0.0.1:9/v3/provider-key-0123456789"


def test_a_fork_that_dies_says_where_its_output_is_and_not_what_it_printed(tmp_path):
    dying = tmp_path / "anvil"
    dying.write_text('#!/bin/sh\necho "error: could not fork from $2"\nexit 3\n')
    dying.chmod(0o755)
    forks = PaperForks(PaperConfig(anvil_path=str(dying)), tmp_path / "forks")
    source = EvmChain("ethereum:1", ChainConfig(rpc_url=SECRET_URL))

    with pytest.raises(ForkError) as died:
        asyncio.run(forks.start(7, source, block=5))
    assert "exited (3)" in str(died.value) and "session-7.log" in str(died.value)
    assert "provider-key" not in str(died.value)
    assert "provider-key" in (tmp_path / "forks" / "session-7.log").read_text()  # the operator still has it
    assert forks.running() == []


def test_a_running_fork_whose_upstream_fails_never_passes_the_upstreams_url_on(tmp_path):
    """anvil answers a call it could not fetch upstream with an error quoting the upstream URL
    ("Fork Error: ... for url (URL)"); what the fork's chain raises holds neither the URL nor the key."""
    import json
    import threading
    from http.server import BaseHTTPRequestHandler, HTTPServer

    from orchestrator.chains.jsonrpc import RpcError
    from orchestrator.chains.paper_forks import fork_chain

    class Fork(BaseHTTPRequestHandler):
        def do_POST(self) -> None:
            request = json.loads(self.rfile.read(int(self.headers["Content-Length"])))
            error = {"code": -32603, "message": f"Fork Error: error sending request for url ({SECRET_URL})", "data": SECRET_URL}
            body = json.dumps({"jsonrpc": "2.0", "id": request["id"], "error": error}).encode()
            self.send_response(200)
            self.send_header("Content-Length", str(len(body)))
            self.end_headers()
            self.wfile.write(body)

        def log_message(self, *args: object) -> None:
            pass

    server = HTTPServer(("127.0.0.1", 0), Fork)
    threading.Thread(target=server.serve_forever, daemon=True).start()
    try:
        source = EvmChain("ethereum:1", ChainConfig(rpc_url=SECRET_URL))
        fork = fork_chain(source, f"http://127.0.0.1:{server.server_address[1]}")
        with pytest.raises(RpcError) as failed:
            asyncio.run(fork.rpc.call("eth_getBalance", "0x" + "11" * 20, "latest"))
    finally:
        server.shutdown()
    assert failed.value.message == "Fork Error: error sending request for url ((the node it forks))"
    assert "provider-key" not in str(failed.value) and "provider-key" not in str(failed.value.data)


def test_at_max_forks_a_new_paper_session_is_refused_before_anything_is_made(tmp_path):
    """The room for a fork is asked before the signer makes the session's paper wallet: a start
    refused for want of forks costs no key, however often it is retried."""
    from orchestrator.chains.paper_forks import Fork

    async def main() -> None:
        forks = PaperForks(PaperConfig(max_forks=1), tmp_path / "forks")
        forks.check_room()  # none running
        process = await asyncio.create_subprocess_exec("sleep", "30")
        try:
            forks._forks[1] = Fork(1, "http://127.0.0.1:1", 5, process)
            with pytest.raises(ForkError) as full:
                forks.check_room()
            assert str(full.value) == "this orchestrator runs 1 paper forks, its [paper] max_forks; stop a paper session first"
        finally:
            process.kill()
            await process.wait()
        forks.check_room()  # a fork that ended leaves room

    asyncio.run(main())
