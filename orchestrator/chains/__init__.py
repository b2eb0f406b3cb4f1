"""Chain access. The orchestrator reads state and broadcasts; it never signs.

- `evm`     EVM JSON-RPC with web3.py (networks "ethereum:<chainId>")
- `solana`  Solana JSON-RPC with solana-py (network "solana")
- `paper_forks`  paper sessions' anvil forks, and which chain a session acts on (`session_chain`)

Both kinds answer the reads sessions and reconciliation need through `Chain`.
"""

from __future__ import annotations

from collections.abc import Sequence
from typing import Protocol, runtime_checkable


class SimulationFailed(Exception):
    """The chain refused a read or a simulation: the message says what it answered."""


class Chain(Protocol):
    """What starting a session, listing wallets and reconciliation read from any chain."""

    network: str
    # The kind of wallet that holds assets here: "ethereum" or "solana".
    wallet_type: str
    # The asset address positions use for the chain's native coin.
    native_asset: str
    # Whether reconciliation compares its balances with what sessions are owed (a venue
    # account whose value moves with prices is not).
    reconciled: bool

    async def balance(self, address: str) -> int: ...

    async def token_balance(self, token: str, owner: str) -> int: ...

    def transaction_url(self, tx_hash: str) -> str | None: ...


# A balance to read: (owner, token), the token None for the chain's native coin.
BalanceRead = tuple[str, str | None]


@runtime_checkable
class BatchedBalances(Protocol):
    async def balances(self, reads: Sequence[BalanceRead]) -> list[int | Exception]: ...


async def read_balances(chain: Chain, reads: Sequence[BalanceRead]) -> list[int | Exception]:
    """Each read's balance, or the error reading it met (one failed read does not hide the
    others'): in as few round trips as the chain can batch them, else one by one."""
    if isinstance(chain, BatchedBalances):
        return await chain.balances(reads)
    answers: list[int | Exception] = []
    for owner, token in reads:
        try:
            answers.append(await chain.balance(owner) if token is None else await chain.token_balance(token, owner))
        except (SimulationFailed, OSError, ValueError) as exc:
            answers.append(exc)
    return answers
