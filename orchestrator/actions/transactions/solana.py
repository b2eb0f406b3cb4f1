"""The Solana sign-and-send path, in the same order as the EVM one:

validate → store the intent → set a recent blockhash (the sandbox has no network, so an
agent cannot know one) → ask the signer (which applies the wallet's Solana policy) →
store the signed bytes → broadcast (the node simulates first) → wait until it is confirmed
or its blockhash expired → record the outcome and what it moved.

The session wallet must be the transaction's only signer and its fee payer: the platform
replaces the blockhash, which would invalidate any other signature.
"""

from __future__ import annotations

from datetime import UTC, datetime

import grpc
from solders.message import Message, MessageV0
from solders.signature import Signature
from solders.transaction import VersionedTransaction

from corral import failpoints
from corral.v1 import runtime_pb2, signer_pb2
from orchestrator.actions.signer_client import SignerClient, signer_refusal
from orchestrator.actions.transactions.intents import Intents, check_common
from orchestrator.chains import SimulationFailed
from orchestrator.chains.solana import Expired, Landed, SolanaChain
from orchestrator.errors import Refused, invalid, precondition
from orchestrator.store import AssetChangeRow, Database, SessionRow, TransactionRow, utcnow

# The most a transaction may weigh on the wire (one UDP packet, as validators accept it).
PACKET_DATA_SIZE = 1232


class SolanaSender:
    def __init__(self, db: Database, chain: SolanaChain | None, signer: SignerClient) -> None:
        self._intents = Intents(db)
        self._chain = chain
        self._signer = signer

    async def sign_and_send(self, session: SessionRow, execution_id: int | None, request: runtime_pb2.SignAndSendRequest) -> TransactionRow:
        chain, unsigned = self.validate(session, request)
        tx, new = self._intents.claim(session, execution_id, request, to_address=_first_program(unsigned), value="0",
                                      data=bytes(unsigned).hex())
        if not new:
            return tx
        failpoints.reach("tx.intent_stored")
        try:
            await self._sign_and_broadcast(chain, session, execution_id, tx, unsigned)
        except Refused as refused:
            self._intents.update(tx, status="rejected", error=refused.message)
            raise
        failpoints.reach("tx.broadcast")
        outcome = await self._settle(chain, tx)
        if outcome is None:
            # Stays `signed`: the bytes are stored and can be re-broadcast until the blockhash expires.
            raise Refused(grpc.StatusCode.DEADLINE_EXCEEDED, f"transaction {tx.tx_hash} was broadcast but not yet confirmed")
        if isinstance(outcome, Expired):
            raise precondition(tx.error)
        if not outcome.succeeded:
            raise precondition(f"transaction {tx.tx_hash} {outcome.error} (slot {outcome.slot}); only its fee was paid")
        return tx

    async def resume(self, tx: TransactionRow) -> None:
        """After a restart: a transaction left `signed` is broadcast again byte for byte
        while its blockhash is valid (same signature: it can land at most once) and settled;
        it is never signed again."""
        if self._chain is None:
            raise precondition(f"network solana is no longer configured; transaction {tx.tx_hash} stays signed")
        try:
            await self._chain.send_raw(tx.signed_raw)
        except ValueError:
            pass  # landed already, or its blockhash expired: settling says which
        await self._settle(self._chain, tx)

    async def _settle(self, chain: SolanaChain, tx: TransactionRow) -> Landed | Expired | None:
        """Waits until the transaction landed or its blockhash expired and records that (a
        landed one with its ledger, in one database transaction); None when still unknown."""
        outcome = await chain.wait_for_landing(tx.tx_hash, tx.from_address, tx.valid_until_block)
        if outcome is None:
            return None
        failpoints.reach("tx.confirmed")
        if isinstance(outcome, Expired):
            self._intents.update(tx, status="expired", error=(
                f"transaction {tx.tx_hash} did not land before its blockhash expired "
                f"(block height {outcome.last_valid_block_height}); nothing moved"))
            return outcome
        self._intents.settle(
            tx, self._asset_changes(tx, outcome), status="confirmed" if outcome.succeeded else "reverted",
            block_number=outcome.slot, gas_used=outcome.fee, effective_gas_price="1", error=outcome.error,
        )
        return outcome

    def validate(self, session: SessionRow, request: runtime_pb2.SignAndSendRequest) -> tuple[SolanaChain, VersionedTransaction]:
        """Checks a request against the session and the platform; raises Refused naming the fix."""
        check_common(request)
        if request.WhichOneof("request") != "solana":
            raise invalid("Solana network requires SolanaSignRequest (request.solana with hex_transaction)")
        if session.agent.wallet_type != "solana":
            raise invalid(f"network solana does not match the session's {session.agent.wallet_type} wallet")
        if self._chain is None:
            raise invalid("network solana is not configured on this platform (set [solana] rpc_url)")
        text = request.solana.hex_transaction.removeprefix("0x")
        try:
            raw = bytes.fromhex(text)
        except ValueError:
            raise invalid("hex_transaction must be the serialized transaction as hex (whole bytes, optional 0x)") from None
        if len(raw) > PACKET_DATA_SIZE:
            raise invalid(f"the transaction is {len(raw)} bytes; Solana accepts at most {PACKET_DATA_SIZE}: split it")
        try:
            tx = VersionedTransaction.from_bytes(raw)
        except ValueError as exc:
            raise invalid(f"hex_transaction does not decode as a Solana transaction (legacy or v0): {exc}") from None
        header, keys = tx.message.header, tx.message.account_keys
        if header.num_required_signatures != 1:
            raise invalid(
                f"the transaction needs {header.num_required_signatures} signatures; the session wallet must be its only signer "
                "(the platform sets the recent blockhash, which would invalidate any other signature)"
            )
        if str(keys[0]) != session.wallet_address:
            raise invalid(f"the fee payer (first account) is {keys[0]}; it must be the session wallet {session.wallet_address}")
        return self._chain, tx

    async def preview(self, session: SessionRow, request: runtime_pb2.SignAndSendRequest) -> dict:
        """What the user is shown before approving (manual mode): the transaction, the
        programs it calls, and whether it succeeds in simulation now."""
        chain, tx = self.validate(session, request)
        details = {
            "network": "solana", "from": session.wallet_address, "transaction": request.solana.hex_transaction.removeprefix("0x"),
            "programs": sorted(set(_programs(tx))),
        }
        try:
            succeeded, error, units = await chain.simulate(tx)
            details["simulation"] = {"succeeded": succeeded, "computeUnits": units} | ({"error": error} if error else {})
        except (SimulationFailed, OSError) as exc:  # a preview only: an unreachable node does not stop the suggestion
            details["simulation"] = {"succeeded": False, "error": str(exc)}
        return details

    async def _sign_and_broadcast(self, chain: SolanaChain, session: SessionRow, execution_id: int | None, tx: TransactionRow,
                                  unsigned: VersionedTransaction) -> None:
        blockhash, valid_until = await chain.latest_blockhash()
        fresh = VersionedTransaction.populate(_with_blockhash(unsigned.message, blockhash), [Signature.default()])
        try:
            signed = await self._signer.sign_solana_transaction(
                signer_pb2.SignSolanaTransactionRequest(
                    wallet_address=session.wallet_address, transaction=bytes(fresh),
                    context=signer_pb2.SigningContext(request_id=tx.request_id, session_id=session.id, execution_id=execution_id),
                )
            )
        except grpc.aio.AioRpcError as exc:
            raise signer_refusal(exc) from None
        failpoints.reach("tx.signed")
        # The signed bytes are durable before they are broadcast.
        self._intents.update(tx, status="signed", signed_raw=signed.signed_transaction, tx_hash=signed.transaction_id,
                             valid_until_block=valid_until)
        failpoints.reach("tx.signed_stored")
        try:
            await chain.send_raw(signed.signed_transaction)
        except ValueError as exc:
            raise precondition(f"the node refused the transaction: {exc}") from None

    def _asset_changes(self, tx: TransactionRow, landed: Landed) -> list[AssetChangeRow]:
        at = datetime.fromtimestamp(landed.block_time, UTC).replace(tzinfo=None) if landed.block_time else utcnow()
        return [
            AssetChangeRow(session_id=tx.session_id, transaction_id=tx.id, network=tx.network, tx_hash=tx.tx_hash, occurred_at=at,
                           from_address=change.sender, to_address=change.recipient, token_address=change.token,
                           token_type=change.token_type, amount=str(change.amount))
            for change in landed.changes
        ]

    def transaction_url(self, tx_hash: str) -> str | None:
        return self._chain.transaction_url(tx_hash) if self._chain else None


def _with_blockhash(message: Message | MessageV0, blockhash) -> Message | MessageV0:
    if isinstance(message, MessageV0):
        return MessageV0(message.header, message.account_keys, blockhash, message.instructions, message.address_table_lookups)
    header = message.header
    return Message.new_with_compiled_instructions(
        header.num_required_signatures, header.num_readonly_signed_accounts, header.num_readonly_unsigned_accounts,
        message.account_keys, blockhash, message.instructions,
    )


def _first_program(tx: VersionedTransaction) -> str:
    """The program the transaction is mainly for (shown as its `to`): its first instruction's,
    skipping ComputeBudget settings."""
    programs = _programs(tx)
    return next((p for p in programs if not p.startswith("ComputeBudget")), programs[0] if programs else "")


def _programs(tx: VersionedTransaction) -> list[str]:
    keys = tx.message.account_keys
    return [str(keys[i.program_id_index]) for i in tx.message.instructions if i.program_id_index < len(keys)]
