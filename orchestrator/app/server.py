"""The orchestrator process: the frontend API on TCP (with health and reflection), the
scheduler, and the pieces they share."""

from __future__ import annotations

import asyncio
import logging
import signal
import socket
from datetime import timedelta
from functools import partial

from grpc_health.v1 import health_pb2

from orchestrator.actions.backtests import Backtests
from orchestrator.actions.breakers import SignerRefusals
from orchestrator.actions.gateway import ActionGateway
from orchestrator.actions.signer_client import SignerClient
from orchestrator.actions.swaps.service import Swaps
from orchestrator.actions.swaps.uniswap_v2 import UniswapV2Engine
from orchestrator.actions.transactions import EvmSender, SolanaSender, TransactionSender
from orchestrator.actions.venues.hypercore import HypercoreAccount
from orchestrator.actions.venues.hyperliquid import HyperliquidVenue
from orchestrator.actions.venues.market_data import HyperliquidRecorder, MarketData
from orchestrator.actions.venues.polymarket import PolymarketVenue
from orchestrator.actions.venues.service import Venues
from orchestrator.api.service import OrchestratorApi
from orchestrator.api.serving import api_server
from orchestrator.app.api_guard import SERVICE_NAME, ApiGuard, ApiGuardInterceptor
from orchestrator.app.browser_server import BrowserServer
from orchestrator.app.metrics_server import MetricsServer
from orchestrator.chains import Chain
from orchestrator.chains.evm import EvmChain
from orchestrator.chains.paper_forks import PaperForks, default_state_dir
from orchestrator.chains.solana import SolanaChain
from orchestrator.config import OrchestratorConfig
from orchestrator.executions.runner import ExecutionRunner
from orchestrator.notifications.delivery import DeliveryWorker, follow, settled_horizon
from orchestrator.sessions.kill_switch import KillSwitch
from orchestrator.sessions.lifecycle import Sessions
from orchestrator.sessions.paper import SWEEP_SECONDS, WALLETS_SWEEP_SECONDS, PaperSupervisor, StoppedPaperWallets
from orchestrator.sessions.prices import PriceBook
from orchestrator.sessions.reconcile import Reconciler
from orchestrator.sessions.recovery import Recovery
from orchestrator.sessions.replicas import Replicas
from orchestrator.sessions.scheduler import Scheduler
from orchestrator.store import Database, changes
from orchestrator.store.audit_heads import AuditHeads
from orchestrator.store.events import EventFeed
from orchestrator.store.retention import Retention
from orchestrator.tracing import start_tracing, use_json_logs
from sandbox_runner.host.backend import SandboxBackend
from sandbox_runner.host.socket_dirs import LocalSocketDirs, SocketDirs

log = logging.getLogger("corral.orchestrator")

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
    if config.telemetry.log_format == "json":
        use_json_logs()
    # Before any gRPC server or channel is made (the instrumentation wraps their constructors).
    stop_tracing = start_tracing(config.telemetry.otlp_endpoint, config.replica_id or socket.gethostname())
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
    market_data = MarketData(db, max_age=timedelta(seconds=config.market_data.max_age_seconds),
                             min_interval=timedelta(seconds=config.market_data.every_seconds / 2))
    venues = Venues(
        HyperliquidVenue(config.hyperliquid, signer) if config.hyperliquid else None,
        PolymarketVenue(config.polymarket, signer, sender) if config.polymarket else None,
        paper_db=db, paper_chains=evm_chains, market_data=market_data,
    )
    if venues.hyperliquid is not None:  # a Hyperliquid account is where such sessions' USDC is
        chains.update({network: HypercoreAccount(network, venues.hyperliquid) for network in ("hypercore:perp", "hypercore:spot")})
    gateway = ActionGateway(db, sender, signer, swaps, venues)
    suggestions = gateway.suggestions
    runner = ExecutionRunner(config, db, backend, gateway, socket_dirs, Backtests(db, evm_chains, swaps, venues.paper_hyperliquid))
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
    guard = ApiGuard(token, resume_token, db if config.api_keys else None)
    # Commits wake the scheduler and the event feed (here, and from other replicas on PostgreSQL).
    changes.hub(db.engine).start()
    feed = EventFeed(db, config.scheduler.recheck_seconds)
    paper_forks = PaperForks(config.paper, config.paper.state_dir or default_state_dir(config.socket_root))
    sessions = Sessions(db, signer, chains, config.scheduler.minute_seconds, config.egress.ceiling, paper_forks, market_data)
    api = OrchestratorApi(db, backend, sessions, suggestions, signer,
                          chains, kill_switch, config.egress.secrets_key_file, feed=feed, prices=PriceBook(config.prices),
                          market_data=market_data)
    server, health_servicer = api_server(api, ApiGuardInterceptor(guard))
    credentials = config.server_credentials()
    port = server.add_secure_port(config.listen, credentials) if credentials else server.add_insecure_port(config.listen)
    if port == 0:
        raise RuntimeError(f"could not listen on {config.listen}")
    await server.start()
    for name in ("", SERVICE_NAME):
        await health_servicer.set(name, health_pb2.HealthCheckResponse.SERVING)
    print(f"orchestrator listening on {config.listen}", flush=True)
    # The same API, for browsers (Connect and gRPC-Web), when `[browser] listen` is set.
    browser = await BrowserServer.start(config, api, guard) if config.browser.listen else None
    # Prometheus's /metrics, when `[telemetry] metrics_listen` is set.
    metrics = await MetricsServer.start(config, signer) if config.telemetry.metrics_listen else None

    # Paper sessions' forks first (after a restart, from their saved state): the scheduler and
    # the recovery of their signed transactions reach for them at once.
    paper_supervisor = PaperSupervisor(db, paper_forks, chains)
    try:
        await paper_supervisor.sweep()
    except Exception:
        log.exception("paper forks could not all be started again; the sweep tries again every %ss", SWEEP_SECONDS)
    resuming = asyncio.create_task(recovery.resume_signed_transactions(replicas.me))
    membership = asyncio.create_task(_every_async(config.scheduler.lease_seconds / 3, _membership(replicas, recovery), name="membership"))
    scheduling = asyncio.create_task(scheduler.run_forever())
    feeding = asyncio.create_task(feed.run_forever())
    notifier = DeliveryWorker(db, config.notifications, config.egress.secrets_key_file, settled_through=lambda: settled_horizon(feed))
    notifying = asyncio.create_task(notifier.run_forever(), name="notifications")
    following = asyncio.create_task(follow(feed, notifier), name="notifications' wake-ups")
    retention = Retention(db, config.retention.events_days, config.retention.execution_logs_days, config.retention.batch_rows,
                          config.retention.recordings_days, config.retention.market_data_days)
    pruning = asyncio.create_task(_every(config.retention.interval_seconds, retention.prune))
    reaping = asyncio.create_task(_every(config.sandbox.reap_interval_seconds, runner.remove_orphans))
    expiry_lead = timedelta(seconds=config.notifications.expiring_lead_seconds)
    sweeping = asyncio.create_task(_every(config.notifications.expiry_sweep_seconds, partial(suggestions.sweep, expiry_lead)))
    reconciling = asyncio.create_task(_every_async(config.reconciliation.interval_seconds, Reconciler(db, chains, config.reconciliation).run_once))
    supervising_forks = asyncio.create_task(_every_async(SWEEP_SECONDS, paper_supervisor.sweep, name="paper forks"))
    removing_paper_wallets = asyncio.create_task(_every_async(WALLETS_SWEEP_SECONDS, StoppedPaperWallets(db, signer).sweep,
                                                              name="paper wallets"))
    recording_markets = None
    if venues.hyperliquid is not None and config.market_data.hyperliquid_coins:
        recorder = HyperliquidRecorder(market_data, venues.hyperliquid, config.market_data.hyperliquid_coins)
        recording_markets = asyncio.create_task(_every_async(config.market_data.every_seconds, recorder.sample, name="market data"))
    stop = asyncio.Event()
    loop = asyncio.get_running_loop()
    for sig in (signal.SIGTERM, signal.SIGINT):
        loop.add_signal_handler(sig, stop.set)
    await stop.wait()
    api.close_streams()  # open event streams end UNAVAILABLE (reconnect and resume), on both ports
    scheduling.cancel()
    feeding.cancel()
    notifying.cancel()
    following.cancel()
    await notifier.stop()
    pruning.cancel()
    resuming.cancel()
    membership.cancel()
    reaping.cancel()
    sweeping.cancel()
    reconciling.cancel()
    supervising_forks.cancel()
    removing_paper_wallets.cancel()
    if recording_markets is not None:
        recording_markets.cancel()
    # Approvals executing finish (or are cut and left for recovery) while the signer and chains are open.
    await suggestions.drain()
    await api.request_ids.drain()
    await runner.stop_sandboxes()
    await scheduler.shutdown()
    # Wait for every sandbox start or wait still in a thread, then sweep what they left.
    await asyncio.get_running_loop().shutdown_default_executor()
    removed = runner.remove_everything_owned()
    log.info("shut down: %d sandboxes removed", removed)
    if browser is not None:
        await browser.stop()
    if metrics is not None:
        await metrics.stop()
    await server.stop(grace=2)
    await changes.hub(db.engine).stop()
    await venues.close()
    await paper_forks.close()  # after the last execution and approval: anvil writes each fork's state as it ends
    for chain in evm_chains.values():
        await chain.close()
    if solana_chain is not None:
        await solana_chain.close()
    await signer.close()
    if stop_tracing is not None:
        await asyncio.to_thread(stop_tracing)  # sends the spans still batched (an HTTP post: not on the loop)


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
