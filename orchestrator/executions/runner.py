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
from collections.abc import AsyncIterator
from datetime import datetime, timedelta
from pathlib import Path

from sqlalchemy import select
from sqlalchemy.orm import joinedload

from corral import failpoints
from corral.v1 import common_pb2
from orchestrator.actions.breakers import Breakers
from orchestrator.actions.gateway import ActionGateway
from orchestrator.actions.positions import session_positions
from orchestrator.agents.manifest import Manifest, parse_manifest
from orchestrator.agents.settings import resolve
from orchestrator.config import OrchestratorConfig
from orchestrator.egress import gates as egress_gates
from orchestrator.egress import secret_store
from orchestrator.egress.proxy import EgressGate
from orchestrator.executions import memory
from orchestrator.executions.runtime_service import CallBudget, ExecutionTicket, start_runtime_server
from orchestrator.executions.schedule import next_run_after
from orchestrator.executions.warm_pool import PooledSandbox, WarmPool
from orchestrator.store import Database, ExecutionRow, SessionRow, events, utcnow
from orchestrator.store.statuses import ExecutionStatus, SessionStatus
from sandbox_runner.host.backend import (
    SANDBOX_GID,
    SANDBOX_ID_LABEL,
    SANDBOX_SOCKET_DIR,
    SANDBOX_UID,
    SOCKET_NAME,
    WAIT_FOR_SOCKET_ENV,
    SandboxBackend,
    SandboxLimits,
    SandboxResult,
    SandboxSpec,
    SandboxStartError,
    StartedSandbox,
)
from sandbox_runner.host.socket_dirs import LocalSocketDirs, SocketDirs

log = logging.getLogger("corral.executions")

COMMANDS = {"run": common_pb2.EXECUTION_COMMAND_RUN, "unwind": common_pb2.EXECUTION_COMMAND_UNWIND}
# Why an execution the orchestrator's own shutdown cut short ended (not the agent's doing, and
# not a crash: recovery's quarantine counts crashes only).
SHUT_DOWN = "the orchestrator shut down while this execution ran; its session runs again at its next interval"
OWNER_LABEL = "org.corral.owner"
INSTALLATION_LABEL = "org.corral.installation"


class ExecutionRunner:
    def __init__(
        self, config: OrchestratorConfig, db: Database, backend: SandboxBackend, gateway: ActionGateway | None,
        socket_dirs: SocketDirs | None = None,
    ) -> None:
        """`socket_dirs`: where sandboxes' socket directories are made; default: under
        `config.socket_root`, by this process."""
        self._config = config
        self._db = db
        self._backend = backend
        self._gateway = gateway
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
        self.pool = WarmPool(
            backend,
            size=config.sandbox.warm_pool_size,
            idle_seconds=config.sandbox.warm_pool_idle_seconds,
            make_spec=lambda image, limits, socket_dir, token, idle: self.sandbox_spec(image, limits, socket_dir, token, idle),
            new_socket_dir=self.new_socket_dir,
            release_socket_dir=self.release_socket_dir,
            hand_over=_hand_to_sandbox_user,
            # Never more idle per image than could be taken at once.
            ceiling=config.scheduler.max_parallel_executions,
        )

    def limits_for(self, manifest: Manifest) -> SandboxLimits:
        """The platform's limits, lowered where the agent's manifest asks for less."""
        s = self._config.sandbox
        platform = SandboxLimits(
            memory_mb=s.memory_mb, cpus=s.cpus, pids=s.pids, tmpfs_mb=s.tmpfs_mb, deadline_seconds=s.deadline_seconds,
            output_bytes=s.output_bytes, nofile=s.nofile, fsize_mb=s.fsize_mb,
        )
        asked = manifest.sandbox
        return platform.at_most(memory_mb=asked.memoryMb, cpus=asked.cpus, pids=asked.pids, deadline_seconds=asked.timeoutSeconds)

    async def execute(self, session_id: int, command: str = "run") -> int | None:
        """Runs one execution of the session and records its outcome; returns its id, or
        None when the session is no longer in a state to run it (stopped meanwhile)."""
        wanted = SessionStatus.RUNNING if command == "run" else SessionStatus.UNWINDING
        with self._db.session() as db:
            session = db.scalar(select(SessionRow).options(joinedload(SessionRow.agent)).where(SessionRow.id == session_id))
            if session is None or session.status != wanted:
                return None
        if command == "run" and self._breakers.check_loss(session_id) is not None:
            return None  # a breaker tripped since the last run: paused, the agent does not run
        if self._gateway is not None:
            # What the previous run suggested and nobody approved is stale now.
            self._gateway.suggestions.clear_pending(session_id)
        with self._db.session() as db:
            execution = ExecutionRow(session_id=session_id, command=command, status=ExecutionStatus.RUNNING, started_at=utcnow(),
                                     replica_id=self._db.replica_id)
            db.add(execution)
            db.flush()
            events.record(db, "execution", "started", session_id, execution.id)
            db.commit()
            failpoints.reach("execution.started")
            positions, _ = session_positions(db, session)
            to_unwind = []
            if command == "unwind":
                chosen = {(p["network"], p["asset_address"].lower()) for p in session.unwind_positions or []}
                to_unwind = [p for p in positions if not chosen or (p.network, p.asset_address.lower()) in chosen]
        try:
            return await self._execute(session, execution, command, positions, to_unwind)
        except Exception as exc:  # never leave an execution `running` behind
            log.exception("execution %s failed before its sandbox ran", execution.id)
            with self._db.session() as db:
                row = db.get(ExecutionRow, execution.id)
                if row.status == ExecutionStatus.RUNNING:
                    row.status, row.error, row.finished_at = ExecutionStatus.FAILED, f"{type(exc).__name__}: {exc}", utcnow()
                    events.record(db, "execution", "finished", session_id, row.id)
                current = db.get(SessionRow, session_id)
                if current.status in (SessionStatus.RUNNING, SessionStatus.UNWINDING):  # retry after one interval minute, not at once
                    current.next_run_at = utcnow() + timedelta(seconds=self._config.scheduler.minute_seconds)
                db.commit()
            return execution.id

    async def _execute(self, session: SessionRow, execution: ExecutionRow, command: str, positions, to_unwind) -> int:
        manifest = parse_manifest(session.agent.manifest_toml)
        limits = self.limits_for(manifest)
        image_id = session.agent.image_id
        pooled = self.pool.take(image_id, limits) if self.pool.enabled else None
        if self.pool.enabled and pooled is None:
            log.info("execution %s: no pre-started sandbox for %s (pool target %d): cold start",
                     execution.id, image_id, self.pool.target((image_id, limits)))
        try:
            return await self._execute_in(pooled, manifest, limits, session, execution, command, positions, to_unwind)
        finally:
            if self.pool.enabled:
                self.pool.done(image_id, limits)

    async def _execute_in(self, pooled: PooledSandbox | None, manifest: Manifest, limits: SandboxLimits, session: SessionRow,
                          execution: ExecutionRow, command: str, positions, to_unwind) -> int:
        image_id = session.agent.image_id
        ticket = ExecutionTicket(
            execution_id=execution.id,
            session=session,
            command=COMMANDS[command],
            token=pooled.token if pooled else secrets.token_urlsafe(32),
            settings=resolve(manifest, session.settings),
            positions_snapshot=positions,
            unwind_positions=to_unwind,
            budget=CallBudget(max_calls=self._config.sandbox.max_sdk_calls, max_log_lines=self._config.sandbox.max_log_lines),
        )
        sandbox_id = pooled.started.spec.sandbox_id if pooled else secrets.token_hex(8)
        with self._db.session() as db:
            db.get(ExecutionRow, execution.id).sandbox_id = sandbox_id
            db.commit()
        socket_dir = pooled.socket_dir if pooled else None
        gate: EgressGate | None = None
        try:
            socket_dir = socket_dir or self.new_socket_dir(sandbox_id)
            async with self._execution_sockets(socket_dir, session, ticket) as gate:
                if pooled:
                    started = pooled.started
                    pooled.doorbell.ring()  # its runtime socket is in place: it may connect
                else:
                    spec = self.sandbox_spec(image_id, limits, socket_dir, ticket.token, idle_seconds=0.0, sandbox_id=sandbox_id)
                    started = await asyncio.to_thread(self._backend.start, spec)
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
        with self._db.session() as db:
            row = db.get(ExecutionRow, execution.id)
            row.status, row.error, row.finished_at = status, error, utcnow()
            row.output, row.output_dropped_bytes = storable(result.output), result.output_dropped_bytes
            row.sdk_calls, row.log_lines_dropped = ticket.budget.calls, ticket.budget.log_lines_dropped
            row.traceback = storable(ticket.traceback)
            row.last_sdk_call, row.last_sdk_call_at = ticket.progress.last_call, ticket.progress.last_call_at
            if gate is not None:
                egress_gates.store(db, row.id, gate)
            events.record(db, "execution", "finished", session.id, row.id)
            current = db.get(SessionRow, session.id)
            if command == "unwind" and current.status == SessionStatus.UNWINDING:
                # Unwound (or tried to: its outcome is the execution's): the session ends.
                current.status, current.next_run_at, current.stopped_at = SessionStatus.STOPPED, None, row.finished_at
                events.record(db, "session", SessionStatus.STOPPED, session.id, session.id)
                memory.clear_namespace(db, memory.session_namespace(session.id))
            elif current.status == SessionStatus.STOPPED:
                # Stopped during the run: what the run wrote in between goes with the rest.
                memory.clear_namespace(db, memory.session_namespace(session.id))
            elif current.status == SessionStatus.RUNNING:
                current.next_run_at = next_run_after(
                    row.finished_at, manifest.runtimeIntervalMinutes, manifest.schedule, self._config.scheduler.minute_seconds
                )
            db.commit()
        log.info("execution %s of session %s: %s %s", execution.id, session.id, status, error)
        if command == "run":
            self._breakers.check_loss(session.id)
        return execution.id

    @contextlib.asynccontextmanager
    async def _execution_sockets(self, socket_dir: Path, session: SessionRow, ticket: ExecutionTicket) -> AsyncIterator[EgressGate | None]:
        """The execution's sockets in its socket directory while the sandbox runs: the egress
        proxy (if the session may reach any host) and then the runtime API."""
        with self._db.session() as db:
            secrets = secret_store.for_execution(db, self._egress.secret_box(), session)
        gate = await self._egress.open(session.egress_hosts, session.agent.wallet_type, socket_dir, _hand_to_sandbox_user, secrets)
        server = None
        try:
            # Bound under a temporary name and renamed once the sandbox user may use it, so
            # that the name never stands for a socket the sandbox cannot use yet (a pooled
            # sandbox is rung only after this).
            binding = socket_dir / f".{SOCKET_NAME}.binding"
            server = await start_runtime_server(str(binding), ticket, self._db, self._gateway)
            _hand_to_sandbox_user(binding)
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
        killed = 0
        for sandbox_id, started in list(self._running.items()):
            if sandbox_id not in self._killed:
                self._killed[sandbox_id] = reason
                await asyncio.to_thread(self._backend.discard, started)
                killed += 1
        return killed

    def lift_halt(self) -> None:
        self._halted_because = None

    async def stop_sandboxes(self) -> None:
        """Shutdown, first step: no more refills, and sandboxes still running are killed
        (so the threads waiting on them return)."""
        self.pool.close()
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
        task = asyncio.create_task(coroutine)
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


def _hand_to_sandbox_user(socket_path: Path) -> None:
    """Lets the sandbox's unprivileged user (and no other) use the socket."""
    try:
        os.chown(socket_path, SANDBOX_UID, SANDBOX_GID)
        os.chmod(socket_path, 0o600)
    except PermissionError:
        os.chmod(socket_path, 0o666)  # not root: the directory's unguessable name guards it


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
