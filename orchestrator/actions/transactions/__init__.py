"""Sending transactions for sessions: one sender per kind of chain, chosen by network.

- `sender`   `ChainSender`: the path every chain's sender follows, written once
- `intents`  the durable record every sender writes before and after each step
- `evm`      networks "ethereum:<chainId>" (nonce, gas and fees filled from the chain)
- `solana`   network "solana" (recent blockhash filled from the chain)

Every path stores the intent before signing and the signed bytes before broadcast; the
signer applies the wallet's policy; a retried request id returns the first result.
"""

from __future__ import annotations

import asyncio

from corral.networks import NATIVE_EVM, is_solana
from corral.v1 import runtime_pb2
from orchestrator.actions.breakers import Breakers
from orchestrator.actions.positions import session_positions
from orchestrator.actions.transactions.evm import EvmSender
from orchestrator.actions.transactions.sender import ChainSender
from orchestrator.actions.transactions.solana import SolanaSender
from orchestrator.errors import precondition
from orchestrator.store import Database, SessionRow, TransactionRow

__all__ = ["ChainSender", "EvmSender", "SolanaSender", "TransactionSender"]


class TransactionSender:
    """The one entry point agents' and approved suggestions' transactions go through."""

    def __init__(self, db: Database, evm: EvmSender, solana: SolanaSender) -> None:
        self._db = db
        self.evm = evm
        self.solana = solana
        self._breakers = Breakers(db)
        # A backtest's native sends, one at a time per session (a few bytes per backtest run here).
        self._backtest_native_sends: dict[int, asyncio.Lock] = {}

    def _for(self, network: str) -> EvmSender | SolanaSender:
        # Anything not "solana" goes to the EVM sender, whose validation names the networks.
        return self.solana if is_solana(network) else self.evm

    async def sign_and_send(self, session: SessionRow, execution_id: int | None, request: runtime_pb2.SignAndSendRequest) -> TransactionRow:
        if session.backtest_every_blocks is not None and request.WhichOneof("request") == "evm" and _positive(request.evm.value):
            # Checked and sent under the session's lock: concurrent sends would each pass the
            # check against the same ledger and spend the fee money together.
            async with self._backtest_native_sends.setdefault(session.id, asyncio.Lock()):
                self._native_held_in_backtest(session, request.evm.value)
                return await self._send(session, execution_id, request)
        return await self._send(session, execution_id, request)

    async def _send(self, session: SessionRow, execution_id: int | None, request: runtime_pb2.SignAndSendRequest) -> TransactionRow:
        # The breakers are asked when the intent is new (in the claim's read): a retry returns its first result.
        return await self._for(request.network).sign_and_send(session, execution_id, request,
                                                              admit=lambda: self._breakers.before_sending(session))

    def _native_held_in_backtest(self, session: SessionRow, value: str) -> None:
        """A backtest's wallet is given native coin at each step to pay fees; it sends only
        what its own ledger holds of it (else the fee money would turn into profit)."""
        with self._db.session() as db:
            positions, _ = session_positions(db, session)
        held = sum(int(p.current_qty) for p in positions if p.network == session.allocation_network
                   and p.asset_address.lower() == NATIVE_EVM.lower())
        if int(value) > max(held, 0):
            raise precondition(f"value {value}: a backtest sends only the native coin its ledger holds ({max(held, 0)}); "
                               "what it is given at each step pays fees only")

    async def resume(self, tx: TransactionRow) -> None:
        """After a restart, finishes a transaction left `signed` (see the senders' resume)."""
        await self._for(tx.network).resume(tx)

    async def preview(self, session: SessionRow, request: runtime_pb2.SignAndSendRequest) -> dict:
        return await self._for(request.network).preview(session, request)

    def transaction_url(self, session: SessionRow, network: str, tx_hash: str) -> str | None:
        return self._for(network).transaction_url(session, network, tx_hash)


def _positive(value: str) -> bool:
    # Malformed values are the sender's to refuse, naming the field.
    return value.isascii() and value.isdigit() and int(value) > 0
