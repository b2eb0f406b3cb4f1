"""kill -9 at every step: the orchestrator (and separately the signer) is killed at each step
of the transaction path and of an execution (corral.failpoints: the process SIGKILLs itself
at that exact point), restarted, and the platform must have lost nothing and sent nothing
twice: every on-chain transaction of the wallet is one confirmed row (nonce count, the
recipient's balance and the ledger agree, read back with web3), no transaction is left
half-done, memory survived, and the session carries on at its next interval."""

from __future__ import annotations

import json
import signal
import sqlite3
import subprocess
from datetime import timedelta

import grpc
import pytest
from eth_account import Account

from corral.failpoints import ORCHESTRATOR_EXECUTION_POINTS, ORCHESTRATOR_TRANSACTION_POINTS, SIGNER_POINTS
from corral.v1 import common_pb2
from corral.v1 import orchestrator_pb2 as pb
from devtools.devstack import DevStack
from orchestrator.agents.manifest import NATIVE_EVM
from orchestrator.sessions.recovery import INTERRUPTED, NEVER_BROADCAST, QUARANTINED
from sandbox_runner.host.backend import SANDBOX_ID_LABEL
from tests.conftest import REPO_ROOT
from tests.helpers import executions, log_lines, wait_for, wait_until_idle

TIP, ALLOCATION = 1000, 10**17
FINAL = (pb.TRANSACTION_STATUS_CONFIRMED, pb.TRANSACTION_STATUS_REVERTED, pb.TRANSACTION_STATUS_REJECTED)


@pytest.fixture(scope="module")
def stack(tmp_path_factory):
    # Short deadlines: a sandbox left by a dead orchestrator must not outlive the test.
    with DevStack(tmp_path_factory.mktemp("crash"), minute_seconds=1.0, deadline_seconds=30.0) as stack:
        yield stack


@pytest.fixture(scope="module")
def tipper(stack, agent_image) -> int:
    image = agent_image(REPO_ROOT / "images" / "example-agent")
    return stack.api.RegisterAgent(pb.RegisterAgentRequest(image=image)).agent.id


def start_tipping(stack: DevStack, agent_id: int) -> tuple[str, str, int]:
    wallet, recipient = stack.create_wallet(), Account.create().address
    stack.fund(wallet, 10**18)
    session = stack.api.StartSession(pb.StartSessionRequest(
        agent_id=agent_id, wallet_address=wallet, settings={"recipient": recipient, "tip_wei": str(TIP)},
        allocation_amount=str(ALLOCATION))).session
    return wallet, recipient, session.id


def transactions(stack: DevStack, session_id: int) -> list:
    return sorted(stack.api.ListTransactions(pb.ListTransactionsRequest(session_id=session_id)).transactions, key=lambda t: t.id)


def run_on_after_restart(stack: DevStack, session_id: int, runs_before: int) -> None:
    """Until the session has succeeded again after the restart, a tip is confirmed and every
    transaction is settled; then pauses it and waits until it is idle."""
    def carried_on() -> bool:
        txs = transactions(stack, session_id)
        return (any(e.status == pb.EXECUTION_STATUS_SUCCEEDED for e in executions(stack, session_id)[runs_before:])
                and any(t.status == pb.TRANSACTION_STATUS_CONFIRMED for t in txs) and all(t.status in FINAL for t in txs))

    wait_for(carried_on, timeout=180, what="a successful run after the restart, a confirmed tip and every transaction settled")
    stack.api.PauseSession(pb.PauseSessionRequest(session_id=session_id))
    wait_until_idle(stack, session_id)


def assert_chain_matches_the_ledger(stack: DevStack, wallet: str, recipient: str, session_id: int) -> list:
    """Nothing sent twice, nothing sent unrecorded: the wallet's nonce counts exactly the
    confirmed rows, the recipient got one tip per confirmed row, and the session's position
    is its allocation less those tips and their gas, as the receipts say."""
    txs = transactions(stack, session_id)
    confirmed = [t for t in txs if t.status == pb.TRANSACTION_STATUS_CONFIRMED]
    assert confirmed and len({t.tx_hash for t in confirmed}) == len(confirmed)
    assert stack.web3.eth.get_transaction_count(wallet) == len(confirmed)
    assert stack.web3.eth.get_balance(recipient) == TIP * len(confirmed)
    gas = sum((r := stack.web3.eth.get_transaction_receipt(t.tx_hash)).gasUsed * r.effectiveGasPrice for t in confirmed)
    session = stack.api.GetSession(pb.GetSessionRequest(session_id=session_id)).session
    held = {(p.network, p.asset_address): p.current_qty for p in session.positions}
    assert held[("ethereum:31337", NATIVE_EVM)] == str(ALLOCATION - TIP * len(confirmed) - gas)
    return txs


def logged_run_numbers(stack: DevStack, session_id: int) -> list[int]:
    """The run counter each execution read from session memory (the example agent logs
    `run N` with N = the stored count + 1, then stores N)."""
    numbers = []
    for execution in executions(stack, session_id):
        numbers += [int(line.split()[1]) for line in log_lines(execution) if line.startswith("run ")]
    return numbers


def containers_of(stack: DevStack, execution_id: int) -> list[str]:
    """The containers (running or not) of the sandbox an execution ran in, found by the
    sandbox id the orchestrator recorded for it."""
    with sqlite3.connect(stack.database_path) as db:
        (sandbox_id,) = db.execute("SELECT sandbox_id FROM executions WHERE id = ?", (execution_id,)).fetchone()
    if not sandbox_id:
        return []
    return subprocess.run(["docker", "ps", "-aq", "--filter", f"label={SANDBOX_ID_LABEL}={sandbox_id}"],
                          capture_output=True, text=True, check=True).stdout.split()


@pytest.mark.parametrize("point", ORCHESTRATOR_TRANSACTION_POINTS + ORCHESTRATOR_EXECUTION_POINTS)
def test_orchestrator_killed_at_each_step_loses_nothing_and_sends_nothing_twice(stack, tipper, point):
    stack.restart_orchestrator(crash_at=point)
    wallet, recipient, session_id = start_tipping(stack, tipper)
    assert stack.wait_for_crash("orchestrator") == -signal.SIGKILL
    stack.restart_orchestrator()

    first = executions(stack, session_id)[0]
    assert first.status == pb.EXECUTION_STATUS_INTERRUPTED and first.error == INTERRUPTED
    run_on_after_restart(stack, session_id, runs_before=1)
    txs = assert_chain_matches_the_ledger(stack, wallet, recipient, session_id)

    crashed_tx = [t for t in txs if t.execution_id == first.id]
    if point in ("tx.intent_stored", "tx.signed"):
        # Never stored signed, so never broadcast: closed as such, and the next run paid instead.
        assert [(t.status, t.error) for t in crashed_tx] == [(pb.TRANSACTION_STATUS_REJECTED, NEVER_BROADCAST)]
    elif point.startswith("tx."):
        # Stored signed: broadcast again byte for byte after the restart (same hash), once.
        assert [t.status for t in crashed_tx] == [pb.TRANSACTION_STATUS_CONFIRMED]
    elif point == "execution.sandbox_finished":
        assert [t.status for t in crashed_tx] == [pb.TRANSACTION_STATUS_CONFIRMED]  # the run had finished paying
    else:
        assert crashed_tx == []

    # Session memory survived the crash: each run counted on from the one before.
    numbers = logged_run_numbers(stack, session_id)
    if point != "execution.sandbox_started":  # killed there, the agent may or may not have stored its count
        assert numbers == list(range(1, len(numbers) + 1)), numbers
    # The next run came at the next interval, not at once, and the crashed run's sandbox is gone.
    second = executions(stack, session_id)[1]
    assert second.started_at.ToDatetime() - first.finished_at.ToDatetime() >= timedelta(seconds=0.99)  # one interval "minute"
    assert containers_of(stack, first.id) == []


@pytest.mark.parametrize("point", SIGNER_POINTS)
def test_signer_killed_at_each_step_signs_nothing_that_is_sent(stack, tipper, point):
    stack.restart_signer(crash_at=point)
    wallet, recipient, session_id = start_tipping(stack, tipper)
    assert stack.wait_for_crash("signer") == -signal.SIGKILL
    stack.restart_signer()
    run_on_after_restart(stack, session_id, runs_before=0)
    txs = assert_chain_matches_the_ledger(stack, wallet, recipient, session_id)
    # The request in flight when the signer died was refused to the agent; nothing it may
    # have signed left the signer, so nothing of it is on chain (the nonce count above).
    assert txs[0].status == pb.TRANSACTION_STATUS_REJECTED and txs[0].tx_hash == "" and "signer" in txs[0].error
    # The audit log is still a valid chain, and says the signer's run before the restart ended
    # uncleanly (the request in flight then was never decided).
    verified = stack.corral("signer", "--home", str(stack.signer_home), "--passphrase-file", str(stack.passphrase_file), "audit", "verify")
    assert verified.returncode == 0
    lines = [json.loads(line) for line in (stack.signer_home / "audit.jsonl").read_text().splitlines()]
    assert [e for e in lines if e["action"] == "signer_start"][-1]["previous_stop"].startswith("unclean")


@pytest.mark.parametrize("point", ["tx.signed_stored", "tx.broadcast"])
def test_an_approval_cut_short_by_a_crash_is_finished_once_after_the_restart(stack, tipper, point):
    wallet, recipient = stack.create_wallet(), Account.create().address
    stack.fund(wallet, 10**18)
    session_id = stack.api.StartSession(pb.StartSessionRequest(
        agent_id=tipper, wallet_address=wallet, execution_mode=common_pb2.EXECUTION_MODE_MANUAL,
        settings={"recipient": recipient, "tip_wei": str(TIP)}, allocation_amount=str(ALLOCATION))).session.id
    wait_for(lambda: any(e.status == pb.EXECUTION_STATUS_SUCCEEDED for e in executions(stack, session_id)), what="a suggesting run")
    stack.api.PauseSession(pb.PauseSessionRequest(session_id=session_id))
    wait_until_idle(stack, session_id)
    [suggestion] = stack.api.ListSuggestions(pb.ListSuggestionsRequest(session_id=session_id)).suggestions

    stack.restart_orchestrator(crash_at=point)
    # Answered `approving` at once, or cut (UNAVAILABLE) when the crash beat the answer.
    try:
        assert stack.api.ApproveSuggestion(pb.ApproveSuggestionRequest(suggestion_id=suggestion.id)).suggestion.status == pb.SUGGESTION_STATUS_APPROVING
    except grpc.RpcError as cut:
        assert cut.code() == grpc.StatusCode.UNAVAILABLE
    assert stack.wait_for_crash("orchestrator") == -signal.SIGKILL
    stack.restart_orchestrator()

    def settled():
        [row] = stack.api.ListSuggestions(pb.ListSuggestionsRequest(session_id=session_id, include_discarded=True)).suggestions
        return row if row.status != pb.SUGGESTION_STATUS_APPROVING else None

    row = wait_for(settled, what="the suggestion to be settled after the restart")
    assert row.status == pb.SUGGESTION_STATUS_EXECUTED, row.error
    [tx] = transactions(stack, session_id)
    assert tx.status == pb.TRANSACTION_STATUS_CONFIRMED and row.result.fields["tx_hash"].string_value == tx.tx_hash
    assert stack.web3.eth.get_transaction_count(wallet) == 1 and stack.web3.eth.get_balance(recipient) == TIP
    with pytest.raises(grpc.RpcError) as again:
        stack.api.ApproveSuggestion(pb.ApproveSuggestionRequest(suggestion_id=suggestion.id))
    assert again.value.code() == grpc.StatusCode.FAILED_PRECONDITION
    assert stack.web3.eth.get_balance(recipient) == TIP  # once


def test_a_session_that_was_running_at_two_crashes_in_a_row_is_paused_not_run_again(stack, tipper):
    """A poison pill: if the orchestrator died while this session's execution ran, twice in a
    row, recovery pauses the session with the reason instead of running it into a third
    crash; a person resumes it."""
    for other in stack.api.ListSessions(pb.ListSessionsRequest()).sessions:  # only this session may run into the crash
        if other.status == pb.SESSION_STATUS_RUNNING:
            stack.api.PauseSession(pb.PauseSessionRequest(session_id=other.id))
            wait_until_idle(stack, other.id)
    stack.restart_orchestrator(crash_at="execution.sandbox_started")
    _, _, session_id = start_tipping(stack, tipper)
    assert stack.wait_for_crash("orchestrator") == -signal.SIGKILL
    try:
        stack.restart_orchestrator(crash_at="execution.sandbox_started")  # recovers the first, crashes at the next run
    except RuntimeError:
        pass  # the next run came before the API answered: it crashed while starting, as armed
    assert stack.wait_for_crash("orchestrator") == -signal.SIGKILL
    stack.restart_orchestrator()

    session = stack.api.GetSession(pb.GetSessionRequest(session_id=session_id)).session
    assert session.status == pb.SESSION_STATUS_PAUSED and session.status_reason == QUARANTINED
    runs = executions(stack, session_id)
    assert [(e.status, e.error) for e in runs] == [(pb.EXECUTION_STATUS_INTERRUPTED, INTERRUPTED)] * 2
    # Nothing more runs until a person resumes it; then it runs again.
    stack.api.ResumeSession(pb.ResumeSessionRequest(session_id=session_id))
    wait_for(lambda: any(e.status == pb.EXECUTION_STATUS_SUCCEEDED for e in executions(stack, session_id)), what="a run after resuming")
    stack.api.PauseSession(pb.PauseSessionRequest(session_id=session_id))
    wait_until_idle(stack, session_id)
