"""SDK round trips from inside a sandbox, against a raw gRPC ping over the same kind of socket.

    .venv/bin/python -m bench.sdk_roundtrip

The agent of bench/agents/sdk_timer times each kind of call (the execution context,
memory.get, memory.set, positions) 200 times in a row inside a real runc sandbox and logs the
medians. The baseline, in the same run: a container of the same image, CPU quota and socket
kind calling an empty gRPC method (bytes in, bytes out, no handler work) on a `grpc.aio`
server in this process, over a Unix socket in a bind-mounted directory: what any call
costs before the platform does anything, timed before and after the platform's run.
"""

from __future__ import annotations

import asyncio
import os
import subprocess
import tempfile
import time
from pathlib import Path

import grpc

from bench.common import Row, emit
from corral.v1 import orchestrator_pb2 as pb
from devtools.devstack import DevStack
from orchestrator.agents.images import build_agent_image
from orchestrator.config import SandboxConfig

TIMER_AGENT = Path(__file__).resolve().parent / "agents" / "sdk_timer"
PING_CLIENT = """
import time, grpc
channel = grpc.insecure_channel("unix:/s/ping.sock")
ping = channel.unary_unary("/bench.Ping/Ping")
ping(b"x")
times = []
for _ in range(200):
    start = time.perf_counter()
    ping(b"x")
    times.append(time.perf_counter() - start)
print(sorted(times)[100] * 1000)
"""


async def raw_ping_ms(image: str) -> float:
    async def pong(request: bytes, context: grpc.aio.ServicerContext) -> bytes:
        return request

    with tempfile.TemporaryDirectory(prefix="corral-ping-") as tmp:
        os.chmod(tmp, 0o777)  # the container's user connects to the socket
        server = grpc.aio.server()
        server.add_generic_rpc_handlers([grpc.method_handlers_generic_handler("bench.Ping", {"Ping": grpc.unary_unary_rpc_method_handler(pong)})])
        server.add_insecure_port(f"unix:{tmp}/ping.sock")
        await server.start()
        os.chmod(f"{tmp}/ping.sock", 0o777)
        argv = ["docker", "run", "--rm", "--network", "none", f"--cpus={SandboxConfig().cpus}", "-v", f"{tmp}:/s",
                "--entrypoint", "python3", image, "-c", PING_CLIENT]
        done = await asyncio.create_subprocess_exec(*argv, stdout=subprocess.PIPE, stderr=subprocess.PIPE)
        out, err = await done.communicate()
        await server.stop(None)
    if done.returncode != 0:
        raise SystemExit(f"the ping container failed: {err.decode()[-2000:]}")
    return float(out.decode().split()[-1])


def platform_timings(image: str) -> dict[str, float]:
    with tempfile.TemporaryDirectory(prefix="corral-bench-") as home, DevStack(Path(home), minute_seconds=3600) as stack:
        wallet = stack.create_wallet()
        stack.fund(wallet, 10**18)
        agent = stack.api.RegisterAgent(pb.RegisterAgentRequest(image=image)).agent
        session = stack.api.StartSession(pb.StartSessionRequest(agent_id=agent.id, wallet_address=wallet)).session
        while True:
            executions = stack.api.ListExecutions(pb.ListExecutionsRequest(session_id=session.id, view=pb.RESOURCE_VIEW_FULL)).executions
            if executions and executions[0].status != pb.EXECUTION_STATUS_RUNNING:
                break
            time.sleep(0.5)
    execution = executions[0]
    if execution.status != pb.EXECUTION_STATUS_SUCCEEDED or not execution.logs:
        raise SystemExit(f"the timing agent failed: {execution.error} {execution.traceback}")
    return {name: float(ms) for name, ms in (pair.split("=") for pair in execution.logs[-1].message.split())}


def main() -> None:
    image = build_agent_image(TIMER_AGENT)
    # The ping is timed before and after the platform's run and the two averaged: on a shared
    # machine the load drifts within a run, and one ping would carry all of that drift.
    before = asyncio.run(raw_ping_ms(image))
    timings = platform_timings(image)
    after = asyncio.run(raw_ping_ms(image))
    baseline = (before + after) / 2
    print(f"raw gRPC ping from a container over a Unix socket: p50 {baseline:.3f} ms (baseline; {before:.3f} before, {after:.3f} after)")
    for name, ms in timings.items():
        print(f"SDK {name:<12} p50 {ms:.3f} ms  {ms / baseline:.2f}x")
        emit(Row(f"SDK round trip: {name}", f"{ms:.2f} ms", f"raw gRPC ping from a container: {baseline:.2f} ms", ms / baseline, "≤ 1.5x"))


if __name__ == "__main__":
    main()
