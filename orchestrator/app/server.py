"""The orchestrator process: the frontend API on TCP (with health and reflection), the
scheduler, and the pieces they share."""

from __future__ import annotations

import asyncio
import hmac
import logging
import signal

import grpc
from grpc_health.v1 import health, health_pb2, health_pb2_grpc
from grpc_reflection.v1alpha import reflection

from corral.v1 import orchestrator_pb2, orchestrator_pb2_grpc
from orchestrator.actions.breakers import SignerRefusals
from orchestrator.actions.gateway import ActionGateway
from orchestrator.actions.signer_client import SignerClient
from orchestrator.actions.swaps.service import Swaps
from orchestrator.actions.swaps.uniswap_v2 import UniswapV2Engine
from orchestrator.actions.transactions import EvmSender, SolanaSender, TransactionSender
from orchestrator.actions.venues.hypercore import HypercoreAccount
from orchestrator.actions.venues.hyperliquid import HyperliquidVenue
from orchestrator.actions.venues.polymarket import PolymarketVenue
from orchestrator.actions.venues.service import Venues
from orchestrator.api.service import OrchestratorApi
from orchestrator.chains import Chain
from orchestrator.chains.evm import EvmChain
from orchestrator.chains.solana import SolanaChain
from orchestrator.config import OrchestratorConfig
from orchestrator.errors import refusing_handler
from orchestrator.executions.runner import ExecutionRunner
from orchestrator.sessions.kill_switch import KillSwitch
from orchestrator.sessions.lifecycle import Sessions
from orchestrator.sessions.reconcile import Reconciler
from orchestrator.sessions.recovery import Recovery
from orchestrator.sessions.replicas import Replicas
from orchestrator.sessions.scheduler import Scheduler
from orchestrator.store import Database, changes
from orchestrator.store.audit_heads import AuditHeads
from orchestrator.store.events import EventFeed
from orchestrator.store.retention import Retention
from orchestrator.wire_errors import WireErrorsAsInvalidArgument
from sandbox_runner.host.backend import SandboxBackend
from sandbox_runner.host.socket_dirs import LocalSocketDirs, SocketDirs

log = logging.getLogger("corral.orchestrator")

SERVICE_NAME = orchestrator_pb2.DESCRIPTOR.services_by_name["OrchestratorService"].full_name
# Generic clients may discover the server and check its health without a token.
OPEN_METHOD_PREFIXES = ("/grpc.health.v1.Health/", "/grpc.reflection.")


RESUME_METHOD = f"/{SERVICE_NAME}/ResumePlatform"


class ApiTokenInterceptor(grpc.aio.ServerInterceptor):
    """Checks `authorization: Bearer <token>` on every call but health and reflection.
    ResumePlatform takes the resume credential and nothing else: the API token that runs
    sessions cannot lift an operator's halt, and the resume token can do nothing else."""

    def __init__(self, token: str | None, resume_token: str | None) -> None:
        self._expected = f"Bearer {token}".encode() if token else None
        self._resume = f"Bearer {resume_token}".encode() if resume_token else None

    async def intercept_service(self, continuation, handler_call_details):
        method = handler_call_details.method
        if method.startswith(OPEN_METHOD_PREFIXES):
            return await continuation(handler_call_details)
        supplied = dict(handler_call_details.invocation_metadata or ()).get("authorization", "").encode()
        if method == RESUME_METHOD:
            if self._resume is None and self._expected is None:
                return await continuation(handler_call_details)  # a local, unguarded API
            if self._resume is None:
                return refusing_handler(grpc.StatusCode.PERMISSION_DENIED, (
                    "lifting a platform halt needs the resume credential, which is not the API token: "
                    "set resume_token_file in the orchestrator's config and send that token"))
            if hmac.compare_digest(supplied, self._resume):
                return await continuation(handler_call_details)
            return refusing_handler(grpc.StatusCode.PERMISSION_DENIED, (
                "ResumePlatform needs the resume credential (authorization: Bearer <resume token>), "
                "not the API token; with the CLI: corral resume --resume-token-file FILE"))
        if self._expected is None or hmac.compare_digest(supplied, self._expected):
            return await continuation(handler_call_details)
        return refusing_handler(grpc.StatusCode.UNAUTHENTICATED, "missing or wrong API token (authorization: Bearer <token>)")


def make_backend(config: OrchestratorConfig) -> tuple[SandboxBackend, SocketDirs]:
    """Where sandboxes come from: the launcher when one is configured (this process then
    holds no privilege), otherwise a backend in this process."""
    if config.sandbox.launcher_socket is not None:
        from sandbox_runner.host.launcher_client import LauncherClient

        launcher = LauncherClient(config.sandbox.launcher_socket)
        return launcher, launcher
    dirs = LocalSocketDirs(config.socket_root)
    if config.sandbox.backend == "bubblewrap":
        from sandbox_runner.host.bwrap_backend import BubblewrapBackend

        return BubblewrapBackend(state_dir=config.socket_root.resolve().parent / "bwrap-state"), dirs
    from sandbox_runner.host.docker_backend import DockerBackend

    return DockerBackend(runtime=config.sandbox.runtime), dirs


async def serve(config: OrchestratorConfig) -> None:
    db = Database(config.database_url, config.replica_id)
    evm_chains = {network: EvmChain(network, chain) for network, chain in config.chains.items()}
    solana_chain = SolanaChain(config.solana) if config.solana else None
    # Every chain sessions can hold assets on, by network name.
    chains: dict[str, Chain] = {**evm_chains, **({solana_chain.network: solana_chain} if solana_chain else {})}
    signer = SignerClient(config.signer_socket)
    heads = AuditHeads(db)
    signer.record_heads_with(heads.record, heads.write)
    signer.count_refusals_with(SignerRefusals(db, config.breakers.max_signer_refusals_per_hour))
    backend, socket_dirs = make_backend(config)
    sender = TransactionSender(db, EvmSender(db, evm_chains, signer), SolanaSender(db, solana_chain, signer))
    engines = [UniswapV2Engine(evm_chains[network], chain.uniswap_v2_router) for network, chain in config.chains.items() if chain.uniswap_v2_router]
    swaps = Swaps(db, sender, engines, config.swaps.quote_ttl_seconds)
    venues = Venues(
        HyperliquidVenue(config.hyperliquid, signer) if config.hyperliquid else None,
        PolymarketVenue(config.polymarket, signer, sender) if config.polymarket else None,
    )
    if venues.hyperliquid is not None:  # a Hyperliquid account is where such sessions' USDC is
        chains.update({network: HypercoreAccount(network, venues.hyperliquid) for network in ("hypercore:perp", "hypercore:spot")})
    gateway = ActionGateway(db, sender, signer, swaps, venues)
    suggestions = gateway.suggestions
    runner = ExecutionRunner(config, db, backend, gateway, socket_dirs)
    kill_switch = KillSwitch(db, signer, runner)
    signer.refuse_while(kill_switch.refusal)
    recovery = Recovery(db, runner, sender, suggestions, config.scheduler.minute_seconds)
    scheduler = Scheduler(db, runner, kill_switch, recovery, config.scheduler)
    replicas = Replicas(db, config.scheduler.lease_seconds)
    replicas.join()
    # What this replica left unfinished before it (re)started.
    recovery.close_interrupted_work(replicas.me)
    removed = await asyncio.to_thread(runner.remove_orphans)
    if removed:
        log.info("removed %d orphaned sandboxes and socket directories", removed)

    token, resume_token = config.api_token(), config.resume_token()
    guards = [ApiTokenInterceptor(token, resume_token)] if token or resume_token else []
    server = grpc.aio.server(interceptors=[*guards, WireErrorsAsInvalidArgument()])
    # Commits wake the scheduler and the event feed (here, and from other replicas on PostgreSQL).
    changes.hub(db.engine).start()
    feed = EventFeed(db, config.scheduler.recheck_seconds)
    orchestrator_pb2_grpc.add_OrchestratorServiceServicer_to_server(
        OrchestratorApi(db, backend, Sessions(db, signer, chains, config.scheduler.minute_seconds, config.egress.ceiling), suggestions, signer, chains, kill_switch,
                        config.egress.secrets_key_file, feed=feed),
        server
    )
    health_servicer = health.aio.HealthServicer()
    health_pb2_grpc.add_HealthServicer_to_server(health_servicer, server)
    reflection.enable_server_reflection([SERVICE_NAME, health.SERVICE_NAME, reflection.SERVICE_NAME], server)
    credentials = config.server_credentials()
    port = server.add_secure_port(config.listen, credentials) if credentials else server.add_insecure_port(config.listen)
    if port == 0:
        raise RuntimeError(f"could not listen on {config.listen}")
    await server.start()
    for name in ("", SERVICE_NAME):
        await health_servicer.set(name, health_pb2.HealthCheckResponse.SERVING)
    print(f"orchestrator listening on {config.listen}", flush=True)

    resuming = asyncio.create_task(recovery.resume_signed_transactions(replicas.me))
    membership = asyncio.create_task(_every_async(config.scheduler.lease_seconds / 3, _membership(replicas, recovery), name="membership"))
    scheduling = asyncio.create_task(scheduler.run_forever())
    feeding = asyncio.create_task(feed.run_forever())
    retention = Retention(db, config.retention.events_days, config.retention.execution_logs_days, config.retention.batch_rows)
    pruning = asyncio.create_task(_every(config.retention.interval_seconds, retention.prune))
    reaping = asyncio.create_task(_every(config.sandbox.reap_interval_seconds, runner.remove_orphans))
    reconciling = asyncio.create_task(_every_async(config.reconciliation.interval_seconds, Reconciler(db, chains, config.reconciliation).run_once))
    stop = asyncio.Event()
    loop = asyncio.get_running_loop()
    for sig in (signal.SIGTERM, signal.SIGINT):
        loop.add_signal_handler(sig, stop.set)
    await stop.wait()
    scheduling.cancel()
    feeding.cancel()
    pruning.cancel()
    resuming.cancel()
    membership.cancel()
    reaping.cancel()
    reconciling.cancel()
    await runner.stop_sandboxes()
    await scheduler.shutdown()
    # Wait for every sandbox start or wait still in a thread, then sweep what they left.
    await asyncio.get_running_loop().shutdown_default_executor()
    removed = runner.remove_everything_owned()
    log.info("shut down: %d sandboxes removed", removed)
    await server.stop(grace=2)
    await changes.hub(db.engine).stop()
    await venues.close()
    for chain in evm_chains.values():
        await chain.close()
    await signer.close()


async def _every(seconds: float, work) -> None:
    """Runs blocking `work` in a thread every `seconds`, logging (not raising) failures."""

    async def in_a_thread():
        await asyncio.to_thread(work)

    await _every_async(seconds, in_a_thread, name=getattr(work, "__name__", str(work)))


def _membership(replicas: Replicas, recovery: Recovery):
    """This replica's heartbeat, and the recovery of any replica that went silent."""

    async def beat() -> None:
        replicas.heartbeat()
        for dead in replicas.claim_dead():
            log.warning("replica %s stopped answering; recovering its work", dead)
            await recovery.recover_replica(dead)

    return beat


async def _every_async(seconds: float, work, name: str | None = None) -> None:
    """Awaits `work()` every `seconds`, logging (not raising) failures."""
    while True:
        await asyncio.sleep(seconds)
        try:
            await work()
        except Exception:
            log.exception("periodic %s failed", name or getattr(work, "__name__", work))
