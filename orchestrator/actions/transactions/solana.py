"""The Solana sender (network "solana"), on the `ChainSender` path: the platform sets a recent
blockhash (the sandbox has no network, so an agent cannot know one), the node simulates
before it broadcasts, and the outcome is a landing or the blockhash's expiry.

The session wallet must be the transaction's only signer and its fee payer: the platform
replaces the blockhash, which would invalidate any other signature.
"""

from __future__ import annotations

from datetime import UTC, datetime

from solders.message import Message, MessageV0
from solders.signature import Signature
from solders.transaction import VersionedTransaction

from corral import failpoints
from corral.networks import NetworkKind, is_solana
from corral.v1 import runtime_pb2, signer_pb2
from orchestrator.actions.signer_client import SignerClient
from orchestrator.actions.transactions.intents import check_common
from orchestrator.actions.transactions.sender import ChainSender
from orchestrator.chains.paper_forks import session_chain
from orchestrator.chains.solana import Expired, Landed, SolanaChain
from orchestrator.errors import Refused, invalid, precondition
from orchestrator.store import AssetChangeRow, Database, SessionRow, TransactionRow, utcnow
from orchestrator.store.statuses import TransactionStatus

# The most a transaction may weigh on the wire (one UDP packet, as validators accept it).
PACKET_DATA_SIZE = 1232


class SolanaSender(ChainSender[SolanaChain, VersionedTransaction, "Landed | Expired"]):
    def __init__(self, db: Database, chain: SolanaChain | None, signer: SignerClient) -> None:
        super().__init__(db, signer)
        self._chain = chain

    def chain_for(self, session: SessionRow, network: str) -> SolanaChain | None:
        """Solana, or a paper session's fork of it."""
        if self._chain is None or not is_solana(network):
            return None
        return session_chain({self._chain.network: self._chain}, session, self._chain.network)

    def intent_fields(self, payload: VersionedTransaction) -> dict[str, str]:
        return {"to_address": _first_program(payload), "value": "0", "data": bytes(payload).hex()}

    async def settle(self, chain: SolanaChain, tx: TransactionRow) -> Landed | Expired | None:
        """Waits until the transaction landed or its blockhash expired and records that (a
        landed one with its ledger, in one database transaction); None when still unknown."""
        outcome = await chain.wait_for_landing(tx.tx_hash, tx.from_address, tx.valid_until_block)
        if outcome is None:
            return None
        failpoints.reach("tx.confirmed")
        if isinstance(outcome, Expired):
            self._intents.update(tx, status=TransactionStatus.EXPIRED, error=(
                f"transaction {tx.tx_hash} did not land before its blockhash expired "
                f"(block height {outcome.last_valid_block_height}); nothing moved"))
            return outcome
        self._intents.settle(
            tx, self._asset_changes(tx, outcome), status=TransactionStatus.CONFIRMED if outcome.succeeded else TransactionStatus.REVERTED,
            block_number=outcome.slot, gas_used=outcome.fee, effective_gas_price="1", error=outcome.error,
        )
        return outcome

    def refusal_for(self, tx: TransactionRow, outcome: Landed | Expired) -> Refused | None:
        if isinstance(outcome, Expired):
            return precondition(tx.error)
        if not outcome.succeeded:
            return precondition(f"transaction {tx.tx_hash} {outcome.error} (slot {outcome.slot}); only its fee was paid")
        return None

    def validate(self, session: SessionRow, request: runtime_pb2.SignAndSendRequest) -> tuple[SolanaChain, VersionedTransaction]:
        """Checks a request against the session and the platform; raises Refused naming the fix."""
        check_common(request)
        if request.WhichOneof("request") != "solana":
            raise invalid("Solana network requires SolanaSignRequest (request.solana with hex_transaction)")
        if session.agent.wallet_type != NetworkKind.SOLANA:
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
        chain = self.chain_for(session, "solana")  # a paper session's fork
        if chain is None:
            raise precondition(f"session {session.id} has no chain for solana yet (a paper session's fork is being started)")
        return chain, tx

    def describe(self, session: SessionRow, request: runtime_pb2.SignAndSendRequest, payload: VersionedTransaction) -> dict:
        """The transaction and the programs it calls, as the user is shown them (manual mode)."""
        return {
            "network": "solana", "from": session.wallet_address, "transaction": request.solana.hex_transaction.removeprefix("0x"),
            "programs": sorted(set(_programs(payload))),
        }

    async def simulate(self, chain: SolanaChain, session: SessionRow, payload: VersionedTransaction) -> dict:
        succeeded, error, units = await chain.simulate(payload)
        return {"succeeded": succeeded, "computeUnits": units} | ({"error": error} if error else {})

    async def sign_and_broadcast(self, chain: SolanaChain, session: SessionRow, execution_id: int | None, tx: TransactionRow,
                                 unsigned: VersionedTransaction) -> None:
        blockhash, valid_until = await chain.latest_blockhash()
        fresh = VersionedTransaction.populate(_with_blockhash(unsigned.message, blockhash), [Signature.default()])
        signed = await self._ask_signer(self._signer.sign_solana_transaction(
            signer_pb2.SignSolanaTransactionRequest(
                wallet_address=session.wallet_address, transaction=bytes(fresh),
                context=signer_pb2.SigningContext(request_id=tx.request_id, session_id=session.id, execution_id=execution_id),
            )
        ))
        await self._store_and_broadcast(chain, tx, signed.signed_transaction, tx_hash=signed.transaction_id, valid_until_block=valid_until)

    def _asset_changes(self, tx: TransactionRow, landed: Landed) -> list[AssetChangeRow]:
        at = datetime.fromtimestamp(landed.block_time, UTC).replace(tzinfo=None) if landed.block_time else utcnow()
        return [
            AssetChangeRow(session_id=tx.session_id, transaction_id=tx.id, network=tx.network, tx_hash=tx.tx_hash, occurred_at=at,
                           from_address=change.sender, to_address=change.recipient, token_address=change.token,
                           token_type=change.token_type, amount=str(change.amount))
            for change in landed.changes
        ]


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
