"""The SignerService gRPC servicer: parse, decide, sign, audit, answer — in that order.

A signature leaves this process only after an `allow` line naming its transaction hash
is durable in the audit log, so every signature ever given out is in the log. Spend caps
are counted from the log's own allowed decisions, so they survive restarts.
"""

from __future__ import annotations

import json
import time
from pathlib import Path

import grpc
from google.protobuf.json_format import MessageToDict

from corral.v1 import signer_pb2, signer_pb2_grpc
from signer import evm
from signer.audit import AuditLog, read_entries
from signer.keystore import Keystore
from signer.policy import EvmCall, PolicyStore, SpendLedger, decide_evm_message, decide_evm_transaction, decide_session_budget


class SignerServicer(signer_pb2_grpc.SignerServiceServicer):
    def __init__(self, keystore: Keystore, policies: PolicyStore, audit: AuditLog, audit_path: Path, halt_file: Path) -> None:
        self._keystore = keystore
        self._policies = policies
        self._audit = audit
        self._halt_file = halt_file
        self._ledger = SpendLedger()
        for entry in read_entries(audit_path):
            if entry.get("decision") != "allow":
                continue
            if entry.get("action") == "open_session_budget" and entry.get("opened"):
                request = entry["request"]
                self._ledger.open_budget(entry["wallet"], int(request["session_id"]), int(request["chain_id"]), request["asset"],
                                         int(request["amount"]))
            session_id = int(entry.get("request", {}).get("context", {}).get("session_id", 0))
            for chain_id, asset, amount in entry.get("spends", []):
                self._ledger.record(entry["wallet"], chain_id, asset, int(amount), entry["time"], session_id)

    async def ListSignerWallets(self, request, context):
        return signer_pb2.ListSignerWalletsResponse(
            wallets=[
                signer_pb2.SignerWallet(address=a, wallet_type=signer_pb2.WALLET_TYPE_ETHEREUM)
                for a in self._keystore.addresses()
            ]
        )

    async def SignEvmTransaction(self, request: signer_pb2.SignEvmTransactionRequest, context):
        payload = MessageToDict(request, preserving_proto_field_name=True)

        def record(decision: str, rule: str, reason: str, **extra) -> None:
            self._audit.append(
                {
                    "action": "sign_evm_transaction",
                    "decision": decision,
                    "rule": rule,
                    "reason": reason,
                    "wallet": request.wallet_address,
                    "request": payload,
                    **extra,
                }
            )

        try:
            fields = evm.transaction_dict(request.transaction)
        except evm.MalformedTransaction as exc:
            record("deny", "malformed-request", str(exc))
            await context.abort(grpc.StatusCode.INVALID_ARGUMENT, f"malformed transaction: {exc}")

        if not self._keystore.has(request.wallet_address):
            record("deny", "unknown-wallet", "this signer holds no key for the wallet")
            await context.abort(grpc.StatusCode.NOT_FOUND, f"this signer holds no key for wallet {request.wallet_address!r}")

        call = EvmCall(chain_id=fields["chainId"], to=fields["to"], value=fields["value"], data=fields["data"])
        now = time.time()
        session_id = request.context.session_id
        decision = decide_evm_transaction(
            self._policies.get(request.wallet_address), request.wallet_address, call, self._ledger, now,
            halted=self._halt_file.exists(), session_id=session_id,
        )
        if not decision.allowed:
            record("deny", decision.rule, decision.reason)
            await context.abort(grpc.StatusCode.PERMISSION_DENIED, f"denied by policy rule {decision.rule}: {decision.reason}")

        signed = evm.sign(self._keystore.account(request.wallet_address), fields)
        # The audit line is durable before the signature leaves the process.
        spends = [[chain_id, asset, str(amount)] for chain_id, asset, amount in decision.spends]
        record("allow", decision.rule, decision.reason, transaction_hash=signed.tx_hash, spends=spends)
        for chain_id, asset, amount in decision.spends:
            self._ledger.record(request.wallet_address, chain_id, asset, amount, now, session_id)
        return signer_pb2.SignEvmTransactionResponse(raw_transaction=signed.raw, transaction_hash=signed.tx_hash)

    async def SignEvmMessage(self, request: signer_pb2.SignEvmMessageRequest, context):
        payload = MessageToDict(request, preserving_proto_field_name=True)

        def record(decision: str, rule: str, reason: str, **extra) -> None:
            self._audit.append(
                {"action": "sign_evm_message", "decision": decision, "rule": rule, "reason": reason,
                 "wallet": request.wallet_address, "request": payload, **extra}
            )

        kind = request.WhichOneof("message")
        typed_data = None
        if kind == "eip712":
            try:
                typed_data = json.loads(request.eip712.typed_data_json)
                if not isinstance(typed_data, dict):
                    raise ValueError("not a JSON object")
            except ValueError as exc:
                record("deny", "malformed-request", f"typed data is not a JSON object: {exc}")
                await context.abort(grpc.StatusCode.INVALID_ARGUMENT, f"eip712.typed_data_json must be a JSON object: {exc}")
        elif kind != "eip191":
            record("deny", "malformed-request", "no message given")
            await context.abort(grpc.StatusCode.INVALID_ARGUMENT, "give eip191 or eip712")
        if not self._keystore.has(request.wallet_address):
            record("deny", "unknown-wallet", "this signer holds no key for the wallet")
            await context.abort(grpc.StatusCode.NOT_FOUND, f"this signer holds no key for wallet {request.wallet_address!r}")

        decision = decide_evm_message(self._policies.get(request.wallet_address), typed_data, halted=self._halt_file.exists())
        if not decision.allowed:
            record("deny", decision.rule, decision.reason)
            await context.abort(grpc.StatusCode.PERMISSION_DENIED, f"denied by policy rule {decision.rule}: {decision.reason}")
        account = self._keystore.account(request.wallet_address)
        try:
            signed = evm.sign_message(account, eip191=request.eip191.message if kind == "eip191" else None, typed_data=typed_data)
        except evm.MalformedTransaction as exc:
            record("deny", "malformed-request", str(exc))
            await context.abort(grpc.StatusCode.INVALID_ARGUMENT, str(exc))
        record("allow", decision.rule, decision.reason, message_hash=signed.message_hash)
        return signer_pb2.SignEvmMessageResponse(v=signed.v, r=signed.r, s=signed.s, signature=signed.signature, message_hash=signed.message_hash)

    async def OpenSessionBudget(self, request: signer_pb2.OpenSessionBudgetRequest, context):
        payload = MessageToDict(request, preserving_proto_field_name=True)
        asset = request.asset.lower() if request.asset != "native" else "native"

        def record(decision: str, rule: str, reason: str, **extra) -> None:
            self._audit.append({"action": "open_session_budget", "decision": decision, "rule": rule, "reason": reason,
                                "wallet": request.wallet_address, "request": {**payload, "asset": asset}, **extra})

        if not request.amount.isdigit() or request.session_id <= 0:
            record("deny", "malformed-request", "amount must be an integer string and session_id positive")
            await context.abort(grpc.StatusCode.INVALID_ARGUMENT, "amount must be a non-negative integer string and session_id positive")
        if not self._keystore.has(request.wallet_address):
            record("deny", "unknown-wallet", "this signer holds no key for the wallet")
            await context.abort(grpc.StatusCode.NOT_FOUND, f"this signer holds no key for wallet {request.wallet_address!r}")
        policy = self._policies.get(request.wallet_address)
        decision = decide_session_budget(policy, request.chain_id, asset, int(request.amount), halted=self._halt_file.exists())
        if not decision.allowed:
            record("deny", decision.rule, decision.reason)
            await context.abort(grpc.StatusCode.PERMISSION_DENIED, f"denied by policy rule {decision.rule}: {decision.reason}")
        opened = any(c.chain_id == request.chain_id and c.asset == asset for c in policy.session_budgets)
        record("allow", decision.rule, decision.reason, opened=opened)
        if opened:
            self._ledger.open_budget(request.wallet_address, request.session_id, request.chain_id, asset, int(request.amount))
        return signer_pb2.OpenSessionBudgetResponse(opened=opened)
