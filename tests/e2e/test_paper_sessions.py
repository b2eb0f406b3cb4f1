"""Paper sessions on the dev stack: a DCA agent run on paper buys its token on a fork of the
chain while the real wallet, and the real chain, stay exactly as they were (balances and
nonces read back from anvil); its positions, ledger and transactions are the fork's (read back
from the fork itself), and so is what its own chain reads see; the real wallet's policy refuses in the paper session what it would
refuse for real; stopping the session ends its fork."""

from __future__ import annotations

import json
import os
import signal
import sqlite3
from pathlib import Path

import grpc
import pytest
from eth_utils import function_signature_to_4byte_selector, to_checksum_address
from web3 import Web3
from web3.exceptions import TransactionNotFound

from corral.v1 import orchestrator_pb2 as pb
from devtools import contracts
from devtools.devstack import DevStack
from orchestrator.executions.runner import CALLED_OFF
from tests.conftest import REPO_ROOT
from tests.helpers import SwapMarket, agent_from_template, finished, log_lines, wait_for, wait_until_idle

DCA = REPO_ROOT / "tests" / "agents" / "dca"
SWAP_SELECTOR = "0x" + function_signature_to_4byte_selector("swapExactTokensForTokens(uint256,uint256,address[],address,uint256)").hex()
PER_RUN, ALLOCATION, MINTED = 100_000, 500_000, 1_000_000


@pytest.fixture(scope="module")
def stack(tmp_path_factory):
    with DevStack(tmp_path_factory.mktemp("paper"), minute_seconds=1.0, uniswap=True) as stack:
        yield stack


@pytest.fixture(scope="module")
def market(stack):
    return SwapMarket(stack)


def real_wallet(stack: DevStack, market: SwapMarket, approvals: bool = True) -> str:
    wallet = stack.create_wallet()
    stack.fund(wallet, 10**18)
    market.erc20[market.stable].functions.mint(to_checksum_address(wallet), MINTED).transact({"from": stack.web3.eth.accounts[0]})
    stack.set_policy(wallet, {
        "allowed_chain_ids": [31337],
        "approvals": [{"token": market.stable, "spender": stack.uniswap_router, "max_amount": str(PER_RUN)}] if approvals else [],
        "contracts": [{"address": stack.uniswap_router, "selectors": [SWAP_SELECTOR]}],
    })
    return wallet


def start_paper(stack: DevStack, market: SwapMarket, agent_image, tmp_path: Path, wallet: str, name: str) -> pb.Session:
    folder = agent_from_template(DCA, tmp_path / name, name=name, stable=market.stable)
    agent = stack.api.RegisterAgent(pb.RegisterAgentRequest(image=agent_image(folder))).agent
    return stack.api.StartSession(pb.StartSessionRequest(agent_id=agent.id, wallet_address=wallet, allocation_amount=str(ALLOCATION),
                                                         settings={"token": market.token, "read_chain": "true"}, paper=True)).session


def fork_of(stack: DevStack, session_id: int) -> Web3:
    """The session's fork, read directly (its address is the orchestrator's, in its database)."""
    with sqlite3.connect(stack.database_path) as db:
        [url] = db.execute("SELECT paper_fork_url FROM sessions WHERE id = ?", (session_id,)).fetchone()
    return Web3(Web3.HTTPProvider(url))


def test_a_paper_dca_session_trades_on_its_fork_and_moves_nothing_on_the_real_chain(stack, market, agent_image, tmp_path):
    wallet = real_wallet(stack, market)
    head = stack.web3.eth.block_number
    session = start_paper(stack, market, agent_image, tmp_path, wallet, "PaperDca")
    paper = session.wallet_address
    assert session.paper_of_wallet_address == wallet and paper.lower() != wallet.lower()
    assert session.paper_fork_block == head and session.record_executions
    # Listed under the real wallet, as its owner would look for it, and marked paper.
    assert [s.id for s in stack.api.ListSessions(pb.ListSessionsRequest(wallet_address=wallet)).sessions] == [session.id]
    listed = stack.corral("session", "list", "--server", stack.api_address).stdout
    assert f"PAPER {wallet}" in next(line for line in listed.splitlines() if line.startswith(f"{session.id} "))

    wait_for(lambda: len(finished(stack, session.id)) >= 2, timeout=180, what="two paper DCA runs")
    stack.api.PauseSession(pb.PauseSessionRequest(session_id=session.id))
    wait_until_idle(stack, session.id)
    runs = finished(stack, session.id)
    for run in runs:
        assert json.loads(log_lines(run)[0])["status"] == "success", log_lines(run)

    # On the fork: the paper wallet spent its allocation, run by run, and holds the token bought.
    fork = fork_of(stack, session.id)
    stable, token = (contracts.at(fork, "TestToken", address) for address in (market.stable, market.token))
    bought = token.functions.balanceOf(paper).call()
    assert bought > 0 and stable.functions.balanceOf(paper).call() == ALLOCATION - len(runs) * PER_RUN
    assert json.loads(log_lines(runs[-1])[1]) == {"stable": str(ALLOCATION - len(runs) * PER_RUN), "token": str(bought),
                                                   "ledger": 2 * len(runs)}
    # The agent's own chain reads see its fork (the paper wallet holds nothing on the real chain).
    assert json.loads(log_lines(runs[-1])[2]) == {"on_chain": str(ALLOCATION - len(runs) * PER_RUN)}
    held = {p.asset_address.lower(): p.current_qty for p in stack.api.GetSession(pb.GetSessionRequest(session_id=session.id)).session.positions}
    assert held[market.token.lower()] == str(bought)

    # On the real chain: nothing moved, nothing was sent, from either wallet.
    assert (market.balance(market.stable, wallet), market.balance(market.token, wallet)) == (MINTED, 0)
    assert stack.web3.eth.get_transaction_count(wallet) == 0 and stack.web3.eth.get_balance(wallet) == 10**18
    assert stack.web3.eth.get_transaction_count(paper) == 0 and stack.web3.eth.get_balance(paper) == 0
    assert (market.balance(market.stable, paper), market.balance(market.token, paper)) == (0, 0)
    txs = stack.api.ListTransactions(pb.ListTransactionsRequest(session_id=session.id)).transactions
    assert len(txs) == 2 * len(runs) and all(t.status == pb.TRANSACTION_STATUS_CONFIRMED and not t.explorer_url for t in txs)
    for tx in txs:
        assert fork.eth.get_transaction_receipt(tx.tx_hash).status == 1
        with pytest.raises(TransactionNotFound):
            stack.web3.eth.get_transaction(tx.tx_hash)

    # Its executions were recorded (a paper session's are, by default).
    assert stack.api.GetExecutionRecording(pb.GetExecutionRecordingRequest(execution_id=runs[0].id)).recording.calls

    # Stopped: the fork ends.
    stack.api.StopSession(pb.StopSessionRequest(session_id=session.id))
    wait_for(lambda: not _answers(fork), timeout=60, what="the paper fork to end")


def test_the_real_wallet_s_policy_refuses_in_the_paper_session_what_it_would_refuse_for_real(stack, market, agent_image, tmp_path):
    wallet = real_wallet(stack, market, approvals=False)
    session = start_paper(stack, market, agent_image, tmp_path, wallet, "PaperRefused")
    run = wait_for(lambda: finished(stack, session.id), what="a paper run")[0]
    stack.api.StopSession(pb.StopSessionRequest(session_id=session.id))
    result = json.loads(log_lines(run)[0])
    assert result["status"] == "failure" and result["error"][0].startswith("step 1 of 2 (approve ")
    txs = stack.api.ListTransactions(pb.ListTransactionsRequest(session_id=session.id)).transactions
    assert [t.status for t in txs] == [pb.TRANSACTION_STATUS_REJECTED] and "approval-limit" in txs[0].error
    # The signer's own record says which wallet it refused: the paper one, under the copy of the real one's policy.
    audit = [json.loads(line) for line in (stack.signer_home / "audit.jsonl").read_text().splitlines()]
    made = [line for line in audit if line.get("action") == "create_paper_wallet" and line.get("wallet") == wallet]
    assert made and made[-1]["decision"] == "allow" and made[-1]["paper_wallet"] == session.wallet_address
    assert any(line.get("wallet") == session.wallet_address and line.get("rule") == "approval-limit" and line["decision"] == "deny"
               for line in audit)


def test_a_paper_session_needs_a_wallet_with_a_policy_to_copy(stack, market, agent_image, tmp_path):
    wallet = stack.create_wallet()
    stack.fund(wallet, 10**18)
    (stack.signer_home / "policies" / f"{wallet.lower()}.json").unlink(missing_ok=True)
    with pytest.raises(Exception) as refused:
        start_paper(stack, market, agent_image, tmp_path, wallet, "NoPolicy")
    assert "has no readable policy to copy" in refused.value.details()  # type: ignore[attr-defined]
    assert stack.api.ListSessions(pb.ListSessionsRequest(wallet_address=wallet)).sessions == []


def test_promoting_a_paper_session_starts_the_real_one_with_its_settings(stack, market, agent_image, tmp_path):
    wallet = real_wallet(stack, market)
    paper = start_paper(stack, market, agent_image, tmp_path, wallet, "Promoted")
    real = stack.corral("session", "promote", str(paper.id), "--allocation", "300000", "--server", stack.api_address).stdout
    [listed] = [s for s in stack.api.ListSessions(pb.ListSessionsRequest(wallet_address=wallet)).sessions if not s.paper_of_wallet_address]
    session = stack.api.GetSession(pb.GetSessionRequest(session_id=listed.id)).session
    assert real.startswith(f"session {session.id}: agent {paper.agent_id} on {wallet} ")
    assert (session.wallet_address, session.agent_id, dict(session.settings), session.execution_mode) == (
        wallet, paper.agent_id, dict(paper.settings), paper.execution_mode)
    assert session.allocation.current_qty == "300000" and not session.record_executions
    run = wait_for(lambda: finished(stack, session.id), timeout=120, what="a real run")[0]
    stack.api.StopSession(pb.StopSessionRequest(session_id=session.id))
    stack.api.StopSession(pb.StopSessionRequest(session_id=paper.id))
    wait_until_idle(stack, session.id)
    assert json.loads(log_lines(run)[0])["status"] == "success"
    # This one is real: the wallet's own stable paid for the token, on the real chain.
    ran = [r for r in finished(stack, session.id) if r.error != CALLED_OFF]
    assert market.balance(market.stable, wallet) == MINTED - PER_RUN * len(ran)
    assert market.balance(market.token, wallet) > 0
    with pytest.raises(grpc.RpcError) as refused:
        stack.api.PromoteSession(pb.PromoteSessionRequest(session_id=session.id))
    assert refused.value.code() == grpc.StatusCode.FAILED_PRECONDITION and "is not a paper session" in refused.value.details()


def test_a_paper_session_s_fork_outlives_a_crash_of_the_orchestrator_with_what_it_did(stack, market, agent_image, tmp_path):
    """SIGKILL: the fork dies with the orchestrator (no orphan), and the restarted one takes it
    up from its saved state: the next run starts from what the last one left."""
    wallet = real_wallet(stack, market)
    session = start_paper(stack, market, agent_image, tmp_path, wallet, "PaperCrash")
    wait_for(lambda: finished(stack, session.id), timeout=120, what="a paper run")
    stack.api.PauseSession(pb.PauseSessionRequest(session_id=session.id))
    wait_until_idle(stack, session.id)
    before = len([run for run in finished(stack, session.id) if run.error != CALLED_OFF])
    state = str(stack.orchestrator_dir / "paper-forks-orchestrator" / f"session-{session.id}.json")
    assert _forks_running(state) == 1

    os.kill(stack.processes["orchestrator"].pid, signal.SIGKILL)
    assert stack.wait_for_crash("orchestrator") == -signal.SIGKILL
    wait_for(lambda: _forks_running(state) == 0, timeout=30, what="the fork to end with the orchestrator")
    stack.restart_orchestrator()
    wait_for(lambda: _forks_running(state) == 1, timeout=60, what="the fork to be started again")
    stack.api.ResumeSession(pb.ResumeSessionRequest(session_id=session.id))
    wait_for(lambda: len(finished(stack, session.id)) > before, timeout=120, what="a run after the restart")
    stack.api.PauseSession(pb.PauseSessionRequest(session_id=session.id))
    wait_until_idle(stack, session.id)
    runs = [run for run in finished(stack, session.id) if run.error != CALLED_OFF]  # (a run the pause called off never ran)
    spent = PER_RUN * sum(json.loads(log_lines(run)[0])["status"] == "success" for run in runs)
    assert spent == PER_RUN * len(runs) and len(runs) > before
    assert json.loads(log_lines(runs[-1])[1])["stable"] == str(ALLOCATION - spent)
    # Read while the session is paused: stopping it ends its fork.
    stable = contracts.at(fork_of(stack, session.id), "TestToken", market.stable)
    assert stable.functions.balanceOf(session.wallet_address).call() == ALLOCATION - spent
    stack.api.StopSession(pb.StopSessionRequest(session_id=session.id))


def _forks_running(state_file: str) -> int:
    """anvil processes keeping `state_file` (on this machine)."""
    found = 0
    for proc in Path("/proc").iterdir():
        try:
            argv = (proc / "cmdline").read_bytes().split(b"\0")
        except OSError:
            continue
        if any(arg.endswith(b"anvil") for arg in argv) and any(arg.endswith(state_file.encode()) for arg in argv):
            found += 1
    return found


def _answers(fork: Web3) -> bool:
    try:
        return fork.eth.block_number >= 0
    except Exception:  # noqa: BLE001 — refused connection: the fork is gone
        return False
