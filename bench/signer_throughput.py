"""Signatures per second through the signer's socket (peer check, policy, audit with fsync,
signing) against raw signing in this process, measured in the same run.

The baseline is raw signing per CPU-second of this process. Two figures for the signer: wall-clock signatures/s with the benchmark client on the
same machine (it competes for the CPU), and signatures per CPU-second of the signer
process itself (read from /proc), which is its rate on one core of its own. A third, the
floor: calls that sign nothing (ListSignerWallets) through the same socket, i.e. what
gRPC, the peer-checking proxy and a trivial handler cost per call before any signing.

    .venv/bin/python -m bench.signer_throughput [--count 2000] [--concurrency 8]
"""

from __future__ import annotations

import argparse
import asyncio
import os
import tempfile
import time
from pathlib import Path

import grpc
from eth_account import Account
from solders.hash import Hash
from solders.keypair import Keypair
from solders.message import Message, to_bytes_versioned
from solders.pubkey import Pubkey
from solders.signature import Signature
from solders.system_program import TransferParams, transfer
from solders.transaction import VersionedTransaction

from bench.common import Row, cpu_seconds, emit
from corral.v1 import signer_pb2, signer_pb2_grpc
from devtools.devstack import DevStack

TO = "0x" + "11" * 20
SOLANA_TO = Pubkey.from_string("9xQeWvG816bUx9EPjHmaT23yvVM2ZWbrrpZb9PusVFin")


def evm_fields(nonce: int) -> dict:
    return {"chainId": 1, "nonce": nonce, "to": TO, "value": 1, "gas": 21000,
            "maxFeePerGas": 2 * 10**9, "maxPriorityFeePerGas": 10**9, "data": b"", "type": 2}


def raw_evm_rate(count: int) -> float:
    account = Account.create()
    start = time.process_time()  # CPU time: the machine is shared, and the signer's figure is per CPU-second too
    for nonce in range(count):
        account.sign_transaction(evm_fields(nonce))
    return count / (time.process_time() - start)


def solana_message(payer: Pubkey, lamports: int) -> Message:
    ix = transfer(TransferParams(from_pubkey=payer, to_pubkey=SOLANA_TO, lamports=lamports))
    return Message.new_with_blockhash([ix], payer, Hash.default())


def raw_solana_rate(count: int) -> float:
    keypair = Keypair()
    start = time.process_time()
    for n in range(count):
        message = solana_message(keypair.pubkey(), n + 1)
        VersionedTransaction.populate(message, [keypair.sign_message(to_bytes_versioned(message))])
    return count / (time.process_time() - start)


def evm_request(wallet: str, n: int) -> tuple[str, signer_pb2.SignEvmTransactionRequest]:
    tx = signer_pb2.EvmUnsignedTransaction(
        chain_id=1, nonce=n, to=TO, value="1", gas=21000,
        eip1559=signer_pb2.Eip1559Fees(max_fee_per_gas=str(2 * 10**9), max_priority_fee_per_gas=str(10**9)),
    )
    return "SignEvmTransaction", signer_pb2.SignEvmTransactionRequest(wallet_address=wallet, transaction=tx)


BATCH = 16


def evm_batch(wallet: str, first: int) -> tuple[str, signer_pb2.SignEvmTransactionsRequest]:
    """BATCH transfers in one SignEvmTransactions call (what a client batching concurrent requests sends)."""
    return "SignEvmTransactions", signer_pb2.SignEvmTransactionsRequest(
        requests=[evm_request(wallet, first + k)[1] for k in range(BATCH)])


def solana_request(wallet: str, n: int) -> tuple[str, signer_pb2.SignSolanaTransactionRequest]:
    message = solana_message(Pubkey.from_string(wallet), n + 1)
    tx = VersionedTransaction.populate(message, [Signature.default()])
    return "SignSolanaTransaction", signer_pb2.SignSolanaTransactionRequest(wallet_address=wallet, transaction=bytes(tx))


async def signer_rate(socket_path: Path, make_request, count: int, concurrency: int, pid: int | None = None) -> tuple[float, float | None]:
    """(signatures per wall-clock second, signatures per signer CPU-second)."""
    async with grpc.aio.insecure_channel(f"unix:{socket_path}") as channel:
        stub = signer_pb2_grpc.SignerServiceStub(channel)
        requests = iter(range(count))

        async def worker() -> None:
            for n in requests:
                method, request = make_request(n)
                answer = await getattr(stub, method)(request)
                refused = [r.refused.message for r in getattr(answer, "results", []) if r.WhichOneof("result") != "signed"]
                assert not refused, refused[0]

        await stub.ListSignerWallets(signer_pb2.ListSignerWalletsRequest())  # connect first
        cpu_before = cpu_seconds(pid) if pid else 0.0
        start = time.perf_counter()
        await asyncio.gather(*(worker() for _ in range(concurrency)))
        wall = time.perf_counter() - start
        cpu = cpu_seconds(pid) - cpu_before if pid else 0.0
        return count / wall, (count / cpu if cpu else None)


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--count", type=int, default=2000)
    parser.add_argument("--concurrency", type=int, default=8)
    args = parser.parse_args()
    raw_evm, raw_solana = raw_evm_rate(args.count), raw_solana_rate(args.count)
    with tempfile.TemporaryDirectory(prefix="corral-bench-") as home:
        stack = DevStack(Path(home))
        stack.home.mkdir(parents=True, exist_ok=True)
        try:
            stack.start_signer()
            pid = stack.processes["signer"].pid
            evm_wallet = stack.create_wallet(1)
            # A realistic policy: a recipient list, a per-transaction value cap and a daily cap
            # (value + fees) that every decision sums against, large enough for the whole run.
            stack.set_policy(evm_wallet, {"allowed_chain_ids": [1], "allowed_recipients": [TO], "max_native_value_per_tx": "1000",
                                          "nonce_window": 256,
                                          "spend_caps": [{"chain_id": 1, "asset": "native", "amount": str(10**21)}]})
            solana_wallet = stack.create_solana_wallet()
            stack.set_policy(solana_wallet, {"solana": {"allowed_programs": ["11111111111111111111111111111111"]}})
            socket_path = stack.signer_socket
            floor = asyncio.run(signer_rate(
                socket_path, lambda n: ("ListSignerWallets", signer_pb2.ListSignerWalletsRequest()), args.count, args.concurrency, pid))
            evm = asyncio.run(signer_rate(socket_path, lambda n: evm_request(evm_wallet, n), args.count, args.concurrency, pid))
            # The front door without the peer-checking proxy: the gRPC server's own socket in
            # the signer's 0700 home (this benchmark runs as root, or as the signer's user).
            internal = stack.signer_home / "internal" / "grpc.sock"
            direct = asyncio.run(signer_rate(internal, lambda n: evm_request(evm_wallet, args.count + n), args.count, args.concurrency, pid))
            calls = args.count // BATCH
            wall, per_core = asyncio.run(signer_rate(socket_path, lambda n: evm_batch(evm_wallet, 2 * args.count + n * BATCH), calls,
                                                     args.concurrency, pid))
            batched = (wall * BATCH, per_core * BATCH if per_core else None)
            solana = asyncio.run(signer_rate(socket_path, lambda n: solana_request(solana_wallet, n), args.count, args.concurrency, pid))
        finally:
            stack.close()
    print(f"{args.count} signatures each, {args.concurrency} requests in flight, {os.cpu_count()} cores shared with the client")
    if floor[1]:
        print(f"floor: a call that signs nothing, per CPU-second of the signer  {floor[1]:8.0f} calls/s  ({1000 / floor[1]:.2f} ms each)")
    rows = (("EVM (eth-account)", raw_evm, evm), ("EVM without the peer-checking proxy", raw_evm, direct),
            (f"EVM in batches of {BATCH} (SignEvmTransactions)", raw_evm, batched),
            ("Solana (solders)", raw_solana, solana))
    for name, raw, (wall, per_core) in rows:
        print(f"{name}")
        print(f"  raw signing in this process, per CPU-s {raw:8.0f} signatures/s  (baseline)")
        print(f"  through the signer socket, wall clock  {wall:8.0f} signatures/s  {wall / raw:5.2f}x")
        if per_core:
            print(f"  per CPU-second of the signer process   {per_core:8.0f} signatures/s  {per_core / raw:5.2f}x"
                  f"  ({1000 / per_core:.2f} ms each; raw signing {1000 / raw:.2f} ms)")
            emit(Row(f"signer: {name} signatures per signer CPU-second (policy, durable audit)", f"{per_core:,.0f}/s",
                     f"raw signing: {raw:,.0f}/s", per_core / raw, "≥ 1,000/s and ≥ 0.5x"))


if __name__ == "__main__":
    main()
