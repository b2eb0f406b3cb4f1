"""Solana sessions end to end: an agent in the sandbox builds a transaction with solders,
the orchestrator sets its blockhash, the signer (policy) signs it, the LiteSVM devchain
executes it; positions follow the transaction metadata and equal the chain read back
independently over JSON-RPC; two sessions on one wallet stay apart; what the policy
refuses moves nothing; manual mode previews with a simulation and approves once."""

from __future__ import annotations

import asyncio
import json
import sqlite3
import urllib.request

import grpc
import pytest
from google.protobuf.json_format import MessageToDict
from solana.rpc.async_api import AsyncClient
from solders.keypair import Keypair
from solders.message import Message
from solders.pubkey import Pubkey
from solders.signature import Signature
from solders.system_program import CreateAccountParams, TransferParams, create_account, transfer
from solders.transaction import VersionedTransaction
from spl.token.constants import TOKEN_PROGRAM_ID
from spl.token.instructions import create_associated_token_account, get_associated_token_address, initialize_mint2, mint_to
from spl.token.models import InitializeMint2Params, MintToParams

from corral.v1 import common_pb2, signer_pb2, signer_pb2_grpc
from corral.v1 import orchestrator_pb2 as pb
from devtools.devstack import DevStack
from devtools.solana_devchain import MINT_LEN
from orchestrator.agents.manifest import NATIVE_SOLANA
from signer.solana import SYSTEM_PROGRAM, TOKEN_PROGRAM
from tests.conftest import REPO_ROOT
from tests.helpers import agent_from_template, approved_suggestion, finished, log_lines, wait_for, wait_until_idle

SOLPAYER = REPO_ROOT / "tests" / "agents" / "solpayer"
SOL = 1_000_000_000
FUNDED, MINTED = 3 * SOL, 1_000_000
SOL_ALLOCATION, HOLDER_ALLOCATION, TOKEN_ALLOCATION = SOL, SOL // 2, 500_000
LAMPORTS_PER_RUN, TOKENS_PER_RUN = 10_000_000, 100_000


@pytest.fixture(scope="module")
def stack(tmp_path_factory):
    # Reconciliation every second: a misread Solana balance would show up as a drift and pause.
    with DevStack(tmp_path_factory.mktemp("solana"), minute_seconds=1.0, solana=True,
                  reconciliation={"interval_seconds": 1.0}) as stack:
        yield stack


def rpc(stack: DevStack, scenario):
    async def main():
        client = AsyncClient(stack.solana_rpc_url)
        try:
            return await scenario(client)
        finally:
            await client.close()

    return asyncio.run(main())


def lamports(stack: DevStack, address: str | Pubkey) -> int:
    return int(stack.solana_rpc("getBalance", str(address))["value"])


def token_amount(stack: DevStack, account: Pubkey) -> int:
    return int(stack.solana_rpc("getTokenAccountBalance", str(account))["value"]["amount"])


def fee_of(stack: DevStack, signature: str) -> int:
    return rpc(stack, lambda client: _fee(client, signature))


async def _fee(client: AsyncClient, signature: str) -> int:
    landed = (await client.get_transaction(Signature.from_string(signature), max_supported_transaction_version=0)).value
    assert landed.transaction.meta.err is None
    return landed.transaction.meta.fee


def create_mint(stack: DevStack, holders: list[Pubkey], minted_to: Pubkey, amount: int) -> Pubkey:
    """A 6-decimal SPL mint with an associated token account for each holder, `amount`
    minted to `minted_to`; set up by a key the test holds (not the signer's)."""
    authority, mint = Keypair(), Keypair()
    stack.airdrop(str(authority.pubkey()), 10 * SOL)

    async def setup(client: AsyncClient) -> None:
        rent = (await client.get_minimum_balance_for_rent_exemption(MINT_LEN)).value
        payer = authority.pubkey()
        instructions = [
            create_account(CreateAccountParams(from_pubkey=payer, to_pubkey=mint.pubkey(), lamports=rent, space=MINT_LEN, owner=TOKEN_PROGRAM_ID)),
            initialize_mint2(InitializeMint2Params(decimals=6, program_id=TOKEN_PROGRAM_ID, mint=mint.pubkey(), mint_authority=payer)),
            *(create_associated_token_account(payer, holder, mint.pubkey()) for holder in holders),
            mint_to(MintToParams(program_id=TOKEN_PROGRAM_ID, mint=mint.pubkey(), dest=get_associated_token_address(minted_to, mint.pubkey()),
                                 mint_authority=payer, amount=amount)),
        ]
        recent = (await client.get_latest_blockhash()).value.blockhash
        await client.send_raw_transaction(bytes(VersionedTransaction(Message.new_with_blockhash(instructions, payer, recent), [authority, mint])))

    rpc(stack, setup)
    return mint.pubkey()


def solpayer(stack: DevStack, agent_image, tmp_path, name: str, asset: str) -> int:
    image = agent_image(agent_from_template(SOLPAYER, tmp_path / name, name=name, asset=asset))
    return stack.api.RegisterAgent(pb.RegisterAgentRequest(image=image)).agent.id


def transfer_wallet(stack: DevStack, lamports_cap: int) -> str:
    """A fresh signer wallet holding 1 SOL whose policy allows System transfers up to the cap."""
    wallet = stack.create_solana_wallet()
    stack.airdrop(wallet, SOL)
    stack.set_policy(wallet, {"solana": {"allowed_programs": [SYSTEM_PROGRAM], "max_lamports_per_tx": str(lamports_cap)}})
    return wallet


def confirmed_hashes(stack: DevStack, session_id: int) -> list[str]:
    return [tx.tx_hash for tx in stack.api.ListTransactions(pb.ListTransactionsRequest(session_id=session_id)).transactions
            if tx.status == pb.TRANSACTION_STATUS_CONFIRMED]


def paying_wallet(stack: DevStack) -> tuple[str, Pubkey, Pubkey, Pubkey]:
    """A fresh signer wallet holding FUNDED lamports and MINTED of a new mint (a recipient has
    its token account too), whose policy allows payments of up to a run's lamports and tokens:
    (wallet, its key, the recipient, the mint)."""
    wallet = stack.create_solana_wallet()
    owner, recipient = Pubkey.from_string(wallet), Keypair().pubkey()
    stack.airdrop(wallet, FUNDED)
    mint = create_mint(stack, [owner, recipient], owner, MINTED)
    stack.set_policy(wallet, {"solana": {
        "allowed_programs": [SYSTEM_PROGRAM, TOKEN_PROGRAM], "max_lamports_per_tx": str(LAMPORTS_PER_RUN),
        "token_transfer_caps": [{"mint": str(mint), "max_amount_per_tx": str(TOKENS_PER_RUN)}],
    }})
    return wallet, owner, recipient, mint


def test_solana_positions_follow_the_chain_and_sessions_stay_apart(stack, agent_image, tmp_path):
    wallet, owner, recipient, mint = paying_wallet(stack)

    sol_agent = solpayer(stack, agent_image, tmp_path, "SolPayer", NATIVE_SOLANA)
    token_agent = solpayer(stack, agent_image, tmp_path, "TokenPayer", str(mint))
    holder_agent = solpayer(stack, agent_image, tmp_path, "Holder", NATIVE_SOLANA)
    common = {"recipient": str(recipient), "mint": str(mint)}
    paying_sol = stack.api.StartSession(pb.StartSessionRequest(
        agent_id=sol_agent, wallet_address=wallet, settings={**common, "lamports": str(LAMPORTS_PER_RUN)},
        allocation_amount=str(SOL_ALLOCATION))).session
    paying_tokens = stack.api.StartSession(pb.StartSessionRequest(
        agent_id=token_agent, wallet_address=wallet, settings={**common, "tokens": str(TOKENS_PER_RUN)},
        allocation_amount=str(TOKEN_ALLOCATION))).session
    holding = stack.api.StartSession(pb.StartSessionRequest(
        agent_id=holder_agent, wallet_address=wallet, allocation_amount=str(HOLDER_ALLOCATION))).session

    # Only MINTED - TOKEN_ALLOCATION of the token is left unallocated on the wallet.
    greedy = solpayer(stack, agent_image, tmp_path, "Greedy", str(mint))
    with pytest.raises(grpc.RpcError) as too_much:
        stack.api.StartSession(pb.StartSessionRequest(agent_id=greedy, wallet_address=wallet,
                                                      allocation_amount=str(MINTED - TOKEN_ALLOCATION + 1)))
    assert too_much.value.code() == grpc.StatusCode.FAILED_PRECONDITION
    assert f"{MINTED - TOKEN_ALLOCATION} unallocated" in too_much.value.details()

    for session in (paying_sol, paying_tokens):
        wait_for(lambda s=session: len(finished(stack, s.id)) >= 2, timeout=180, what=f"two runs of session {session.id}")
    # Reconciliation ran every second all along and found nothing missing: nobody was paused.
    statuses = {s.id: s.status for s in stack.api.ListSessions(pb.ListSessionsRequest()).sessions}
    assert {statuses[s.id] for s in (paying_sol, paying_tokens, holding)} == {pb.SESSION_STATUS_RUNNING}
    for session in (paying_sol, paying_tokens, holding):
        stack.api.PauseSession(pb.PauseSessionRequest(session_id=session.id))
    for session in (paying_sol, paying_tokens, holding):
        wait_until_idle(stack, session.id)

    sol_hashes, token_hashes = confirmed_hashes(stack, paying_sol.id), confirmed_hashes(stack, paying_tokens.id)
    assert len(sol_hashes) >= 2 and len(token_hashes) >= 2
    sol_fees = sum(fee_of(stack, h) for h in sol_hashes)
    token_fees = sum(fee_of(stack, h) for h in token_hashes)
    assert sol_fees > 0

    # The chain, read independently, agrees with what the sessions were told.
    assert lamports(stack, recipient) == len(sol_hashes) * LAMPORTS_PER_RUN
    assert lamports(stack, wallet) == FUNDED - len(sol_hashes) * LAMPORTS_PER_RUN - sol_fees - token_fees
    assert token_amount(stack, get_associated_token_address(recipient, mint)) == len(token_hashes) * TOKENS_PER_RUN
    assert token_amount(stack, get_associated_token_address(owner, mint)) == MINTED - len(token_hashes) * TOKENS_PER_RUN

    # And the frontend API shows each session what it holds now.
    held = {s.id: {(p.network, p.asset_address): p.current_qty for p in s.positions}
            for s in stack.api.ListSessions(pb.ListSessionsRequest()).sessions}
    assert held[paying_sol.id] == {("solana", NATIVE_SOLANA): str(SOL_ALLOCATION - len(sol_hashes) * LAMPORTS_PER_RUN - sol_fees)}
    assert held[paying_tokens.id] == {("solana", str(mint)): str(TOKEN_ALLOCATION - len(token_hashes) * TOKENS_PER_RUN)}
    assert held[holding.id] == {("solana", NATIVE_SOLANA): str(HOLDER_ALLOCATION)}

    # What each agent saw in the sandbox: its own positions and ledger only.
    sol_runs, token_runs = finished(stack, paying_sol.id), finished(stack, paying_tokens.id)
    first = [json.loads(line) for line in log_lines(sol_runs[0])]
    assert first[0]["sent"] is True and first[0]["hash"] == sol_hashes[0]
    assert first[1]["held"] == {NATIVE_SOLANA: str(SOL_ALLOCATION - LAMPORTS_PER_RUN - fee_of(stack, sol_hashes[0]))}
    assert first[1]["ledger"] == [["native", str(LAMPORTS_PER_RUN)]]
    token_seen = [json.loads(line) for line in log_lines(token_runs[1])]
    assert token_seen[1]["held"] == {str(mint): str(TOKEN_ALLOCATION - 2 * TOKENS_PER_RUN)}
    assert token_seen[1]["ledger"] == [["SPL", str(TOKENS_PER_RUN)]] * 2
    holder_seen = [json.loads(line) for line in log_lines(finished(stack, holding.id)[-1])]
    assert holder_seen == [{"held": {NATIVE_SOLANA: str(HOLDER_ALLOCATION)}, "ledger": []}]


def test_what_the_policy_refuses_is_never_signed_and_moves_nothing(stack, agent_image, tmp_path):
    wallet, recipient = transfer_wallet(stack, LAMPORTS_PER_RUN), Keypair().pubkey()
    agent = solpayer(stack, agent_image, tmp_path, "OverCap", NATIVE_SOLANA)
    session = stack.api.StartSession(pb.StartSessionRequest(
        agent_id=agent, wallet_address=wallet, settings={"recipient": str(recipient), "lamports": str(LAMPORTS_PER_RUN + 1)},
        allocation_amount=str(SOL // 2))).session
    run = wait_for(lambda: finished(stack, session.id), timeout=120, what="the first run")[0]
    stack.api.PauseSession(pb.PauseSessionRequest(session_id=session.id))
    wait_until_idle(stack, session.id)

    sent, seen = (json.loads(line) for line in log_lines(run)[:2])
    assert sent["sent"] is False and "signer" in sent["error"] and "lamport" in sent["error"]
    assert seen == {"held": {NATIVE_SOLANA: str(SOL // 2)}, "ledger": []}
    transactions = stack.api.ListTransactions(pb.ListTransactionsRequest(session_id=session.id)).transactions
    assert transactions and {tx.status for tx in transactions} == {pb.TRANSACTION_STATUS_REJECTED}
    assert all(tx.tx_hash == "" for tx in transactions)  # never signed
    assert lamports(stack, recipient) == 0 and lamports(stack, wallet) == SOL


def test_manual_mode_previews_a_solana_transaction_and_approving_sends_it_once(stack, agent_image, tmp_path):
    wallet, recipient = transfer_wallet(stack, LAMPORTS_PER_RUN), Keypair().pubkey()
    agent = solpayer(stack, agent_image, tmp_path, "Suggester", NATIVE_SOLANA)
    session = stack.api.StartSession(pb.StartSessionRequest(
        agent_id=agent, wallet_address=wallet, execution_mode=common_pb2.EXECUTION_MODE_MANUAL,
        settings={"recipient": str(recipient), "lamports": str(LAMPORTS_PER_RUN)}, allocation_amount=str(SOL // 2))).session
    wait_for(lambda: finished(stack, session.id), timeout=120, what="the first run")
    stack.api.PauseSession(pb.PauseSessionRequest(session_id=session.id))
    wait_until_idle(stack, session.id)
    assert lamports(stack, recipient) == 0  # suggested, not sent

    pending = list(stack.api.ListSuggestions(pb.ListSuggestionsRequest(session_id=session.id)).suggestions)
    assert pending and pending[0].kind == pb.SUGGESTION_KIND_TRANSACTION
    details = MessageToDict(pending[0].details)
    assert details["network"] == "solana" and details["from"] == wallet and details["programs"] == [SYSTEM_PROGRAM]
    assert details["simulation"]["succeeded"] is True

    approved = approved_suggestion(stack, pending[-1].id)
    assert approved.status == pb.SUGGESTION_STATUS_EXECUTED, approved.error
    assert fee_of(stack, approved.result.fields["tx_hash"].string_value) > 0
    with pytest.raises(grpc.RpcError) as again:
        stack.api.ApproveSuggestion(pb.ApproveSuggestionRequest(suggestion_id=pending[-1].id))
    assert again.value.code() == grpc.StatusCode.FAILED_PRECONDITION
    assert lamports(stack, recipient) == LAMPORTS_PER_RUN  # once, not twice


def test_an_outside_withdrawal_is_a_drift_and_pauses_the_wallets_sessions(stack, agent_image, tmp_path):
    wallet = transfer_wallet(stack, SOL)
    owner, elsewhere = Pubkey.from_string(wallet), Keypair().pubkey()
    agent = solpayer(stack, agent_image, tmp_path, "Watched", NATIVE_SOLANA)
    session = stack.api.StartSession(pb.StartSessionRequest(agent_id=agent, wallet_address=wallet,
                                                            allocation_amount=str(SOL * 9 // 10))).session

    # The wallet's owner moves half of it away with the same key, outside the platform.
    async def withdraw(client: AsyncClient) -> None:
        recent = (await client.get_latest_blockhash()).value.blockhash
        message = Message.new_with_blockhash([transfer(TransferParams(from_pubkey=owner, to_pubkey=elsewhere, lamports=SOL // 2))], owner, recent)
        with grpc.insecure_channel(f"unix:{stack.signer_socket}") as channel:
            signed = signer_pb2_grpc.SignerServiceStub(channel).SignSolanaTransaction(signer_pb2.SignSolanaTransactionRequest(
                wallet_address=wallet, transaction=bytes(VersionedTransaction.populate(message, [Signature.default()]))))
        await client.send_raw_transaction(signed.signed_transaction)

    rpc(stack, withdraw)
    wait_for(lambda: lamports(stack, elsewhere) == SOL // 2, what="the withdrawal to land")
    paused = wait_for(lambda: stack.api.GetSession(pb.GetSessionRequest(session_id=session.id)).session.status == pb.SESSION_STATUS_PAUSED,
                      timeout=60, what="reconciliation to pause the session")
    assert paused


def _fork_url(stack: DevStack, session_id: int) -> str:
    """A paper session's fork (its address is the orchestrator's, in its database)."""
    with sqlite3.connect(stack.database_path) as db:
        return db.execute("SELECT paper_fork_url FROM sessions WHERE id = ?", (session_id,)).fetchone()[0]


def fork_rpc(stack: DevStack, session_id: int, method: str, *params):
    """A JSON-RPC call to a paper session's Solana fork."""
    url = _fork_url(stack, session_id)
    body = json.dumps({"jsonrpc": "2.0", "id": 1, "method": method, "params": list(params)}).encode()
    with urllib.request.urlopen(urllib.request.Request(url, body, {"Content-Type": "application/json"}), timeout=30) as answer:
        return json.loads(answer.read())["result"]


def test_a_paper_solana_session_pays_on_its_fork_under_the_copied_policy_and_the_cluster_is_untouched(stack, agent_image, tmp_path):
    """A paper session of a Solana agent: its fork copies the wallet's mint and the recipient's
    token account from the cluster, its paper wallet is given the allocation there, its
    transactions land there only (not one signature known to the cluster), and the real
    wallet's policy, copied, refuses there what it would refuse for real."""
    wallet, owner, recipient, mint = paying_wallet(stack)
    agent = solpayer(stack, agent_image, tmp_path, "PaperTokenPayer", str(mint))
    session = stack.api.StartSession(pb.StartSessionRequest(
        agent_id=agent, wallet_address=wallet, paper=True, allocation_amount=str(TOKEN_ALLOCATION),
        settings={"recipient": str(recipient), "mint": str(mint), "tokens": str(TOKENS_PER_RUN)})).session
    assert session.paper_of_wallet_address == wallet and session.wallet_address != wallet and session.paper_fork_block > 0
    over_cap = stack.api.StartSession(pb.StartSessionRequest(
        agent_id=solpayer(stack, agent_image, tmp_path, "PaperOverCap", NATIVE_SOLANA), wallet_address=wallet, paper=True,
        allocation_amount=str(SOL // 2), settings={"recipient": str(recipient), "lamports": str(LAMPORTS_PER_RUN + 1)})).session
    wait_for(lambda: len(finished(stack, session.id)) >= 2 and finished(stack, over_cap.id), timeout=180, what="paper runs")
    for paper in (session, over_cap):
        stack.api.PauseSession(pb.PauseSessionRequest(session_id=paper.id))
        wait_until_idle(stack, paper.id)

    hashes = confirmed_hashes(stack, session.id)
    assert len(hashes) >= 2, [log_lines(run) for run in finished(stack, session.id)]
    paper_ata = get_associated_token_address(Pubkey.from_string(session.wallet_address), mint)
    recipient_ata = get_associated_token_address(recipient, mint)
    # On the fork: the tokens moved from the paper wallet to the recipient.
    assert int(fork_rpc(stack, session.id, "getTokenAccountBalance", str(recipient_ata))["value"]["amount"]) == len(hashes) * TOKENS_PER_RUN
    assert int(fork_rpc(stack, session.id, "getTokenAccountBalance", str(paper_ata))["value"]["amount"]) == \
        TOKEN_ALLOCATION - len(hashes) * TOKENS_PER_RUN
    [held] = next(s for s in stack.api.ListSessions(pb.ListSessionsRequest()).sessions if s.id == session.id).positions
    assert held.current_qty == str(TOKEN_ALLOCATION - len(hashes) * TOKENS_PER_RUN)
    # On the cluster: nothing moved, and no paper signature is known there.
    assert token_amount(stack, recipient_ata) == 0 and token_amount(stack, get_associated_token_address(owner, mint)) == MINTED
    assert lamports(stack, wallet) == FUNDED and lamports(stack, recipient) == 0
    assert stack.solana_rpc("getSignatureStatuses", hashes)["value"] == [None] * len(hashes)
    # The copied policy refused the over-cap payment on the fork, as it would for real.
    sent = json.loads(log_lines(finished(stack, over_cap.id)[0])[0])
    assert sent["sent"] is False and "signer" in sent["error"] and "lamport" in sent["error"]
    assert confirmed_hashes(stack, over_cap.id) == []

    # A Solana fork keeps no state: after a restart the session's holdings are written back onto a new one.
    before = _fork_url(stack, session.id)
    stack.restart_orchestrator()
    held_now = TOKEN_ALLOCATION - len(hashes) * TOKENS_PER_RUN
    wait_for(lambda: _fork_url(stack, session.id) != before and _fork_amount(stack, session.id, paper_ata) == held_now, timeout=60,
             what="the holdings on the new fork")
    assert int(fork_rpc(stack, session.id, "getBalance", session.wallet_address)["value"]) > 0  # fee money, as at the start
    for paper in (session, over_cap):
        stack.api.StopSession(pb.StopSessionRequest(session_id=paper.id))


def _fork_amount(stack: DevStack, session_id: int, account: Pubkey) -> int | None:
    try:
        return int(fork_rpc(stack, session_id, "getTokenAccountBalance", str(account))["value"]["amount"])
    except (OSError, KeyError, TypeError):
        return None  # the new fork is not up yet
