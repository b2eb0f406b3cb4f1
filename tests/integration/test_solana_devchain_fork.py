"""The Solana devchain as a fork of another cluster (here: another devchain, the "source"):
accounts are copied from the source when first read or named by a transaction, what the fork
does never reaches the source, an owner's token accounts are found at the source, and the
Surfpool-named cheat methods set lamports and token balances on the fork only."""

from __future__ import annotations

import json
import urllib.request

from solders.keypair import Keypair
from solders.message import Message
from solders.system_program import CreateAccountParams, TransferParams, create_account, transfer
from solders.transaction import Transaction
from spl.token.constants import TOKEN_PROGRAM_ID
from spl.token.instructions import (
    create_associated_token_account,
    get_associated_token_address,
    initialize_mint2,
    mint_to,
    transfer_checked,
)
from spl.token.models import InitializeMint2Params, MintToParams, TransferCheckedParams

from devtools.solana_devchain import MINT_LEN, DevChain, DevChainServer, RpcAccountSource
from tests.integration.test_solana_devchain import SOL, assert_landed, balance, blockhash, funded, run


def call(url: str, method: str, params: list):
    body = json.dumps({"jsonrpc": "2.0", "id": 1, "method": method, "params": params}).encode()
    with urllib.request.urlopen(urllib.request.Request(url, body, {"Content-Type": "application/json"}), timeout=30) as answer:
        return json.loads(answer.read())


def test_a_fork_copies_what_it_is_asked_about_and_keeps_what_it_does_to_itself():
    with DevChainServer() as source:
        async def prepare(client):
            payer, mint, alice = await funded(client), Keypair(), Keypair()
            rent = (await client.get_minimum_balance_for_rent_exemption(MINT_LEN)).value
            alice_ata = get_associated_token_address(alice.pubkey(), mint.pubkey())
            setup = [
                create_account(CreateAccountParams(from_pubkey=payer.pubkey(), to_pubkey=mint.pubkey(), lamports=rent,
                                                   space=MINT_LEN, owner=TOKEN_PROGRAM_ID)),
                initialize_mint2(InitializeMint2Params(decimals=6, program_id=TOKEN_PROGRAM_ID, mint=mint.pubkey(),
                                                       mint_authority=payer.pubkey())),
                create_associated_token_account(payer.pubkey(), alice.pubkey(), mint.pubkey()),
                mint_to(MintToParams(program_id=TOKEN_PROGRAM_ID, mint=mint.pubkey(), dest=alice_ata,
                                     mint_authority=payer.pubkey(), amount=5_000_000)),
            ]
            await assert_landed(client, (await client.send_transaction(
                Transaction([payer, mint], Message(setup, payer.pubkey()), await blockhash(client)))).value)
            return payer, mint.pubkey(), alice, alice_ata

        payer, mint, alice, alice_ata = run(source.url, prepare)
        charlie = Keypair()
        run(source.url, lambda client: _give_tokens(client, payer, mint, charlie.pubkey()))
        source_before = run(source.url, lambda client: balance(client, payer.pubkey()))

        with DevChainServer(chain=DevChain(RpcAccountSource(source.url))) as fork:
            bob = Keypair().pubkey()

            async def on_the_fork(client):
                seen = {"payer": await balance(client, payer.pubkey()),
                        "alice_tokens": (await client.get_token_account_balance(alice_ata)).value.amount}
                # The payer, known only at the source, pays on the fork; Alice's tokens move there.
                moves = [transfer(TransferParams(from_pubkey=payer.pubkey(), to_pubkey=bob, lamports=SOL)),
                         create_associated_token_account(payer.pubkey(), bob, mint),
                         transfer_checked(TransferCheckedParams(program_id=TOKEN_PROGRAM_ID, source=alice_ata, mint=mint,
                                                                dest=get_associated_token_address(bob, mint), owner=alice.pubkey(),
                                                                amount=1_000_000, decimals=6))]
                await assert_landed(client, (await client.send_transaction(
                    Transaction([payer, alice], Message(moves, payer.pubkey()), await blockhash(client)))).value)
                seen["bob"] = await balance(client, bob)
                seen["alice_after"] = (await client.get_token_account_balance(alice_ata)).value.amount
                return seen

            seen = run(fork.url, on_the_fork)
            assert (seen["payer"], seen["alice_tokens"], seen["bob"], seen["alice_after"]) == (source_before, "5000000", SOL, "4000000")
            # Listed by owner on the fork although the fork never named the account before.
            listed = call(fork.url, "getTokenAccountsByOwner", [str(charlie.pubkey()), {"mint": str(mint)}, {"encoding": "base64"}])
            assert [a["pubkey"] for a in listed["result"]["value"]] == [str(get_associated_token_address(charlie.pubkey(), mint))]

            # The cheat methods set state on the fork only.
            assert "error" not in call(fork.url, "surfnet_setAccount", [str(bob), {"lamports": 7 * SOL}])
            assert "error" not in call(fork.url, "surfnet_setTokenAccount", [str(bob), str(mint), {"amount": 42}])
            assert run(fork.url, lambda client: balance(client, bob)) == 7 * SOL
            bob_ata = get_associated_token_address(bob, mint)
            assert run(fork.url, lambda client: client.get_token_account_balance(bob_ata)).value.amount == "42"
            refused = call(fork.url, "surfnet_setAccount", [str(bob), {"owner": str(mint)}])
            assert refused["error"]["code"] == -32602 and "lamports" in refused["error"]["message"]

        # Nothing the fork did reached the source.
        assert run(source.url, lambda client: balance(client, payer.pubkey())) == source_before
        assert run(source.url, lambda client: balance(client, bob)) == 0
        assert run(source.url, lambda client: client.get_token_account_balance(alice_ata)).value.amount == "5000000"


async def _give_tokens(client, payer, mint, owner) -> None:
    ata = get_associated_token_address(owner, mint)
    ixs = [create_associated_token_account(payer.pubkey(), owner, mint),
           mint_to(MintToParams(program_id=TOKEN_PROGRAM_ID, mint=mint, dest=ata, mint_authority=payer.pubkey(), amount=3))]
    await assert_landed(client, (await client.send_transaction(Transaction([payer], Message(ixs, payer.pubkey()), await blockhash(client)))).value)


def test_a_fork_copies_a_bounded_amount_and_says_when_its_source_does_not_answer():
    with DevChainServer() as source:
        holder = run(source.url, funded)
        big = Keypair()
        async def make_big(client):  # an account of 10,000 bytes at the source
            rent = (await client.get_minimum_balance_for_rent_exemption(10_000)).value
            create = create_account(CreateAccountParams(from_pubkey=holder.pubkey(), to_pubkey=big.pubkey(), lamports=rent,
                                                        space=10_000, owner=holder.pubkey()))
            await assert_landed(client, (await client.send_transaction(
                Transaction([holder, big], Message([create], holder.pubkey()), await blockhash(client)))).value)
        run(source.url, make_big)
        with DevChainServer(chain=DevChain(RpcAccountSource(source.url), source_bytes_max=5_000)) as fork:
            refused = call(fork.url, "getAccountInfo", [str(big.pubkey()), {"encoding": "base64"}])
            assert "copied its most from the source cluster" in refused["error"]["message"]
            assert call(fork.url, "getBalance", [str(holder.pubkey())])["result"]["value"] > 0  # small accounts still come
    with DevChainServer(chain=DevChain(RpcAccountSource("http://127.0.0.1:9", timeout=2))) as orphan:
        down = call(orphan.url, "getBalance", [str(holder.pubkey())])
        assert "the source cluster did not give the accounts" in down["error"]["message"]
