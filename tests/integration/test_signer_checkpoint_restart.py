"""The signer process restarting from its ledger checkpoint: caps still count what was
signed before, and a log edited before the checkpoint's line still stops signing (found by
the verification that runs once serving has begun)."""

from __future__ import annotations

import json
import time

import grpc
import pytest

from corral.v1 import signer_pb2, signer_pb2_grpc
from devtools.devstack import DevStack

COST = 1000 + 21_000 * 2_000_000_000  # value + gas x max fee of one transfer


def transfer(wallet: str, nonce: int) -> signer_pb2.SignEvmTransactionRequest:
    return signer_pb2.SignEvmTransactionRequest(
        wallet_address=wallet,
        transaction=signer_pb2.EvmUnsignedTransaction(
            chain_id=31337, nonce=nonce, to="0x000000000000000000000000000000000000dEaD", value="1000", gas=21000,
            eip1559=signer_pb2.Eip1559Fees(max_fee_per_gas="2000000000", max_priority_fee_per_gas="1000000000"),
        ),
    )


def sign(stack: DevStack, wallet: str, nonce: int) -> signer_pb2.SignEvmTransactionResponse:
    with grpc.insecure_channel(f"unix:{stack.signer_socket}") as channel:
        return signer_pb2_grpc.SignerServiceStub(channel).SignEvmTransaction(transfer(wallet, nonce))


@pytest.fixture
def stack(tmp_path):
    stack = DevStack(tmp_path / "checkpoint")
    stack.home.mkdir(parents=True, exist_ok=True)
    stack.start_signer()
    yield stack
    stack.close()


def test_a_clean_restart_starts_from_the_checkpoint_and_the_cap_still_counts(stack):
    wallet = stack.create_wallet(31337)
    stack.set_policy(wallet, {"allowed_chain_ids": [31337], "spend_caps": [{"chain_id": 31337, "asset": "native",
                                                                             "amount": str(2 * COST)}]})
    sign(stack, wallet, 0)
    stack._stop("signer")
    assert list((stack.signer_home / "checkpoints").glob("ledger-*.ckpt"))
    stack.start_signer()
    log = stack.log_text("signer")
    assert "restored from checkpoint" in log and "0 audit lines replayed" in log
    sign(stack, wallet, 1)
    with pytest.raises(grpc.RpcError) as over:
        sign(stack, wallet, 2)  # the first spend, from the checkpoint, still counts
    assert "spend-cap" in over.value.details()


def test_a_line_edited_before_the_checkpoint_halts_signing_once_found(stack):
    wallet = stack.create_wallet(31337)
    stack.set_policy(wallet, {"allowed_chain_ids": [31337], "spend_caps": [{"chain_id": 31337, "asset": "native",
                                                                             "amount": str(10 * COST)}]})
    sign(stack, wallet, 0)
    stack._stop("signer")
    log_path = stack.signer_home / "audit.jsonl"
    lines = log_path.read_bytes().splitlines(keepends=True)
    index = next(i for i, line in enumerate(lines) if json.loads(line).get("decision") == "allow" and json.loads(line).get("wallet"))
    entry = json.loads(lines[index])
    edited = lines[index].replace(entry["transaction_hash"].encode(), ("0x" + "0" * 64).encode())  # same length: offsets stay
    assert edited != lines[index] and len(edited) == len(lines[index])
    lines[index] = edited
    log_path.write_bytes(b"".join(lines))

    stack.start_signer()  # the checkpoint's line is intact, so it starts and serves
    halt = stack.signer_home / "HALTED"
    for _ in range(600):  # until the background verification has run (no timing is asserted)
        if halt.exists():
            break
        time.sleep(0.1)
    assert halt.exists() and "is broken at line" in halt.read_text()
    with pytest.raises(grpc.RpcError) as refused:
        sign(stack, wallet, 1)
    assert "halted" in refused.value.details()
    entries = [json.loads(line) for line in log_path.read_text().splitlines()[index + 1:]]
    assert any(e.get("rule") == "audit-broken" for e in entries)
