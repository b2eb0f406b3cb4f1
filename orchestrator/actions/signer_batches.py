"""EVM signing requests that arrive together go to the signer as one call.

A request that finds no call in flight is sent at once, alone (no added latency). Requests
that arrive while one is in flight wait for it and then go together, in arrival order, as one
`SignEvmTransactions` call (at most MAX_BATCH; the rest go in the next one). The signer decides,
reserves and audits each item on its own, exactly as it would a single call, so batching
changes what a call costs, not what is signed. Each caller gets its own answer, or its own
refusal as the `grpc.aio.AioRpcError` a single call would have raised.
"""

from __future__ import annotations

import asyncio
from collections.abc import Awaitable, Callable

import grpc
from opentelemetry import trace
from opentelemetry.trace import Link, SpanContext

from corral.v1 import signer_pb2
from orchestrator.tracing import TRACER, in_fresh_context

# The signer's own limit per call (signer/service.py).
MAX_BATCH = 64

Single = Callable[..., Awaitable[signer_pb2.SignEvmTransactionResponse]]
Batch = Callable[..., Awaitable[signer_pb2.SignEvmTransactionsResponse]]
# A request waiting for the call in flight: what to send, where its answer goes, and the span
# it was asked from (the batch's span links to it).
_Waiting = tuple[signer_pb2.SignEvmTransactionRequest, asyncio.Future, SpanContext]


class EvmBatcher:
    def __init__(self, single: Single, batch: Batch) -> None:
        self._single, self._batch = single, batch
        self._in_flight = False
        self._waiting: list[_Waiting] = []

    async def sign(self, request: signer_pb2.SignEvmTransactionRequest, timeout: float) -> signer_pb2.SignEvmTransactionResponse:
        if not self._in_flight:
            self._in_flight = True
            try:
                return await self._single(request, timeout=timeout)
            finally:
                self._send_waiting(timeout)
        answer: asyncio.Future = asyncio.get_running_loop().create_future()
        self._waiting.append((request, answer, trace.get_current_span().get_span_context()))
        try:
            return await asyncio.shield(answer)
        except asyncio.CancelledError:
            # Not sent yet: it never will be. Sent: the signer answers it all the same (and it is
            # counted by the caller as if refused, see SignerClient._signed).
            self._waiting = [waiting for waiting in self._waiting if waiting[1] is not answer]
            raise

    def _send_waiting(self, timeout: float) -> None:
        """The call in flight ended: the requests that waited for it go now, as one call."""
        if not self._waiting:
            self._in_flight = False
            return
        waiting, self._waiting = self._waiting[:MAX_BATCH], self._waiting[MAX_BATCH:]
        # The batch is every item's, not the request whose call just ended: it starts with no
        # caller's ids, and its span links to each item's span instead of joining one trace.
        task = in_fresh_context(self._send(waiting, timeout))
        task.add_done_callback(lambda _: self._send_waiting(timeout))

    async def _send(self, waiting: list[_Waiting], timeout: float) -> None:
        group = [(request, answer) for request, answer, _ in waiting]
        links = [Link(context) for _, _, context in waiting if context.is_valid]
        try:
            with TRACER.start_as_current_span("signer batch", links=links, attributes={"corral.batch_size": len(group)}):
                response = await self._batch(signer_pb2.SignEvmTransactionsRequest(requests=[r for r, _ in group]), timeout=timeout)
        except grpc.aio.AioRpcError as failed:  # the call as a whole: every item ends as a single call would have
            for _, answer in group:
                if not answer.done():
                    answer.set_exception(failed)
            return
        except BaseException as failed:
            for _, answer in group:
                if not answer.done():
                    answer.set_exception(failed if isinstance(failed, Exception) else asyncio.CancelledError())
            raise
        if len(response.results) != len(group):
            broken = _rpc_error(grpc.StatusCode.INTERNAL, f"the signer answered {len(response.results)} of {len(group)} requests")
            for _, answer in group:
                if not answer.done():
                    answer.set_exception(broken)
            return
        for (_, answer), result in zip(group, response.results, strict=True):
            if answer.done():
                continue
            if result.HasField("signed"):
                answer.set_result(result.signed)
            else:
                answer.set_exception(_rpc_error(_status(result.refused.code), result.refused.message))


def _status(number: int) -> grpc.StatusCode:
    """The StatusCode of a numeric gRPC code (INTERNAL for one the signer should not send)."""
    return next((code for code in grpc.StatusCode if code.value[0] == number), grpc.StatusCode.INTERNAL)


def _rpc_error(code: grpc.StatusCode, details: str) -> grpc.aio.AioRpcError:
    return grpc.aio.AioRpcError(code, grpc.aio.Metadata(), grpc.aio.Metadata(), details=details)
