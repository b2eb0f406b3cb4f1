"""Signatures per second through the signer's socket (peer check, policy, audit with fsync,
eth-account signing) against raw eth-account signing in this process, measured in the
same run.

    .venv/bin/python -m bench.signer_throughput [--count 2000] [--concurrency 8]
"""

from __future__ import annotations

import argparse
import asyncio
import tempfile
import time
from pathlib import Path

import grpc
from eth_account import Account

from corral.devstack import DevStack
from corral.v1 import signer_pb2, signer_pb2_grpc

TO = "0x" + "11" * 20


def raw_rate(count: int) -> float:
    account = Account.create()
    start = time.perf_counter()
    for nonce in range(count):
        account.sign_transaction({"chainId": 1, "nonce": nonce, "to": TO, "value": 1, "gas": 21000,
                                  "maxFeePerGas": 2 * 10**9, "maxPriorityFeePerGas": 10**9, "data": b"", "type": 2})
    return count / (time.perf_counter() - start)


async def signer_rate(socket_path: Path, wallet: str, count: int, concurrency: int) -> float:
    async with grpc.aio.insecure_channel(f"unix:{socket_path}") as channel:
        stub = signer_pb2_grpc.SignerServiceStub(channel)
        nonces = iter(range(count))

        async def worker() -> None:
            for nonce in nonces:
                tx = signer_pb2.EvmUnsignedTransaction(
                    chain_id=1, nonce=nonce, to=TO, value="1", gas=21000,
                    eip1559=signer_pb2.Eip1559Fees(max_fee_per_gas=str(2 * 10**9), max_priority_fee_per_gas=str(10**9)),
                )
                await stub.SignEvmTransaction(signer_pb2.SignEvmTransactionRequest(wallet_address=wallet, transaction=tx))

        await stub.ListSignerWallets(signer_pb2.ListSignerWalletsRequest())  # connect first
        start = time.perf_counter()
        await asyncio.gather(*(worker() for _ in range(concurrency)))
        return count / (time.perf_counter() - start)


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--count", type=int, default=2000)
    parser.add_argument("--concurrency", type=int, default=8)
    args = parser.parse_args()
    raw = raw_rate(args.count)
    with tempfile.TemporaryDirectory(prefix="corral-bench-") as home:
        stack = DevStack(Path(home))
        stack.home.mkdir(parents=True, exist_ok=True)
        try:
            stack.start_signer()
            wallet = stack.create_wallet(1)
            through = asyncio.run(signer_rate(stack.signer_home / "signer.sock", wallet, args.count, args.concurrency))
        finally:
            stack.close()
    print(f"raw eth-account signing (this process)       {raw:8.0f} signatures/s  (baseline)")
    print(f"through the signer socket (policy + audit)   {through:8.0f} signatures/s  {through / raw:5.2f}x")


if __name__ == "__main__":
    main()
