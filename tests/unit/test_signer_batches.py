"""The orchestrator's EVM batcher, against stand-ins of the signer's two RPCs: a lone request
goes alone; requests that arrive while a call is in flight go together, in order, each with
its own answer or its own refusal; a cancelled waiting request is never sent."""

from __future__ import annotations

import asyncio

import grpc
import pytest

from corral.v1 import signer_pb2
from orchestrator.actions import signer_batches
from orchestrator.actions.signer_batches import EvmBatcher


def request(nonce: int) -> signer_pb2.SignEvmTransactionRequest:
    return signer_pb2.SignEvmTransactionRequest(wallet_address="0x" + "11" * 20, transaction=signer_pb2.EvmUnsignedTransaction(nonce=nonce))


class FakeSigner:
    """Signs every nonce but 13 (refused as a policy denial); the first call waits for `release`."""

    def __init__(self) -> None:
        self.calls: list[list[int]] = []
        self.release = asyncio.Event()

    def _one(self, item: signer_pb2.SignEvmTransactionRequest) -> signer_pb2.SignEvmTransactionResult:
        if item.transaction.nonce == 13:
            return signer_pb2.SignEvmTransactionResult(refused=signer_pb2.SigningRefusal(code=7, message="value over the cap"))
        return signer_pb2.SignEvmTransactionResult(signed=signer_pb2.SignEvmTransactionResponse(transaction_hash=f"0x{item.transaction.nonce}"))

    async def single(self, item, timeout):
        self.calls.append([item.transaction.nonce])
        await self.release.wait()
        result = self._one(item)
        if result.HasField("refused"):
            raise grpc.aio.AioRpcError(grpc.StatusCode.PERMISSION_DENIED, grpc.aio.Metadata(), grpc.aio.Metadata(), details=result.refused.message)
        return result.signed

    async def batch(self, items, timeout):
        self.calls.append([item.transaction.nonce for item in items.requests])
        return signer_pb2.SignEvmTransactionsResponse(results=[self._one(item) for item in items.requests])


def test_requests_that_arrive_during_a_call_go_together_each_with_its_own_answer():
    async def scenario():
        signer = FakeSigner()
        batcher = EvmBatcher(signer.single, signer.batch)
        first = asyncio.ensure_future(batcher.sign(request(1), timeout=5))
        await asyncio.sleep(0)
        rest = [asyncio.ensure_future(batcher.sign(request(n), timeout=5)) for n in (2, 13, 4)]
        await asyncio.sleep(0)
        signer.release.set()
        answers = await asyncio.gather(first, *rest, return_exceptions=True)
        return signer.calls, answers

    calls, answers = asyncio.run(scenario())
    assert calls == [[1], [2, 13, 4]]
    assert [a.transaction_hash for a in (answers[0], answers[1], answers[3])] == ["0x1", "0x2", "0x4"]
    refused = answers[2]
    assert isinstance(refused, grpc.aio.AioRpcError)
    assert (refused.code(), refused.details()) == (grpc.StatusCode.PERMISSION_DENIED, "value over the cap")


def test_a_lone_request_goes_alone_and_a_cancelled_waiting_one_is_never_sent():
    async def scenario():
        signer = FakeSigner()
        batcher = EvmBatcher(signer.single, signer.batch)
        first = asyncio.ensure_future(batcher.sign(request(1), timeout=5))
        await asyncio.sleep(0)
        gone, kept = asyncio.ensure_future(batcher.sign(request(2), timeout=5)), asyncio.ensure_future(batcher.sign(request(3), timeout=5))
        await asyncio.sleep(0)
        gone.cancel()
        signer.release.set()
        await asyncio.gather(first, kept)
        signer.release.set()
        await batcher.sign(request(5), timeout=5)  # nothing in flight any more: alone again
        return signer.calls

    assert asyncio.run(scenario()) == [[1], [3], [5]]


def test_more_waiting_requests_than_a_call_takes_go_in_several_calls(monkeypatch):
    monkeypatch.setattr(signer_batches, "MAX_BATCH", 2)

    async def scenario():
        signer = FakeSigner()
        batcher = EvmBatcher(signer.single, signer.batch)
        first = asyncio.ensure_future(batcher.sign(request(1), timeout=5))
        await asyncio.sleep(0)
        rest = [asyncio.ensure_future(batcher.sign(request(n), timeout=5)) for n in (2, 3, 4, 5, 6)]
        await asyncio.sleep(0)
        signer.release.set()
        answers = await asyncio.gather(first, *rest)
        return signer.calls, [a.transaction_hash for a in answers]

    calls, hashes = asyncio.run(scenario())
    assert calls == [[1], [2, 3], [4, 5], [6]]
    assert hashes == [f"0x{n}" for n in range(1, 7)]


@pytest.mark.parametrize("answered", [0, 5])
def test_an_answer_of_the_wrong_length_fails_every_item_of_the_call(answered):
    async def scenario():
        signer = FakeSigner()

        async def short_batch(items, timeout):
            signer.calls.append([item.transaction.nonce for item in items.requests])
            return signer_pb2.SignEvmTransactionsResponse(results=[signer._one(items.requests[0])] * answered)

        batcher = EvmBatcher(signer.single, short_batch)
        first = asyncio.ensure_future(batcher.sign(request(1), timeout=5))
        await asyncio.sleep(0)
        rest = [asyncio.ensure_future(batcher.sign(request(n), timeout=5)) for n in (2, 3)]
        await asyncio.sleep(0)
        signer.release.set()
        return await asyncio.gather(first, *rest, return_exceptions=True)

    first, *rest = asyncio.run(scenario())
    assert first.transaction_hash == "0x1"
    assert all(isinstance(r, grpc.aio.AioRpcError) and r.code() == grpc.StatusCode.INTERNAL for r in rest)
