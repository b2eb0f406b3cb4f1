"""The frontend API served in this process on SQLite, built as the orchestrator builds it
(orchestrator.api.serving), with stand-ins for what lies behind it: a signer holding one
wallet, a chain with a large balance, sandboxes that never start and images that do not
exist. For tests of the API's own boundary: what it accepts, refuses, and how it answers.

Seeded: one agent (id 1, the manifest below) and a running session of it (id 1), so the
session RPCs reach real rows."""

from __future__ import annotations

import asyncio
from collections.abc import Iterator
from contextlib import contextmanager
from dataclasses import dataclass
from pathlib import Path

import grpc
from sqlalchemy import inspect, select, text

from corral.v1 import orchestrator_pb2_grpc
from orchestrator.actions.suggestions import Suggestions
from orchestrator.api.service import OrchestratorApi
from orchestrator.api.serving import api_server
from orchestrator.app.api_guard import ApiGuard, ApiGuardInterceptor
from orchestrator.sessions.kill_switch import KillSwitch
from orchestrator.sessions.lifecycle import Sessions
from orchestrator.store import AgentRow, Database, SessionRow, utcnow
from tests.helpers import Loop

WALLET = "0x" + "22" * 20
NETWORK = "ethereum:31337"
NATIVE = "0x" + "ee" * 20
MANIFEST = f"""
name = "fuzzed"
tagline = "Fuzzed by the API tests"
walletType = "ethereum"
allowedExecutionModes = ["auto", "manual"]
runtimeIntervalMinutes = 1
version = "0.1.0"

[startingAsset]
network = "{NETWORK}"
address = "{NATIVE}"
minimumAmount = "1000"

[settings.note]
type = "text"
default = "hello"

[settings.count]
type = "integer"
default = 3
"""


class StandInSigner:
    async def wallets(self) -> dict[str, str]:
        return {WALLET: "ethereum"}

    async def halt_signing(self, reason: str) -> None:
        return None

    async def resume_signing(self):
        return type("Resumed", (), {"halted_by_owner": False})()


class StandInChain:
    wallet_type = "ethereum"
    native_asset = NATIVE

    async def balance(self, address: str) -> int:
        return 10**30

    async def token_balance(self, asset: str, address: str) -> int:
        return 10**30


class NoSandboxes:
    """The runner the kill switch stops, and the backend RegisterAgent asks: nothing runs, no
    image exists."""

    async def kill_running(self, reason: str) -> int:
        return 0

    def lift_halt(self) -> None:
        return None

    def inspect_image(self, image: str):
        raise LookupError(f"no image {image[:40]!r} in the Docker engine")


@dataclass
class InProcessApi:
    db: Database
    channel: grpc.aio.Channel
    stub: orchestrator_pb2_grpc.OrchestratorServiceStub
    loop: Loop
    signer: StandInSigner
    servicer: OrchestratorApi

    def call(self, method: str, request, timeout: float = 10, key: str | None = None):
        """(status code, details, reply) of one call, with API key `key`; the reply is None when refused."""
        metadata = (("authorization", f"Bearer {key}"),) if key else None

        async def once():
            try:
                reply = await getattr(self.stub, method)(request, timeout=timeout, metadata=metadata)
                return grpc.StatusCode.OK, "", reply
            except grpc.aio.AioRpcError as error:
                return error.code(), error.details() or "", None

        return self.loop.run(once())

    def call_raw(self, method: str, raw: bytes, streaming: bool = False, timeout: float = 10,
                 key: str | None = None) -> tuple[grpc.StatusCode, str]:
        """Sends `raw` as the request's bytes."""
        metadata = (("authorization", f"Bearer {key}"),) if key else None

        async def once():
            path = f"/corral.v1.OrchestratorService/{method}"
            kind = self.channel.unary_stream if streaming else self.channel.unary_unary
            call = kind(path, request_serializer=lambda b: b, response_deserializer=lambda b: b)
            try:
                if streaming:
                    await call(raw, timeout=timeout, metadata=metadata).read()
                else:
                    await call(raw, timeout=timeout, metadata=metadata)
                return grpc.StatusCode.OK, ""
            except grpc.aio.AioRpcError as error:
                return error.code(), error.details() or ""

        return self.loop.run(once())

    def rerun_session(self) -> None:
        """Session 1 running again (a call before may have stopped or paused it)."""
        with self.db.session() as s:
            row = s.get(SessionRow, 1)
            row.status, row.stopped_at, row.status_reason = "running", None, ""
            s.commit()

    def dump(self) -> dict[str, list[tuple]]:
        """Every table's rows, to compare before and after a call."""
        with self.db.session() as s:
            tables = inspect(s.get_bind()).get_table_names()
            return {table: sorted(map(tuple, s.execute(text(f'SELECT * FROM "{table}"')).all()), key=repr) for table in tables}


def seed(db: Database) -> None:
    with db.session() as s:
        if s.scalar(select(AgentRow).where(AgentRow.id == 1)) is None:
            s.add(AgentRow(id=1, name="fuzzed", version="0.1.0", image="fuzzed:1", image_id="sha256:f", wallet_type="ethereum",
                           manifest_toml=MANIFEST, registered_at=utcnow()))
            s.add(SessionRow(id=1, agent_id=1, wallet_address=WALLET, status="running", execution_mode="auto", settings={},
                             allocation_network=NETWORK, allocation_asset=NATIVE, allocation_amount="1000", created_at=utcnow()))
            s.commit()


@contextmanager
def serving(tmp_path: Path, secrets_key: bool = True, api_keys: bool = False) -> Iterator[InProcessApi]:
    """`api_keys`: callers need a key of store.principals.add (else every caller is LOCAL)."""
    db = Database(f"sqlite:///{tmp_path / 'api.db'}")
    seed(db)
    signer, nothing = StandInSigner(), NoSandboxes()
    chains = {NETWORK: StandInChain()}
    key_file = None
    if secrets_key:
        key_file = tmp_path / "secrets.key"
        key_file.write_bytes(bytes(range(32)))
        key_file.chmod(0o600)
    api = OrchestratorApi(db, nothing, Sessions(db, signer, chains), Suggestions(db, None), signer, chains,  # type: ignore[arg-type]
                          KillSwitch(db, signer, nothing), key_file)  # type: ignore[arg-type]
    loop = Loop()
    server, channel = loop.run(_start(api, ApiGuard(None, None, db if api_keys else None)))
    try:
        yield InProcessApi(db, channel, orchestrator_pb2_grpc.OrchestratorServiceStub(channel), loop, signer, api)
    finally:
        loop.run(channel.close())
        loop.run(server.stop(None))
        loop.loop.call_soon_threadsafe(loop.loop.stop)
        db.engine.dispose()


async def _start(api: OrchestratorApi, guard: ApiGuard) -> tuple[grpc.aio.Server, grpc.aio.Channel]:
    """The server listening on a free port, and a channel to it (on the loop that serves)."""
    server, _health = api_server(api, ApiGuardInterceptor(guard))
    port = server.add_insecure_port("127.0.0.1:0")
    await server.start()
    # The client's own limits stay gRPC's defaults: what a generic client would have.
    channel = grpc.aio.insecure_channel(f"127.0.0.1:{port}")
    await asyncio.wait_for(channel.channel_ready(), 10)
    return server, channel
