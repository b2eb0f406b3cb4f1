"""Sending transactions for sessions: one sender per kind of chain, chosen by network.

- `sender`   `ChainSender`: the path every chain's sender follows, written once
- `intents`  the durable record every sender writes before and after each step
- `evm`      networks "ethereum:<chainId>" (nonce, gas and fees filled from the chain)
- `solana`   network "solana" (recent blockhash filled from the chain)

Every path stores the intent before signing and the signed bytes before broadcast; the
signer applies the wallet's policy; a retried request id returns the first result.
"""

from __future__ import annotations

from corral.networks import is_solana
from corral.v1 import runtime_pb2
from orchestrator.actions.breakers import Breakers
from orchestrator.actions.transactions.evm import EvmSender
from orchestrator.actions.transactions.sender import ChainSender
from orchestrator.actions.transactions.solana import SolanaSender
from orchestrator.store import Database, SessionRow, TransactionRow

__all__ = ["ChainSender", "EvmSender", "SolanaSender", "TransactionSender"]


class TransactionSender:
    """The one entry point agents' and approved suggestions' transactions go through."""

    def __init__(self, db: Database, evm: EvmSender, solana: SolanaSender) -> None:
        self.evm = evm
        self.solana = solana
        self._breakers = Breakers(db)

    def _for(self, network: str) -> EvmSender | SolanaSender:
        # Anything not "solana" goes to the EVM sender, whose validation names the networks.
        return self.solana if is_solana(network) else self.evm

    async def sign_and_send(self, session: SessionRow, execution_id: int | None, request: runtime_pb2.SignAndSendRequest) -> TransactionRow:
        # The breakers are asked when the intent is new (in the claim's read): a retry returns its first result.
        return await self._for(request.network).sign_and_send(session, execution_id, request,
                                                              admit=lambda: self._breakers.before_sending(session))

    async def resume(self, tx: TransactionRow) -> None:
        """After a restart, finishes a transaction left `signed` (see the senders' resume)."""
        await self._for(tx.network).resume(tx)

    async def preview(self, session: SessionRow, request: runtime_pb2.SignAndSendRequest) -> dict:
        return await self._for(request.network).preview(session, request)

    def transaction_url(self, session: SessionRow, network: str, tx_hash: str) -> str | None:
        return self._for(network).transaction_url(session, network, tx_hash)
