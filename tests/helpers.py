"""Small helpers shared by the tests."""

from __future__ import annotations

import asyncio
import functools
import json
import shutil
import threading
import time
from pathlib import Path

from eth_utils import to_checksum_address
from opentelemetry import trace
from opentelemetry.sdk.trace import TracerProvider
from opentelemetry.sdk.trace.export import SimpleSpanProcessor
from opentelemetry.sdk.trace.export.in_memory_span_exporter import InMemorySpanExporter

from corral.v1 import orchestrator_pb2 as pb
from corral_cli.approval import approve_and_wait
from devtools import contracts


def wait_for(predicate, timeout: float = 120.0, interval: float = 0.3, what: str = "condition"):
    """Polls until `predicate()` returns something truthy, and returns it."""
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        value = predicate()
        if value:
            return value
        time.sleep(interval)
    raise AssertionError(f"timed out after {timeout}s waiting for {what}")


def approved_suggestion(stack, suggestion_id: int) -> pb.Suggestion:
    """Approves a suggestion and returns it once executed or failed: ApproveSuggestion returns
    at once with it `approving` (the CLI waits the same way)."""
    suggestion = approve_and_wait(stack.api, suggestion_id)
    assert suggestion.status != pb.SUGGESTION_STATUS_APPROVING, f"suggestion {suggestion_id} still approving"
    return suggestion


def executions(stack, session_id: int) -> list:
    """A session's executions, oldest first."""
    response = stack.api.ListExecutions(pb.ListExecutionsRequest(session_id=session_id, page_size=1000, view=pb.RESOURCE_VIEW_FULL))
    return list(reversed(response.executions))


def finished(stack, session_id: int) -> list:
    return [e for e in executions(stack, session_id) if e.status != pb.EXECUTION_STATUS_RUNNING]


def wait_until_idle(stack, session_id: int) -> None:
    """Until none of the session's executions is still running (e.g. after a pause)."""
    wait_for(lambda: all(e.status != pb.EXECUTION_STATUS_RUNNING for e in executions(stack, session_id)),
             what=f"session {session_id}'s last execution to end")


def agent_from_template(template: Path, folder: Path, **fields) -> Path:
    """An agent directory from `template`, its circuit.toml filled in from
    circuit.toml.template (for values only known at test time, e.g. a token address)."""
    shutil.copytree(template, folder, ignore=shutil.ignore_patterns("*.template"))
    (folder / "circuit.toml").write_text((template / "circuit.toml.template").read_text().format(**fields))
    return folder


def log_lines(execution) -> list[str]:
    return [line.message for line in execution.logs]


def start_session(stack, image: str, wallet: str, settings: dict | None = None, allocation: str | None = None,
                  environment: dict | None = None, record: bool = False):
    agent = stack.api.RegisterAgent(pb.RegisterAgentRequest(image=image)).agent
    request = pb.StartSessionRequest(agent_id=agent.id, wallet_address=wallet, settings=settings or {}, environment=environment or {},
                                     record_executions=record)
    if allocation is not None:
        request.allocation_amount = allocation
    return agent, stack.api.StartSession(request).session


def venuer_results(stack, session_id: int) -> list[dict]:
    """What tests/agents/venuer saw: each call's envelope, in call order, once its run has
    made every call (it keeps them in session memory)."""
    def memory():
        entries = {e.key: e.value for e in stack.api.ListSessionMemory(pb.ListSessionMemoryRequest(session_id=session_id)).entries}
        return entries if "done" in entries else None

    entries = wait_for(memory, what=f"session {session_id}'s agent to make its calls")
    return [json.loads(entries[f"call-{i}"]) for i in range(len(entries) - 1)]


def seed_sessions(db, count: int) -> list:
    """Sessions 1..count in the database, each running with an agent of its own (agent n for
    session n), no chain behind them: for tests of the runtime service's own work."""
    from orchestrator.store import AgentRow, SessionRow, utcnow

    with db.session() as s:
        for n in range(1, count + 1):
            s.add(AgentRow(id=n, name=f"a{n}", version="0.0.1", image="i", image_id=f"i{n}", wallet_type="ethereum",
                           manifest_toml="", registered_at=utcnow()))
            s.add(SessionRow(id=n, agent_id=n, wallet_address="0x" + "22" * 20, status="running", execution_mode="auto", settings={},
                             allocation_network="ethereum:31337", allocation_asset="0x" + "ee" * 20, allocation_amount="0",
                             created_at=utcnow()))
        s.commit()
        return [s.get(SessionRow, n) for n in range(1, count + 1)]


# gRPC shares connections between a process's channels to one target: a channel to a socket
# path that a stopped server had used could pick up that server's closed connection ("Stream
# removed (sendmsg: Broken pipe)", seen in CI when a test started one server after another).
OWN_CONNECTION = [("grpc.use_local_subchannel_pool", 1)]


def with_runtime(socket_path: Path, ticket, db, body):
    """Returns `await body(stub)`, the stub calling a real runtime server for `ticket` (no
    gateway) over a Unix socket with the execution's token."""
    import grpc

    from corral.v1 import runtime_pb2_grpc
    from orchestrator.executions.runtime_service import start_runtime_server

    async def scenario():
        server = await start_runtime_server(str(socket_path), ticket, db, gateway=None)
        try:
            async with grpc.aio.insecure_channel(f"unix:{socket_path}", options=OWN_CONNECTION) as channel:
                return await body(_WithToken(runtime_pb2_grpc.AgentRuntimeStub(channel), ticket.token))
        finally:
            await server.stop(None)

    return asyncio.run(scenario())


class _WithToken:
    """A runtime stub whose calls carry the execution's token."""

    def __init__(self, stub, token: str) -> None:
        self._stub, self._metadata = stub, (("authorization", f"Bearer {token}"),)

    def __getattr__(self, method: str):
        return functools.partial(getattr(self._stub, method), metadata=self._metadata)


def refused_runtime_call(socket_path: Path, ticket, db, gateway, method: str, request):
    """Calls `method` on a real runtime server for `ticket` over a Unix socket and returns the
    refusal (AssertionError if the call succeeded)."""
    import asyncio

    import grpc

    from corral.v1 import runtime_pb2_grpc
    from orchestrator.executions.runtime_service import start_runtime_server

    async def scenario():
        server = await start_runtime_server(str(socket_path), ticket, db, gateway)
        try:
            async with grpc.aio.insecure_channel(f"unix:{socket_path}", options=OWN_CONNECTION) as channel:
                try:
                    await getattr(runtime_pb2_grpc.AgentRuntimeStub(channel), method)(
                        request, metadata=(("authorization", f"Bearer {ticket.token}"),))
                except grpc.aio.AioRpcError as refused:
                    return refused
                raise AssertionError(f"{method} was not refused")
        finally:
            await server.stop(None)

    return asyncio.run(scenario())


class SwapMarket:
    """Two test tokens (a 6-decimal stable and an 18-decimal token) in a Uniswap-V2 pool on the
    stack's anvil, with liquidity."""

    def __init__(self, stack) -> None:
        w3, owner = stack.web3, stack.web3.eth.accounts[0]
        self.stable = contracts.deploy(w3, "TestToken", "Test USD", "TUSD", 6)
        self.token = contracts.deploy(w3, "TestToken", "Test Token", "TKN", 18)
        self.erc20 = {a: contracts.at(w3, "TestToken", a) for a in (self.stable, self.token)}
        router = contracts.at(w3, "UniswapV2Router02", stack.uniswap_router)
        for address, amount in ((self.stable, 10_000_000_000), (self.token, 10**24)):
            self.erc20[address].functions.mint(owner, amount).transact({"from": owner})
            self.erc20[address].functions.approve(router.address, amount).transact({"from": owner})
        router.functions.addLiquidity(self.stable, self.token, 10_000_000_000, 10**24).transact({"from": owner})

    def balance(self, token: str, holder: str) -> int:
        return self.erc20[token].functions.balanceOf(to_checksum_address(holder)).call()


class Loop:
    """An asyncio loop in a thread of its own, for driving async code from a synchronous test."""

    def __init__(self) -> None:
        self.loop = asyncio.new_event_loop()
        self.thread = threading.Thread(target=self.loop.run_forever, daemon=True)
        self.thread.start()

    def run(self, coroutine):
        return asyncio.run_coroutine_threadsafe(coroutine, self.loop).result(30)


def run_entrypoint(monkeypatch, agent_dir: Path, runtime) -> int:
    """The in-container entrypoint's `main`, in this process, on `runtime` (an
    sdk.testing.MockRuntime standing in for the execution's socket), the agent in `agent_dir`."""
    import sys

    from sandbox_runner.inside import entrypoint

    monkeypatch.setattr(entrypoint, "RuntimeTransport", lambda *_: runtime)
    monkeypatch.setattr(entrypoint, "AGENT_DIR", str(agent_dir))
    monkeypatch.setattr(sys, "path", list(sys.path))
    monkeypatch.delitem(sys.modules, "main", raising=False)
    try:
        return entrypoint.main(["entrypoint"])
    finally:
        sys.modules.pop("main", None)


def recorded_spans() -> InMemorySpanExporter:
    """Spans this test process ends from now on, kept in memory (a tracer provider installed
    once per process: OpenTelemetry allows one)."""
    provider = trace.get_tracer_provider()
    if not isinstance(provider, TracerProvider):  # this test process's first: install one
        provider = TracerProvider()
        trace.set_tracer_provider(provider)
    exporter = InMemorySpanExporter()
    provider.add_span_processor(SimpleSpanProcessor(exporter))
    return exporter
