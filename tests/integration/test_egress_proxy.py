"""The egress proxy on its own (no sandbox): the host side of the path an agent's HTTPS
requests take, driven by the same loopback forwarder and standard clients a sandbox uses,
against a stand-in HTTPS service with its own CA. The sandboxed versions of these attacks,
under each backend, are in tests/isolation/test_egress.py."""

from __future__ import annotations

import asyncio
import json
import re
import socket
import ssl
import threading
import urllib.error
import urllib.request
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from pathlib import Path

import aiohttp
import pytest
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from corral.hosts import parse_rules
from orchestrator.config import EgressLimits
from orchestrator.egress.addresses import policy_from
from orchestrator.egress.chain_reads import ChainReads
from orchestrator.egress.proxy import EgressGate
from orchestrator.store.statuses import EgressOutcome
from sandbox_runner.inside.egress import LoopbackForwarder
from tests.helpers import Loop, wait_for
from tests.standins.https_service import PRICE, HttpsService


def open_gate(loop: Loop, tmp_path: Path, allow: list[str], networks=("127.0.0.1/32",), **limits) -> tuple[EgressGate, str]:
    gate = EgressGate(parse_rules(allow, "allow"), EgressLimits(**limits),
                      policy_from(list(networks), {"prices.test": ["127.0.0.1"], "other.test": ["127.0.0.1"],
                                                   "metadata.test": ["169.254.169.254"], "private.test": ["10.0.0.1"]}))
    path = tmp_path / "egress.sock"
    loop.run(gate.start(path))
    port = LoopbackForwarder(str(path)).start()
    return gate, f"http://127.0.0.1:{port}"


def fetch(proxy: str, url: str, ca: Path, server_hostname: str | None = None) -> dict:
    context = ssl.create_default_context(cafile=str(ca))
    opener = urllib.request.build_opener(urllib.request.ProxyHandler({"https": proxy, "http": proxy}),
                                         urllib.request.HTTPSHandler(context=context))
    with opener.open(url, timeout=20) as reply:
        return json.loads(reply.read())


def records(loop: Loop, gate: EgressGate):
    return loop.run(gate.close())


def test_a_declared_host_is_reached_and_the_connection_recorded(loop, tmp_path, service):
    gate, proxy = open_gate(loop, tmp_path, [f"prices.test:{service.port}"])
    answer = fetch(proxy, f"https://prices.test:{service.port}/prices/current/coingecko:ethereum", service.ca_file)
    assert answer["coins"]["coingecko:ethereum"]["price"] == PRICE
    [record] = records(loop, gate)
    assert (record.method, record.host, record.port, record.address, record.outcome) == (
        "CONNECT", "prices.test", service.port, "127.0.0.1", EgressOutcome.ALLOWED)
    assert record.bytes_out > 100 and record.bytes_in > 100


@pytest.mark.parametrize(
    ("allow", "host", "expected"),
    [
        (["prices.test:{port}"], "other.test", "is not declared in circuit.toml [network] allow"),
        (["prices.test:{port}"], "127.0.0.1", "is an IP address"),
        (["prices.test"], "prices.test", "is not declared"),  # declared on 443, asked on another port
        (["metadata.test:{port}"], "metadata.test", "not a public address"),
        (["private.test:{port}"], "private.test", "not a public address"),
    ],
)
def test_what_is_not_declared_or_not_public_is_refused_before_any_byte_leaves(loop, tmp_path, service, allow, host, expected):
    gate, proxy = open_gate(loop, tmp_path, [a.format(port=service.port) for a in allow])
    with pytest.raises(OSError, match="403") as refused:
        fetch(proxy, f"https://{host}:{service.port}/prices/current/x", service.ca_file)
    assert expected in str(refused.value)
    [record] = records(loop, gate)
    assert record.outcome == EgressOutcome.REFUSED and expected in record.reason
    assert service.requests == []


def test_loopback_is_refused_unless_the_operator_allows_its_range(loop, tmp_path, service):
    gate, proxy = open_gate(loop, tmp_path, [f"prices.test:{service.port}"], networks=())
    with pytest.raises(OSError, match="not a public address"):
        fetch(proxy, f"https://prices.test:{service.port}/prices/current/x", service.ca_file)
    records(loop, gate)
    assert service.requests == []


def raw_tunnel(proxy: str, target: str) -> socket.socket:
    host, port = proxy.removeprefix("http://").split(":")
    sock = socket.create_connection((host, int(port)), timeout=20)
    sock.sendall(f"CONNECT {target} HTTP/1.1\r\nHost: {target}\r\n\r\n".encode())
    reply = sock.recv(4096)
    assert reply.startswith(b"HTTP/1.1 200"), reply
    return sock


def test_a_tunnel_opened_for_one_host_cannot_speak_tls_to_another_or_carry_anything_but_tls(loop, tmp_path, service):
    gate, proxy = open_gate(loop, tmp_path, [f"prices.test:{service.port}"])
    context = ssl.create_default_context(cafile=str(service.ca_file))
    with raw_tunnel(proxy, f"prices.test:{service.port}") as sock, pytest.raises((ssl.SSLError, OSError)):
        context.wrap_socket(sock, server_hostname="other.test").do_handshake()
    with raw_tunnel(proxy, f"prices.test:{service.port}") as sock:
        sock.sendall(b"GET /prices/current/x HTTP/1.1\r\nHost: prices.test\r\n\r\n")
        assert sock.recv(4096) == b""  # closed: not a ClientHello
    reasons = [r.reason for r in records(loop, gate)]
    assert any("TLS names 'other.test'" in r for r in reasons), reasons
    assert any("not a TLS handshake" in r for r in reasons), reasons
    assert service.requests == []


def raw_request(proxy: str, data: bytes) -> bytes:
    host, port = proxy.removeprefix("http://").split(":")
    with socket.create_connection((host, int(port)), timeout=20) as sock:
        sock.sendall(data)
        reply = b""
        while chunk := sock.recv(4096):
            reply += chunk
        return reply


def test_heads_that_are_slow_huge_or_ambiguous_are_answered_with_their_status(loop, tmp_path, service):
    gate, proxy = open_gate(loop, tmp_path, [f"prices.test:{service.port}", f"http://prices.test:{service.port}"],
                            head_seconds=0.5, head_bytes=2048)
    assert raw_request(proxy, b"CONNECT prices.test:1 HTTP/1.1\r\n").startswith(b"HTTP/1.1 408")  # slowloris
    assert raw_request(proxy, b"CONNECT prices.test:1 HTTP/1.1\r\nX: " + b"a" * 4096 + b"\r\n\r\n").startswith(b"HTTP/1.1 431")
    assert raw_request(proxy, b"CONNECT prices.test:1 HTTP/1.1\nHost: x\n\n\r\n\r\n").startswith(b"HTTP/1.1 400")  # bare LF
    smuggled = (f"POST http://prices.test:{service.port}/a HTTP/1.1\r\nContent-Length: 5\r\nTransfer-Encoding: chunked\r\n\r\n"
                "0\r\n\r\nGET /b HTTP/1.1\r\n\r\n").encode()
    assert raw_request(proxy, smuggled).startswith(b"HTTP/1.1 411")
    assert raw_request(proxy, b"CONNECT [::1]:443 HTTP/1.1\r\n\r\n").startswith(b"HTTP/1.1 403")
    records(loop, gate)
    assert service.requests == []


def test_one_plain_request_per_connection_so_nothing_rides_behind_it(loop, tmp_path):
    with HttpsService(tmp_path / "plain", ["prices.test"], tls=False) as plain:
        gate, proxy = open_gate(loop, tmp_path, [f"http://prices.test:{plain.port}"])
        pipelined = (f"GET http://prices.test:{plain.port}/prices/current/a HTTP/1.1\r\nHost: prices.test\r\n\r\n"
                     f"GET http://prices.test:{plain.port}/prices/current/b HTTP/1.1\r\nHost: prices.test\r\n\r\n").encode()
        reply = raw_request(proxy, pipelined)
        assert reply.startswith(b"HTTP/1.1 200") and reply.count(b"HTTP/1.1") == 1
        records(loop, gate)
        assert [r["path"] for r in plain.requests] == ["/prices/current/a"]


def test_the_executions_limits_hold(loop, tmp_path, service):
    gate, proxy = open_gate(loop, tmp_path, [f"prices.test:{service.port}"], max_connections=2, bytes_in=1024)
    with pytest.raises(OSError):  # the reply is larger than 1 KiB in total with the handshake
        fetch(proxy, f"https://prices.test:{service.port}/prices/current/x", service.ca_file)
    with pytest.raises(OSError):
        fetch(proxy, f"https://prices.test:{service.port}/prices/current/x", service.ca_file)
    with pytest.raises(OSError, match="429"):
        fetch(proxy, f"https://prices.test:{service.port}/prices/current/x", service.ca_file)
    reasons = [r.reason for r in records(loop, gate)]
    assert any("received more than its 1024 bytes" in r for r in reasons), reasons
    assert any("used its 2 connections" in r for r in reasons), reasons


class FakeNode:
    """A JSON-RPC node that answers every call with its method name and records the calls."""

    def __init__(self) -> None:
        self.calls: list[object] = []
        node = self

        class Handler(BaseHTTPRequestHandler):
            def do_POST(self) -> None:  # noqa: N802 — the stdlib's name
                document = json.loads(self.rfile.read(int(self.headers["Content-Length"])))
                node.calls.append(document)
                calls = document if isinstance(document, list) else [document]
                replies = [{"jsonrpc": "2.0", "id": c["id"], "result": c["method"]} for c in calls]
                body = json.dumps(replies if isinstance(document, list) else replies[0]).encode()
                self.send_response(200)
                self.send_header("Content-Length", str(len(body)))
                self.end_headers()
                self.wfile.write(body)

            def log_message(self, *args: object) -> None:
                pass

        self.server = ThreadingHTTPServer(("127.0.0.1", 0), Handler)
        threading.Thread(target=self.server.serve_forever, daemon=True).start()
        self.url = f"http://127.0.0.1:{self.server.server_address[1]}"


def rpc(proxy: str, network: str, document: object) -> tuple[int, object]:
    opener = urllib.request.build_opener(urllib.request.ProxyHandler({"http": proxy}))
    request = urllib.request.Request(f"http://rpc.corral.internal/{network}", data=json.dumps(document).encode(), method="POST")
    try:
        with opener.open(request, timeout=20) as reply:
            return reply.status, json.loads(reply.read())
    except urllib.error.HTTPError as error:
        return error.code, json.loads(error.read())


def test_chain_reads_relay_reads_to_the_operators_node_and_refuse_the_rest(loop, tmp_path):
    node = FakeNode()

    async def make_gate() -> EgressGate:
        reads = ChainReads({"ethereum:31337": node.url}, aiohttp.ClientSession())
        gate = EgressGate((), EgressLimits(connections_per_second=1000), policy_from([], {}), reads)
        await gate.start(tmp_path / "egress.sock")
        return gate

    gate = loop.run(make_gate())
    proxy = f"http://127.0.0.1:{LoopbackForwarder(str(tmp_path / 'egress.sock')).start()}"
    call = {"jsonrpc": "2.0", "id": 7, "method": "eth_getBalance", "params": ["0x" + "11" * 20, "latest"]}
    assert rpc(proxy, "ethereum:31337", call) == (200, {"jsonrpc": "2.0", "id": 7, "result": "eth_getBalance"})
    for refused in ("eth_sendRawTransaction", "eth_sendTransaction", "personal_sign", "debug_traceTransaction", "anvil_setBalance",
                    "eth_sign"):
        status, reply = rpc(proxy, "ethereum:31337", [call, {**call, "method": refused}])
        assert status == 200 and all(r["error"]["code"] == -32601 for r in reply), reply
    assert rpc(proxy, "ethereum:1", call)[0] == 404  # a network the session may not read
    assert rpc(proxy, "ethereum:31337", [call] * 21)[0] == 400  # batch bound
    deep: object = []
    for _ in range(40):
        deep = [deep]
    assert rpc(proxy, "ethereum:31337", {**call, "params": deep})[0] == 400  # nesting bound, before parsing
    assert node.calls == [call]  # only the one read reached the node
    loop.run(gate.close())
    loop.run(gate.chain_reads.http.close())


# -- fuzzing the request head: whatever arrives, an answer or a close, never a crash ---------------

_pieces = st.sampled_from([
    b"CONNECT ", b"GET ", b"POST ", b"connect ", b"prices.test:443", b"prices.test:{port}", b"127.0.0.1:{port}", b"[::1]:443",
    b"http://prices.test:{port}/a", b"http://rpc.corral.internal/ethereum:1", b"https://prices.test/", b" HTTP/1.1", b" HTTP/1.0",
    b" HTTP/2", b"\r\n", b"\n", b"\r", b"\x00", b"Host: x", b"Content-Length: 5", b"Content-Length: -1", b"Content-Length: 99999999999999",
    b"Transfer-Encoding: chunked", b" folded", b":", b"\t", b"\xff\xfe", b"%00", b"a" * 300,
])


@pytest.fixture(scope="module")
def fuzz_target(tmp_path_factory):
    loop = Loop()
    folder = tmp_path_factory.mktemp("egress-fuzz")
    accepted: list[int] = []

    async def upstream(reader, writer):  # stands for the declared host: counts who got through
        accepted.append(1)
        writer.close()

    async def setup():
        server = await asyncio.start_server(upstream, "127.0.0.1", 0)
        port = server.sockets[0].getsockname()[1]
        gate = EgressGate(parse_rules([f"prices.test:{port}"], "allow"),
                          EgressLimits(max_connections=10_000, connections_per_second=10_000, head_seconds=0.05, connect_seconds=2),
                          policy_from(["127.0.0.1/32"], {"prices.test": ["127.0.0.1"]}))
        await gate.start(folder / "egress.sock")
        return gate, port

    gate, port = loop.run(setup())
    errors: list[dict] = []
    loop.loop.set_exception_handler(lambda _, context: errors.append(context))
    yield loop, gate, port, accepted, folder / "egress.sock", errors
    loop.run(gate.close())


@settings(max_examples=200, deadline=None, suppress_health_check=[HealthCheck.function_scoped_fixture, HealthCheck.too_slow])
@given(head=st.lists(_pieces, max_size=12).map(b"".join), tail=st.binary(max_size=64))
def test_any_request_head_gets_a_status_or_a_close_and_nothing_else_gets_through(fuzz_target, head, tail):
    loop, gate, port, accepted, path, errors = fuzz_target
    data = head.replace(b"{port}", str(port).encode()) + tail
    before, recorded = len(accepted), len(gate.records)

    async def exchange() -> bytes:
        reader, writer = await asyncio.open_unix_connection(str(path))
        writer.write(data)
        await writer.drain()
        try:
            return await asyncio.wait_for(reader.read(4096), 5)
        finally:
            writer.close()

    reply = loop.run(exchange())
    assert reply == b"" or re.match(rb"HTTP/1\.1 [1-5][0-9][0-9] ", reply), reply[:80]
    legitimate = re.match(rb"CONNECT prices\.test:%d HTTP/1\.[01]\r\n(?:[!-9;-~]+:[ \t]*[ -~\t]*\r\n)*\r\n" % port, data)
    if len(accepted) > before:
        assert legitimate, f"reached the upstream with {data[:120]!r}"
    wait_for(lambda: len(gate.records) > recorded, timeout=10, interval=0.005, what="the connection's record")
    assert errors == []
