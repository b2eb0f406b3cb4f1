"""The EVM sender (networks "ethereum:<chainId>"), on the `ChainSender` path: nonce, gas and
fees are filled from the chain, the outcome is the receipt, the ledger its native value and
ERC-20 transfers."""

from __future__ import annotations

import asyncio
import logging
import re
from collections import defaultdict
from datetime import UTC, datetime

from corral import failpoints
from corral.networks import NATIVE_EVM, NetworkKind, parse_or_none
from corral.v1 import runtime_pb2, signer_pb2
from orchestrator.actions import calldata
from orchestrator.actions.signer_client import SignerClient
from orchestrator.actions.transactions.intents import check_common
from orchestrator.actions.transactions.sender import ChainSender
from orchestrator.chains.evm import EvmChain, Prepared, Receipt, SimulationFailed
from orchestrator.chains.paper_forks import session_chain
from orchestrator.errors import Refused, invalid, precondition
from orchestrator.store import AssetChangeRow, Database, SessionRow, TransactionRow, utcnow
from orchestrator.store.statuses import TransactionStatus

log = logging.getLogger("corral.transactions")

_ADDRESS = re.compile(r"^0x[0-9a-fA-F]{40}$")
_HEX = re.compile(r"^0x([0-9a-fA-F]{2})*$")
# Nodes relay transactions up to 128 KiB; calldata past that could never be sent.
MAX_CALLDATA_BYTES = 128 * 1024
_WEI = re.compile(r"^[0-9]{1,77}$")  # ASCII digits only (str.isdigit() admits "²"); below 2^256


class EvmSender(ChainSender[EvmChain, runtime_pb2.EvmTransactionRequest, Receipt]):
    def __init__(self, db: Database, chains: dict[str, EvmChain], signer: SignerClient) -> None:
        super().__init__(db, signer)
        self._chains = chains
        # One nonce sequence per wallet and chain: fill → sign → broadcast is serialized.
        self._nonce_locks: defaultdict[tuple[str, str], asyncio.Lock] = defaultdict(asyncio.Lock)
        # The next nonce per wallet and chain, reserved here after each broadcast so that no
        # transaction asks the chain for it. Dropped (re-read from the chain's pending count)
        # after any failure, a receipt that did not come, or a restart: a transaction that
        # never lands leaves no gap that would wedge the wallet. The signer bounds it too
        # (its nonce window over the last nonce it signed).
        self._nonces: dict[tuple[str, str], int] = {}

    def chain_for(self, session: SessionRow, network: str) -> EvmChain | None:
        return session_chain(self._chains, session, network)

    def intent_fields(self, payload: runtime_pb2.EvmTransactionRequest) -> dict[str, str]:
        return {"to_address": payload.to_address, "value": payload.value, "data": payload.data or "0x"}

    async def settle(self, chain: EvmChain, tx: TransactionRow) -> Receipt | None:
        """Waits for the receipt and records the outcome and the ledger in one database
        transaction; None (and still `signed`) when no receipt came in time."""
        receipt = await chain.wait_for_receipt(tx.tx_hash)
        if receipt is None:
            # It may never land (dropped from the mempool): the next nonce is the chain's again.
            self._nonces.pop((chain.network, tx.from_address.lower()), None)
            return None
        failpoints.reach("tx.confirmed")
        self._intents.settle(
            tx, self._asset_changes(tx, receipt) if receipt.succeeded else [],
            status=TransactionStatus.CONFIRMED if receipt.succeeded else TransactionStatus.REVERTED,
            block_number=receipt.block_number,
            gas_used=receipt.gas_used,
            effective_gas_price=str(receipt.effective_gas_price),
            error="" if receipt.succeeded else "reverted on chain",
        )
        return receipt

    def refusal_for(self, tx: TransactionRow, outcome: Receipt) -> Refused | None:
        return None if outcome.succeeded else precondition(f"transaction {tx.tx_hash} reverted in block {outcome.block_number}")

    def describe(self, session: SessionRow, request: runtime_pb2.SignAndSendRequest, payload: runtime_pb2.EvmTransactionRequest) -> dict:
        """The call as the user is shown it before approving (manual mode), with its calldata
        decoded when the function is a well-known one (orchestrator/actions/calldata.py)."""
        details = {"network": request.network, "from": session.wallet_address, "to": payload.to_address, "value": payload.value,
                   "data": payload.data or "0x"}
        if (decoded := calldata.decode(payload.data)) is not None:
            details["decoded"] = decoded
        return details

    async def simulate(self, chain: EvmChain, session: SessionRow, payload: runtime_pb2.EvmTransactionRequest) -> dict:
        gas = await chain.estimate_gas(session.wallet_address, payload.to_address, int(payload.value), bytes.fromhex((payload.data or "0x")[2:]))
        return {"succeeded": True, "gas": gas}

    def validate(self, session: SessionRow, request: runtime_pb2.SignAndSendRequest) -> tuple[EvmChain, runtime_pb2.EvmTransactionRequest]:
        """Checks a request against the session and the platform; raises Refused naming the fix."""
        check_common(request)
        network = request.network
        parsed = parse_or_none(network)
        if parsed is None or not parsed.is_evm:
            raise invalid(f"Unsupported network: {network!r}; use 'ethereum:<chainId>' or 'solana'")
        if request.WhichOneof("request") != "evm":
            raise invalid("Ethereum network requires EthereumSignRequest (request.evm)")
        if session.agent.wallet_type != NetworkKind.EVM:
            raise invalid(f"network {network} does not match the session's {session.agent.wallet_type} wallet")
        chain = self.chain_for(session, network)
        if chain is None and session.paper:
            raise invalid(f"network {network}: a paper session runs on a fork of {session.allocation_network} only")
        if chain is None:
            raise invalid(f"network {network} is not configured on this platform (configured: {sorted(self._chains)})")
        evm = request.evm
        if not _ADDRESS.match(evm.to_address):
            raise invalid(f"to_address {evm.to_address!r} must be a 0x-prefixed 20-byte hex address")
        if not _WEI.match(evm.value):
            raise invalid(f"value {evm.value[:80]!r} must be a non-negative integer string of wei (digits 0-9)")
        if len(evm.data) > 2 + 2 * MAX_CALLDATA_BYTES:
            raise invalid(f"data is {(len(evm.data) - 2) // 2} bytes; a transaction's calldata is at most {MAX_CALLDATA_BYTES} (what nodes relay)")
        if evm.data and not _HEX.match(evm.data):
            raise invalid("data must be 0x-prefixed hex with whole bytes")
        for name in ("max_fee_per_gas", "max_priority_fee_per_gas"):
            if evm.HasField(name) and not _WEI.match(getattr(evm, name)):
                raise invalid(f"{name} must be a non-negative integer string of wei (digits 0-9); it can only lower the platform's fee")
        return chain, evm

    async def sign_and_broadcast(self, chain: EvmChain, session: SessionRow, execution_id: int | None, tx: TransactionRow,
                                 evm: runtime_pb2.EvmTransactionRequest) -> None:
        data = bytes.fromhex(tx.data[2:])
        wallet = session.wallet_address
        key = (chain.network, wallet.lower())
        async with self._nonce_locks[key]:
            cached = self._nonces.get(key)
            try:
                prepared = await chain.prepare(wallet, tx.to_address, int(tx.value), data, with_nonce=cached is None)
            except SimulationFailed as exc:
                raise precondition(str(exc)) from None
            # Nonce and fees are the platform's: an agent's nonce could stockpile a signature
            # or replace another session's pending transaction, and its fees could pay the
            # block producer. Its gas and fee values only ever lower the platform's.
            nonce = cached if cached is not None else prepared.nonce
            assert nonce is not None
            try:
                try:
                    await self._sign_and_send(chain, session, execution_id, tx, evm, prepared, nonce)
                except Refused:
                    # The signer said no (nothing was sent), or the node refused the stored bytes.
                    if tx.status != TransactionStatus.SIGNED or (taken := await self._nonce_taken_elsewhere(chain, wallet, tx, nonce)) is None:
                        raise
                    nonce = taken
                    await self._sign_and_send(chain, session, execution_id, tx, evm, prepared, nonce)
            except BaseException:
                # Re-read from the chain next time: whatever went wrong, the cache may be off.
                self._nonces.pop(key, None)
                raise
            self._nonces[key] = nonce + 1

    async def _sign_and_send(self, chain: EvmChain, session: SessionRow, execution_id: int | None, tx: TransactionRow,
                             evm: runtime_pb2.EvmTransactionRequest, prepared: Prepared, nonce: int) -> None:
        unsigned = signer_pb2.EvmUnsignedTransaction(
            chain_id=chain.chain_id, nonce=nonce, to=tx.to_address, value=tx.value, data=bytes.fromhex(tx.data[2:]),
            gas=_lower(prepared.gas, evm, "gas"),
        )
        fees = prepared.fees
        if fees.gas_price is not None:
            unsigned.legacy.gas_price = str(_lower(fees.gas_price, evm, "max_fee_per_gas"))
        else:
            assert fees.max_fee_per_gas is not None and fees.max_priority_fee_per_gas is not None
            max_fee = _lower(fees.max_fee_per_gas, evm, "max_fee_per_gas")
            unsigned.eip1559.max_fee_per_gas = str(max_fee)
            unsigned.eip1559.max_priority_fee_per_gas = str(min(max_fee, _lower(fees.max_priority_fee_per_gas, evm, "max_priority_fee_per_gas")))
        signed = await self._ask_signer(self._signer.sign_evm_transaction(
            signer_pb2.SignEvmTransactionRequest(
                wallet_address=session.wallet_address,
                transaction=unsigned,
                context=signer_pb2.SigningContext(request_id=tx.request_id, session_id=session.id, execution_id=execution_id),
            ),
            head_stored_by_caller=True,  # with the signed bytes: one commit
        ))
        await self._store_and_broadcast(chain, tx, signed.raw_transaction, also=self._signer.head_writer(signed.audit_head),
                                        nonce=nonce, tx_hash=signed.transaction_hash)

    @staticmethod
    async def _nonce_taken_elsewhere(chain: EvmChain, wallet: str, tx: TransactionRow, nonce: int) -> int | None:
        """The node refused the stored bytes. When the chain shows their nonce already used by
        a mined transaction (one sent outside Corral, or by another replica) and does not know
        these bytes, they can never land: the chain's next nonce is returned, to sign the same
        intent once more (nothing can be sent twice). Otherwise None: the refusal stands."""
        mined, pending, known = await chain.nonce_state(wallet, tx.tx_hash)
        if known or mined <= nonce:
            return None
        log.warning("nonce %d of %s on %s was used outside this orchestrator; %s is signed again with nonce %d",
                    nonce, wallet, chain.network, tx.request_id, pending)
        return pending

    def _asset_changes(self, tx: TransactionRow, receipt: Receipt) -> list[AssetChangeRow]:
        """The session's ledger: what this confirmed transaction moved in or out of the
        wallet (its native value; ERC-20 Transfer events to or from the wallet)."""
        wallet = tx.from_address.lower()
        at = datetime.fromtimestamp(receipt.block_timestamp, UTC).replace(tzinfo=None) if receipt.block_timestamp else utcnow()
        base = {"session_id": tx.session_id, "transaction_id": tx.id, "network": tx.network, "tx_hash": tx.tx_hash, "occurred_at": at}
        changes = []
        if int(tx.value):
            changes.append(AssetChangeRow(**base, from_address=wallet, to_address=tx.to_address.lower(), token_address=NATIVE_EVM,
                                          token_type="native", amount=tx.value))
        for transfer in receipt.token_transfers:
            if wallet in (transfer.sender, transfer.recipient):
                changes.append(AssetChangeRow(**base, from_address=transfer.sender, to_address=transfer.recipient,
                                              token_address=transfer.token, token_type="ERC20", amount=str(transfer.amount)))
        return changes


def _lower(platform_value: int, request: runtime_pb2.EvmTransactionRequest, field: str) -> int:
    """The platform's value, or the agent's where the agent asked for less."""
    return min(platform_value, int(getattr(request, field))) if request.HasField(field) else platform_value
