"""`corral dev run PATH`: run an agent directory once on a throwaway local platform, as
Circuit's `circuit run` does: build its image, bring up anvil + signer + orchestrator,
fund a fresh wallet, start a session in the chosen mode, wait for the run, show its logs,
suggestions and transactions, and tear everything down."""

from __future__ import annotations

import sys
import tempfile
import time
from pathlib import Path

import grpc

from corral.networks import is_solana
from corral.v1 import common_pb2
from corral.v1 import orchestrator_pb2 as pb
from corral_cli import logs as logs_cli
from corral_cli.client import TX_NAMES, print_executions, print_suggestions, print_table
from corral_cli.terminal import safe_text
from devtools.devstack import DevStack
from orchestrator.agents.images import build_agent_image
from orchestrator.agents.manifest import ManifestError, load_manifest_dir
from signer.solana import ASSOCIATED_TOKEN_PROGRAM, COMPUTE_BUDGET_PROGRAM, SYSTEM_PROGRAM, TOKEN_PROGRAM

FUNDING_WEI = 10 * 10**18
FUNDING_LAMPORTS = 10 * 10**9
DEV_SOLANA_PROGRAMS = [SYSTEM_PROGRAM, TOKEN_PROGRAM, ASSOCIATED_TOKEN_PROGRAM, COMPUTE_BUDGET_PROGRAM]


def dev_run(path: Path, mode: str | None, settings: dict[str, str], runs: int = 1) -> int:
    try:
        image = build_agent_image(path)
    except ManifestError as exc:
        print(f"error: {exc}", file=sys.stderr)
        return 2
    print(f"built {image}", flush=True)
    solana = is_solana(load_manifest_dir(path)[0].walletType)
    with tempfile.TemporaryDirectory(prefix="corral-dev-run-") as home, DevStack(Path(home), minute_seconds=1.0, solana=solana) as stack:
        wallet, funding = _funded_wallet(stack, solana)
        agent = stack.api.RegisterAgent(pb.RegisterAgentRequest(image=image)).agent
        request = pb.StartSessionRequest(agent_id=agent.id, wallet_address=wallet, settings=settings)
        if mode:
            request.execution_mode = common_pb2.EXECUTION_MODE_MANUAL if mode == "manual" else common_pb2.EXECUTION_MODE_AUTO
        try:
            session = stack.api.StartSession(request).session
        except grpc.RpcError as exc:
            print(f"error: {exc.code().name}: {exc.details()}", file=sys.stderr)
            return 2
        mode_name = "manual" if session.execution_mode == common_pb2.EXECUTION_MODE_MANUAL else "auto"
        print(f"session {session.id}: {agent.name} {agent.version} on {wallet} ({mode_name} mode, funded with {funding})")
        done = _wait_for_runs(stack, session.id, runs)
        stack.api.PauseSession(pb.PauseSessionRequest(session_id=session.id))
        print_executions(done)
        for execution in done:  # the platform goes when this returns: `corral logs` could not show it later
            output = logs_cli.fetch(stack.api, (), execution.id)[2]
            if output:
                print(f"\noutput of execution {execution.id} (stdout and stderr, with any traceback):\n{safe_text(output.rstrip())}")
        if mode_name == "manual":
            print("\nsuggestions (approve with the API or `corral suggestion approve ID` on a running platform):")
            print_suggestions(stack.api.ListSuggestions(pb.ListSuggestionsRequest(session_id=session.id, include_discarded=True)).suggestions)
        txs = stack.api.ListTransactions(pb.ListTransactionsRequest(session_id=session.id)).transactions
        print("\ntransactions:")
        print_table(["status", "hash", "value (wei)", "to", "error"], [[TX_NAMES[t.status], t.tx_hash, t.value, t.to_address, t.error] for t in txs])
        stack.api.StopSession(pb.StopSessionRequest(session_id=session.id))
        return 0 if all(e.status == pb.EXECUTION_STATUS_SUCCEEDED for e in done) else 1


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


def _wait_for_runs(stack: DevStack, session_id: int, runs: int) -> list[pb.Execution]:
    """Waits with a progress line (on a terminal) until `runs` executions have finished."""
    started = time.monotonic()
    while True:
        executions = list(reversed(stack.api.ListExecutions(pb.ListExecutionsRequest(session_id=session_id)).executions))
        finished = [e for e in executions if e.status != pb.EXECUTION_STATUS_RUNNING]
        if len(finished) >= runs:
            if sys.stdout.isatty():
                print("\r" + " " * 60 + "\r", end="")
            return finished[:runs]
        if sys.stdout.isatty():
            state = "running" if len(executions) > len(finished) else "starting"
            print(f"\rrun {len(finished) + 1}/{runs} {state}… {time.monotonic() - started:5.1f}s", end="", flush=True)
        time.sleep(0.3)
