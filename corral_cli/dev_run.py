"""`corral dev run PATH`: run an agent directory on a throwaway local platform, as
Circuit's `circuit run` does: build its image, bring up anvil + signer + orchestrator,
fund a fresh wallet, start a session in the chosen mode, wait for the runs, show their
logs; in manual mode let the author decide the suggestions while the platform is still up;
with --unwind run the agent's unwind(); show the transactions, and tear everything down.

Exit status: 0 when every run (and the unwind) succeeded, 1 when one failed, 2 for a
mistake in the command or the agent directory, 124 when --timeout passed (as timeout(1)),
130 on Ctrl-C. Whatever ends it, the local platform is torn down."""

from __future__ import annotations

import signal
import sys
import tempfile
import time
from dataclasses import dataclass, field
from pathlib import Path

import grpc

from corral.networks import is_solana
from corral.v1 import common_pb2
from corral.v1 import orchestrator_pb2 as pb
from corral_cli import logs as logs_cli
from corral_cli.client import SESSION_NAMES, TX_NAMES, print_executions, print_table
from corral_cli.dev_decide import Approve, decide_pending, show_holdings
from corral_cli.display import printable, safe_text
from corral_cli.overall_timeout import TimedOut, Timer, overall_timeout
from devtools.devstack import DevStack
from orchestrator.agents.images import build_agent_image
from orchestrator.agents.manifest import ManifestError, load_manifest_dir
from orchestrator.config import SandboxConfig
from signer.solana import ASSOCIATED_TOKEN_PROGRAM, COMPUTE_BUDGET_PROGRAM, SYSTEM_PROGRAM, TOKEN_PROGRAM

FUNDING_WEI = 10 * 10**18
FUNDING_LAMPORTS = 10 * 10**9
DEV_SOLANA_PROGRAMS = [SYSTEM_PROGRAM, TOKEN_PROGRAM, ASSOCIATED_TOKEN_PROGRAM, COMPUTE_BUDGET_PROGRAM]
# The platform's own default, so a run that fits here fits on a platform left at its defaults.
PLATFORM_DEADLINE_SECONDS: float = SandboxConfig.model_fields["deadline_seconds"].default
TIMEOUT_EXIT = 124  # what timeout(1) returns
INTERRUPTED_EXIT = 130  # 128 + SIGINT, as a shell reports Ctrl-C
POLL_SECONDS = 0.3


@dataclass(frozen=True)
class DevRunOptions:
    path: Path
    mode: str | None = None
    settings: dict[str, str] = field(default_factory=dict)
    runs: int = 1
    unwind: bool = False
    approve: Approve = Approve.ASK
    timeout: float | None = None
    deadline: float = PLATFORM_DEADLINE_SECONDS


@dataclass
class Progress:
    """What the command is doing, for the message when --timeout or Ctrl-C ends it."""

    phase: str = "starting"


def dev_run(options: DevRunOptions) -> int:
    progress = Progress()
    # A `kill` (a CI job's end) tears the platform down as Ctrl-C does; left to its default,
    # SIGTERM would end this process with anvil, the signer and the orchestrator still up.
    previous = signal.signal(signal.SIGTERM, _interrupt)
    try:
        with overall_timeout(options.timeout) as timer:
            return _dev_run(options, timer, progress)
    except TimedOut as exc:
        print(f"\nerror: corral dev run {exc} (--timeout {options.timeout:g}) while {progress.phase}; "
              "the local platform was torn down", file=sys.stderr)
        return TIMEOUT_EXIT
    except KeyboardInterrupt:
        print(f"\ninterrupted while {progress.phase}; the local platform was torn down", file=sys.stderr)
        return INTERRUPTED_EXIT
    finally:
        signal.signal(signal.SIGTERM, previous)


def _interrupt(signum: int, frame: object) -> None:
    raise KeyboardInterrupt(f"signal {signum}")


def _dev_run(options: DevRunOptions, timer: Timer, progress: Progress) -> int:
    progress.phase = "building the agent's image"
    try:
        image = build_agent_image(options.path)
    except ManifestError as exc:
        print(f"error: {exc}", file=sys.stderr)
        return 2
    print(f"built {image}", flush=True)
    manifest = load_manifest_dir(options.path)[0]
    print(_deadline_line(options.deadline, manifest.sandbox.timeoutSeconds), flush=True)
    solana = is_solana(manifest.walletType)
    with tempfile.TemporaryDirectory(prefix="corral-dev-run-") as home:
        progress.phase = "starting the local platform"
        stack: DevStack | None = None
        try:
            stack = DevStack(Path(home), minute_seconds=1.0, deadline_seconds=options.deadline, solana=solana)
            stack.start()
            return _session(stack, image, solana, options, progress)
        finally:
            try:
                timer.disarm()  # the teardown is never cut short
            finally:
                if stack is not None:
                    stack.close()  # (again, harmless, if start() failed and closed it)


def _deadline_line(deadline: float, asked: float | None) -> str:
    source = "the platform's default" if deadline == PLATFORM_DEADLINE_SECONDS else "--deadline"
    line = f"each run may take up to {deadline:g}s ({source}; --deadline SECONDS to change)"
    if asked is not None and asked < deadline:
        line += f"; this agent asks for {asked:g}s ([sandbox] timeoutSeconds), which applies"
    return line


def _session(stack: DevStack, image: str, solana: bool, options: DevRunOptions, progress: Progress) -> int:
    wallet, funding = _funded_wallet(stack, solana)
    agent = stack.api.RegisterAgent(pb.RegisterAgentRequest(image=image)).agent
    request = pb.StartSessionRequest(agent_id=agent.id, wallet_address=wallet, settings=options.settings)
    if options.mode:
        request.execution_mode = common_pb2.EXECUTION_MODE_MANUAL if options.mode == "manual" else common_pb2.EXECUTION_MODE_AUTO
    try:
        session = stack.api.StartSession(request).session
    except grpc.RpcError as exc:
        print(f"error: {exc.code().name}: {exc.details()}", file=sys.stderr)
        return 2
    manual = session.execution_mode == common_pb2.EXECUTION_MODE_MANUAL
    print(f"session {session.id}: {agent.name} {agent.version} on {wallet} ({'manual' if manual else 'auto'} mode, funded with {funding})")
    _wait_for_runs(stack, session.id, options.runs, progress)
    progress.phase = "letting the last run finish"
    runs = _pause_and_settle(stack, session.id)
    print_executions(runs)
    for execution in runs:  # the platform goes when this returns: `corral logs` could not show it later
        output = logs_cli.fetch(stack.api, (), execution.id)[2]
        if output:
            print(f"\noutput of execution {execution.id} (stdout and stderr, with any traceback):\n{safe_text(output.rstrip())}")
    ok = all(e.status == pb.EXECUTION_STATUS_SUCCEEDED for e in runs)
    if manual:
        progress.phase = "waiting for the suggestions to be decided"
        decide_pending(stack.api, session.id, options.approve, interactive=sys.stdin.isatty())
    if options.unwind:
        progress.phase = "waiting for the agent's unwind()"
        ok = _unwind(stack, session.id) and ok
    else:
        stack.api.StopSession(pb.StopSessionRequest(session_id=session.id))
    txs = stack.api.ListTransactions(pb.ListTransactionsRequest(session_id=session.id)).transactions
    print("\ntransactions:")
    print_table(["execution", "status", "hash", "value (wei)", "to", "error"],
                [[t.execution_id or "-", TX_NAMES[t.status], t.tx_hash, t.value, t.to_address, printable(t.error)] for t in txs])
    return 0 if ok else 1


def _funded_wallet(stack: DevStack, solana: bool) -> tuple[str, str]:
    """A fresh wallet of the agent's kind, funded on the local chain; returns (address, what it got)."""
    if not solana:
        wallet = stack.create_wallet()
        stack.fund(wallet, FUNDING_WEI)
        return wallet, "10 ETH on local anvil"
    wallet = stack.create_solana_wallet()
    stack.airdrop(wallet, FUNDING_LAMPORTS)
    # A throwaway chain: the common programs, no amount caps (a real wallet's policy sets them).
    stack.set_policy(wallet, {"solana": {"allowed_programs": DEV_SOLANA_PROGRAMS}})
    return wallet, "10 SOL on the local Solana devchain"


def _executions(stack: DevStack, session_id: int) -> list[pb.Execution]:
    """The session's executions, oldest first."""
    return list(reversed(stack.api.ListExecutions(pb.ListExecutionsRequest(session_id=session_id, view=pb.RESOURCE_VIEW_FULL)).executions))


def _wait_for_runs(stack: DevStack, session_id: int, runs: int, progress: Progress) -> None:
    """Waits with a progress line (on a terminal) until `runs` executions have finished, or
    the platform has stopped running the session (a breaker paused it, say: then no more
    runs would come, and it says why)."""
    started = time.monotonic()
    while True:
        executions = _executions(stack, session_id)
        finished = [e for e in executions if e.status != pb.EXECUTION_STATUS_RUNNING]
        progress.phase = f"waiting for run {min(len(finished) + 1, runs)}/{runs}"
        if len(finished) >= runs:
            break
        session = stack.api.GetSession(pb.GetSessionRequest(session_id=session_id)).session
        if session.status in (pb.SESSION_STATUS_PAUSED, pb.SESSION_STATUS_STOPPED) and len(executions) == len(finished):
            reason = f": {printable(session.status_reason)}" if session.status_reason else ""
            print(f"\nthe platform {SESSION_NAMES[session.status]} the session after {len(finished)} run(s){reason}")
            break
        if sys.stdout.isatty():
            state = "running" if len(executions) > len(finished) else "starting"
            print(f"\r{progress.phase} {state}… {time.monotonic() - started:5.1f}s", end="", flush=True)
        time.sleep(POLL_SECONDS)
    if sys.stdout.isatty():
        print("\r" + " " * 60 + "\r", end="")


def _pause_and_settle(stack: DevStack, session_id: int) -> list[pb.Execution]:
    """Pauses the session (its suggestions stay pending: only a next run's start would clear
    them) and waits for a run that had already started, so what is shown and decided next
    is final. Returns every finished run."""
    try:
        stack.api.PauseSession(pb.PauseSessionRequest(session_id=session_id))
    except grpc.RpcError as exc:
        if exc.code() != grpc.StatusCode.FAILED_PRECONDITION:  # already paused or stopped by the platform
            raise
    executions = _executions(stack, session_id)
    while any(e.status == pb.EXECUTION_STATUS_RUNNING for e in executions):
        time.sleep(POLL_SECONDS)
        executions = _executions(stack, session_id)
    return [e for e in executions if e.command != common_pb2.EXECUTION_COMMAND_UNWIND]


def _unwind(stack: DevStack, session_id: int) -> bool:
    """Unwinds the session (its unwind() runs once with every position, then the platform
    stops it), waits for that run and shows it; returns whether it succeeded."""
    print("\nunwinding: the agent's unwind() runs once with every position the session holds, then the session stops")
    try:
        stack.api.UnwindSession(pb.UnwindSessionRequest(session_id=session_id))
    except grpc.RpcError as exc:
        print(f"error: the session could not be unwound: {exc.details()}", file=sys.stderr)
        stack.api.StopSession(pb.StopSessionRequest(session_id=session_id))
        return False
    while True:
        unwinds = [e for e in _executions(stack, session_id) if e.command == common_pb2.EXECUTION_COMMAND_UNWIND]
        if unwinds and unwinds[-1].status != pb.EXECUTION_STATUS_RUNNING:
            print_executions(unwinds[-1:])
            show_holdings(stack.api, session_id)
            return unwinds[-1].status == pb.EXECUTION_STATUS_SUCCEEDED
        session = stack.api.GetSession(pb.GetSessionRequest(session_id=session_id)).session
        if session.status == pb.SESSION_STATUS_STOPPED and not unwinds:
            print(f"the session stopped without running unwind(){': ' + printable(session.status_reason) if session.status_reason else ''}")
            return False
        time.sleep(POLL_SECONDS)
