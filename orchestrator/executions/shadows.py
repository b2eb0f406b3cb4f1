"""Shadow versions: another version of a session's agent replayed on each of its executions.

A session may name a shadow agent (UpdateSession `shadow_agent_id`: a registered version of the
same agent). After each execution of the session ends, its recording (what the execution saw
through its runtime socket) is replayed with the shadow's image in a sandbox of its own, as
`corral replay` does (`replay_sandbox.py`): no network (its HTTP requests answered from the
recording), no chain, no signer; the shadow's
actions are captured and compared with what the execution did, and the comparison is stored
(`ShadowRunRow`, ListShadowRuns). So an owner sees where a new version would act differently on
the session's real inputs before switching to it.

One shadow run at a time per orchestrator, after the execution (never delaying it); an execution
that ends while its session's previous shadow run is still going is skipped and said so.
"""

from __future__ import annotations

import asyncio
import logging
from collections.abc import Callable
from pathlib import Path

from sqlalchemy.orm import Session

from corral.limits import shortened
from corral.v1.orchestrator_pb2 import ExecutionRecording
from orchestrator.agents.manifest import Manifest, parse_manifest
from orchestrator.config import EgressLimits
from orchestrator.executions.replay_sandbox import ReplayOutcome, ReplaySockets, replay
from orchestrator.store import AgentRow, Database, ShadowRunRow, utcnow
from orchestrator.store.statuses import ShadowOutcome
from sandbox_runner.host.backend import SandboxBackend, SandboxLimits, StartedSandbox

log = logging.getLogger("corral.shadows")
# What one stored shadow run keeps of its difference (a row per execution of the session, so
# about 100 KB at most each; [retention] recordings_days prunes them with the recordings).
# The whole difference is what `corral replay EXECUTION --agent DIR` prints.
DIFFERENCE_LINES_KEPT = 100
DIFFERENCE_LINE_MAX_CHARS = 1000


def kept_difference(lines: list[str]) -> list[str]:
    kept = [shortened(line, DIFFERENCE_LINE_MAX_CHARS) for line in lines[:DIFFERENCE_LINES_KEPT]]
    if len(lines) > DIFFERENCE_LINES_KEPT:
        kept.append(f"… {len(lines) - DIFFERENCE_LINES_KEPT} more lines: `corral replay EXECUTION --agent DIR` shows them all")
    return kept


class ShadowRuns:
    def __init__(self, db: Database, backend: SandboxBackend, limits_for: Callable[[Manifest], SandboxLimits],
                 make_dir: Callable[[str], Path], remove_dir: Callable[[Path], None], labels: dict[str, str],
                 egress_limits: EgressLimits | None = None) -> None:
        self._db = db
        self._egress_limits = egress_limits
        self._backend = backend
        self._limits_for = limits_for
        self._make_dir, self._remove_dir, self._labels = make_dir, remove_dir, labels
        self._one_at_a_time = asyncio.Semaphore(1)
        self._sessions_in_flight: set[int] = set()
        self._running: StartedSandbox | None = None
        self._closed = False

    def due(self, session_id: int) -> bool:
        """Whether a shadow run may start for this session now (none of its own is going)."""
        return not self._closed and session_id not in self._sessions_in_flight

    async def run(self, session_id: int, agent_id: int, recording: ExecutionRecording) -> None:
        """Replays `recording` with the shadow agent and stores the comparison."""
        if not self.due(session_id):
            await self._db.run(lambda db: _store(db, session_id, recording.execution_id, agent_id, ShadowOutcome.FAILED, None,
                                                 "skipped: this session's previous shadow run had not finished"))
            return
        self._sessions_in_flight.add(session_id)
        try:
            async with self._one_at_a_time:
                if self._closed:  # shut down while it waited: no sandbox starts any more
                    return
                outcome, replayed, error = await self._replay(agent_id, recording)
            await self._db.run(lambda db: _store(db, session_id, recording.execution_id, agent_id, outcome, replayed, error))
        finally:
            self._sessions_in_flight.discard(session_id)

    async def _replay(self, agent_id: int, recording: ExecutionRecording) -> tuple[ShadowOutcome, ReplayOutcome | None, str]:
        agent = await self._db.run(lambda db: db.get(AgentRow, agent_id))
        if agent is None:
            return ShadowOutcome.FAILED, None, f"agent {agent_id} is not registered"
        try:
            limits = self._limits_for(parse_manifest(agent.manifest_toml))
            sockets = ReplaySockets(self._make_dir, self._remove_dir, self._labels, self._started)
            replayed = await replay(recording, agent.image_id, self._backend, limits, sockets, self._egress_limits)
        except Exception as exc:  # noqa: BLE001 — said in the shadow run, the session goes on
            log.exception("shadow run of execution %s failed", recording.execution_id)
            return ShadowOutcome.FAILED, None, f"{type(exc).__name__}: {exc}"
        if replayed.reported is None:
            why = replayed.sandbox.start_error or ("deadline" if replayed.sandbox.timed_out else f"exit {replayed.sandbox.exit_code}")
            return ShadowOutcome.DIFFERENT, replayed, f"the shadow did not complete ({why})"
        if replayed.difference:
            return ShadowOutcome.DIFFERENT, replayed, "" if replayed.reported[0] else f"the shadow failed: {replayed.reported[1]}"
        partial = replayed.calls_not_recorded or recording.exchanges_not_recorded
        return (ShadowOutcome.PARTIAL if partial else ShadowOutcome.SAME), replayed, ""

    def _started(self, sandbox: StartedSandbox | None) -> None:
        self._running = sandbox

    def close(self) -> None:
        """Shutdown: no more shadow runs; the one going is ended (its sandbox killed)."""
        self._closed = True
        if self._running is not None:
            try:
                self._backend.discard(self._running)
            except Exception as exc:  # noqa: BLE001 — the orchestrator's sweep removes what is left
                log.warning("could not end the shadow sandbox: %s", exc)


def _store(db: Session, session_id: int, execution_id: int, agent_id: int, outcome: ShadowOutcome, replayed: ReplayOutcome | None,
           error: str) -> None:
    db.add(ShadowRunRow(
        session_id=session_id, execution_id=execution_id, agent_id=agent_id, outcome=outcome,
        difference=kept_difference(replayed.difference) if replayed else [], missing_reads=sorted(set(replayed.missing_reads)) if replayed else [],
        recorded_actions=replayed.recorded_actions if replayed else 0, replayed_actions=replayed.replayed_actions if replayed else 0,
        error=error[:2000], finished_at=utcnow()))
    db.commit()
