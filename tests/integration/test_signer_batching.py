"""Concurrent EVM signing requests from the orchestrator reach a real signer as one batch call,
and each is still decided on its own: the one over the wallet's cap is refused (its own
PERMISSION_DENIED), the others are signed by the wallet's key with their own nonces."""

from __future__ import annotations

import asyncio

import grpc
from eth_account import Account

from corral.v1 import signer_pb2
from devtools.devstack import ANVIL_CHAIN_ID, DevStack
from orchestrator.actions.signer_client import SignerClient


def request(wallet: str, nonce: int, value: int) -> signer_pb2.SignEvmTransactionRequest:
    unsigned = signer_pb2.EvmUnsignedTransaction(chain_id=ANVIL_CHAIN_ID, nonce=nonce, to="0x" + "22" * 20, value=str(value), gas=21000)
    unsigned.eip1559.max_fee_per_gas, unsigned.eip1559.max_priority_fee_per_gas = str(10**9), str(10**8)
    return signer_pb2.SignEvmTransactionRequest(wallet_address=wallet, transaction=unsigned,
                                                context=signer_pb2.SigningContext(request_id=f"r{nonce}"))


def test_concurrent_requests_share_a_call_and_each_is_decided_on_its_own(tmp_path):
    stack = DevStack(tmp_path)  # the signer alone: nothing here reaches a chain
    stack.home.mkdir(parents=True, exist_ok=True)
    try:
        stack.start_signer()
        wallet = stack.create_wallet()

        async def scenario():
            client = SignerClient(stack.signer_socket)
            batches: list[int] = []
            real_batch = client._stub.SignEvmTransactions

            async def counted(items, timeout):
                batches.append(len(items.requests))
                return await real_batch(items, timeout=timeout)

            client._evm._batch = counted  # noqa: SLF001 - observe how the requests travel
            values = [1, 2, 10**30, 4, 5]  # the third is over any cap the wallet has
            try:
                return batches, await asyncio.gather(*(client.sign_evm_transaction(request(wallet, n, v)) for n, v in enumerate(values)),
                                                     return_exceptions=True)
            finally:
                await client.close()

        batches, answers = asyncio.run(scenario())
    finally:
        stack.close()
    assert batches and sum(batches) == 4, f"the four requests after the first should have gone in batch calls: {batches}"
    refused = answers[2]
    assert isinstance(refused, grpc.aio.AioRpcError) and refused.code() == grpc.StatusCode.PERMISSION_DENIED, refused
    for nonce in (0, 1, 3, 4):
        raw = answers[nonce].raw_transaction
        assert Account.recover_transaction(raw).lower() == wallet.lower()
    assert len({answers[n].transaction_hash for n in (0, 1, 3, 4)}) == 4
