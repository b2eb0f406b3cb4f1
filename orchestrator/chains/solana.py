"""Solana JSON-RPC access with solana-py: balances, blockhashes, broadcast, confirmation,
and what a landed transaction moved for a wallet (from its metadata's balances).

The same calls work against a real cluster and against `devtools.solana_devchain`.
"""

from __future__ import annotations

import asyncio
import time
from collections import defaultdict
from collections.abc import Sequence
from dataclasses import dataclass
from typing import Any

from solana.exceptions import SolanaRpcException
from solana.rpc.async_api import AsyncClient
from solana.rpc.commitment import Confirmed
from solana.rpc.core import RPCException
from solana.rpc.models import TokenAccountOpts, TxOpts
from solders.hash import Hash
from solders.pubkey import Pubkey
from solders.signature import Signature
from solders.transaction import VersionedTransaction
from solders.transaction_status import TransactionConfirmationStatus, UiTransactionStatusMeta

from corral.networks import NATIVE_SOLANA
from orchestrator.chains import BalanceRead, SimulationFailed
from orchestrator.chains.jsonrpc import JsonRpc, RpcError
from orchestrator.config import SolanaConfig, explorer_link

NETWORK = "solana"
POLL_SECONDS = 0.2
BALANCES_PER_BATCH = 100  # reads per JSON-RPC batch (nodes bound a batch's size)
# "processed" can still be rolled back; these cannot (in practice) be.
LANDED = (TransactionConfirmationStatus.Confirmed, TransactionConfirmationStatus.Finalized)


@dataclass(frozen=True)
class BalanceChange:
    """Something a transaction moved into or out of the wallet: lamports (`token` is the
    native asset) or one SPL mint. `counterparty` is the account the other side of the
    largest opposite change belongs to ("" when the metadata shows none)."""

    token: str
    token_type: str  # "native" | "SPL"
    sender: str
    recipient: str
    amount: int


@dataclass(frozen=True)
class Landed:
    """A transaction that made it into a block: `succeeded` is False when it failed on chain
    (it still paid its fee)."""

    succeeded: bool
    slot: int
    fee: int
    block_time: int
    error: str
    changes: tuple[BalanceChange, ...]


@dataclass(frozen=True)
class Expired:
    """The blockhash expired before the transaction landed: it never will, and moved nothing."""

    last_valid_block_height: int


class SolanaChain:
    native_asset = NATIVE_SOLANA
    wallet_type = "solana"
    reconciled = True

    def __init__(self, config: SolanaConfig) -> None:
        self.network = NETWORK
        self.config = config
        self._client = AsyncClient(config.rpc_url, commitment=Confirmed, timeout=30)
        # solana-py sends one request per call: reconciliation's reads go as JSON-RPC batches.
        self._batches = JsonRpc(config.rpc_url)

    @property
    def json_rpc(self) -> JsonRpc:
        """The node's plain JSON-RPC client, for batched reads (balances, token info)."""
        return self._batches

    async def balance(self, address: str) -> int:
        return (await self._rpc(self._client.get_balance(_pubkey(address)))).value

    async def token_balance(self, token: str, owner: str) -> int:
        """What `owner` holds of the SPL mint `token`, over all its token accounts."""
        try:
            accounts = (await self._rpc(self._client.get_token_accounts_by_owner_json_parsed(_pubkey(owner), TokenAccountOpts(mint=_pubkey(token))))).value
        except RPCException as exc:
            raise SimulationFailed(f"token accounts of {owner} for mint {token} cannot be read: {_rpc_message(exc)}") from None
        return sum(int(a.account.data.parsed["info"]["tokenAmount"]["amount"]) for a in accounts)

    async def balances(self, reads: Sequence[BalanceRead]) -> list[int | Exception]:
        """Lamports (token None) and SPL balances over all of the owner's token accounts for
        the mint, BALANCES_PER_BATCH to a JSON-RPC batch; each answer on its own."""
        answers: list[int | Exception] = []
        for start in range(0, len(reads), BALANCES_PER_BATCH):
            chunk = reads[start:start + BALANCES_PER_BATCH]
            calls = [("getBalance", [owner, {"commitment": "confirmed"}]) if token is None else
                     ("getTokenAccountsByOwner", [owner, {"mint": token}, {"encoding": "jsonParsed", "commitment": "confirmed"}])
                     for owner, token in chunk]
            try:
                results = await self._batches.batch(calls)
            except OSError as exc:  # the node did not answer: every read of this batch failed
                answers += [exc] * len(chunk)
                continue
            answers += [_balance_answer(owner, token, result) for (owner, token), result in zip(chunk, results, strict=True)]
        return answers

    async def latest_blockhash(self) -> tuple[Hash, int]:
        """A recent blockhash and the last block height at which it is still accepted."""
        value = (await self._rpc(self._client.get_latest_blockhash())).value
        return value.blockhash, value.last_valid_block_height

    async def simulate(self, tx: VersionedTransaction) -> tuple[bool, str, int]:
        """(succeeded, error, compute units) of `tx` simulated at the latest state, unsigned."""
        try:
            value = (await self._rpc(self._client.simulate_transaction(tx, sig_verify=False, replace_recent_blockhash=True))).value
        except RPCException as exc:
            raise SimulationFailed(_rpc_message(exc)) from None
        error = "" if value.err is None else f"{value.err}" + (f"; logs: {value.logs[-3:]}" if value.logs else "")
        return value.err is None, error, value.units_consumed or 0

    async def send_raw(self, raw: bytes) -> str:
        """Broadcasts with preflight (the node simulates first); raises ValueError with the
        node's reason when it refuses."""
        try:
            return str((await self._rpc(self._client.send_raw_transaction(raw, TxOpts(preflight_commitment=Confirmed)))).value)
        except RPCException as exc:
            raise ValueError(_rpc_message(exc)) from None

    async def wait_for_landing(self, signature: str, wallet: str, last_valid_block_height: int) -> Landed | Expired | None:
        """Polls until the transaction is confirmed (Landed), its blockhash has expired
        without it (Expired), or the configured timeout passed (None: still unknown)."""
        sig = Signature.from_string(signature)
        deadline = time.monotonic() + self.config.confirmation_timeout_seconds
        while True:
            # Height first: a transaction not seen *after* its blockhash expired never lands.
            height = (await self._rpc(self._client.get_block_height())).value
            status = (await self._rpc(self._client.get_signature_statuses([sig], search_transaction_history=True))).value[0]
            if status is not None and status.confirmation_status in LANDED:
                return await self._landed(sig, wallet)
            if status is None and height > last_valid_block_height:
                return Expired(last_valid_block_height)
            if time.monotonic() > deadline:
                return None
            await asyncio.sleep(POLL_SECONDS)

    async def _landed(self, sig: Signature, wallet: str) -> Landed:
        value = (await self._rpc(self._client.get_transaction(sig, "json", max_supported_transaction_version=0))).value
        if value is None:
            raise SimulationFailed(f"transaction {sig} is confirmed but the node has no record of it")
        meta = value.transaction.meta
        message = value.transaction.transaction.message
        keys = [str(k) for k in message.account_keys]
        if meta.loaded_addresses is not None:
            keys += [str(k) for k in meta.loaded_addresses.writable] + [str(k) for k in meta.loaded_addresses.readonly]
        return Landed(
            succeeded=meta.err is None, slot=value.slot, fee=meta.fee, block_time=value.block_time or 0,
            error="" if meta.err is None else f"failed on chain: {meta.err}", changes=tuple(balance_changes(wallet, keys, meta)),
        )

    async def _rpc(self, call):
        """Awaits one client call; a node that cannot be reached is a ConnectionError (an
        OSError, as web3 raises for EVM nodes), so callers handle both chains alike."""
        try:
            return await call
        except SolanaRpcException as exc:
            raise ConnectionError(f"the Solana node at {self.config.rpc_url} did not answer: {exc}") from None

    async def close(self) -> None:
        await self._batches.close()
        await self._client.close()

    def transaction_url(self, tx_hash: str) -> str | None:
        template = self.config.explorer_tx_url
        return explorer_link(template, tx_hash) if template else None


def balance_changes(wallet: str, keys: list[str], meta: UiTransactionStatusMeta) -> list[BalanceChange]:
    """What a landed transaction moved for `wallet`, from the balances before and after it.

    Lamports: the wallet's own account, less the fee when it paid it (the fee is accounted
    separately, like gas). SPL tokens: every token account the wallet owns, per mint.
    """
    changes: list[BalanceChange] = []
    lamport_deltas = {key: post - pre for key, pre, post in zip(keys, meta.pre_balances, meta.post_balances, strict=False)}
    if wallet in lamport_deltas:
        fee = meta.fee if keys and keys[0] == wallet else 0
        own = lamport_deltas.pop(wallet) + fee
        if own:
            changes.append(_change(wallet, NATIVE_SOLANA, "native", own, lamport_deltas))

    token_deltas: defaultdict[str, defaultdict[str, int]] = defaultdict(lambda: defaultdict(int))  # mint -> owner -> delta
    for sign, balances in ((-1, meta.pre_token_balances or []), (1, meta.post_token_balances or [])):
        for balance in balances:
            token_deltas[str(balance.mint)][str(balance.owner) if balance.owner else ""] += sign * int(balance.ui_token_amount.amount)
    for mint, by_owner in token_deltas.items():
        own = by_owner.pop(wallet, 0)
        if own:
            changes.append(_change(wallet, mint, "SPL", own, by_owner))
    return changes


def _change(wallet: str, token: str, token_type: str, delta: int, others: dict[str, int]) -> BalanceChange:
    # The other side: the account whose balance moved the most the opposite way.
    opposite = [(abs(d), who) for who, d in others.items() if d and (d > 0) != (delta > 0) and who]
    counterparty = max(opposite)[1] if opposite else ""
    if delta > 0:
        return BalanceChange(token, token_type, sender=counterparty, recipient=wallet, amount=delta)
    return BalanceChange(token, token_type, sender=wallet, recipient=counterparty, amount=-delta)


def _balance_answer(owner: str, token: str | None, result: Any) -> int | Exception:
    """One read's balance from the node's answer, or what was wrong with it."""
    if isinstance(result, RpcError):
        what = "the balance" if token is None else f"token accounts for mint {token}"
        return SimulationFailed(f"{what} of {owner} cannot be read: {result.message}")
    try:
        value = result["value"]
        if token is None:
            return int(value)
        return sum(int(account["account"]["data"]["parsed"]["info"]["tokenAmount"]["amount"]) for account in value)
    except (TypeError, KeyError, ValueError):
        return ConnectionError(f"the Solana node answered a balance read for {owner} with something else than a balance")


def _pubkey(address: str) -> Pubkey:
    try:
        return Pubkey.from_string(address)
    except ValueError:
        raise SimulationFailed(f"{address!r} is not a base58 Solana address") from None


def _rpc_message(exc: RPCException) -> str:
    detail = exc.args[0] if exc.args else exc
    message = getattr(detail, "message", None)
    return str(message) if message else str(detail)
