"""The Solana devchain as a separate process, driven through solana-py's RPC client — the
same client path production code uses against a real validator.

solana-py 0.41 ships only the asynchronous `AsyncClient` (the synchronous `Client` is
gone), so each test runs its client calls under `asyncio.run`.
"""

from __future__ import annotations

import asyncio
import json
import signal
import subprocess
import sys
import urllib.request

import pytest
from solana.rpc.async_api import AsyncClient
from solana.rpc.core import RPCException
from solana.rpc.models import TokenAccountOpts, TxOpts
from solders.address_lookup_table_account import AddressLookupTable, AddressLookupTableAccount
from solders.hash import Hash
from solders.keypair import Keypair
from solders.message import Message, MessageV0
from solders.pubkey import Pubkey
from solders.rpc.errors import SendTransactionPreflightFailureMessage
from solders.rpc.responses import InvalidParamsMessage
from solders.signature import Signature
from solders.system_program import (
    CreateAccountParams,
    TransferParams,
    create_account,
    create_lookup_table,
    extend_lookup_table,
    transfer,
)
from solders.transaction import Transaction, VersionedTransaction
from solders.transaction_status import TransactionConfirmationStatus
from spl.token.constants import TOKEN_PROGRAM_ID
from spl.token.instructions import (
    create_associated_token_account,
    get_associated_token_address,
    initialize_mint2,
    mint_to,
    transfer_checked,
)
from spl.token.models import InitializeMint2Params, MintToParams, TransferCheckedParams

from devtools.solana_devchain import MINT_LEN, DevChainServer

SOL = 1_000_000_000
FEE = 5000  # one signature, no priority fee


@pytest.fixture(scope="module")
def devchain_url():
    process = subprocess.Popen(
        [sys.executable, "-m", "devtools.solana_devchain", "--port", "0"],
        stdout=subprocess.PIPE, stderr=subprocess.PIPE, text=True,
    )
    try:
        line = process.stdout.readline()
        prefix = "solana devchain listening on "
        assert line.startswith(prefix), f"unexpected first line {line!r}; stderr: {process.stderr.read() if process.poll() is not None else ''}"
        yield line[len(prefix):].strip()
    finally:
        process.send_signal(signal.SIGTERM)
        assert process.wait(timeout=30) == 0
        assert process.stdout.read() == "", "the devchain prints exactly one line"


def run(url: str, scenario):
    """Runs `scenario(client)` against the devchain at `url`."""

    async def main():
        async with AsyncClient(url) as client:
            return await scenario(client)

    return asyncio.run(main())


async def funded(client: AsyncClient, lamports: int = 10 * SOL) -> Keypair:
    keypair = Keypair()
    signature = (await client.request_airdrop(keypair.pubkey(), lamports)).value
    await assert_landed(client, signature)
    return keypair


async def assert_landed(client: AsyncClient, signature: Signature) -> None:
    status = (await client.get_signature_statuses([signature])).value[0]
    assert status is not None, f"{signature} has no status"
    assert status.err is None, status.err
    assert status.confirmation_status == TransactionConfirmationStatus.Finalized


async def balance(client: AsyncClient, pubkey: Pubkey) -> int:
    return (await client.get_balance(pubkey)).value


async def blockhash(client: AsyncClient) -> Hash:
    return (await client.get_latest_blockhash()).value.blockhash


def legacy_transfer(payer: Keypair, to: Pubkey, lamports: int, recent_blockhash: Hash) -> Transaction:
    ix = transfer(TransferParams(from_pubkey=payer.pubkey(), to_pubkey=to, lamports=lamports))
    return Transaction([payer], Message([ix], payer.pubkey()), recent_blockhash)


def test_airdrop_lands_and_reads_back(devchain_url):
    async def scenario(client):
        account = Keypair().pubkey()
        assert await balance(client, account) == 0
        assert (await client.get_account_info(account)).value is None
        signature = (await client.request_airdrop(account, 3 * SOL)).value
        await assert_landed(client, signature)
        info = (await client.get_account_info(account)).value
        return await balance(client, account), info.lamports, str(info.owner)

    assert run(devchain_url, scenario) == (3 * SOL, 3 * SOL, "11111111111111111111111111111111")


def test_legacy_transfer_moves_lamports_and_charges_the_payer(devchain_url):
    async def scenario(client):
        payer, recipient = await funded(client), Keypair().pubkey()
        tx = legacy_transfer(payer, recipient, SOL // 2, await blockhash(client))
        quoted_fee = (await client.get_fee_for_message(tx.message)).value
        signature = (await client.send_transaction(tx)).value
        await assert_landed(client, signature)
        landed = (await client.get_transaction(signature)).value
        return quoted_fee, landed, await balance(client, payer.pubkey()), await balance(client, recipient), payer

    quoted_fee, landed, payer_balance, recipient_balance, payer = run(devchain_url, scenario)
    assert recipient_balance == SOL // 2
    assert payer_balance == 10 * SOL - SOL // 2 - FEE
    assert quoted_fee == FEE
    meta = landed.transaction.meta
    assert meta.err is None and meta.fee == FEE
    assert meta.pre_balances[:2] == [10 * SOL, 0]
    assert meta.post_balances[:2] == [payer_balance, SOL // 2]
    assert landed.transaction.transaction.message.account_keys[0] == payer.pubkey()


def test_v0_transfer_moves_lamports_and_charges_the_payer(devchain_url):
    async def scenario(client):
        payer, recipient = await funded(client), Keypair().pubkey()
        ix = transfer(TransferParams(from_pubkey=payer.pubkey(), to_pubkey=recipient, lamports=SOL))
        message = MessageV0.try_compile(payer.pubkey(), [ix], [], await blockhash(client))
        signature = (await client.send_transaction(VersionedTransaction(message, [payer]))).value
        await assert_landed(client, signature)
        landed = (await client.get_transaction(signature, max_supported_transaction_version=0)).value
        return landed, await balance(client, payer.pubkey()), await balance(client, recipient)

    landed, payer_balance, recipient_balance = run(devchain_url, scenario)
    assert recipient_balance == SOL
    assert payer_balance == 10 * SOL - SOL - FEE
    assert landed.transaction.version == 0
    assert landed.transaction.meta.fee == FEE
    assert landed.transaction.meta.post_balances[:2] == [payer_balance, SOL]


def test_v0_transfer_through_an_address_lookup_table(devchain_url):
    async def scenario(client):
        payer, recipients = await funded(client), [Keypair().pubkey() for _ in range(3)]
        authority = {"authority_address": payer.pubkey(), "payer_address": payer.pubkey()}
        create, table = create_lookup_table({**authority, "recent_slot": (await client.get_slot()).value})
        extend = extend_lookup_table({**authority, "lookup_table_address": table, "new_addresses": recipients})
        setup = Transaction([payer], Message([create, extend], payer.pubkey()), await blockhash(client))
        await assert_landed(client, (await client.send_transaction(setup)).value)

        stored = AddressLookupTable.deserialize((await client.get_account_info(table)).value.data)
        lookup = AddressLookupTableAccount(table, list(stored.addresses))
        ixs = [transfer(TransferParams(from_pubkey=payer.pubkey(), to_pubkey=to, lamports=SOL)) for to in recipients]
        message = MessageV0.try_compile(payer.pubkey(), ixs, [lookup], await blockhash(client))
        signature = (await client.send_transaction(VersionedTransaction(message, [payer]))).value
        await assert_landed(client, signature)
        landed = (await client.get_transaction(signature, max_supported_transaction_version=0)).value
        return recipients, message, landed, [await balance(client, to) for to in recipients]

    recipients, message, landed, balances = run(devchain_url, scenario)
    assert not set(recipients) & set(message.account_keys)  # they come from the table
    assert balances == [SOL] * 3
    assert sorted(str(key) for key in landed.transaction.meta.loaded_addresses.writable) == sorted(map(str, recipients))
    assert landed.transaction.meta.post_balances[-3:] == [SOL] * 3


def test_spl_mint_ata_mint_to_and_transfer_checked_read_back(devchain_url):
    decimals = 6

    async def scenario(client):
        payer, mint, alice, bob = await funded(client), Keypair(), Keypair(), Keypair().pubkey()
        rent = (await client.get_minimum_balance_for_rent_exemption(MINT_LEN)).value
        alice_ata = get_associated_token_address(alice.pubkey(), mint.pubkey())
        bob_ata = get_associated_token_address(bob, mint.pubkey())
        setup = [
            create_account(CreateAccountParams(from_pubkey=payer.pubkey(), to_pubkey=mint.pubkey(), lamports=rent,
                                               space=MINT_LEN, owner=TOKEN_PROGRAM_ID)),
            initialize_mint2(InitializeMint2Params(decimals=decimals, program_id=TOKEN_PROGRAM_ID, mint=mint.pubkey(),
                                                   mint_authority=payer.pubkey())),
            create_associated_token_account(payer.pubkey(), alice.pubkey(), mint.pubkey()),
            create_associated_token_account(payer.pubkey(), bob, mint.pubkey()),
            mint_to(MintToParams(program_id=TOKEN_PROGRAM_ID, mint=mint.pubkey(), dest=alice_ata,
                                 mint_authority=payer.pubkey(), amount=5_000_000)),
        ]
        setup_tx = Transaction([payer, mint], Message(setup, payer.pubkey()), await blockhash(client))
        await assert_landed(client, (await client.send_transaction(setup_tx)).value)

        # Alice holds no SOL: she signs the transfer, the payer pays its fee.
        move = transfer_checked(TransferCheckedParams(program_id=TOKEN_PROGRAM_ID, source=alice_ata, mint=mint.pubkey(),
                                                      dest=bob_ata, owner=alice.pubkey(), amount=1_250_000, decimals=decimals))
        move_tx = Transaction([payer, alice], Message([move], payer.pubkey()), await blockhash(client))
        move_signature = (await client.send_transaction(move_tx)).value
        await assert_landed(client, move_signature)

        return {
            "alice": (await client.get_token_account_balance(alice_ata)).value,
            "bob": (await client.get_token_account_balance(bob_ata)).value,
            "by_mint": (await client.get_token_accounts_by_owner(bob, TokenAccountOpts(mint=mint.pubkey()))).value,
            "parsed": (await client.get_token_accounts_by_owner_json_parsed(
                alice.pubkey(), TokenAccountOpts(program_id=TOKEN_PROGRAM_ID))).value,
            "nobody": (await client.get_token_accounts_by_owner(payer.pubkey(), TokenAccountOpts(mint=mint.pubkey()))).value,
            "landed": (await client.get_transaction(move_signature)).value,
            "mint": mint.pubkey(), "alice_ata": alice_ata, "bob_ata": bob_ata, "owner": alice.pubkey(),
        }

    seen = run(devchain_url, scenario)
    assert (seen["alice"].amount, seen["alice"].decimals, seen["alice"].ui_amount_string) == ("3750000", decimals, "3.75")
    assert seen["alice"].ui_amount == 3.75
    assert (seen["bob"].amount, seen["bob"].ui_amount_string) == ("1250000", "1.25")

    [bob_account] = seen["by_mint"]
    assert bob_account.pubkey == seen["bob_ata"]
    assert bob_account.account.owner == TOKEN_PROGRAM_ID
    assert int.from_bytes(bob_account.account.data[64:72], "little") == 1_250_000

    [alice_account] = seen["parsed"]
    assert alice_account.pubkey == seen["alice_ata"]
    parsed = alice_account.account.data.parsed
    assert alice_account.account.data.program == "spl-token"
    assert parsed["type"] == "account"
    assert parsed["info"]["mint"] == str(seen["mint"]) and parsed["info"]["owner"] == str(seen["owner"])
    assert parsed["info"]["tokenAmount"] == {"amount": "3750000", "decimals": decimals, "uiAmount": 3.75, "uiAmountString": "3.75"}
    assert seen["nobody"] == []

    meta = seen["landed"].transaction.meta
    before = {b.account_index: b.ui_token_amount.amount for b in meta.pre_token_balances}
    after = {b.account_index: b.ui_token_amount.amount for b in meta.post_token_balances}
    assert sorted(before.values()) == ["0", "5000000"] and sorted(after.values()) == ["1250000", "3750000"]


def test_transfer_beyond_the_balance_is_rejected_and_moves_nothing(devchain_url):
    async def scenario(client):
        payer, recipient = await funded(client, SOL), Keypair().pubkey()
        tx = legacy_transfer(payer, recipient, 2 * SOL, await blockhash(client))
        with pytest.raises(RPCException) as rejected:
            await client.send_transaction(tx)
        status = (await client.get_signature_statuses([tx.signatures[0]])).value[0]
        return rejected.value.args[0], status, await balance(client, payer.pubkey()), await balance(client, recipient)

    error, status, payer_balance, recipient_balance = run(devchain_url, scenario)
    assert isinstance(error, SendTransactionPreflightFailureMessage)
    assert error.message == "Transaction simulation failed: Error processing Instruction 0: custom program error: 0x1"
    assert "InstructionError" in str(error.data.err)
    assert any("insufficient lamports" in line for line in error.data.logs)
    assert status is None
    assert (payer_balance, recipient_balance) == (SOL, 0)  # not even the fee


def test_without_preflight_a_failing_transfer_lands_and_pays_its_fee(devchain_url):
    async def scenario(client):
        payer, recipient = await funded(client, SOL), Keypair().pubkey()
        tx = legacy_transfer(payer, recipient, 2 * SOL, await blockhash(client))
        signature = (await client.send_transaction(tx, TxOpts(skip_preflight=True))).value
        status = (await client.get_signature_statuses([signature])).value[0]
        landed = (await client.get_transaction(signature)).value
        return status, landed, await balance(client, payer.pubkey()), await balance(client, recipient)

    status, landed, payer_balance, recipient_balance = run(devchain_url, scenario)
    assert "InstructionError" in str(status.err)
    assert "InstructionError" in str(landed.transaction.meta.err) and landed.transaction.meta.fee == FEE
    assert (payer_balance, recipient_balance) == (SOL - FEE, 0)


def test_garbage_transaction_is_invalid_params(devchain_url):
    async def scenario(client):
        with pytest.raises(RPCException) as rejected:
            await client.send_raw_transaction(b"\x01 this is not a transaction")
        return rejected.value.args[0]

    error = run(devchain_url, scenario)
    assert isinstance(error, InvalidParamsMessage)
    assert error.message.startswith("failed to deserialize solana_transaction::versioned::VersionedTransaction")


def test_the_same_transfer_twice_lands_twice_with_fresh_blockhashes(devchain_url):
    async def scenario(client):
        payer, recipient = await funded(client), Keypair().pubkey()
        first = legacy_transfer(payer, recipient, SOL, await blockhash(client))
        await assert_landed(client, (await client.send_transaction(first)).value)
        second = legacy_transfer(payer, recipient, SOL, await blockhash(client))
        await assert_landed(client, (await client.send_transaction(second)).value)
        return first, second, await balance(client, payer.pubkey()), await balance(client, recipient)

    first, second, payer_balance, recipient_balance = run(devchain_url, scenario)
    assert first.message.recent_blockhash != second.message.recent_blockhash
    assert first.signatures[0] != second.signatures[0]
    assert recipient_balance == 2 * SOL
    assert payer_balance == 10 * SOL - 2 * SOL - 2 * FEE


def test_in_process_server_slots_blockhash_window_and_duplicates():
    with DevChainServer() as devchain:
        async def scenario(client):
            assert await client.is_connected()
            payer, recipient = await funded(client), Keypair().pubkey()
            slot_before = (await client.get_slot()).value
            old_blockhash = await blockhash(client)
            # Another transaction lands first: the old blockhash is no longer the latest but still valid.
            await funded(client)
            assert await blockhash(client) != old_blockhash
            # solana-py has no isBlockhashValid; this is the raw call its users would make.
            assert rpc_call(devchain.url, "isBlockhashValid", [str(old_blockhash)])["result"]["value"] is True
            assert rpc_call(devchain.url, "isBlockhashValid", [str(Hash.new_unique())])["result"]["value"] is False
            tx = legacy_transfer(payer, recipient, SOL, old_blockhash)
            await assert_landed(client, (await client.send_transaction(tx)).value)
            with pytest.raises(RPCException) as duplicate:
                await client.send_transaction(tx)
            unknown = legacy_transfer(payer, recipient, SOL, Hash.new_unique())
            with pytest.raises(RPCException) as stale:
                await client.send_transaction(unknown)
            # Without preflight a stale transaction is dropped, as a cluster would.
            dropped = (await client.send_transaction(unknown, TxOpts(skip_preflight=True))).value
            return {
                "slots": (await client.get_slot()).value - slot_before,
                "heights": ((await client.get_block_height()).value, (await client.get_slot()).value),
                "duplicate": duplicate.value.args[0].message,
                "stale": stale.value.args[0].message,
                "dropped": (await client.get_signature_statuses([dropped])).value[0],
                "recipient": await balance(client, recipient),
                "payer": await balance(client, payer.pubkey()),
            }

        seen = run(devchain.url, scenario)
    assert seen["slots"] == 2  # one airdrop, one transfer
    assert seen["heights"][0] == seen["heights"][1]
    assert seen["duplicate"] == "Transaction simulation failed: This transaction has already been processed"
    assert seen["stale"] == "Transaction simulation failed: Blockhash not found"
    assert seen["dropped"] is None
    assert (seen["recipient"], seen["payer"]) == (SOL, 10 * SOL - SOL - FEE)


def post(url: str, body: bytes) -> object:
    request = urllib.request.Request(url, data=body, headers={"Content-Type": "application/json"})
    with urllib.request.urlopen(request, timeout=30) as response:
        return json.loads(response.read())


def rpc_call(url: str, method: str, params: list) -> dict:
    return post(url, json.dumps({"jsonrpc": "2.0", "id": 1, "method": method, "params": params}).encode())


def test_a_blockhash_is_accepted_up_to_its_last_valid_block_height():
    with DevChainServer() as devchain:
        async def scenario(client):
            payer, recipient = await funded(client), Keypair().pubkey()
            latest = (await client.get_latest_blockhash()).value
            # Other transactions fill blocks up to the last one in which the blockhash is valid.
            while (await client.get_block_height()).value < latest.last_valid_block_height:
                await client.request_airdrop(Keypair().pubkey(), SOL)
            at_the_limit = legacy_transfer(payer, recipient, SOL, latest.blockhash)
            await assert_landed(client, (await client.send_transaction(at_the_limit)).value)
            # That transfer made a block of its own, so the blockhash is now too old.
            too_late = legacy_transfer(payer, recipient, 2 * SOL, latest.blockhash)
            with pytest.raises(RPCException) as expired:
                await client.send_transaction(too_late)
            return expired.value.args[0].message, await balance(client, recipient)

        message, recipient_balance = run(devchain.url, scenario)
    assert message == "Transaction simulation failed: Blockhash not found"
    assert recipient_balance == SOL


def test_json_rpc_envelope(devchain_url):
    batch = post(devchain_url, json.dumps([
        {"jsonrpc": "2.0", "id": 1, "method": "getHealth"},
        {"jsonrpc": "2.0", "id": 2, "method": "getBlockProduction"},
        {"jsonrpc": "2.0", "id": 3, "method": "getBalance", "params": ["not-a-key"]},
        {"jsonrpc": "2.0", "id": 4, "method": "getAccountInfo", "params": [str(Keypair().pubkey()), {"encoding": "base64"}]},
    ]).encode())
    assert batch[0] == {"jsonrpc": "2.0", "result": "ok", "id": 1}
    assert batch[1]["error"] == {"code": -32601, "message": "Method not found"}
    assert batch[2]["error"]["code"] == -32602
    assert batch[3]["result"]["value"] is None and isinstance(batch[3]["result"]["context"]["slot"], int)
    assert post(devchain_url, b"{not json")["error"]["code"] == -32700
