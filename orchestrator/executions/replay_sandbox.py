"""Running a replay (`corral replay`): the agent's image in a sandbox started as the platform
starts one (same backend, same limits, same socket directory and token), its runtime socket
answered from a recording (`replay.RecordedAnswers`) instead of by the platform, and its egress
socket answered from the recording's HTTP exchanges (egress/replayed.py, with a certificate
authority made for this replay, which its sandbox trusts). A replay reaches no network, and
nothing answers for a chain or the signer: what the agent does is captured and compared,
never carried out.
"""

from __future__ import annotations

import asyncio
import os
import secrets
import tempfile
import uuid
from collections.abc import Callable
from dataclasses import dataclass, field
from pathlib import Path

import grpc

from corral.limits import LOG_LINE_MAX_CHARS, RUNTIME_REQUEST_MAX_BYTES, TRACEBACK_MAX_CHARS, shortened, tail_shortened
from corral.v1 import orchestrator_pb2, runtime_pb2, runtime_pb2_grpc
from orchestrator.config import EgressLimits
from orchestrator.egress.interception import InterceptionCA
from orchestrator.egress.replayed import ReplayedEgress
from orchestrator.executions.progress import AgentProgress
from orchestrator.executions.replay import OUTPUTS, REQUEST_TYPES, RESPONSE_TYPES, RecordedAnswers
from orchestrator.executions.runtime_service import CallBudget, ExecutionMethods
from sandbox_runner.host.backend import (
    EGRESS_CA_NAME,
    EGRESS_SOCKET_NAME,
    SANDBOX_SOCKET_DIR,
    SOCKET_NAME,
    SandboxBackend,
    SandboxLimits,
    SandboxResult,
    SandboxSpec,
    StartedSandbox,
    run_sandbox,
)
from sandbox_runner.host.socket_dirs import LocalSocketDirs, hand_to_sandbox_user

# Marks a replay's sandbox (no orchestrator's installation label: no reaper takes it for its own).
REPLAY_LABEL = "org.corral.replay"


@dataclass
class ReplayOutcome:
    """What one replay found."""

    execution_id: int
    difference: list[str]
    recorded_actions: int
    replayed_actions: int
    missing_reads: list[str]
    calls_not_recorded: int
    withheld: int
    # The replayed agent's HTTP requests answered from the recording, and those answered by
    # their path only (their query or body differed from the recorded request's).
    egress_answered: int
    egress_by_path: list[str]
    sandbox: SandboxResult
    logs: list[str] = field(default_factory=list)
    # What the agent reported: (success, error), or None when it never did.
    reported: tuple[bool, str] | None = None
    traceback: str = ""


class ReplayServicer(runtime_pb2_grpc.AgentRuntimeServicer):
    """The runtime API of a replay: every method but the outputs answered from the recording
    (the loop after the class gives each one `_answering`); log lines and the outcome kept."""

    def __init__(self, answers: RecordedAnswers, budget: CallBudget) -> None:
        self.answers = answers
        self.budget = budget
        self.logs: list[str] = []
        self.reported: tuple[bool, str] | None = None
        self.traceback = ""

    async def AppendLogs(self, request, context):
        for entry in request.entries:
            if self.budget.log_lines < self.budget.max_log_lines:
                self.budget.log_lines += 1
                self.logs.append(shortened(entry.message, LOG_LINE_MAX_CHARS))
        return runtime_pb2.AppendLogsResponse()

    async def CompleteExecution(self, request, context):
        if self.reported is None:
            self.reported = (request.success, request.error)
            self.traceback = tail_shortened(request.traceback, TRACEBACK_MAX_CHARS)
        return runtime_pb2.CompleteExecutionResponse()


def _answering(method: str):
    async def answer(self: ReplayServicer, request, context):
        given = self.answers.answer(method, request)
        if given.code != "OK":
            code = grpc.StatusCode.__members__.get(given.code, grpc.StatusCode.UNKNOWN)
            await context.abort(code, given.details or f"the recorded execution's {method} call ended {given.code}")
        return RESPONSE_TYPES[method].FromString(given.response)

    answer.__name__ = method
    return answer


for _method in REQUEST_TYPES.keys() - OUTPUTS:
    setattr(ReplayServicer, _method, _answering(_method))


async def replay(recording: orchestrator_pb2.ExecutionRecording, image: str, backend: SandboxBackend, limits: SandboxLimits,
                 sockets: ReplaySockets | None = None, egress_limits: EgressLimits | None = None) -> ReplayOutcome:
    """Runs `image` once against `recording`; what it did, compared with what the recorded
    execution did. `sockets`: where its socket directory comes from and what its sandbox is
    labelled (the orchestrator's, for a shadow run); default: a temporary directory."""
    if sockets is not None:
        return await _replay_in(recording, image, backend, limits, sockets, egress_limits)
    with tempfile.TemporaryDirectory(prefix="corral-replay-") as root:
        dirs = LocalSocketDirs(Path(root))
        return await _replay_in(recording, image, backend, limits,
                                ReplaySockets(dirs.make, lambda path: dirs.remove(path.name.removeprefix("sbx-")),
                                              {REPLAY_LABEL: str(recording.execution_id)}), egress_limits)


@dataclass
class ReplaySockets:
    """Where a replay's socket directory is made and removed, and its sandbox's labels; the
    sandbox, once started, is told to `started` (so an owner can end it early)."""

    make: Callable[[str], Path]
    remove: Callable[[Path], None]
    labels: dict[str, str]
    started: Callable[[StartedSandbox | None], None] = lambda sandbox: None


async def _replay_in(recording: orchestrator_pb2.ExecutionRecording, image: str, backend: SandboxBackend, limits: SandboxLimits,
                     sockets: ReplaySockets, egress_limits: EgressLimits | None) -> ReplayOutcome:
    answers = RecordedAnswers(recording)
    budget = CallBudget()
    servicer = ReplayServicer(answers, budget)
    token = secrets.token_urlsafe(32)
    sandbox_id = uuid.uuid4().hex
    socket_dir = sockets.make(sandbox_id)
    egress = ReplayedEgress(recording.exchanges, await asyncio.to_thread(_replay_ca), egress_limits)
    try:
        await _start_egress(egress, socket_dir)
        server = grpc.aio.server(options=[("grpc.max_receive_message_length", RUNTIME_REQUEST_MAX_BYTES)], maximum_concurrent_rpcs=16)
        server.add_generic_rpc_handlers([ExecutionMethods(servicer, token, budget, AgentProgress())])
        binding = socket_dir / f".{SOCKET_NAME}.binding"
        server.add_insecure_port(f"unix:{binding}")
        await server.start()
        try:
            hand_to_sandbox_user(binding)
            os.rename(binding, socket_dir / SOCKET_NAME)
            spec = SandboxSpec(image=image, command=["run"], socket_dir=socket_dir, sandbox_id=sandbox_id,
                               environment={"CORRAL_SOCKET": f"{SANDBOX_SOCKET_DIR}/{SOCKET_NAME}", "CORRAL_TOKEN": token},
                               limits=limits, labels=dict(sockets.labels))
            result = await asyncio.to_thread(run_sandbox, backend, spec, sockets.started)
        finally:
            await server.stop(grace=None)
    finally:
        await egress.close()
        sockets.remove(socket_dir)
    recorded = answers.recorded_actions()
    difference = await asyncio.to_thread(answers.difference, recorded)
    return ReplayOutcome(
        execution_id=recording.execution_id, difference=difference, recorded_actions=len(recorded),
        replayed_actions=len(answers.actions), missing_reads=answers.missing_reads + [f"egress {m}" for m in egress.missing],
        calls_not_recorded=recording.calls_not_recorded, withheld=answers.withheld(), egress_answered=egress.answered,
        egress_by_path=egress.by_path, sandbox=result, logs=servicer.logs, reported=servicer.reported, traceback=servicer.traceback)


def _replay_ca() -> InterceptionCA:
    """A certificate authority for one replay (its key only in memory and a directory removed at once)."""
    with tempfile.TemporaryDirectory(prefix="corral-replay-ca-") as folder:
        return InterceptionCA.load_or_create(Path(folder))


async def _start_egress(egress: ReplayedEgress, socket_dir: Path) -> None:
    """The replay's egress socket and the certificate its sandbox trusts, in `socket_dir`."""
    binding = socket_dir / f".{EGRESS_SOCKET_NAME}.binding"
    await egress.start(str(binding))
    hand_to_sandbox_user(binding)
    os.rename(binding, socket_dir / EGRESS_SOCKET_NAME)
    (socket_dir / EGRESS_CA_NAME).write_bytes(egress.certificate_pem)
    os.chmod(socket_dir / EGRESS_CA_NAME, 0o644)
