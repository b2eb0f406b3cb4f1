"""Solana through the real signer process: transactions it signs execute on the
LiteSVM-based devchain (balances read back over JSON-RPC), and what its policy refuses
is never signed, so nothing moves."""

from __future__ import annotations

import asyncio
import json

import grpc
import pytest
from solana.rpc.async_api import AsyncClient
from solders.hash import Hash
from solders.instruction import Instruction
from solders.keypair import Keypair
from solders.message import Message, MessageV0
from solders.pubkey import Pubkey
from solders.signature import Signature
from solders.system_program import CreateAccountParams, TransferParams, create_account, transfer
from solders.transaction import VersionedTransaction
from spl.token.constants import TOKEN_PROGRAM_ID
from spl.token.instructions import (
    create_associated_token_account,
    get_associated_token_address,
    initialize_mint2,
    mint_to,
    transfer_checked,
)
from spl.token.models import InitializeMint2Params, MintToParams, TransferCheckedParams

from corral.v1 import signer_pb2, signer_pb2_grpc
from devtools.devstack import DevStack
from devtools.solana_devchain import MINT_LEN, DevChainServer
from signer.solana import ASSOCIATED_TOKEN_PROGRAM, SYSTEM_PROGRAM, TOKEN_PROGRAM

SOL = 1_000_000_000
RECIPIENT = Keypair().pubkey()


@pytest.fixture(scope="module")
def stack(signer_only):
    return signer_only


@pytest.fixture(scope="module")
def chain():
    with DevChainServer() as server:
        yield server


def solana_wallet(stack: DevStack, policy: dict) -> str:
    address = stack.create_solana_wallet()
    stack.set_policy(address, {"solana": policy})
    return address


def sign(stack: DevStack, wallet: str, tx: VersionedTransaction) -> signer_pb2.SignSolanaTransactionResponse:
    with grpc.insecure_channel(f"unix:{stack.signer_socket}") as channel:
        return signer_pb2_grpc.SignerServiceStub(channel).SignSolanaTransaction(
            signer_pb2.SignSolanaTransactionRequest(wallet_address=wallet, transaction=bytes(tx))
        )


def unsigned(message: Message | MessageV0) -> VersionedTransaction:
    return VersionedTransaction.populate(message, [Signature.default()] * message.header.num_required_signatures)


def rpc(url: str, scenario):
    async def main():
        async with AsyncClient(url) as client:
            return await scenario(client)

    return asyncio.run(main())


async def blockhash(client) -> Hash:
    return (await client.get_latest_blockhash()).value.blockhash


async def airdrop(client, pubkey: Pubkey, lamports: int) -> None:
    await client.request_airdrop(pubkey, lamports)


def audit_lines(stack: DevStack) -> list[dict]:
    return [json.loads(line) for line in (stack.signer_home / "audit.jsonl").read_text().splitlines()]


@pytest.mark.parametrize("version", ["legacy", "v0"])
def test_signed_transfer_executes_on_the_devchain(stack, chain, version):
    wallet = solana_wallet(stack, {"allowed_programs": [SYSTEM_PROGRAM], "max_lamports_per_tx": str(SOL)})
    payer = Pubkey.from_string(wallet)
    recipient = Keypair().pubkey()

    async def scenario(client):
        await airdrop(client, payer, 2 * SOL)
        ix = transfer(TransferParams(from_pubkey=payer, to_pubkey=recipient, lamports=SOL // 4))
        recent = await blockhash(client)
        message = Message.new_with_blockhash([ix], payer, recent) if version == "legacy" else MessageV0.try_compile(payer, [ix], [], recent)
        signed = sign(stack, wallet, unsigned(message))
        sent = (await client.send_raw_transaction(signed.signed_transaction)).value
        status = (await client.get_signature_statuses([sent])).value[0]
        return signed, sent, status, (await client.get_balance(recipient)).value, (await client.get_balance(payer)).value

    signed, sent, status, received, left = rpc(chain.url, scenario)
    assert str(sent) == signed.transaction_id == signed.signature
    assert status is not None and status.err is None
    assert received == SOL // 4
    assert left == 2 * SOL - SOL // 4 - 5000  # the fee, one signature
    allowed = [e for e in audit_lines(stack) if e["action"] == "sign_solana_transaction" and e.get("signature") == signed.signature]
    assert allowed and allowed[0]["decision"] == "allow" and allowed[0]["spends"] == [["solana", "native", str(SOL // 4 + 5000)]]  # with the fee


def test_over_the_cap_is_not_signed_and_nothing_moves(stack, chain):
    wallet = solana_wallet(stack, {"allowed_programs": [SYSTEM_PROGRAM], "max_lamports_per_tx": "1000"})
    payer = Pubkey.from_string(wallet)
    recipient = Keypair().pubkey()

    async def scenario(client):
        await airdrop(client, payer, SOL)
        message = Message.new_with_blockhash(
            [transfer(TransferParams(from_pubkey=payer, to_pubkey=recipient, lamports=1001))], payer, await blockhash(client)
        )
        with pytest.raises(grpc.RpcError) as denied:
            sign(stack, wallet, unsigned(message))
        return denied.value, (await client.get_balance(payer)).value, (await client.get_balance(recipient)).value

    denied, payer_balance, received = rpc(chain.url, scenario)
    assert denied.code() == grpc.StatusCode.PERMISSION_DENIED and "solana-lamport-cap" in denied.details()
    assert (payer_balance, received) == (SOL, 0)
    last = [e for e in audit_lines(stack) if e.get("wallet") == wallet][-1]
    assert last["decision"] == "deny" and last["rule"] == "solana-lamport-cap" and "signature" not in last


def test_spl_transfer_within_its_mint_cap_executes_and_above_it_is_refused(stack, chain):
    wallet = solana_wallet(stack, {
        "allowed_programs": [SYSTEM_PROGRAM, TOKEN_PROGRAM, ASSOCIATED_TOKEN_PROGRAM],
        "max_lamports_per_tx": "0",
        "token_transfer_caps": [],  # filled in once the mint exists
    })
    owner = Pubkey.from_string(wallet)
    mint_authority, mint = Keypair(), Keypair()
    destination_owner = Keypair().pubkey()
    source = get_associated_token_address(owner, mint.pubkey())
    destination = get_associated_token_address(destination_owner, mint.pubkey())

    async def setup(client):
        await airdrop(client, owner, SOL)
        await airdrop(client, mint_authority.pubkey(), 10 * SOL)
        rent = (await client.get_minimum_balance_for_rent_exemption(MINT_LEN)).value
        payer = mint_authority.pubkey()
        instructions = [
            create_account(CreateAccountParams(from_pubkey=payer, to_pubkey=mint.pubkey(), lamports=rent, space=MINT_LEN, owner=TOKEN_PROGRAM_ID)),
            initialize_mint2(InitializeMint2Params(decimals=6, program_id=TOKEN_PROGRAM_ID, mint=mint.pubkey(), mint_authority=payer)),
            create_associated_token_account(payer, owner, mint.pubkey()),
            create_associated_token_account(payer, destination_owner, mint.pubkey()),
            mint_to(MintToParams(program_id=TOKEN_PROGRAM_ID, mint=mint.pubkey(), dest=source, mint_authority=payer, amount=1_000_000)),
        ]
        message = Message.new_with_blockhash(instructions, payer, await blockhash(client))
        await client.send_raw_transaction(bytes(VersionedTransaction(message, [mint_authority, mint])))

    rpc(chain.url, setup)
    stack.set_policy(wallet, {"solana": {
        "allowed_programs": [SYSTEM_PROGRAM, TOKEN_PROGRAM], "max_lamports_per_tx": "0",
        "token_transfer_caps": [{"mint": str(mint.pubkey()), "max_amount_per_tx": "250000"}],
    }})

    def token_transfer(amount: int) -> Instruction:
        return transfer_checked(TransferCheckedParams(
            program_id=TOKEN_PROGRAM_ID, source=source, mint=mint.pubkey(), dest=destination, owner=owner, amount=amount, decimals=6,
        ))

    async def scenario(client):
        recent = await blockhash(client)
        signed = sign(stack, wallet, unsigned(Message.new_with_blockhash([token_transfer(250_000)], owner, recent)))
        await client.send_raw_transaction(signed.signed_transaction)
        with pytest.raises(grpc.RpcError) as denied:
            sign(stack, wallet, unsigned(Message.new_with_blockhash([token_transfer(250_001)], owner, await blockhash(client))))
        moved = (await client.get_token_account_balance(destination)).value.amount
        kept = (await client.get_token_account_balance(source)).value.amount
        return denied.value, moved, kept

    denied, moved, kept = rpc(chain.url, scenario)
    assert (moved, kept) == ("250000", "750000")
    assert denied.code() == grpc.StatusCode.PERMISSION_DENIED and "solana-token-transfer" in denied.details()


def test_malformed_and_unknown_wallet_requests_get_clear_errors(stack):
    wallet = solana_wallet(stack, {"allowed_programs": [SYSTEM_PROGRAM]})
    with grpc.insecure_channel(f"unix:{stack.signer_socket}") as channel:
        stub = signer_pb2_grpc.SignerServiceStub(channel)
        with pytest.raises(grpc.RpcError) as garbage:
            stub.SignSolanaTransaction(signer_pb2.SignSolanaTransactionRequest(wallet_address=wallet, transaction=b"\x01garbage"))
        assert garbage.value.code() == grpc.StatusCode.INVALID_ARGUMENT and "not a serialized Solana transaction" in garbage.value.details()
        someone = Keypair().pubkey()
        message = Message.new_with_blockhash([transfer(TransferParams(from_pubkey=someone, to_pubkey=RECIPIENT, lamports=1))], someone, Hash.default())
        with pytest.raises(grpc.RpcError) as not_signer:
            stub.SignSolanaTransaction(signer_pb2.SignSolanaTransactionRequest(wallet_address=wallet, transaction=bytes(unsigned(message))))
        assert not_signer.value.code() == grpc.StatusCode.INVALID_ARGUMENT and "not a required signer" in not_signer.value.details()
        with pytest.raises(grpc.RpcError) as unknown:
            stub.SignSolanaTransaction(signer_pb2.SignSolanaTransactionRequest(wallet_address=str(someone), transaction=bytes(unsigned(message))))
        assert unknown.value.code() == grpc.StatusCode.NOT_FOUND
        listed = {w.address: w.wallet_type for w in stub.ListSignerWallets(signer_pb2.ListSignerWalletsRequest()).wallets}
        assert listed[wallet] == signer_pb2.WALLET_TYPE_SOLANA


def test_solana_key_is_encrypted_at_rest_and_appears_nowhere(stack, chain):
    from eth_account import Account

    wallet = solana_wallet(stack, {"allowed_programs": [SYSTEM_PROGRAM], "max_lamports_per_tx": str(SOL)})
    keyfile = json.loads((stack.signer_home / "keystore" / f"{wallet}.json").read_text())
    assert keyfile["crypto"]["kdf"] == "scrypt" and keyfile["corral"] == {"wallet_type": "solana"}
    seed = bytes(Account.decrypt(keyfile, stack.passphrase_file.read_text()))  # the owner's view
    keypair = Keypair.from_seed(seed)
    assert str(keypair.pubkey()) == wallet

    async def scenario(client):
        await airdrop(client, keypair.pubkey(), SOL)
        message = Message.new_with_blockhash(
            [transfer(TransferParams(from_pubkey=keypair.pubkey(), to_pubkey=RECIPIENT, lamports=1))], keypair.pubkey(), await blockhash(client)
        )
        sign(stack, wallet, unsigned(message))

    rpc(chain.url, scenario)
    secrets = {seed.hex(), str(keypair), bytes(keypair).hex()}
    for text in [(stack.signer_home / "audit.jsonl").read_text(), stack.log_text("signer"), json.dumps(keyfile)]:
        assert not any(secret in text for secret in secrets)
