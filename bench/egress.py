"""Egress cost: an HTTPS GET through the egress path (the sandbox's loopback forwarder, the
execution's egress socket, the orchestrator's proxy, the server) against the same GET made
directly from the host, measured in the same run, a new connection (TCP and TLS) each time.

    .venv/bin/python -m bench.egress [--runs 200]

As in production, three processes: the HTTPS server (tests/standins/https_service.py), the
proxy (orchestrator/egress/proxy.py, as the orchestrator runs it), and the client with the
forwarder in one process, as the agent and sandbox_runner/inside/egress.py share one. The two
paths alternate, so drift on the machine touches both alike. The goal (issue 16): the egress
path's p50 at most 1.5x the direct p50 plus 5 ms.
"""

from __future__ import annotations

import argparse
import asyncio
import http.client
import multiprocessing
import socket
import ssl
import tempfile
import time
from pathlib import Path

from bench.common import Row, emit, percentile, summary
from corral.hosts import parse_rules
from orchestrator.config import EgressLimits
from orchestrator.egress.addresses import policy_from
from orchestrator.egress.proxy import EgressGate
from sandbox_runner.inside.egress import LoopbackForwarder
from tests.standins.https_service import HttpsService

HOST = "prices.test"
PATH = "/prices/current/coingecko:ethereum"


def _serve_https(folder: str, ready: multiprocessing.Queue) -> None:
    with HttpsService(Path(folder), [HOST]) as service:
        ready.put(service.port)
        while True:
            time.sleep(3600)


def _serve_proxy(socket_path: str, port: int, ready: multiprocessing.Queue) -> None:
    async def serve() -> None:
        limits = EgressLimits(max_connections=10_000, max_concurrent=8, connections_per_second=10_000)
        gate = EgressGate(parse_rules([f"{HOST}:{port}"], "allow"), limits, policy_from(["127.0.0.1/32"], {HOST: ["127.0.0.1"]}))
        await gate.start(Path(socket_path))
        ready.put(socket_path)
        await asyncio.Event().wait()

    asyncio.run(serve())


def get(context: ssl.SSLContext, port: int, proxy_port: int | None) -> float:
    """Seconds for one GET on a new connection: directly, or through a CONNECT tunnel."""
    start = time.perf_counter()
    sock = socket.create_connection(("127.0.0.1", proxy_port or port), timeout=10)
    try:
        if proxy_port is not None:
            sock.sendall(f"CONNECT {HOST}:{port} HTTP/1.1\r\nHost: {HOST}:{port}\r\n\r\n".encode())
            reply = b""
            while not reply.endswith(b"\r\n\r\n"):
                reply += sock.recv(1)
            if not reply.startswith(b"HTTP/1.1 200"):
                raise RuntimeError(f"the proxy refused the tunnel: {reply!r}")
        with context.wrap_socket(sock, server_hostname=HOST) as tls:
            tls.sendall(f"GET {PATH} HTTP/1.1\r\nHost: {HOST}\r\nConnection: close\r\n\r\n".encode())
            response = http.client.HTTPResponse(tls)
            response.begin()
            body = response.read()
            if response.status != 200 or b"price" not in body:
                raise RuntimeError(f"unexpected answer {response.status}: {body[:200]!r}")
    finally:
        sock.close()
    return time.perf_counter() - start


def main() -> None:
    parser = argparse.ArgumentParser()
    parser.add_argument("--runs", type=int, default=200)
    args = parser.parse_args()
    processes = multiprocessing.get_context("spawn")
    ready = processes.Queue()
    with tempfile.TemporaryDirectory() as tmp:
        server = processes.Process(target=_serve_https, args=(tmp, ready), daemon=True)
        server.start()
        port = ready.get(timeout=60)
        proxy = processes.Process(target=_serve_proxy, args=(f"{tmp}/egress.sock", port, ready), daemon=True)
        proxy.start()
        forwarder_port = LoopbackForwarder(ready.get(timeout=60)).start()
        context = ssl.create_default_context(cafile=f"{tmp}/ca.pem")
        try:
            for _ in range(10):  # warm both paths (imports, the proxy's first resolution)
                get(context, port, None)
                get(context, port, forwarder_port)
            direct, egress = [], []
            for _ in range(args.runs):
                direct.append(get(context, port, None))
                egress.append(get(context, port, forwarder_port))
        finally:
            proxy.terminate()
            server.terminate()
    baseline = percentile(direct, 50)
    print(f"HTTPS GET, new connection each time, {args.runs} runs each, alternating")
    print(summary("direct from the host", direct))
    print(summary("forwarder -> egress.sock -> proxy -> server", egress, baseline))
    goal = 1.5 * baseline + 0.005
    added = (percentile(egress, 50) - baseline) * 1000
    verdict = "met" if percentile(egress, 50) <= goal else "NOT met"
    print(f"added by the egress path at p50: {added:.1f} ms; goal p50 <= 1.5x + 5 ms = {goal * 1000:.1f} ms: {verdict}")
    emit(Row("egress: HTTPS GET through the execution's proxy, p50", f"{percentile(egress, 50) * 1000:.1f} ms (+{added:.1f} ms)",
             f"direct: {baseline * 1000:.1f} ms", percentile(egress, 50) / baseline, "≤ 1.5x + 5 ms"))


if __name__ == "__main__":
    main()
