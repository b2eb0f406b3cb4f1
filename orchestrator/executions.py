"""One execution, start to finish: a socket, a token, a runtime server, a sandbox, an outcome.

The sandbox sees exactly one thing of the host: a fresh directory holding this
execution's socket. The token is random per execution, so a sandbox holding another
execution's token (or none, or a replayed one) is refused.
"""

from __future__ import annotations

import asyncio
import logging
import os
import re
import secrets
import shutil
import uuid
from datetime import timedelta
from pathlib import Path

from sqlalchemy import select
from sqlalchemy.orm import joinedload

from corral.v1 import common_pb2
from orchestrator.config import OrchestratorConfig
from orchestrator.manifest import Manifest, parse_manifest
from orchestrator.positions import session_positions
from orchestrator.runtime_service import CallBudget, ExecutionTicket, start_runtime_server
from orchestrator.settings_values import resolve
from orchestrator.store import Database, ExecutionRow, SessionRow, utcnow
from orchestrator.transactions import EvmSender
from sandbox_runner.backend import (
    EXECUTION_LABEL,
    SANDBOX_GID,
    SANDBOX_SOCKET_DIR,
    SANDBOX_UID,
    SOCKET_NAME,
    SandboxBackend,
    SandboxLimits,
    SandboxResult,
    SandboxSpec,
)

log = logging.getLogger("corral.executions")

COMMANDS = {"run": common_pb2.EXECUTION_COMMAND_RUN, "unwind": common_pb2.EXECUTION_COMMAND_UNWIND}
OWNER_LABEL = "org.corral.owner"
INSTALLATION_LABEL = "org.corral.installation"
_SOCKET_DIR_NAME = re.compile(r"^exec-(\d+)-[0-9a-f]+$")


class ExecutionRunner:
    def __init__(self, config: OrchestratorConfig, db: Database, backend: SandboxBackend, evm_sender: EvmSender) -> None:
        self._config = config
        self._db = db
        self._backend = backend
        self._evm = evm_sender
        self._socket_root = config.socket_root.resolve()
        self._socket_root.mkdir(parents=True, exist_ok=True)
        os.chmod(self._socket_root, 0o711)
        # This process's identity on the sandboxes it starts, and what it has running.
        self.owner_id = uuid.uuid4().hex
        self.installation_id = db.installation_id()
        self.live: set[int] = set()

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
        wanted = "running" if command == "run" else "unwinding"
        with self._db.session() as db:
            session = db.scalar(select(SessionRow).options(joinedload(SessionRow.agent)).where(SessionRow.id == session_id))
            if session is None or session.status != wanted:
                return None
            execution = ExecutionRow(session_id=session_id, command=command, status="running", started_at=utcnow())
            db.add(execution)
            db.commit()
            positions, _ = session_positions(db, session)
        self.live.add(execution.id)
        try:
            return await self._execute(session, execution, command, positions)
        finally:
            self.live.discard(execution.id)

    async def _execute(self, session: SessionRow, execution: ExecutionRow, command: str, positions) -> int:
        manifest = parse_manifest(session.agent.manifest_toml)
        limits = self.limits_for(manifest)
        ticket = ExecutionTicket(
            execution_id=execution.id,
            session=session,
            command=COMMANDS[command],
            token=secrets.token_urlsafe(32),
            settings=resolve(manifest, session.settings),
            positions_snapshot=positions,
            budget=CallBudget(max_calls=self._config.sandbox.max_sdk_calls, max_log_lines=self._config.sandbox.max_log_lines),
        )
        socket_dir = self._socket_root / f"exec-{execution.id}-{secrets.token_hex(8)}"
        server = None
        try:
            socket_dir.mkdir(mode=0o700)
            socket_path = socket_dir / SOCKET_NAME
            server = await start_runtime_server(str(socket_path), ticket, self._db, self._evm)
            _hand_to_sandbox_user(socket_dir, socket_path)
            spec = SandboxSpec(
                image=session.agent.image_id,
                command=[command],
                socket_dir=socket_dir,
                environment={"CORRAL_SOCKET": f"{SANDBOX_SOCKET_DIR}/{SOCKET_NAME}", "CORRAL_TOKEN": ticket.token},
                limits=limits,
                labels={
                    EXECUTION_LABEL: str(execution.id),
                    "org.corral.session-id": str(session.id),
                    OWNER_LABEL: self.owner_id,
                    INSTALLATION_LABEL: self.installation_id,
                },
            )
            result = await asyncio.to_thread(self._backend.run, spec)
        except Exception as exc:  # an orchestrator-side failure still ends the execution
            log.exception("execution %s could not run", execution.id)
            result = SandboxResult(exit_code=None, timed_out=False, output="", start_error=f"{type(exc).__name__}: {exc}")
        finally:
            if server is not None:
                await server.stop(grace=None)
            shutil.rmtree(socket_dir, ignore_errors=True)

        status, error = _outcome(result, ticket, limits)
        with self._db.session() as db:
            row = db.get(ExecutionRow, execution.id)
            row.status, row.error, row.finished_at = status, error, utcnow()
            row.output, row.output_dropped_bytes = result.output, result.output_dropped_bytes
            row.sdk_calls, row.log_lines_dropped = ticket.budget.calls, ticket.budget.log_lines_dropped
            current = db.get(SessionRow, session.id)
            if current.status == "running":
                # Rolling schedule: the next run counts from the end of this one.
                minutes = manifest.runtimeIntervalMinutes
                current.next_run_at = row.finished_at + timedelta(seconds=minutes * self._config.scheduler.minute_seconds)
            db.commit()
        log.info("execution %s of session %s: %s %s", execution.id, session.id, status, error)
        return execution.id

    def remove_orphans(self) -> int:
        """Removes this installation's sandboxes and socket directories that no live
        execution owns.

        A sandbox started by another orchestrator process sharing the database is left
        alone while the database has its execution running; every sandbox past its
        deadline goes. Other installations' sandboxes are never looked at."""

        def is_live(labels: dict[str, str]) -> bool:
            execution_id = int(labels.get(EXECUTION_LABEL, "0") or 0)
            if labels.get(OWNER_LABEL) == self.owner_id:
                return execution_id in self.live
            with self._db.session() as db:
                row = db.get(ExecutionRow, execution_id)
                return row is not None and row.status == "running"

        removed = self._backend.remove_orphans({INSTALLATION_LABEL: self.installation_id}, is_live)
        for entry in self._socket_root.iterdir():
            match = _SOCKET_DIR_NAME.match(entry.name)
            if match and int(match.group(1)) not in self.live:
                shutil.rmtree(entry, ignore_errors=True)
                removed += 1
        return removed


def _hand_to_sandbox_user(socket_dir: Path, socket_path: Path) -> None:
    """Lets the sandbox's unprivileged user (and no other) use the socket."""
    try:
        os.chown(socket_dir, SANDBOX_UID, SANDBOX_GID)
        os.chown(socket_path, SANDBOX_UID, SANDBOX_GID)
        os.chmod(socket_path, 0o600)
    except PermissionError:
        # Not root: the directory's unguessable name (under a 0711 root) is the guard.
        os.chmod(socket_dir, 0o711)
        os.chmod(socket_path, 0o666)


def _outcome(result: SandboxResult, ticket: ExecutionTicket, limits: SandboxLimits) -> tuple[str, str]:
    if result.start_error:
        return "failed", result.start_error
    if result.timed_out:
        return "failed", f"deadline of {limits.deadline_seconds:g}s exceeded; the sandbox was killed"
    if ticket.outcome is not None and result.exit_code in (0, 1):
        success, error = ticket.outcome
        return ("succeeded", "") if success and result.exit_code == 0 else ("failed", error or f"exit code {result.exit_code}")
    if result.oom_killed:
        return "failed", f"killed: out of memory (limit {limits.memory_mb} MB)"
    if result.exit_code == 137:
        return "failed", "the sandbox was killed (SIGKILL)"
    tail = result.output.strip().splitlines()[-1:] or [""]
    return "failed", f"the agent exited with code {result.exit_code} without reporting an outcome: {tail[0][:300]}"
