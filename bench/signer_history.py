"""Does a signer decision stay flat as the spend history grows? And how long does start-up
take with and without a ledger checkpoint?

In this process, on the signer's own code (no socket): a policy decision (`decide_evm_transaction`
with a rolling daily cap and a session budget) and one full signature through the servicer
(decide, reserve, sign, audit line, fsync) after 0, 10k and 100k prior allowed spends of the
wallet, each as a ratio against the 0-entry figure of the same run. The history is spread over
the last 100 days (most of it older than any window), and a second row puts all of it inside
the cap's window (the worst case: nothing can be pruned). Start-up: verifying the audit log and
rebuilding the ledger from N audit lines, against the same from a checkpoint taken at its end.

    .venv/bin/python -m bench.signer_history [--sizes 0,10000,100000] [--repeat 300]
"""

from __future__ import annotations

import argparse
import asyncio
import tempfile
import time
from pathlib import Path

from bench.common import Row, emit
from corral.v1 import signer_pb2
from signer.audit import AuditLog, audit_key, verify
from signer.checkpoint import Checkpoints, replay
from signer.config import SignerPaths
from signer.halt import Halts
from signer.keystore import Keystore
from signer.policy import EvmTransaction, PolicyStore, SpendLedger, WalletPolicy, decide_evm_transaction
from signer.policy.ledger import Commitments, Spend, horizon_for
from signer.service import SignerServicer

TO = "0x" + "11" * 20
DAY = 86_400
COST = 1 + 21_000 * 2 * 10**9
POLICY = {"allowed_chain_ids": [1], "allowed_recipients": [TO], "max_native_value_per_tx": "1000",
          "spend_caps": [{"chain_id": 1, "asset": "native", "amount": str(10**30)}],
          "session_budgets": [{"chain_id": 1, "max_amount": str(10**30)}]}


class _Context:
    async def abort(self, code: object, details: str) -> None:
        raise RuntimeError(details)


def filled_ledger(wallet: str, entries: int, span: float, now: float) -> SpendLedger:
    ledger = SpendLedger()
    ledger.open_budget(wallet, 7, 1, "native", 10**30)
    for n in range(entries):
        at = now - span + span * n / max(entries, 1)
        ledger.reserve(wallet, Commitments(spends=(Spend(1, "native", COST),), nonce=(1, n)), at, 7)
    return ledger


def decision_ms(policy: WalletPolicy, wallet: str, ledger: SpendLedger, repeat: int) -> float:
    last = ledger.last_nonce(wallet, 1)
    tx = EvmTransaction(chain_id=1, nonce=0 if last is None else last + 1, to=TO, value=1, data=b"", gas=21_000, fee_per_gas=2 * 10**9)
    start = time.process_time()
    for _ in range(repeat):
        decision = decide_evm_transaction(policy, wallet, tx, ledger, time.time(), False, 7)
    assert decision.allowed, decision.reason
    return (time.process_time() - start) * 1000 / repeat


def sign_ms(home: Path, entries: int, span: float, now: float, repeat: int) -> float:
    paths = SignerPaths(home=home)
    paths.ensure()
    keystore = Keystore(paths.keystore_dir, "pw")
    wallet = keystore.create_wallet(light_kdf=True)
    policies = PolicyStore(paths.policy_dir)
    policies.set(wallet, WalletPolicy.model_validate(POLICY))
    audit = AuditLog(paths.audit_log, audit_key("pw"))
    servicer = SignerServicer(keystore, policies, audit, paths.audit_log, Halts(paths))
    servicer._ledger = filled_ledger(wallet, entries, span, now)  # this wallet's history

    def request(n: int) -> signer_pb2.SignEvmTransactionRequest:
        return signer_pb2.SignEvmTransactionRequest(
            wallet_address=wallet, context=signer_pb2.SigningContext(session_id=7),
            transaction=signer_pb2.EvmUnsignedTransaction(chain_id=1, nonce=entries + n, to=TO, value="1", gas=21_000,
                                                          eip1559=signer_pb2.Eip1559Fees(max_fee_per_gas=str(2 * 10**9),
                                                                                         max_priority_fee_per_gas=str(10**9))))

    async def run() -> float:
        await servicer.SignEvmTransaction(request(0), _Context())  # the key unlocked, the policy parsed
        start = time.process_time()
        for n in range(1, repeat + 1):
            await servicer.SignEvmTransaction(request(n), _Context())
        return (time.process_time() - start) * 1000 / repeat

    try:
        return asyncio.run(run())
    finally:
        audit.close()


def startup_seconds(directory: Path, lines: int) -> tuple[float, float]:
    """(full verification + replay, checkpoint + verification and replay of what follows it)."""
    key, wallet = audit_key("pw"), "0x" + "ab" * 20
    log_path = directory / "audit.jsonl"
    audit = AuditLog(log_path, key)
    now = time.time() - lines
    for n in range(lines):
        commitments = Commitments(spends=(Spend(1, "native", COST),), nonce=(1, n))
        audit.write({"action": "sign_evm_transaction", "wallet": wallet, "decision": "allow", "rule": "allowed", "time": now + n,
                     "request": {"wallet_address": wallet, "context": {"session_id": "7"}, "transaction": {
                         "chain_id": "1", "nonce": str(n), "to": TO, "value": "1", "gas": "21000",
                         "eip1559": {"max_fee_per_gas": "2000000000", "max_priority_fee_per_gas": "1000000000"}}},
                     "transaction_hash": "0x" + "ee" * 32, **commitments.to_audit()})
    checkpoints = Checkpoints(directory / "checkpoints", key)
    ledger = SpendLedger()
    replay(ledger, log_path)
    checkpoints.write(ledger, audit.position, time.time())
    audit.close()

    start = time.process_time()
    assert verify(log_path, key).ok
    replay(SpendLedger(horizon_for(DAY)), log_path)
    full = time.process_time() - start

    start = time.process_time()
    restored = checkpoints.newest_usable(log_path, horizon_for(DAY))
    assert restored is not None
    assert verify(log_path, key, after=restored[1]).ok
    replay(restored[0], log_path, restored[1])
    return full, time.process_time() - start


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--sizes", default="0,10000,100000")
    parser.add_argument("--repeat", type=int, default=300)
    parser.add_argument("--startup-lines", type=int, default=100_000)
    args = parser.parse_args()
    sizes = [int(s) for s in args.sizes.split(",")]
    wallet, now = "0x" + "cd" * 20, time.time()
    policy = WalletPolicy.model_validate(POLICY)
    print(f"CPU time per call, {args.repeat} calls each; ratio against no history in the same run")
    for label, span in (("history over 100 days, 1-day cap", 100 * DAY), ("all of it inside the cap's window", DAY / 2)):
        print(label)
        base_decision = base_sign = 0.0
        for size in sizes:
            decide = decision_ms(policy, wallet, filled_ledger(wallet, size, span, now), args.repeat)
            with tempfile.TemporaryDirectory(prefix="corral-bench-") as home:
                signed = sign_ms(Path(home), size, span, now, args.repeat)
            base_decision, base_sign = base_decision or decide, base_sign or signed
            print(f"  {size:>7} entries  decision {decide:7.3f} ms ({decide / base_decision:4.2f}x)   "
                  f"full signature {signed:7.3f} ms ({signed / base_sign:4.2f}x)")
        emit(Row(f"signer decision at {sizes[-1]:,} prior spends, {label}", f"{decide:.3f} ms", f"no history: {base_decision:.3f} ms",
                 decide / base_decision, "flat within 2x"))
    with tempfile.TemporaryDirectory(prefix="corral-bench-") as directory:
        full, checkpointed = startup_seconds(Path(directory), args.startup_lines)
    print(f"start-up at {args.startup_lines} audit lines: full verification + replay {full:6.2f} s CPU; "
          f"from a checkpoint {checkpointed:6.3f} s ({checkpointed / full:.3f}x; the prefix is verified after serving starts)")
    emit(Row(f"signer start-up at {args.startup_lines:,} audit lines, from a checkpoint", f"{checkpointed:.3f} s CPU",
             f"full replay: {full:.2f} s", checkpointed / full, "flat in history"))


if __name__ == "__main__":
    main()
