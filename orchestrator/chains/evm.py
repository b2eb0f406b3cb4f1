"""EVM JSON-RPC access with web3.py: nonces, fees, gas, broadcast and receipts.

web3's HTTP provider is synchronous; each call runs in a worker thread so the
orchestrator's event loop keeps serving while a receipt is awaited.
"""

from __future__ import annotations

import asyncio
from dataclasses import dataclass

from web3 import Web3
from web3.exceptions import ContractLogicError, TimeExhausted, Web3RPCError

from corral.networks import NATIVE_EVM
from orchestrator.chains import SimulationFailed
from orchestrator.config import ChainConfig

__all__ = ["EvmChain", "Fees", "Receipt", "SimulationFailed", "TokenTransfer"]


@dataclass(frozen=True)
class Fees:
    max_fee_per_gas: int | None
    max_priority_fee_per_gas: int | None
    # Set instead of the two above on chains without EIP-1559.
    gas_price: int | None = None


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
        self.chain_id = int(network.split(":", 1)[1])
        self.config = config
        self._w3 = Web3(Web3.HTTPProvider(config.rpc_url, request_kwargs={"timeout": 30}))

    async def balance(self, address: str) -> int:
        return await asyncio.to_thread(self._w3.eth.get_balance, Web3.to_checksum_address(address))

    async def pending_nonce(self, address: str) -> int:
        return await asyncio.to_thread(self._w3.eth.get_transaction_count, Web3.to_checksum_address(address), "pending")

    async def estimate_gas(self, sender: str, to: str, value: int, data: bytes) -> int:
        tx = {"from": Web3.to_checksum_address(sender), "to": Web3.to_checksum_address(to), "value": value, "data": data}
        try:
            estimate = await asyncio.to_thread(self._w3.eth.estimate_gas, tx)
        except (ContractLogicError, ValueError) as exc:
            raise SimulationFailed(f"the transaction fails in simulation: {exc}") from None
        # Plain transfers cost exactly what they cost; calls get headroom for state changes.
        return estimate if not data else int(estimate * 1.2)

    async def fees(self) -> Fees:
        def read() -> Fees:
            block = self._w3.eth.get_block("latest")
            base_fee = block.get("baseFeePerGas")
            if base_fee is None:
                return Fees(None, None, gas_price=self._w3.eth.gas_price)
            priority = self._w3.eth.max_priority_fee
            return Fees(max_fee_per_gas=2 * base_fee + priority, max_priority_fee_per_gas=priority)

        return await asyncio.to_thread(read)

    async def send_raw(self, raw: bytes) -> str:
        """Broadcasts; raises ValueError with the node's reason when it refuses."""
        try:
            tx_hash = await asyncio.to_thread(self._w3.eth.send_raw_transaction, raw)
        except Web3RPCError as exc:
            raise ValueError(exc.message or str(exc)) from None
        return "0x" + bytes(tx_hash).hex()

    async def wait_for_receipt(self, tx_hash: str) -> Receipt | None:
        """The receipt, or None if it did not arrive within the configured timeout."""
        try:
            receipt = await asyncio.to_thread(
                self._w3.eth.wait_for_transaction_receipt, tx_hash, self.config.receipt_timeout_seconds, 0.1
            )
        except TimeExhausted:
            return None
        block = await asyncio.to_thread(self._w3.eth.get_block, receipt["blockNumber"])
        return Receipt(
            succeeded=receipt["status"] == 1,
            block_number=receipt["blockNumber"],
            gas_used=receipt["gasUsed"],
            effective_gas_price=receipt.get("effectiveGasPrice", 0),
            token_transfers=tuple(t for log in receipt["logs"] if (t := _token_transfer(log)) is not None),
            block_timestamp=block["timestamp"],
        )

    async def call(self, to: str, data: bytes) -> bytes:
        """eth_call at the latest block; raises SimulationFailed when it reverts."""
        try:
            result = await asyncio.to_thread(self._w3.eth.call, {"to": Web3.to_checksum_address(to), "data": data})
        except (ContractLogicError, ValueError) as exc:
            raise SimulationFailed(f"call to {to} failed: {exc}") from None
        return bytes(result)

    async def block_timestamp(self) -> int:
        return (await asyncio.to_thread(self._w3.eth.get_block, "latest"))["timestamp"]

    async def token_balance(self, token: str, owner: str) -> int:
        """ERC-20 balanceOf(owner), read with eth_call."""
        result = await self.call(token, bytes.fromhex(BALANCE_OF[2:] + owner.lower().removeprefix("0x").rjust(64, "0")))
        if len(result) < 32:
            raise SimulationFailed(f"{token} answered balanceOf with {len(result)} bytes; is it an ERC-20 contract?")
        return int.from_bytes(result[:32], "big")

    def transaction_url(self, tx_hash: str) -> str | None:
        template = self.config.explorer_tx_url
        return template.format(tx_hash=tx_hash) if template else None


def _token_transfer(log) -> TokenTransfer | None:
    topics = [bytes(t).hex() if not isinstance(t, str) else t.removeprefix("0x") for t in log["topics"]]
    if len(topics) != 3 or "0x" + topics[0] != TRANSFER_TOPIC:
        return None
    data = bytes(log["data"]) if not isinstance(log["data"], str) else bytes.fromhex(log["data"].removeprefix("0x"))
    if len(data) != 32:
        return None
    return TokenTransfer(
        token=str(log["address"]).lower(), sender="0x" + topics[1][-40:], recipient="0x" + topics[2][-40:],
        amount=int.from_bytes(data, "big"),
    )
