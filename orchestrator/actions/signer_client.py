"""The orchestrator's side of the signer socket. The orchestrator has no keys; it asks."""

from __future__ import annotations

import asyncio
import re
from collections.abc import Callable
from pathlib import Path
from typing import Protocol

import grpc
from sqlalchemy.orm import Session

from corral.v1 import signer_pb2, signer_pb2_grpc
from orchestrator.actions.signer_batches import EvmBatcher
from orchestrator.errors import Refused

# What the signer answers when it decided no (each one is an audit line).
SIGNER_REFUSALS = (grpc.StatusCode.PERMISSION_DENIED, grpc.StatusCode.INVALID_ARGUMENT)


class RefusalCounter(Protocol):
    def before_signing(self, session_id: int) -> None:
        """Raises Refused when the session may send no more requests to the signer."""

    def refused(self, session_id: int) -> None:
        """The signer refused one of the session's requests (or did not answer it)."""

    def done(self, session_id: int) -> None:
        """A request `before_signing` admitted has its answer."""


class SignerClient:
    def __init__(self, socket_path: Path) -> None:
        self._channel = grpc.aio.insecure_channel(f"unix:{socket_path.resolve()}")
        self._stub = signer_pb2_grpc.SignerServiceStub(self._channel)
        # EVM requests that arrive together share one call (each still decided on its own).
        self._evm = EvmBatcher(self._stub.SignEvmTransaction, self._stub.SignEvmTransactions)
        self._refusal: Callable[[], Refused | None] = lambda: None
        self._record_head: Callable[[signer_pb2.AuditHead], None] = lambda head: None
        self._write_head: Callable[[Session, signer_pb2.AuditHead], object] | None = None
        self._refusals: RefusalCounter | None = None

    def refuse_while(self, refusal: Callable[[], Refused | None]) -> None:
        """Every signing request first asks `refusal()`; a Refused it returns is raised
        instead of asking the signer (the kill switch)."""
        self._refusal = refusal

    def record_heads_with(self, record: Callable[[signer_pb2.AuditHead], None],
                          write: Callable[[Session, signer_pb2.AuditHead], object] | None = None) -> None:
        """Every answer carries the signer's audit-log head after it; `record` keeps them
        (the wallet owner checks the signer's log still holds the newest one). `write`
        stores one inside a caller's own database transaction: a signed transaction's head
        goes into the commit that stores its bytes (see `head_writer`)."""
        self._record_head = record
        self._write_head = write

    def head_writer(self, head: signer_pb2.AuditHead) -> Callable[[Session], None]:
        """For an answer asked for with `head_stored_by_caller`: what stores its head in the
        caller's database transaction. (Lost with that transaction if the orchestrator dies
        first: the stored head is then an older one, which the signer's log still holds.)"""
        write = self._write_head
        if write is None:
            self._record_head(head)
            return lambda db: None

        def store(db: Session) -> None:
            write(db, head)

        return store

    def count_refusals_with(self, counter: RefusalCounter) -> None:
        """Each session's refused requests are counted by `counter`, which may stop a
        session's requests before they reach the signer (a breaker)."""
        self._refusals = counter

    async def _signed(self, call, request, timeout: float = 30, record_head: bool = True):
        # Requests a session's agent or user made carry its id; the platform's own (a budget,
        # a venue login) count for no session.
        session_id = request.context.session_id if "context" in request.DESCRIPTOR.fields_by_name else 0
        refusals = self._refusals
        if refusals is None:
            answer = await call(request, timeout=timeout)
        else:
            refusals.before_signing(session_id)
            try:
                answer = await call(request, timeout=timeout)
            except asyncio.CancelledError:
                # The caller gave up (an agent can cancel its own call): the signer may have
                # decided, and audited, already; counted as refused so cancelling is no way
                # around the breaker.
                refusals.refused(session_id)
                raise
            except grpc.aio.AioRpcError as exc:
                if exc.code() != grpc.StatusCode.UNAVAILABLE:  # every answer but "not reached" cost an audit line
                    refusals.refused(session_id)
                raise
            finally:
                refusals.done(session_id)
        if record_head:
            self._record_head(answer.audit_head)
        return answer

    def _gate(self) -> None:
        if (refused := self._refusal()) is not None:
            raise refused

    async def wallets(self) -> dict[str, str]:
        """Address -> wallet type ("ethereum" or "solana") of every wallet the signer holds,
        but paper wallets (a paper session's throwaway key is no wallet a session starts on)."""
        response = await self._stub.ListSignerWallets(signer_pb2.ListSignerWalletsRequest(), timeout=10)
        names = {signer_pb2.WALLET_TYPE_ETHEREUM: "ethereum", signer_pb2.WALLET_TYPE_SOLANA: "solana"}
        return {w.address: names.get(w.wallet_type, "unknown") for w in response.wallets if not w.paper_of}

    async def paper_wallets(self) -> set[str]:
        """The paper wallets the signer holds (its spelling)."""
        response = await self._stub.ListSignerWallets(signer_pb2.ListSignerWalletsRequest(), timeout=10)
        return {w.address for w in response.wallets if w.paper_of}

    async def remove_paper_wallet(self, wallet: str) -> None:
        """Removes a stopped paper session's wallet (raises grpc.aio.AioRpcError)."""
        await self._signed(self._stub.RemovePaperWallet, signer_pb2.RemovePaperWalletRequest(wallet_address=wallet), timeout=30)

    async def create_paper_wallet(self, source_wallet: str) -> str:
        """A throwaway wallet with a copy of `source_wallet`'s policy (raises grpc.aio.AioRpcError)."""
        response = await self._signed(self._stub.CreatePaperWallet, signer_pb2.CreatePaperWalletRequest(source_wallet_address=source_wallet),
                                      timeout=30)
        return response.address

    async def sign_evm_transaction(self, request: signer_pb2.SignEvmTransactionRequest, *,
                                   head_stored_by_caller: bool = False) -> signer_pb2.SignEvmTransactionResponse:
        """Raises grpc.aio.AioRpcError; PERMISSION_DENIED means the wallet's policy refused.
        `head_stored_by_caller`: the answer's audit head is stored by the caller, with
        `head_writer`, in the commit it makes anyway."""
        self._gate()
        return await self._signed(self._evm.sign, request, record_head=not head_stored_by_caller)

    async def sign_solana_transaction(self, request: signer_pb2.SignSolanaTransactionRequest) -> signer_pb2.SignSolanaTransactionResponse:
        """Raises grpc.aio.AioRpcError; PERMISSION_DENIED means the wallet's policy refused."""
        self._gate()
        return await self._signed(self._stub.SignSolanaTransaction, request)

    async def sign_evm_message(self, request: signer_pb2.SignEvmMessageRequest) -> signer_pb2.SignEvmMessageResponse:
        self._gate()
        return await self._signed(self._stub.SignEvmMessage, request)

    async def sign_hyperliquid_action(self, request: signer_pb2.SignHyperliquidActionRequest) -> signer_pb2.SignHyperliquidActionResponse:
        self._gate()
        return await self._signed(self._stub.SignHyperliquidAction, request)

    async def sign_polymarket_order(self, request: signer_pb2.SignPolymarketOrderRequest) -> signer_pb2.SignPolymarketOrderResponse:
        self._gate()
        return await self._signed(self._stub.SignPolymarketOrder, request)

    async def sign_polymarket_auth(self, request: signer_pb2.SignPolymarketAuthRequest) -> signer_pb2.SignPolymarketAuthResponse:
        self._gate()
        return await self._signed(self._stub.SignPolymarketAuth, request)

    async def open_session_budget(self, request: signer_pb2.OpenSessionBudgetRequest) -> signer_pb2.OpenSessionBudgetResponse:
        return await self._signed(self._stub.OpenSessionBudget, request, timeout=10)

    async def halt_signing(self, reason: str) -> None:
        await self._stub.HaltSigning(signer_pb2.HaltSigningRequest(reason=reason), timeout=10)

    async def resume_signing(self) -> signer_pb2.ResumeSigningResponse:
        return await self._stub.ResumeSigning(signer_pb2.ResumeSigningRequest(), timeout=10)

    async def decision_counts(self) -> signer_pb2.GetDecisionCountsResponse:
        """The signer's decisions since it started, by action, outcome and rule (for /metrics)."""
        return await self._stub.GetDecisionCounts(signer_pb2.GetDecisionCountsRequest(), timeout=5)

    async def close(self) -> None:
        await self._channel.close()


# How the signer names the rule that denied a request (signer/service.py, Audited.deny), as
# signer_refusal passes it on.
_DENIED_BY_RULE = re.compile(r"^signer: denied by policy rule ([a-z0-9-]+)")


def denying_rule(message: str) -> str | None:
    """The policy rule a refusal's message names, or None when the signer did not deny by its
    policy (an argument error, the signer unreachable, a platform check)."""
    match = _DENIED_BY_RULE.match(message)
    return match.group(1) if match else None


def signer_refusal(exc: grpc.aio.AioRpcError) -> Refused:
    """What the agent or user is told when the signer says no (or cannot be reached): its
    policy denials and argument errors keep their status; anything else is UNAVAILABLE."""
    return Refused(exc.code() if exc.code() in SIGNER_REFUSALS else grpc.StatusCode.UNAVAILABLE, f"signer: {exc.details()}")
