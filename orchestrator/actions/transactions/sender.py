"""`ChainSender`: the sign-and-send path every kind of chain follows, in the order that keeps
money safe. A chain's sender fills in only what differs (how a request is checked, what the
signer is asked, how an outcome is read); the order, the durable record and the crash
points are written once, here:

validate → store the intent (with the SDK's request id) → fill from the chain and ask the
signer (which applies its own policy) → store the signed bytes → broadcast → wait for the
outcome → record it with what it moved.

A retried call with the same request id returns the first result instead of sending again.
"""

from __future__ import annotations

from abc import ABC, abstractmethod
from collections.abc import Awaitable, Callable
from typing import Any, Generic, Protocol, TypeVar

import grpc
from sqlalchemy.orm import Session

from corral import failpoints
from corral.v1 import runtime_pb2
from orchestrator.actions.signer_client import SignerClient, signer_refusal
from orchestrator.actions.transactions.intents import Intents
from orchestrator.chains import SimulationFailed
from orchestrator.errors import Refused, precondition
from orchestrator.store import Database, SessionRow, TransactionRow
from orchestrator.store.statuses import TransactionStatus


class BroadcastingChain(Protocol):
    async def send_raw(self, raw: bytes) -> Any: ...

    def transaction_url(self, tx_hash: str) -> str | None: ...


Chain = TypeVar("Chain", bound=BroadcastingChain)
Payload = TypeVar("Payload")
Outcome = TypeVar("Outcome")
Signed = TypeVar("Signed")


class ChainSender(ABC, Generic[Chain, Payload, Outcome]):
    def __init__(self, db: Database, signer: SignerClient) -> None:
        self._db = db
        self._intents = Intents(db)
        self._signer = signer

    # -- what each chain fills in ---------------------------------------------------------

    @abstractmethod
    def validate(self, session: SessionRow, request: runtime_pb2.SignAndSendRequest) -> tuple[Chain, Payload]:
        """Checks a request against the session and the platform; raises Refused naming the fix."""

    @abstractmethod
    def intent_fields(self, payload: Payload) -> dict[str, str]:
        """What the stored intent shows before anything is signed: to_address, value, data."""

    @abstractmethod
    async def sign_and_broadcast(self, chain: Chain, session: SessionRow, execution_id: int | None, tx: TransactionRow,
                                 payload: Payload) -> None:
        """Fills what the platform decides, asks the signer (`_ask_signer`), then `_store_and_broadcast`."""

    @abstractmethod
    async def settle(self, chain: Chain, tx: TransactionRow) -> Outcome | None:
        """Waits for the outcome and records it with the ledger; None while still unknown."""

    @abstractmethod
    def refusal_for(self, tx: TransactionRow, outcome: Outcome) -> Refused | None:
        """Why a settled transaction did not do what was asked, or None when it did."""

    @abstractmethod
    def chain_for(self, session: SessionRow, network: str) -> Chain | None:
        """The chain `session` acts on for `network` (a paper session's fork), or None."""

    @abstractmethod
    def describe(self, session: SessionRow, request: runtime_pb2.SignAndSendRequest, payload: Payload) -> dict[str, Any]:
        """What the user is shown before approving (manual mode), without the simulation."""

    @abstractmethod
    async def simulate(self, chain: Chain, session: SessionRow, payload: Payload) -> dict[str, Any]:
        """Whether it succeeds now, as shown in a preview."""

    # -- the path, once -----------------------------------------------------------------------

    async def sign_and_send(self, session: SessionRow, execution_id: int | None, request: runtime_pb2.SignAndSendRequest,
                            admit: Callable[[], None] | None = None) -> TransactionRow:
        """Validates, stores the intent (`admit`, a breaker, is asked only for a new one),
        signs, broadcasts and settles; a retried request id returns its first row."""
        chain, payload = self.validate(session, request)
        tx, new = self._intents.claim(session, execution_id, request, admit=admit, **self.intent_fields(payload))
        if not new:
            return tx
        failpoints.reach("tx.intent_stored")
        try:
            await self.sign_and_broadcast(chain, session, execution_id, tx, payload)
        except Refused as refused:
            self._intents.update(tx, status=TransactionStatus.REJECTED, error=refused.message)
            raise
        failpoints.reach("tx.broadcast")
        outcome = await self.settle(chain, tx)
        if outcome is None:
            # Stays `signed`: the bytes are stored and can be re-broadcast, never re-signed.
            raise Refused(grpc.StatusCode.DEADLINE_EXCEEDED, f"transaction {tx.tx_hash} was broadcast but not yet confirmed")
        refusal = self.refusal_for(tx, outcome)
        if refusal is not None:
            raise refusal
        return tx

    async def resume(self, tx: TransactionRow) -> None:
        """After a restart: a transaction left `signed` is broadcast again byte for byte (same
        hash or signature: it can land at most once; a node that has it says so) and settled.
        It is never signed again, so it can never be sent twice."""
        with self._db.session() as db:
            session = db.get(SessionRow, tx.session_id)
        chain = self.chain_for(session, tx.network) if session is not None else None
        if chain is None:
            raise precondition(f"network {tx.network} is no longer configured; transaction {tx.tx_hash} stays signed")
        try:
            await chain.send_raw(tx.signed_raw)
        except ValueError:
            pass  # known already, landed, or expired: settling says which
        await self.settle(chain, tx)

    async def preview(self, session: SessionRow, request: runtime_pb2.SignAndSendRequest) -> dict[str, Any]:
        chain, payload = self.validate(session, request)
        details = self.describe(session, request, payload)
        try:
            details["simulation"] = await self.simulate(chain, session, payload)
        except (SimulationFailed, OSError) as exc:  # a preview only: an unreachable node does not stop the suggestion
            details["simulation"] = {"succeeded": False, "error": str(exc)}
        return details

    async def _ask_signer(self, call: Awaitable[Signed]) -> Signed:
        """The signer's answer; its refusal as a Refused that names the rule."""
        try:
            signed = await call
        except grpc.aio.AioRpcError as exc:
            raise signer_refusal(exc) from None
        failpoints.reach("tx.signed")
        return signed

    async def _store_and_broadcast(self, chain: Chain, tx: TransactionRow, raw: bytes, also: Callable[[Session], None] | None = None,
                                   **signed_fields: Any) -> None:
        """The signed bytes are durable before they are broadcast (`also` is written in the same commit)."""
        self._intents.update(tx, also=also, status=TransactionStatus.SIGNED, signed_raw=raw, **signed_fields)
        failpoints.reach("tx.signed_stored")
        try:
            await chain.send_raw(raw)
        except ValueError as exc:
            raise precondition(f"the node refused the transaction: {exc}") from None

    def transaction_url(self, session: SessionRow, network: str, tx_hash: str) -> str | None:
        chain = self.chain_for(session, network)
        return chain.transaction_url(tx_hash) if chain is not None else None
