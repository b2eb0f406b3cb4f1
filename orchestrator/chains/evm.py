"""EVM JSON-RPC access: nonces, fees, gas, broadcast and receipts.

The calls run on the event loop through `JsonRpc` (no worker thread per call), and the
calls one step needs go out as one JSON-RPC batch: before signing, the gas estimate, the
head block number and (when the sender has none cached) the wallet's pending nonce; after
broadcasting, the receipt and the head block. Fees are cached per block: the quote read at
block N is used only while the head is still N (a fee spike in a newer block is seen before
the next signature), and the blocks read for receipts refresh it for free.
"""

from __future__ import annotations

import asyncio
from collections.abc import Sequence
from dataclasses import dataclass
from typing import Any

from corral.networks import NATIVE_EVM
from orchestrator.chains import BalanceRead, SimulationFailed
from orchestrator.chains.jsonrpc import JsonRpc, RpcError
from orchestrator.config import ChainConfig, explorer_link

__all__ = ["EvmChain", "Fees", "Prepared", "Receipt", "SimulationFailed", "TokenTransfer"]

# Receipts are polled with a backoff: at once, then 5 ms, doubling up to 1 s, so a slow block
# is not met with a storm of polls (a 12 s block costs three polls more than starting at
# 50 ms did) and a node that mines at once but a moment after the broadcast answers (anvil
# does, now and then) does not add a 50 ms wait. (A plain HTTP node offers no push;
# `eth_subscribe` to newHeads needs a websocket endpoint.)
RECEIPT_FIRST_DELAY_SECONDS = 0.005
RECEIPT_MAX_DELAY_SECONDS = 1.0
# Balance reads per JSON-RPC batch (hosted nodes commonly cap a batch at 100 calls or fewer).
BALANCES_PER_BATCH = 50


@dataclass(frozen=True)
class Fees:
    max_fee_per_gas: int | None
    max_priority_fee_per_gas: int | None
    # Set instead of the two above on chains without EIP-1559.
    gas_price: int | None = None


@dataclass(frozen=True)
class Prepared:
    """What signing needs from the chain, read in one round trip."""

    gas: int
    fees: Fees
    # The wallet's pending nonce, when it was asked for.
    nonce: int | None


# keccak("Transfer(address,address,uint256)"): ERC-20 transfers (three topics; ERC-721's
# has a fourth, the token id, and is not a fungible amount).
TRANSFER_TOPIC = "0xddf252ad1be2c89b69c2b068fc378daa952ba7f163c4a11628f55a4df523b3ef"
BALANCE_OF = "0x70a08231"


@dataclass(frozen=True)
class TokenTransfer:
    token: str
    sender: str
    recipient: str
    amount: int


@dataclass(frozen=True)
class Receipt:
    succeeded: bool
    block_number: int
    gas_used: int
    effective_gas_price: int
    # ERC-20 Transfer events the transaction emitted, in log order.
    token_transfers: tuple[TokenTransfer, ...] = ()
    block_timestamp: int = 0


class EvmChain:
    native_asset = NATIVE_EVM
    wallet_type = "ethereum"
    reconciled = True

    def __init__(self, network: str, config: ChainConfig) -> None:
        self.network = network
        # From the network's name, checked against the node by nobody at run time: it never changes.
        self.chain_id = int(network.split(":", 1)[1])
        self.config = config
        self.rpc = JsonRpc(config.rpc_url, timeout_seconds=30)
        # The fee quote and the block it was read at; the tip last read (EIP-1559 chains).
        self._fees: Fees | None = None
        self._fees_block = -1
        self._tip: int | None = None

    async def balance(self, address: str) -> int:
        return _quantity(await self.rpc.call("eth_getBalance", address.lower(), "latest"), "eth_getBalance")

    async def pending_nonce(self, address: str) -> int:
        return _quantity(await self.rpc.call("eth_getTransactionCount", address.lower(), "pending"), "eth_getTransactionCount")

    async def nonce_state(self, address: str, tx_hash: str) -> tuple[int, int, bool]:
        """(mined, pending, known): the wallet's nonce in the latest block and with its pending
        transactions, and whether the node knows the transaction `tx_hash` at all."""
        mined, pending, known = await self.rpc.batch([("eth_getTransactionCount", [address.lower(), "latest"]),
                                                      ("eth_getTransactionCount", [address.lower(), "pending"]),
                                                      ("eth_getTransactionByHash", [tx_hash])])
        return (_quantity(_ok(mined), "eth_getTransactionCount"), _quantity(_ok(pending), "eth_getTransactionCount"),
                _ok(known) is not None)

    async def estimate_gas(self, sender: str, to: str, value: int, data: bytes) -> int:
        [estimate] = await self.rpc.batch([_estimate(sender, to, value, data)])
        return _gas(estimate, data)

    async def prepare(self, sender: str, to: str, value: int, data: bytes, *, with_nonce: bool) -> Prepared:
        """Gas, fees and (`with_nonce`) the pending nonce in one batch; a second round trip
        only when the head has moved past the cached fee quote. Raises SimulationFailed when
        the transaction would fail."""
        calls = [_estimate(sender, to, value, data), ("eth_blockNumber", [])]
        if with_nonce:
            calls.append(("eth_getTransactionCount", [sender.lower(), "pending"]))
        answers = await self.rpc.batch(calls)
        gas = _gas(answers[0], data)
        head = _quantity(_ok(answers[1]), "eth_blockNumber")
        nonce = _quantity(_ok(answers[2]), "eth_getTransactionCount") if with_nonce else None
        fees = self._fees if self._fees is not None and self._fees_block == head else await self.fees()
        return Prepared(gas=gas, fees=fees, nonce=nonce)

    async def fees(self) -> Fees:
        """The fee quote at the head block, read now (and cached for that block)."""
        block, tip = await self.rpc.batch([("eth_getBlockByNumber", ["latest", False]), ("eth_maxPriorityFeePerGas", [])])
        block = _ok(block)
        if not isinstance(block, dict) or block.get("baseFeePerGas") is None:
            fees = Fees(None, None, gas_price=_quantity(await self.rpc.call("eth_gasPrice"), "eth_gasPrice"))
        else:
            self._tip = _quantity(_ok(tip), "eth_maxPriorityFeePerGas")
            fees = _eip1559(_quantity(block["baseFeePerGas"], "baseFeePerGas"), self._tip)
        self._remember(_block_number(block), fees)
        return fees

    def _remember(self, block: int, fees: Fees) -> None:
        if block >= self._fees_block:
            self._fees, self._fees_block = fees, block

    def _seen_block(self, block: Any) -> None:
        """A head block read for another reason refreshes the fee quote (its base fee, the
        last tip read), so the next transaction in that block asks for no fees."""
        if isinstance(block, dict) and block.get("baseFeePerGas") is not None and self._tip is not None:
            self._remember(_block_number(block), _eip1559(_quantity(block["baseFeePerGas"], "baseFeePerGas"), self._tip))

    async def send_raw(self, raw: bytes) -> str:
        """Broadcasts; raises ValueError with the node's reason when it refuses."""
        try:
            tx_hash = await self.rpc.call("eth_sendRawTransaction", "0x" + raw.hex())
        except RpcError as exc:
            raise ValueError(exc.message) from None
        return str(tx_hash)

    async def wait_for_receipt(self, tx_hash: str) -> Receipt | None:
        """The receipt, or None if it did not arrive within the configured timeout."""
        loop = asyncio.get_running_loop()
        deadline = loop.time() + self.config.receipt_timeout_seconds
        delay = RECEIPT_FIRST_DELAY_SECONDS
        while True:
            receipt, head = await self.rpc.batch([("eth_getTransactionReceipt", [tx_hash]), ("eth_getBlockByNumber", ["latest", False])])
            receipt, head = _ok(receipt), _ok(head)
            self._seen_block(head)
            if isinstance(receipt, dict):
                break
            if loop.time() + delay > deadline:
                return None
            await asyncio.sleep(delay)
            delay = min(2 * delay, RECEIPT_MAX_DELAY_SECONDS)
        number = _quantity(receipt.get("blockNumber"), "blockNumber")
        block = head if isinstance(head, dict) and _block_number(head) == number else _ok(
            await self.rpc.call("eth_getBlockByNumber", hex(number), False))
        return Receipt(
            succeeded=_quantity(receipt.get("status"), "status") == 1,
            block_number=number,
            gas_used=_quantity(receipt.get("gasUsed"), "gasUsed"),
            effective_gas_price=_quantity(receipt.get("effectiveGasPrice") or 0, "effectiveGasPrice"),
            token_transfers=tuple(t for log in receipt.get("logs") or [] if (t := _token_transfer(log)) is not None),
            block_timestamp=_quantity(block.get("timestamp"), "timestamp") if isinstance(block, dict) else 0,
        )

    async def call(self, to: str, data: bytes) -> bytes:
        """eth_call at the latest block; raises SimulationFailed when it reverts."""
        try:
            result = await self.rpc.call("eth_call", {"to": to.lower(), "data": "0x" + data.hex()}, "latest")
        except RpcError as exc:
            raise SimulationFailed(f"call to {to} failed: {exc.message}") from None
        return _bytes(result, "eth_call")

    async def block_timestamp(self) -> int:
        block = await self.rpc.call("eth_getBlockByNumber", "latest", False)
        return _quantity(block.get("timestamp") if isinstance(block, dict) else None, "timestamp")

    async def token_balance(self, token: str, owner: str) -> int:
        """ERC-20 balanceOf(owner), read with eth_call."""
        return _token_amount(token, await self.call(token, _balance_of(owner)))

    async def balances(self, reads: Sequence[BalanceRead]) -> list[int | Exception]:
        """Native (token None) and ERC-20 balances, BALANCES_PER_BATCH to a JSON-RPC batch:
        reconciliation reads every wallet's in a round trip or a few, not one each."""
        answers: list[int | Exception] = []
        for start in range(0, len(reads), BALANCES_PER_BATCH):
            chunk = reads[start:start + BALANCES_PER_BATCH]
            calls = [("eth_getBalance", [owner.lower(), "latest"]) if token is None else
                     ("eth_call", [{"to": token.lower(), "data": "0x" + _balance_of(owner).hex()}, "latest"]) for owner, token in chunk]
            try:
                results = await self.rpc.batch(calls)
            except OSError as exc:  # the node did not answer: every read of this batch failed
                answers += [exc] * len(chunk)
                continue
            answers += [_balance_answer(token, result) for (_, token), result in zip(chunk, results, strict=True)]
        return answers

    def transaction_url(self, tx_hash: str) -> str | None:
        template = self.config.explorer_tx_url
        return explorer_link(template, tx_hash) if template else None

    async def close(self) -> None:
        await self.rpc.close()


def _balance_of(owner: str) -> bytes:
    return bytes.fromhex(BALANCE_OF[2:] + owner.lower().removeprefix("0x").rjust(64, "0"))


def _token_amount(token: str, result: bytes) -> int:
    if len(result) < 32:
        raise SimulationFailed(f"{token} answered balanceOf with {len(result)} bytes; is it an ERC-20 contract?")
    return int.from_bytes(result[:32], "big")


def _balance_answer(token: str | None, result: Any) -> int | Exception:
    """One read of a `balances` batch: the amount, or what went wrong with it."""
    try:
        if token is None:
            return _quantity(_ok(result), "eth_getBalance")
        if isinstance(result, RpcError):
            raise SimulationFailed(f"call to {token} failed: {result.message}")
        return _token_amount(token, _bytes(result, "eth_call"))
    except (SimulationFailed, OSError, ValueError) as exc:
        return exc


def _estimate(sender: str, to: str, value: int, data: bytes) -> tuple[str, list[Any]]:
    # Lower case: a node may check a mixed-case address's checksum, and agents' addresses are only checked to be hex.
    return "eth_estimateGas", [{"from": sender.lower(), "to": to.lower(), "value": hex(value), "data": "0x" + data.hex()}]


def _gas(answer: Any, data: bytes) -> int:
    if isinstance(answer, RpcError):
        raise SimulationFailed(f"the transaction fails in simulation: {answer.message}")
    estimate = _quantity(answer, "eth_estimateGas")
    # Plain transfers cost exactly what they cost; calls get headroom for state changes.
    return estimate if not data else int(estimate * 1.2)


def _eip1559(base_fee: int, tip: int) -> Fees:
    # Twice the base fee: still enough after six full blocks in a row (+12.5% each).
    return Fees(max_fee_per_gas=2 * base_fee + tip, max_priority_fee_per_gas=tip)


def _ok(answer: Any) -> Any:
    if isinstance(answer, RpcError):
        raise answer
    return answer


def _block_number(block: Any) -> int:
    return _quantity(block.get("number") if isinstance(block, dict) else None, "block number")


def _quantity(value: Any, what: str) -> int:
    """A JSON-RPC quantity ("0x1a"); anything else from the node is a clear error."""
    if isinstance(value, int) and not isinstance(value, bool):
        return value
    if isinstance(value, str) and value.startswith("0x") and 2 < len(value) <= 66:
        try:
            return int(value, 16)
        except ValueError:
            pass
    raise ConnectionError(f"the node answered {what} with {str(value)[:80]!r}, not a hex quantity")


def _bytes(value: Any, what: str) -> bytes:
    if isinstance(value, str) and value.startswith("0x"):
        try:
            return bytes.fromhex(value[2:])
        except ValueError:
            pass
    raise ConnectionError(f"the node answered {what} with {str(value)[:80]!r}, not hex data")


def _token_transfer(log: Any) -> TokenTransfer | None:
    if not isinstance(log, dict):
        return None
    topics = [t.removeprefix("0x") for t in log.get("topics") or [] if isinstance(t, str)]
    if len(topics) != 3 or "0x" + topics[0] != TRANSFER_TOPIC:
        return None
    data = log.get("data")
    if not isinstance(data, str):
        return None
    try:
        raw = bytes.fromhex(data.removeprefix("0x"))
    except ValueError:
        return None
    if len(raw) != 32:
        return None
    return TokenTransfer(
        token=str(log.get("address")).lower(), sender="0x" + topics[1][-40:].lower(), recipient="0x" + topics[2][-40:].lower(),
        amount=int.from_bytes(raw, "big"),
    )
