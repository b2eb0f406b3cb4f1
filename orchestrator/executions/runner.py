"""One execution, start to finish: a socket, a token, a runtime server, a sandbox, an outcome.

The sandbox sees exactly one thing of the host: a fresh directory holding this
execution's socket. The token is random per execution, so a sandbox holding another
execution's token (or none, or a replayed one) is refused.
"""

from __future__ import annotations

import asyncio
import contextlib
import logging
import os
import secrets
import threading
import uuid
from collections.abc import AsyncIterator, Callable
from dataclasses import dataclass
from datetime import datetime, timedelta
from pathlib import Path

from sqlalchemy.orm import Session

from corral import failpoints
from corral.networks import Network
from corral.v1 import common_pb2
from corral.v1.orchestrator_pb2 import ExecutionRecording
from orchestrator.actions import backtests
from orchestrator.actions.backtests import Backtests
from orchestrator.actions.breakers import Breakers
from orchestrator.actions.gateway import ActionGateway
from orchestrator.actions.positions import session_positions
from orchestrator.agents.manifest import Manifest, parse_manifest
from orchestrator.agents.settings import resolve
from orchestrator.config import OrchestratorConfig, SandboxConfig
from orchestrator.egress import gates as egress_gates
from orchestrator.egress import secret_store
from orchestrator.egress.chain_reads import ForkReads
from orchestrator.egress.proxy import EgressGate
from orchestrator.egress.secrets import BoundSecret
from orchestrator.executions import recording, records
from orchestrator.executions.execution_context import execution_context
from orchestrator.executions.recording import Recorder
from orchestrator.executions.runtime_service import CallBudget, ExecutionTicket, start_runtime_server
from orchestrator.executions.schedule import next_run_after
from orchestrator.executions.shadows import ShadowRuns
from orchestrator.executions.telemetry import backend_label, observe_execution, timed_start
from orchestrator.executions.warm_pool import PooledSandbox, PoolKey, WarmPool
from orchestrator.store import Database, ExecutionRow, SessionRow, changes, utcnow
from orchestrator.store.statuses import ExecutionStatus
from orchestrator.tracing import in_fresh_context, log_fields
from sandbox_runner.host.backend import (
    SANDBOX_ID_LABEL,
    SANDBOX_SOCKET_DIR,
    SOCKET_NAME,
    WAIT_FOR_SOCKET_ENV,
    SandboxBackend,
    SandboxLimits,
    SandboxResult,
    SandboxSpec,
    SandboxStartError,
    StartedSandbox,
)
from sandbox_runner.host.socket_dirs import LocalSocketDirs, SocketDirs, hand_to_sandbox_user

log = logging.getLogger("corral.executions")

COMMANDS = {"run": common_pb2.EXECUTION_COMMAND_RUN, "unwind": common_pb2.EXECUTION_COMMAND_UNWIND}
# Why an execution the orchestrator's own shutdown cut short ended (not the agent's doing, and
# not a crash: recovery's quarantine counts crashes only).
SHUT_DOWN = "the orchestrator shut down while this execution ran; its session runs again at its next interval"
CALLED_OFF = "the session was paused or stopped while this run waited for its due time; the agent did not run"
OWNER_LABEL = "org.corral.owner"
INSTALLATION_LABEL = "org.corral.installation"


class ExecutionRunner:
    def __init__(
        self, config: OrchestratorConfig, db: Database, backend: SandboxBackend, gateway: ActionGateway | None,
        socket_dirs: SocketDirs | None = None, backtests: Backtests | None = None,
    ) -> None:
        """`socket_dirs`: where sandboxes' socket directories are made; default: under
        `config.socket_root`, by this process."""
        self._config = config
        self._db = db
        self._backend = backend
        self._gateway = gateway
        self._backtests = backtests
        self._breakers = Breakers(db)
        self._dirs = socket_dirs or LocalSocketDirs(config.socket_root)
        self._egress = egress_gates.EgressGates(config.egress, config.chain_nodes())
        # This process's identity on the sandboxes it starts, and what it has running.
        self.owner_id = uuid.uuid4().hex
        self.installation_id = db.installation_id()
        self.claimed = ClaimedSandboxes()
        self._running: dict[str, StartedSandbox] = {}
        # The kill switch: why sandboxes were killed (by id), and while it holds, why.
        self._killed: dict[str, str] = {}
        self._halted_because: str | None = None
        self._background: set[asyncio.Task] = set()
        # Per session, the image and limits of its sandboxes (see `execute`).
        self._pool_keys: dict[int, PoolKey] = {}
        self._backend_label = backend_label(config.sandbox)
        self.pool = WarmPool(
            backend,
            size=config.sandbox.warm_pool_size,
            idle_seconds=config.sandbox.warm_pool_idle_seconds,
            make_spec=lambda image, limits, socket_dir, token, idle: self.sandbox_spec(image, limits, socket_dir, token, idle),
            new_socket_dir=self.new_socket_dir,
            release_socket_dir=self.release_socket_dir,
            hand_over=hand_to_sandbox_user,
            # Never more idle per image than could be taken at once.
            ceiling=config.scheduler.max_parallel_executions,
            backend_label=self._backend_label,
        )
        # Shadow runs' sandboxes are this process's too: claimed, labelled and swept as its own.
        self.shadows = ShadowRuns(db, backend, self.limits_for, self.new_socket_dir, self.release_socket_dir,
                                  {OWNER_LABEL: self.owner_id, INSTALLATION_LABEL: self.installation_id}, config.egress.limits)

    def limits_for(self, manifest: Manifest) -> SandboxLimits:
        return sandbox_limits(self._config.sandbox, manifest)

    async def execute(self, session_id: int, command: str = "run", due_at: datetime | None = None) -> int | None:
        """Runs one execution of the session and records its outcome; returns its id, or
        None when the session is no longer in a state to run it (stopped meanwhile).
        `due_at`: not before then (the scheduler claims a session a moment ahead of its due
        time): everything up to the hand-over is done meanwhile, and the sandbox is handed
        its execution at that time.

        Between the due session and the sandbox being handed its execution there is one trip
        to a database thread and one commit (`_begin`): the pre-started sandbox is taken
        first, by the image and limits of the session's previous run here (an agent's image
        and manifest never change), and given back if the session is not to run after all."""
        key = self._pool_keys.get(session_id) if self.pool.enabled else None
        if self.pool.enabled and key is None:  # its first run here: which sandbox it needs is read first
            session = await self._db.run(lambda db: self._runnable(db, session_id, command))
            if session is None:
                return None
            key = self._pool_key(session)
            if key is not None:
                self._pool_keys[session_id] = key
        pooled = self.pool.take(*key) if key is not None else None
        try:
            sandbox_id = pooled.started.spec.sandbox_id if pooled else secrets.token_hex(8)
            try:
                start = await self._db.run(lambda db: self._begin(db, session_id, command, sandbox_id, due_at))
            except BaseException:
                if pooled:  # nothing was recorded for it: it waits for the next execution
                    self.pool.give_back(pooled)
                raise
            if start is None:
                self._pool_keys.pop(session_id, None)
                if pooled:
                    self.pool.give_back(pooled)
                return None
            with log_fields(session_id=session_id, execution_id=start.execution.id):
                if self.pool.enabled and pooled is None:
                    log.info("execution %s: no pre-started sandbox for %s (pool target %d): cold start",
                             start.execution.id, start.session.agent.image_id, self.pool.target(key) if key else 0)
                return await self._execute(pooled, start, command, due_at)
        finally:
            if key is not None:
                self.pool.done(*key)

    def _pool_key(self, session: SessionRow) -> PoolKey | None:
        """The image and limits of the session's sandboxes; None when its manifest does not
        parse (its execution then fails, recorded, in `_execute`)."""
        try:
            return session.agent.image_id, self.limits_for(parse_manifest(session.agent.manifest_toml))
        except Exception:  # noqa: BLE001 — said where the execution is recorded
            return None

    def _runnable(self, db: Session, session_id: int, command: str) -> SessionRow | None:
        """On a database thread: the session, if it is to run now (a breaker that tripped since
        the last run pauses it instead); what the previous run suggested is cleared."""
        session = records.runnable_session(db, session_id, command)
        if session is None:
            return None
        if command == "run" and self._breakers.check_loss(session_id, known=session) is not None:
            return None  # a breaker tripped since the last run: paused, the agent does not run
        if command == "run" and backtests.all_run(db, session):
            # Resumed after its last block: nothing more to run.
            backtests.pause_finished(db, session_id, backtests.FINISHED if backtests.finished(db, session_id)
                                     else "backtest paused: its final valuation could not be made; its last step stands")
            return None
        if self._gateway is not None:
            # What the previous run suggested and nobody approved is stale now.
            self._gateway.suggestions.clear_pending(session_id)
        return session

    def _begin(self, db: Session, session_id: int, command: str, sandbox_id: str, due_at: datetime | None) -> _Start | None:
        """On a database thread: if the session is to run, reads what its sandbox is handed
        (positions, the positions to unwind, secrets) and then records the start, the one
        commit before hand-over; None when it is not to run."""
        session = self._runnable(db, session_id, command)
        if session is None:
            return None
        positions, _ = session_positions(db, session)
        to_unwind = []
        if command == "unwind":
            chosen = {(p["network"], p["asset_address"].lower()) for p in session.unwind_positions or []}
            to_unwind = [p for p in positions if not chosen or (p.network, p.asset_address.lower()) in chosen]
        bound = secret_store.for_execution(db, self._egress.secret_box(), session)
        db.close()  # ends the reads' transaction (it wrote nothing; what it read stays loaded): the insert begins afresh
        execution = records.record_start(db, session.id, command, sandbox_id, self._db.replica_id, due_at)
        failpoints.reach("execution.started")
        return _Start(session, execution, positions, to_unwind, bound)

    async def _execute(self, pooled: PooledSandbox | None, start: _Start, command: str, due_at: datetime | None) -> int:
        execution = start.execution
        try:
            manifest = parse_manifest(start.session.agent.manifest_toml)
            limits = self.limits_for(manifest)
        except Exception as exc:
            if pooled:
                await asyncio.to_thread(self.pool.discard, pooled)
            log.exception("execution %s failed before its sandbox ran", execution.id)
            await self._fail_before_sandbox(execution, exc)
            return execution.id
        try:
            return await self._execute_in(pooled, manifest, limits, start, command, due_at)
        except Exception as exc:  # never leave an execution `running` behind
            log.exception("execution %s failed before its sandbox ran", execution.id)
            await self._fail_before_sandbox(execution, exc)
            return execution.id

    async def _fail_before_sandbox(self, execution: ExecutionRow, exc: Exception) -> None:
        error, retry_after = f"{type(exc).__name__}: {exc}", timedelta(seconds=self._config.scheduler.minute_seconds)
        await self._db.run(lambda db: records.record_failure(db, execution.id, execution.session_id, error, retry_after))
        observe_execution(self._backend_label, execution.command, ExecutionStatus.FAILED)

    async def _changed_until(self, moment: datetime | None) -> bool:
        """Waits until `moment` (a prepared run's due time); True if a session's state changed
        meanwhile (a pause, a stop: committed here or, on PostgreSQL, on another replica)."""
        if moment is None or (seconds := (moment - utcnow()).total_seconds()) <= 0:
            return False
        hub = changes.hub(self._db.engine)
        hub.start()  # on this loop, as the scheduler and the event feed do (idempotent)
        wake = hub.waiter(["session"])
        try:
            await asyncio.sleep(seconds)
        finally:
            hub.forget(wake)
        return wake.is_set()

    async def _called_off(self, session_id: int, command: str) -> bool:
        """Whether the session is no longer in a state for `command` (read again, on a thread)."""
        return await self._db.run(lambda db: records.runnable_session(db, session_id, command)) is None

    async def _hand_over(self, pooled: PooledSandbox | None, sandbox_id: str, session_id: int, command: str,
                         due_at: datetime | None, cold_spec: Callable[[], SandboxSpec], context: bytes | None) -> StartedSandbox:
        """At the due time, unless the session was paused or stopped meanwhile (then the
        execution ends `interrupted`, nothing handed over and the pre-started sandbox not
        reused): the pre-started sandbox is told to go, handed `context` (its serialized
        execution context), or a sandbox is started cold (which asks for it)."""
        if await self._changed_until(due_at) and await self._called_off(session_id, command):
            self._killed[sandbox_id] = CALLED_OFF
            if pooled:
                await asyncio.to_thread(self._backend.discard, pooled.started)
            raise _CalledOff(CALLED_OFF)
        if pooled:
            pooled.doorbell.ring(context)  # its runtime socket is in place: it may connect
            return pooled.started
        return await asyncio.to_thread(timed_start, self._backend, cold_spec(), self._backend_label)

    async def _after_end(self, session: SessionRow, command: str, recorded: ExecutionRecording | None) -> None:
        """Once an execution is recorded: its shadow run (in the background), and a backtest's
        valuation after its last run."""
        if recorded is not None and session.shadow_agent_id is not None:
            # The shadow is another agent: what this one shares with its other sessions is not its to read.
            shown = ExecutionRecording()
            shown.CopyFrom(recorded)
            recording.withhold_shared_memory(shown)
            self._spawn(self.shadows.run(session.id, session.shadow_agent_id, shown))
        if session.backtest_every_blocks is not None and command == "run" and self._backtests is not None:
            held = await self._db.run(lambda db: session_positions(db, db.get(SessionRow, session.id))[0])
            await self._backtests.after_run(session, held)

    async def _backtest_step(self, session: SessionRow, positions: list[common_pb2.Position], pooled: PooledSandbox | None) -> datetime:
        """A backtest's fork moved to this run's block (orchestrator/actions/backtests.py); the
        block's time, which the agent's clock reads. A step that cannot be prepared pauses the
        backtest, saying why (tried again at once it would only fail again), and this execution
        ends without a sandbox."""
        if self._backtests is None:
            raise RuntimeError("this orchestrator runs no backtests")
        try:
            return await self._backtests.before_run(session, positions)
        except Exception as exc:  # noqa: BLE001 — said in the session's status and the execution's error
            reason = f"backtest paused: its next step could not be prepared: {exc}"
            await self._db.run(lambda db: backtests.pause_finished(db, session.id, reason[:500]))
            if pooled:  # not handed this execution: not reused either
                await asyncio.to_thread(self._backend.discard, pooled.started)
            raise SandboxStartError(reason) from None

    def _recorder_for(self, session: SessionRow) -> Recorder | None:
        return Recorder(self._config.recording.max_bytes_per_execution) if session.record_executions else None

    async def _execute_in(self, pooled: PooledSandbox | None, manifest: Manifest, limits: SandboxLimits, start: _Start,
                          command: str, due_at: datetime | None) -> int:
        session, execution = start.session, start.execution
        image_id = session.agent.image_id
        ticket = ExecutionTicket(
            execution_id=execution.id,
            session=session,
            command=COMMANDS[command],
            token=pooled.token if pooled else secrets.token_urlsafe(32),
            settings=resolve(manifest, session.settings),
            positions_snapshot=start.positions,
            unwind_positions=start.to_unwind,
            budget=CallBudget(max_calls=self._config.sandbox.max_sdk_calls, max_log_lines=self._config.sandbox.max_log_lines),
            recorder=self._recorder_for(session),
        )
        sandbox_id = execution.sandbox_id
        socket_dir = pooled.socket_dir if pooled else None
        gate: EgressGate | None = None
        try:
            socket_dir = socket_dir or self.new_socket_dir(sandbox_id)
            async with self._execution_sockets(socket_dir, session, ticket, start.secrets) as gate:
                if session.backtest_every_blocks is not None and command == "run":
                    ticket.agent_clock = await self._backtest_step(session, start.positions, pooled)
                # Serialized before the due time, not at it.
                context = _handed_context(ticket) if pooled else None
                started = await self._hand_over(pooled, sandbox_id, session.id, command, due_at, lambda: self.sandbox_spec(
                    image_id, limits, socket_dir, ticket.token, idle_seconds=0.0, sandbox_id=sandbox_id), context)
                self._running[sandbox_id] = started
                if self._halted_because:  # the kill switch was thrown while this one was starting
                    await self.kill_running(self._halted_because)
                failpoints.reach("execution.sandbox_started")
                result = await asyncio.to_thread(self._backend.finish, started, limits.deadline_seconds)
                failpoints.reach("execution.sandbox_finished")
        except SandboxStartError as exc:
            result = SandboxResult(exit_code=None, timed_out=False, output="", start_error=str(exc))
        except Exception as exc:  # an orchestrator-side failure still ends the execution
            log.exception("execution %s could not run", execution.id)
            result = SandboxResult(exit_code=None, timed_out=False, output="", start_error=f"{type(exc).__name__}: {exc}")
            if pooled and sandbox_id not in self._running:
                await asyncio.to_thread(self._backend.discard, pooled.started)
        finally:
            self._running.pop(sandbox_id, None)
            if pooled:
                pooled.doorbell.close()
            if socket_dir is not None:
                self.release_socket_dir(socket_dir)
        if self.pool.enabled:
            self._spawn(self.pool.refill(image_id, limits))

        status, error = _outcome(result, ticket, limits, execution.started_at)
        if (killed_because := self._killed.pop(sandbox_id, None)) is not None:
            status, error = ExecutionStatus.INTERRUPTED, killed_because
        ended = records.Ended(
            status=status, error=error, output=storable(result.output), output_dropped_bytes=result.output_dropped_bytes,
            sdk_calls=ticket.budget.calls, log_lines_dropped=ticket.budget.log_lines_dropped, traceback=storable(ticket.traceback),
            last_sdk_call=ticket.progress.last_call, last_sdk_call_at=ticket.progress.last_call_at,
        )
        minute_seconds = self._config.scheduler.minute_seconds

        def next_run(finished_at: datetime) -> datetime:
            if session.backtest_every_blocks is not None and result.start_error is None:
                return finished_at  # a backtest's time is its blocks': its next step runs at once
            return next_run_after(finished_at, manifest.runtimeIntervalMinutes, manifest.schedule, minute_seconds)

        # Taken here, on the loop, as the execution ends (no call adds to it after).
        recorded = ticket.recorder.message(execution.id) if ticket.recorder is not None else None
        add_records = _closing_records(gate, recorded)
        await self._db.run(lambda db: records.record_end(db, execution.id, session.id, command, ended, next_run, add_records))
        await self._after_end(session, command, recorded)
        if command == "unwind":
            self._pool_keys.pop(session.id, None)  # its last run
        log.info("execution %s of session %s: %s %s", execution.id, session.id, status, error)
        observe_execution(self._backend_label, command, status, pooled is not None, due_at or execution.started_at, utcnow(),
                          ticket.agent_entered_at)
        if command == "run":
            await self._db.run(lambda _db: self._breakers.check_loss(session.id, known=session))
        return execution.id

    @contextlib.asynccontextmanager
    async def _execution_sockets(self, socket_dir: Path, session: SessionRow, ticket: ExecutionTicket,
                                 secrets: tuple[BoundSecret, ...]) -> AsyncIterator[EgressGate | None]:
        """The execution's sockets in its socket directory while the sandbox runs: the egress
        proxy (if the session may reach any host) and then the runtime API."""
        gate = await self._egress.open(session.egress_hosts, session.agent.wallet_type, socket_dir, hand_to_sandbox_user, secrets,
                                       exchanges=ticket.recorder, fork=fork_reads(session))
        server = None
        try:
            # Bound under a temporary name and renamed once the sandbox user may use it, so
            # that the name never stands for a socket the sandbox cannot use yet (a pooled
            # sandbox is rung only after this).
            binding = socket_dir / f".{SOCKET_NAME}.binding"
            server = await start_runtime_server(str(binding), ticket, self._db, self._gateway)
            hand_to_sandbox_user(binding)
            os.rename(binding, socket_dir / SOCKET_NAME)
            yield gate
        finally:
            if server is not None:
                await server.stop(grace=None)
            if gate is not None:
                await gate.close()

    def new_socket_dir(self, sandbox_id: str) -> Path:
        """A fresh directory for one sandbox's socket.

        Claims the sandbox id first: from here until `release_socket_dir`, the reaper
        leaves this directory and any container labelled with the id alone."""
        self.claimed.claim(sandbox_id)
        return self._dirs.make(sandbox_id)

    def release_socket_dir(self, socket_dir: Path) -> None:
        """Removes a sandbox's socket directory and gives up its claim (its container is gone)."""
        sandbox_id = socket_dir.name.removeprefix("sbx-")
        self._dirs.remove(sandbox_id)
        self.claimed.release(sandbox_id)

    def sandbox_spec(
        self, image_id: str, limits: SandboxLimits, socket_dir: Path, token: str, idle_seconds: float, sandbox_id: str | None = None
    ) -> SandboxSpec:
        environment = {"CORRAL_SOCKET": f"{SANDBOX_SOCKET_DIR}/{SOCKET_NAME}", "CORRAL_TOKEN": token}
        if idle_seconds:
            environment[WAIT_FOR_SOCKET_ENV] = str(idle_seconds)
        return SandboxSpec(
            image=image_id,
            command=["run"],
            socket_dir=socket_dir,
            sandbox_id=sandbox_id or socket_dir.name.removeprefix("sbx-"),
            environment=environment,
            limits=limits,
            labels={OWNER_LABEL: self.owner_id, INSTALLATION_LABEL: self.installation_id},
            idle_seconds=idle_seconds,
        )

    async def kill_running(self, reason: str) -> int:
        """The kill switch: kills every sandbox this process runs (their executions end
        `interrupted` with `reason`) and any that finishes starting meanwhile; returns how
        many were killed now."""
        self._halted_because = reason
        # All marked before the first wait: a kill running alongside (a scheduler pass that
        # saw the halt) takes none of these, so each is counted once, by the caller that found it.
        found = [(sandbox_id, started) for sandbox_id, started in self._running.items() if sandbox_id not in self._killed]
        for sandbox_id, _ in found:
            self._killed[sandbox_id] = reason
        for _, started in found:
            await asyncio.to_thread(self._backend.discard, started)
        return len(found)

    def lift_halt(self) -> None:
        self._halted_because = None

    async def stop_sandboxes(self) -> None:
        """Shutdown, first step: no more refills, and sandboxes still running are killed
        (so the threads waiting on them return)."""
        self.pool.close()
        self.shadows.close()
        for sandbox_id, started in list(self._running.items()):
            # Recorded `interrupted` with why, not as the SIGKILL (an "out of memory") it is.
            self._killed.setdefault(sandbox_id, SHUT_DOWN)
            try:
                await asyncio.to_thread(self._backend.discard, started)
            except Exception as exc:  # noqa: BLE001 — the others must still be stopped
                log.warning("could not discard sandbox %s at shutdown: %s", started.spec.sandbox_id, exc)
        # Not cancelled: a refill's container start runs in a thread and would be lost;
        # closed, the pool discards what it finishes starting.
        await asyncio.gather(*self._background, return_exceptions=True)
        await self._egress.close()

    def remove_sandbox(self, sandbox_id: str) -> None:
        """Removes one sandbox (whoever started it) and its socket directory: at start-up, for
        executions a previous process left running."""
        self._backend.remove_orphans({INSTALLATION_LABEL: self.installation_id, SANDBOX_ID_LABEL: sandbox_id}, lambda labels: False)
        self._dirs.remove(sandbox_id)

    def remove_everything_owned(self) -> int:
        """Shutdown, last step, once no thread can start another sandbox: removes every
        sandbox and socket directory this process made."""
        self.pool.drain()
        removed = self._backend.remove_orphans({OWNER_LABEL: self.owner_id}, lambda labels: False)
        for sandbox_id in self._dirs.sandbox_ids():
            self._dirs.remove(sandbox_id)
        return removed

    def _spawn(self, coroutine) -> None:
        task = in_fresh_context(coroutine)  # a refill is no execution's: its logs carry no ids
        self._background.add(task)
        task.add_done_callback(self._background.discard)

    def remove_orphans(self) -> int:
        """Removes this installation's sandboxes and socket directories that no live
        execution or pool owns.

        Runs in a thread beside executions and pool refills, so liveness is asked of the
        claims at the moment each thing is looked at, never from an earlier snapshot: an
        id is claimed before its directory or container exists, so anything found
        unclaimed is truly left over.

        Other orchestrator processes sharing the database own their sandboxes until the
        deadline label passes; other installations' sandboxes are never looked at."""

        def is_live(labels: dict[str, str]) -> bool:
            if labels.get(OWNER_LABEL) != self.owner_id:
                return True  # another process's: it goes when its deadline label passes
            return self.claimed.holds(labels.get(SANDBOX_ID_LABEL, ""))

        removed = self._backend.remove_orphans({INSTALLATION_LABEL: self.installation_id}, is_live)
        for sandbox_id in self._dirs.sandbox_ids():
            if not self.claimed.holds(sandbox_id):
                self._dirs.remove(sandbox_id)
                removed += 1
        return removed


@dataclass(frozen=True)
class _Start:
    """What the start's database thread hands back: the recorded execution and what its
    sandbox is given."""

    session: SessionRow
    execution: ExecutionRow
    positions: list[common_pb2.Position]
    to_unwind: list[common_pb2.Position]
    secrets: tuple[BoundSecret, ...]


class ClaimedSandboxes:
    """The sandbox ids this process has a socket directory (and maybe a container) for.

    Shared between the event loop, pool refills and the reaper, which run in different
    threads, hence the lock."""

    def __init__(self) -> None:
        self._ids: set[str] = set()
        self._lock = threading.Lock()

    def claim(self, sandbox_id: str) -> None:
        with self._lock:
            self._ids.add(sandbox_id)

    def release(self, sandbox_id: str) -> None:
        with self._lock:
            self._ids.discard(sandbox_id)

    def holds(self, sandbox_id: str) -> bool:
        with self._lock:
            return sandbox_id in self._ids


class _CalledOff(SandboxStartError):
    """The session was paused or stopped while its prepared run waited for its due time."""


def fork_reads(session: SessionRow) -> ForkReads | None:
    """A paper session's chain reads go to its fork (its paper wallet's holdings are there); a
    backtest's to its fork only, which stands at the step's block (no other node's head, which
    is the step's future). None: a real session's go to the installation's nodes, and so do a
    Solana paper session's (Corral's devchain answers fewer read methods than a cluster does)."""
    backtest = session.backtest_every_blocks is not None
    if not session.paper or (Network.parse(session.allocation_network).is_solana and not backtest):
        return None
    return ForkReads(session.allocation_network, session.paper_fork_url, only=backtest)


def sandbox_limits(platform: SandboxConfig, manifest: Manifest) -> SandboxLimits:
    """The platform's limits, lowered where the agent's manifest asks for less."""
    limits = SandboxLimits(
        memory_mb=platform.memory_mb, cpus=platform.cpus, pids=platform.pids, tmpfs_mb=platform.tmpfs_mb,
        deadline_seconds=platform.deadline_seconds, output_bytes=platform.output_bytes, nofile=platform.nofile, fsize_mb=platform.fsize_mb,
    )
    asked = manifest.sandbox
    return limits.at_most(memory_mb=asked.memoryMb, cpus=asked.cpus, pids=asked.pids, deadline_seconds=asked.timeoutSeconds)


def storable(text: str) -> str:
    """Agent-made text as every database stores it (PostgreSQL's text takes no NUL)."""
    return text.replace("\x00", "\ufffd")


def _outcome(result: SandboxResult, ticket: ExecutionTicket, limits: SandboxLimits, started_at: datetime) -> tuple[str, str]:
    if result.start_error:
        return ExecutionStatus.FAILED, result.start_error
    if result.timed_out:
        # What the agent was doing says more than the kill: where it hung.
        doing = ticket.progress.report(started_at)
        return ExecutionStatus.FAILED, f"deadline of {limits.deadline_seconds:g}s exceeded; the sandbox was killed; {doing}"
    if ticket.outcome is not None and result.exit_code in (0, 1):
        success, error = ticket.outcome
        return (ExecutionStatus.SUCCEEDED, "") if success and result.exit_code == 0 else (ExecutionStatus.FAILED, error or f"exit code {result.exit_code}")
    if result.oom_killed:
        return ExecutionStatus.FAILED, f"killed: out of memory (limit {limits.memory_mb} MB)"
    if result.exit_code == 137:
        # gVisor enforces memory inside its own kernel, so the engine does not flag the
        # OOM kill there; a SIGKILL nobody asked for is almost always that limit.
        return ExecutionStatus.FAILED, f"the sandbox was killed (SIGKILL), most likely at its memory limit of {limits.memory_mb} MB"
    tail = result.output.strip().splitlines()[-1:] or [""]
    return ExecutionStatus.FAILED, f"the agent exited with code {result.exit_code} without reporting an outcome: {tail[0][:300]}"


def _handed_context(ticket: ExecutionTicket) -> bytes:
    """The context a pre-started sandbox is handed with its doorbell (it does not ask for it:
    a recording keeps it as the answer it stands for)."""
    context = execution_context(ticket).SerializeToString()
    if ticket.recorder is not None:
        ticket.recorder.handed_context(context)
    return context


def _closing_records(gate: EgressGate | None, recorded: ExecutionRecording | None) -> Callable[[Session, int], None]:
    """What an execution's closing commit stores besides its outcome: its egress records and
    its recording."""
    def add(db: Session, execution_id: int) -> None:
        if gate is not None:
            egress_gates.store(db, execution_id, gate)
        if recorded is not None:
            recording.store(db, recorded)
    return add
