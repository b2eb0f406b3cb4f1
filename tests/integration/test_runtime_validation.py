"""Bad requests from an agent get a gRPC status that says what to fix, and leave nothing
behind: no transaction row, no memory row. Real runtime server, real Unix socket."""

from __future__ import annotations

import grpc
import pytest
from google.protobuf.struct_pb2 import Struct
from solders.hash import Hash
from solders.keypair import Keypair
from solders.message import Message
from solders.pubkey import Pubkey
from solders.system_program import TransferParams, transfer
from solders.transaction import Transaction

from corral.v1 import runtime_pb2
from orchestrator.actions.gateway import ActionGateway
from orchestrator.actions.swaps.service import Swaps
from orchestrator.actions.transactions import EvmSender, SolanaSender, TransactionSender
from orchestrator.agents.manifest import NATIVE_SOLANA
from orchestrator.chains.evm import EvmChain
from orchestrator.chains.solana import SolanaChain
from orchestrator.config import ChainConfig, SolanaConfig
from orchestrator.executions.runtime_service import ExecutionTicket
from orchestrator.store import AgentRow, Database, MemoryRow, QuoteRow, SessionRow, SuggestionRow, TransactionRow
from tests.helpers import refused_runtime_call

TOKEN = "t" * 43


def evm_request(**fields) -> runtime_pb2.SignAndSendRequest:
    evm = {"to_address": "0x" + "11" * 20, "data": "0x", "value": "1", **fields.pop("evm", {})}
    fields = {"request_id": "r1", "network": "ethereum:31337", **fields}
    return runtime_pb2.SignAndSendRequest(evm=runtime_pb2.EvmTransactionRequest(**evm), **fields)


def struct(values: dict) -> Struct:
    message = Struct()
    message.update(values)
    return message


def quote_request(**fields) -> runtime_pb2.SwapQuoteRequest:
    body = {"from": {"network": "ethereum:31337", "address": "0x" + "aa" * 20},
            "to": {"network": "ethereum:31337", "address": "0x" + "bb" * 20}, "amount": "1000", **fields}
    return runtime_pb2.SwapQuoteRequest(request=struct(body))


SWAP_CASES = [
    ("SwapQuote", quote_request(amount="1.5"), grpc.StatusCode.INVALID_ARGUMENT, "amount: Value error, amount '1.5' must be a positive integer"),
    ("SwapQuote", quote_request(slippage="lots"), grpc.StatusCode.INVALID_ARGUMENT, "must be a percentage"),
    ("SwapQuote", runtime_pb2.SwapQuoteRequest(request=struct({"amount": "1"})), grpc.StatusCode.INVALID_ARGUMENT, "from: Field required"),
    ("SwapQuote", quote_request(to={"network": "ethereum:1", "address": "0x" + "bb" * 20}), grpc.StatusCode.FAILED_PRECONDITION,
     "NO_COMPATIBLE_ENGINES: cross-chain"),
    ("SwapQuote", quote_request(), grpc.StatusCode.FAILED_PRECONDITION, "NO_COMPATIBLE_ENGINES: no engine"),
    ("SwapExecute", runtime_pb2.SwapExecuteRequest(), grpc.StatusCode.INVALID_ARGUMENT, "No quote provided"),
    ("SwapExecute", runtime_pb2.SwapExecuteRequest(quote=struct({"quoteContext": {"quoteId": "nope"}})), grpc.StatusCode.INVALID_ARGUMENT,
     "was not made for this session"),
]

CASES = [
    ("SignAndSend", evm_request(evm={"to_address": "0x1234"}), grpc.StatusCode.INVALID_ARGUMENT, "20-byte hex address"),
    ("SignAndSend", evm_request(evm={"value": "1.5"}), grpc.StatusCode.INVALID_ARGUMENT, "integer string of wei"),
    ("SignAndSend", evm_request(evm={"data": "0xabc"}), grpc.StatusCode.INVALID_ARGUMENT, "whole bytes"),
    ("SignAndSend", evm_request(network="ethereum:1"), grpc.StatusCode.INVALID_ARGUMENT, "not configured"),
    ("SignAndSend", evm_request(network="bitcoin"), grpc.StatusCode.INVALID_ARGUMENT, "Unsupported network"),
    ("SignAndSend", evm_request(message="m" * 251), grpc.StatusCode.INVALID_ARGUMENT, "at most 250"),
    # The platform's own request ids: claimed ahead, one would stand in for an approved suggestion or a swap step.
    ("SignAndSend", evm_request(request_id="suggestion-1"), grpc.StatusCode.INVALID_ARGUMENT, "the platform's own ids"),
    ("SignAndSend", evm_request(request_id="swap-q1-0"), grpc.StatusCode.INVALID_ARGUMENT, "the platform's own ids"),
    ("SetMemory", runtime_pb2.SetMemoryRequest(key="", value="v"), grpc.StatusCode.INVALID_ARGUMENT, "1–255 characters"),
    ("SetMemory", runtime_pb2.SetMemoryRequest(key="k" * 256, value="v"), grpc.StatusCode.INVALID_ARGUMENT, "1–255 characters"),
    ("SetMemory", runtime_pb2.SetMemoryRequest(key="k", value="v" * (64 * 1024 + 1)), grpc.StatusCode.INVALID_ARGUMENT, "limited to"),
    ("SignMessage", runtime_pb2.SignMessageRequest(request_id="m1", chain_id=1), grpc.StatusCode.INVALID_ARGUMENT, "eip191_text or eip712_json"),
    ("SignAndSend", evm_request(evm={"data": "0x" + "ab" * (128 * 1024 + 1)}), grpc.StatusCode.INVALID_ARGUMENT, "calldata is at most"),
    ("SignMessage", runtime_pb2.SignMessageRequest(request_id="m1", chain_id=1, eip191_text="x" * (64 * 1024 + 1)),
     grpc.StatusCode.INVALID_ARGUMENT, "eip191 messages are at most"),
    ("SignMessage", runtime_pb2.SignMessageRequest(request_id="m1", chain_id=1, eip712_json="[" * 40 + "]" * 40),
     grpc.StatusCode.INVALID_ARGUMENT, "nests deeper than 32"),
    *SWAP_CASES,
]
# Manual mode stores suggestions: a bad request must be refused the same way and store none.
MANUAL_CASES = [
    ("SignAndSend", evm_request(evm={"to_address": "0x1234"}), grpc.StatusCode.INVALID_ARGUMENT, "20-byte hex address"),
    ("SignAndSend", evm_request(expires_at="tomorrow"), grpc.StatusCode.INVALID_ARGUMENT, "not an ISO-8601 time"),
    ("SignAndSend", evm_request(request_id="suggestion-1"), grpc.StatusCode.INVALID_ARGUMENT, "the platform's own ids"),
    ("SignMessage", runtime_pb2.SignMessageRequest(request_id="m1", chain_id=1, eip712_json="{}"), grpc.StatusCode.INVALID_ARGUMENT,
     "domain, types, primaryType and message"),
    ("SwapExecute", runtime_pb2.SwapExecuteRequest(quote=struct({"engine": "uniswap-v2"})), grpc.StatusCode.INVALID_ARGUMENT,
     "No quote provided"),
]


SOLANA_WALLET = Keypair()


def solana_request(instructions: list | None = None, payer: Pubkey | None = None, signers: int = 1, **fields) -> runtime_pb2.SignAndSendRequest:
    payer = payer or SOLANA_WALLET.pubkey()
    instructions = instructions or [transfer(TransferParams(from_pubkey=payer, to_pubkey=Keypair().pubkey(), lamports=1))]
    if signers == 2:
        co_signer = Keypair().pubkey()
        instructions.append(transfer(TransferParams(from_pubkey=co_signer, to_pubkey=payer, lamports=1)))
    raw = bytes(Transaction.new_unsigned(Message.new_with_blockhash(instructions, payer, Hash.default())))
    fields = {"request_id": "r1", "network": "solana", "solana": runtime_pb2.SolanaTransactionRequest(hex_transaction=raw.hex()), **fields}
    return runtime_pb2.SignAndSendRequest(**fields)


def _too_big() -> list:
    payer = SOLANA_WALLET.pubkey()
    return [transfer(TransferParams(from_pubkey=payer, to_pubkey=Keypair().pubkey(), lamports=1)) for _ in range(40)]


SOLANA_CASES = [
    ("SignAndSend", solana_request(solana=runtime_pb2.SolanaTransactionRequest(hex_transaction="zz")), grpc.StatusCode.INVALID_ARGUMENT,
     "hex_transaction must be the serialized transaction as hex"),
    ("SignAndSend", solana_request(solana=runtime_pb2.SolanaTransactionRequest(hex_transaction="00ff")), grpc.StatusCode.INVALID_ARGUMENT,
     "does not decode as a Solana transaction"),
    ("SignAndSend", solana_request(signers=2), grpc.StatusCode.INVALID_ARGUMENT, "needs 2 signatures; the session wallet must be its only signer"),
    ("SignAndSend", solana_request(payer=Keypair().pubkey()), grpc.StatusCode.INVALID_ARGUMENT, "it must be the session wallet"),
    ("SignAndSend", solana_request(_too_big()), grpc.StatusCode.INVALID_ARGUMENT, "Solana accepts at most 1232"),
    ("SignAndSend", evm_request(network="solana"), grpc.StatusCode.INVALID_ARGUMENT, "Solana network requires SolanaSignRequest"),
    ("SignAndSend", solana_request(request_id=""), grpc.StatusCode.INVALID_ARGUMENT, "request_id is required"),
]

ALL_CASES = (
    [("auto", "ethereum", *c) for c in CASES]
    + [("manual", "ethereum", *c) for c in MANUAL_CASES]
    + [("auto", "solana", *c) for c in SOLANA_CASES]
    + [("manual", "solana", *c) for c in SOLANA_CASES[:4]]
    + [("auto", "ethereum", "SignAndSend", solana_request(), grpc.StatusCode.INVALID_ARGUMENT,
        "network solana does not match the session's ethereum wallet")]
)


@pytest.mark.parametrize("mode, wallet_type, method, request_message, code, fragment", ALL_CASES,
                         ids=[f"{c[0]}-{c[1]}-{c[2]}-{i}" for i, c in enumerate(ALL_CASES)])
def test_bad_requests_are_refused_and_leave_nothing(tmp_path, mode, wallet_type, method, request_message, code, fragment):
    db = Database(f"sqlite:///{tmp_path / 'o.db'}")
    agent = AgentRow(id=1, name="a", version="0.0.1", image="i", image_id="i", wallet_type=wallet_type, manifest_toml="")
    if wallet_type == "solana":
        session = SessionRow(id=3, agent_id=1, wallet_address=str(SOLANA_WALLET.pubkey()), execution_mode=mode, settings={},
                             allocation_network="solana", allocation_asset=NATIVE_SOLANA, allocation_amount="0")
    else:
        session = SessionRow(id=3, agent_id=1, wallet_address="0x" + "22" * 20, execution_mode=mode, settings={},
                             allocation_network="ethereum:31337", allocation_asset="0x" + "ee" * 20, allocation_amount="0")
    session.agent = agent
    ticket = ExecutionTicket(execution_id=9, session=session, command=1, token=TOKEN, settings={}, positions_snapshot=[])
    # The chain is configured but never reached: validation refuses first.
    evm = EvmSender(db, {"ethereum:31337": EvmChain("ethereum:31337", ChainConfig(rpc_url="http://127.0.0.1:9"))}, signer=None)
    solana = SolanaChain(SolanaConfig(rpc_url="http://127.0.0.1:9"))
    sender = TransactionSender(db, evm, SolanaSender(db, solana, signer=None))
    gateway = ActionGateway(db, sender, signer=None, swaps=Swaps(db, sender, engines=[], quote_ttl_seconds=30))

    error = refused_runtime_call(tmp_path / "r.sock", ticket, db, gateway, method, request_message)
    assert error.code() == code and fragment in error.details(), error.details()
    with db.session() as s:
        assert s.query(TransactionRow).count() == 0
        assert s.query(MemoryRow).count() == 0
        assert s.query(SuggestionRow).count() == 0
        assert s.query(QuoteRow).count() == 0
