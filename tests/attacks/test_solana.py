"""Solana outflows an earlier signer did not count. Rent for token accounts created for
someone else's owner was not a spend (seven in one transaction: 14x the lamport cap);
`MintTo` with the wallet as mint authority passed; token destinations were unrestricted;
durable-nonce transactions (valid until used: a stockpiled signature) passed; and, with no
reservation on this path, one agent alone could race its own cap. Each attack is made by a
real sandboxed agent; balances are read back from the LiteSVM devchain over JSON-RPC."""

from __future__ import annotations

import base64
from dataclasses import dataclass

import pytest
from solders.hash import Hash
from solders.keypair import Keypair
from solders.message import Message
from solders.pubkey import Pubkey
from solders.system_program import CreateAccountParams, create_account
from solders.token.associated import get_associated_token_address
from solders.transaction import VersionedTransaction
from spl.token.constants import TOKEN_PROGRAM_ID
from spl.token.instructions import create_associated_token_account, initialize_mint2, mint_to
from spl.token.models import InitializeMint2Params, MintToParams

from devtools.devstack import DevStack
from devtools.solana_devchain import MINT_LEN
from signer.solana import ASSOCIATED_TOKEN_PROGRAM, COMPUTE_BUDGET_PROGRAM, RENT_TOKEN_ACCOUNT, SYSTEM_PROGRAM, TOKEN_PROGRAM
from tests.attacks.conftest import attack, attacker_agent

SOL = 10**9
PROGRAMS = [SYSTEM_PROGRAM, TOKEN_PROGRAM, ASSOCIATED_TOKEN_PROGRAM, COMPUTE_BUDGET_PROGRAM]


@pytest.fixture(scope="module")
def stack(tmp_path_factory, base_image):
    with DevStack(tmp_path_factory.mktemp("attacks-solana"), minute_seconds=1.0, solana=True) as stack:
        yield stack


@pytest.fixture(scope="module")
def attacker(stack, agent_image, tmp_path_factory) -> int:
    return attacker_agent(stack, agent_image, tmp_path_factory.mktemp("attacker") / "agent", "solana")


def send(stack: DevStack, payer: Keypair, instructions: list, *signers: Keypair) -> None:
    """The test's own set-up transaction (not the platform's), paid by `payer`."""
    blockhash = Hash.from_string(stack.solana_rpc("getLatestBlockhash")["value"]["blockhash"])
    tx = VersionedTransaction(Message.new_with_blockhash(instructions, payer.pubkey(), blockhash), [payer, *signers])
    stack.solana_rpc("sendTransaction", base64.b64encode(bytes(tx)).decode(), {"encoding": "base64"})


def lamports(stack: DevStack, address) -> int:
    return stack.solana_rpc("getBalance", str(address))["value"]


def exists(stack: DevStack, address) -> bool:
    return stack.solana_rpc("getAccountInfo", str(address), {"encoding": "base64"})["value"] is not None


def tokens(stack: DevStack, account) -> int:
    return int(stack.solana_rpc("getTokenAccountBalance", str(account))["value"]["amount"])


@dataclass
class Mints:
    """Two mints: `ours` whose mint authority is the test's payer (it gave the wallet 1,000,000
    of it), and `walletly` whose mint authority is the wallet itself."""

    ours: Pubkey
    walletly: Pubkey


def wallet_with(stack: DevStack, policy: dict) -> str:
    wallet = stack.create_solana_wallet()
    stack.airdrop(wallet, 10 * SOL)
    stack.set_policy(wallet, {"solana": policy})
    return wallet


def mints_for(stack: DevStack, wallet: str, *holders: Pubkey) -> Mints:
    payer, ours, walletly = Keypair(), Keypair(), Keypair()
    stack.airdrop(str(payer.pubkey()), 10 * SOL)
    owner = Pubkey.from_string(wallet)
    rent = stack.solana_rpc("getMinimumBalanceForRentExemption", MINT_LEN)
    instructions = []
    for mint, authority in ((ours, payer.pubkey()), (walletly, owner)):
        instructions += [
            create_account(CreateAccountParams(from_pubkey=payer.pubkey(), to_pubkey=mint.pubkey(), lamports=rent, space=MINT_LEN,
                                               owner=TOKEN_PROGRAM_ID)),
            initialize_mint2(InitializeMint2Params(decimals=6, program_id=TOKEN_PROGRAM_ID, mint=mint.pubkey(), mint_authority=authority)),
            create_associated_token_account(payer.pubkey(), owner, mint.pubkey()),
        ]
    instructions += [create_associated_token_account(payer.pubkey(), holder, ours.pubkey()) for holder in holders]
    instructions.append(mint_to(MintToParams(program_id=TOKEN_PROGRAM_ID, mint=ours.pubkey(), dest=get_associated_token_address(owner, ours.pubkey()),
                                             mint_authority=payer.pubkey(), amount=1_000_000)))
    send(stack, payer, instructions, ours, walletly)
    return Mints(ours.pubkey(), walletly.pubkey())


def test_rent_for_strangers_token_accounts_counts_against_the_lamport_cap(stack, attacker):
    wallet = wallet_with(stack, {"allowed_programs": PROGRAMS, "max_lamports_per_tx": str(SOL // 1000)})  # 0.001 SOL
    mints = mints_for(stack, wallet)
    strangers = [Keypair().pubkey() for _ in range(7)]
    before = lamports(stack, wallet)
    [created] = attack(stack, attacker, wallet, [["solana", [{"create_ata": [str(s), str(mints.ours)]} for s in strangers]]])
    assert not created["success"] and "solana-lamport-cap" in created["error"], created
    assert 7 * RENT_TOKEN_ACCOUNT > 14 * SOL // 1000  # what the attack would have locked up: 14x the cap
    assert not any(exists(stack, get_associated_token_address(s, mints.ours)) for s in strangers)
    assert lamports(stack, wallet) == before


def test_the_wallets_mint_authority_cannot_be_used_unless_allowed(stack, attacker):
    wallet = wallet_with(stack, {"allowed_programs": PROGRAMS, "max_lamports_per_tx": "0"})
    mints = mints_for(stack, wallet)
    own_account = get_associated_token_address(Pubkey.from_string(wallet), mints.walletly)
    [minted] = attack(stack, attacker, wallet, [["solana", [{"mint_to": [str(mints.walletly), str(own_account), 10**12]}]]])
    assert not minted["success"] and "solana-mint" in minted["error"], minted
    assert tokens(stack, own_account) == 0


def test_token_transfers_go_only_to_listed_owners(stack, attacker):
    friend, stranger = Keypair().pubkey(), Keypair().pubkey()
    wallet = wallet_with(stack, {"allowed_programs": PROGRAMS, "max_lamports_per_tx": "0"})
    mints = mints_for(stack, wallet, friend, stranger)
    stack.set_policy(wallet, {"solana": {"allowed_programs": PROGRAMS, "max_lamports_per_tx": "0", "token_recipients": [str(friend)],
                                         "token_transfer_caps": [{"mint": str(mints.ours), "max_amount_per_tx": "500000"}]}})
    friend_account, stranger_account = (get_associated_token_address(o, mints.ours) for o in (friend, stranger))
    to_stranger, to_friend = attack(stack, attacker, wallet, [
        ["solana", [{"transfer_checked": [str(mints.ours), str(stranger_account), 400_000, 6]}]],
        ["solana", [{"transfer_checked": [str(mints.ours), str(friend_account), 400_000, 6]}]],
    ])
    assert not to_stranger["success"] and "solana-token-recipient" in to_stranger["error"], to_stranger
    assert to_friend["success"], to_friend
    assert (tokens(stack, stranger_account), tokens(stack, friend_account)) == (0, 400_000)


def test_a_durable_nonce_transaction_is_never_signed(stack, attacker):
    friend = Keypair().pubkey()
    wallet = wallet_with(stack, {"allowed_programs": PROGRAMS, "max_lamports_per_tx": str(SOL)})
    [kept] = attack(stack, attacker, wallet, [["solana", [{"advance_nonce": [str(Keypair().pubkey())]},
                                                           {"transfer": [str(friend), SOL // 2]}]]])
    assert not kept["success"] and "solana-durable-nonce" in kept["error"], kept
    assert lamports(stack, friend) == 0


def test_an_agent_racing_its_own_cap_gets_what_the_cap_allows(stack, attacker):
    friend = Keypair().pubkey()
    amount = SOL // 10
    # Any two transfers and their fees fit; no three do. (Amounts differ by a lamport: two equal
    # transfers under one blockhash would be one transaction to the chain.)
    wallet = wallet_with(stack, {"allowed_programs": PROGRAMS, "max_lamports_per_tx": str(SOL),
                                 "spend_caps": [{"asset": "native", "amount": str(2 * amount + 10 + 10_000)}]})
    [burst] = attack(stack, attacker, wallet, [["parallel", [["solana", [{"transfer": [str(friend), amount + n]}]] for n in range(6)]]])
    assert sum(envelope["success"] for envelope in burst) == 2, burst
    assert all("spend-cap" in e["error"] for e in burst if not e["success"])
    sent = [amount + n for n, envelope in enumerate(burst) if envelope["success"]]
    assert lamports(stack, friend) == sum(sent)
