"""The transaction path's own cost: `sign_and_send` → receipt through the orchestrator's real
path (validation, the durable intent, nonce/gas/fees from the chain, the real signer over its
socket, broadcast, receipt, ledger) against a direct `eth_sendRawTransaction` + receipt of a
pre-signed transaction on the same anvil, measured in the same run.

The orchestrator's side runs in this process (the runtime service's gateway, wired as
`orchestrator.app.server` wires it, on a SQLite file); anvil and the signer are real processes.
Reported: p50 added latency per transaction, the orchestrator's CPU per transaction (this
process's CPU time over the run / N: its event loop and its JSON-RPC worker threads; the
signer's and anvil's CPU are theirs), JSON-RPC calls and database commits per transaction.

    .venv/bin/python -m bench.tx_path [--count 200] [--profile]

`--profile` runs the path once more under cProfile and prints where the time goes.
"""

from __future__ import annotations

import argparse
import asyncio
import cProfile
import pstats
import tempfile
import time
from collections import Counter
from pathlib import Path

from eth_account import Account
from sqlalchemy import event
from web3 import Web3

from bench.common import Row, emit, percentile, summary
from corral.v1 import runtime_pb2
from devtools.devstack import ANVIL_CHAIN_ID, DevStack
from orchestrator.actions.breakers import SignerRefusals
from orchestrator.actions.gateway import ActionGateway
from orchestrator.actions.signer_client import SignerClient
from orchestrator.actions.transactions import EvmSender, SolanaSender, TransactionSender
from orchestrator.chains.evm import EvmChain
from orchestrator.config import ChainConfig
from orchestrator.store import AgentRow, Database, SessionRow, utcnow
from orchestrator.store.audit_heads import AuditHeads
from orchestrator.store.statuses import ActionKind

NETWORK = f"ethereum:{ANVIL_CHAIN_ID}"
RECIPIENT = "0x" + "42" * 20


def direct_sends(w3: Web3, count: int) -> tuple[list[float], float]:
    """(seconds per send + receipt, CPU seconds per send) for pre-signed transfers."""
    account = Account.create()
    w3.eth.wait_for_transaction_receipt(w3.eth.send_transaction({"from": w3.eth.accounts[1], "to": account.address, "value": 10**18}))
    fee = 3 * w3.eth.get_block("latest")["baseFeePerGas"] + 10**9
    signed = [account.sign_transaction({"chainId": ANVIL_CHAIN_ID, "nonce": n, "to": RECIPIENT, "value": 1, "gas": 21000,
                                        "maxFeePerGas": fee, "maxPriorityFeePerGas": 10**9}).raw_transaction for n in range(count)]
    times = []
    cpu = time.process_time()
    for raw in signed:
        start = time.perf_counter()
        tx_hash = w3.eth.send_raw_transaction(raw)
        while _no_receipt(w3, tx_hash):
            pass  # anvil mines at once: the first read usually has it
        times.append(time.perf_counter() - start)
    return times, (time.process_time() - cpu) / count


def _no_receipt(w3: Web3, tx_hash: bytes) -> bool:
    return w3.provider.make_request("eth_getTransactionReceipt", [Web3.to_hex(tx_hash)]).get("result") is None


class Platform:
    """The orchestrator's transaction path, wired as the server wires it."""

    def __init__(self, stack: DevStack, home: Path) -> None:
        self.db = Database(f"sqlite:///{home / 'orchestrator.db'}", "bench")
        self.chain = EvmChain(NETWORK, ChainConfig(rpc_url=stack.rpc_url))
        self.signer = SignerClient(stack.signer_socket)
        heads = AuditHeads(self.db)
        self.signer.record_heads_with(heads.record, heads.write)
        self.signer.count_refusals_with(SignerRefusals(self.db, 1000))
        sender = TransactionSender(self.db, EvmSender(self.db, {NETWORK: self.chain}, self.signer), SolanaSender(self.db, None, self.signer))
        self.gateway = ActionGateway(self.db, sender, self.signer)
        wallet = stack.create_wallet(recipients=[RECIPIENT])
        stack.fund(wallet, 10**18)
        now = utcnow()
        agent = AgentRow(id=1, name="bench", version="0.0.1", image="i", image_id="i", wallet_type="ethereum", manifest_toml="",
                         registered_at=now)
        self.session = SessionRow(id=1, agent_id=1, wallet_address=wallet, status="running", execution_mode="auto", settings={},
                                  allocation_network=NETWORK, allocation_asset="0x" + "ee" * 20, allocation_amount=str(10**17),
                                  created_at=now)
        with self.db.session() as db:
            db.add_all([agent, self.session])
            db.commit()
        self.session.agent = agent
        self._sent = 0
        self.commits = 0
        event.listen(self.db.engine, "commit", self._count_commit)
        self.rpc_calls: Counter[str] = Counter()
        self.round_trips = 0
        self._count_rpc(self.chain)

    def _count_commit(self, connection) -> None:
        self.commits += 1

    def _count_rpc(self, chain: EvmChain) -> None:
        """Counts each JSON-RPC call (a batch counts each of its calls) and each HTTP round trip."""
        batch = chain.rpc.batch

        async def counted(calls):
            self.round_trips += 1
            for method, _ in calls:
                self.rpc_calls[method] += 1
            return await batch(calls)

        chain.rpc.batch = counted  # type: ignore[method-assign]

    async def send(self) -> None:
        self._sent += 1
        request = runtime_pb2.SignAndSendRequest(request_id=f"bench-{self._sent}", network=NETWORK,
                                                 evm=runtime_pb2.EvmTransactionRequest(to_address=RECIPIENT, value="1", data="0x"))
        tx = await self.gateway.submit(self.session, None, ActionKind.TRANSACTION, request)
        assert tx.status == "confirmed", (tx.status, tx.error)

    async def sends(self, count: int) -> tuple[list[float], float]:
        times = []
        cpu = time.process_time()
        for _ in range(count):
            start = time.perf_counter()
            await self.send()
            times.append(time.perf_counter() - start)
        return times, (time.process_time() - cpu) / count


async def profile(platform: Platform, count: int, top: int) -> None:
    """cProfile of `count` sends (the chain calls run on the event loop, so it sees them)."""
    profiler = cProfile.Profile()
    profiler.enable()
    await platform.sends(count)
    profiler.disable()
    stats = pstats.Stats(profiler)
    by_package: Counter[str] = Counter()
    for (filename, _, function), (_, _, tottime, _, _) in stats.stats.items():  # type: ignore[attr-defined]
        by_package[_package(filename, function)] += tottime
    total = sum(by_package.values())
    print(f"\nwhere the time goes, per transaction (profiled, so slower than above): {total / count * 1000:.1f} ms")
    for package, seconds in by_package.most_common(12):
        print(f"  {package:<28} {seconds / count * 1000:6.2f} ms  {seconds / total:6.1%}")
    print(f"\nprofile of {count} sends (tottime: time inside the function itself)")
    stats.sort_stats("tottime").print_stats(top)
    print("by cumulative time, the orchestrator's own modules")
    stats.sort_stats("cumulative").print_stats(r"orchestrator/|corral/", top)


def _package(filename: str, function: str) -> str:
    """What a profiled function belongs to: the first directory under site-packages, the
    project's top package, or the kind of built-in."""
    if filename == "~":
        for marker, name in (("sqlite3", "sqlite3 (C)"), ("epoll", "waiting (epoll)"), ("socket", "sockets (C)"), ("grpc", "grpc (C)")):
            if marker in function:
                return name
        return "other built-ins"
    if "site-packages/" in filename:
        return filename.split("site-packages/", 1)[1].split("/", 1)[0]
    for own in ("orchestrator", "corral", "devtools", "bench"):
        if f"/{own}/" in filename:
            return own
    return "python stdlib"


async def run(stack: DevStack, home: Path, args: argparse.Namespace) -> None:
    direct, direct_cpu = direct_sends(stack.web3, args.count)
    platform = Platform(stack, home)
    await platform.sends(5)  # warm: connections, caches, imports
    platform.rpc_calls.clear()
    platform.round_trips = 0
    commits_before = platform.commits
    path, path_cpu = await platform.sends(args.count)
    commits = (platform.commits - commits_before) / args.count
    base = percentile(direct, 50)
    print(f"transaction path, {args.count} transfers each, same anvil")
    print(summary("direct eth_sendRawTransaction + receipt", direct))
    print(summary("sign_and_send -> receipt (orchestrator path)", path, base))
    print(f"added latency p50 {(percentile(path, 50) - base) * 1000:7.1f} ms   p90 {(percentile(path, 90) - percentile(direct, 90)) * 1000:7.1f} ms")
    print(f"orchestrator CPU per transaction {path_cpu * 1000:6.1f} ms   (direct client: {direct_cpu * 1000:.1f} ms)")
    per_tx = {method: round(n / args.count, 2) for method, n in sorted(platform.rpc_calls.items())}
    print(f"JSON-RPC calls per transaction {sum(platform.rpc_calls.values()) / args.count:.2f}: {per_tx}")
    print(f"JSON-RPC round trips per transaction {platform.round_trips / args.count:.2f}")
    print(f"database commits per transaction {commits:.2f}")
    added = (percentile(path, 50) - base) * 1000
    emit(Row("`sign_and_send` → receipt, added p50 (orchestrator CPU per transaction)",
             f"+{added:.1f} ms ({path_cpu * 1000:.1f} ms CPU, {commits:.1f} commits)", f"direct send + receipt: {base * 1000:.1f} ms",
             percentile(path, 50) / base, "< +20 ms, < 10 ms CPU"))
    if args.profile:
        await profile(platform, min(args.count, 100), args.top)
    await platform.chain.close()
    await platform.signer.close()


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--count", type=int, default=200)
    parser.add_argument("--profile", action="store_true", help="then profile the path (cProfile)")
    parser.add_argument("--top", type=int, default=30)
    args = parser.parse_args()
    with tempfile.TemporaryDirectory(prefix="corral-bench-") as home:
        stack = DevStack(Path(home), signer_user=None, orchestrator_user=None)
        try:
            stack.start_anvil()
            stack.start_signer()
            asyncio.run(run(stack, Path(home), args))
        finally:
            stack.close()


if __name__ == "__main__":
    main()
