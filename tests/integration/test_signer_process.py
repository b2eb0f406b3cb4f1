"""The signer as a separate process over its real Unix socket, called directly — the
orchestrator is not involved, so these show the signer's own checks."""

from __future__ import annotations

import json
import pwd
import stat
import subprocess

import grpc
import pytest
from eth_account import Account

from corral.v1 import signer_pb2, signer_pb2_grpc
from devtools.devstack import CORRAL_COMMAND, DevStack


@pytest.fixture(scope="module")
def signer(signer_only):
    return signer_only


@pytest.fixture(scope="module")
def wallet(signer) -> str:
    return signer.create_wallet(31337)


@pytest.fixture()
def stub(signer):
    channel = grpc.insecure_channel(f"unix:{signer.signer_socket}")
    yield signer_pb2_grpc.SignerServiceStub(channel)
    channel.close()


def private_key_hex(signer: DevStack, address: str) -> str:
    """The wallet owner's view: decrypt the keystore with the passphrase."""
    keyfile = json.loads((signer.signer_home / "keystore" / f"{address}.json").read_text())
    return bytes(Account.decrypt(keyfile, signer.passphrase_file.read_text())).hex()


def transfer(wallet: str, chain_id: int, nonce: int = 0) -> signer_pb2.SignEvmTransactionRequest:
    return signer_pb2.SignEvmTransactionRequest(
        wallet_address=wallet,
        transaction=signer_pb2.EvmUnsignedTransaction(
            chain_id=chain_id, nonce=nonce, to="0x000000000000000000000000000000000000dEaD", value="1000", gas=21000,
            eip1559=signer_pb2.Eip1559Fees(max_fee_per_gas="2000000000", max_priority_fee_per_gas="1000000000"),
        ),
        context=signer_pb2.SigningContext(request_id=f"test-{chain_id}-{nonce}", session_id=7, execution_id=9),
    )


# What one `transfer` may cost the wallet: its value and its fee at the most (gas x max fee).
COST = 1000 + 21_000 * 2_000_000_000


def audit_entries(signer: DevStack) -> list[dict]:
    return [json.loads(line) for line in (signer.signer_home / "audit.jsonl").read_text().splitlines()]


def test_socket_is_reachable_only_by_the_signer_and_its_clients(signer):
    """Its home stays the signer's alone; the socket lives in a directory of its own that
    only the orchestrator's group may enter (or, one user for everything, 0600 in the home)."""
    assert stat.S_IMODE(signer.signer_home.stat().st_mode) == 0o700
    if not signer.orchestrator_user:
        assert stat.S_IMODE(signer.signer_socket.stat().st_mode) == 0o600
        return
    directory = signer.signer_socket.parent.stat()
    assert signer.signer_socket.parent != signer.signer_home
    assert stat.S_IMODE(directory.st_mode) == 0o2750
    assert (pwd.getpwuid(directory.st_uid).pw_name, directory.st_gid) == ("corral-signer", pwd.getpwnam(signer.orchestrator_user).pw_gid)


def test_allowed_chain_is_signed_by_the_wallet_key(stub, wallet):
    response = stub.SignEvmTransaction(transfer(wallet, 31337))
    assert Account.recover_transaction(response.raw_transaction) == wallet
    assert response.transaction_hash.startswith("0x") and len(response.transaction_hash) == 66


def test_chain_outside_policy_is_refused_and_audited(signer, stub, wallet):
    before = len(audit_entries(signer))
    with pytest.raises(grpc.RpcError) as refused:
        stub.SignEvmTransaction(transfer(wallet, 1, nonce=5))
    assert refused.value.code() == grpc.StatusCode.PERMISSION_DENIED
    assert "chain-allowlist" in refused.value.details()
    entries = audit_entries(signer)
    assert len(entries) == before + 1
    denial = entries[-1]
    assert (denial["decision"], denial["rule"], denial["wallet"]) == ("deny", "chain-allowlist", wallet)
    assert denial["request"]["transaction"]["chain_id"] == "1"  # the full request, for replay
    assert "transaction_hash" not in denial  # nothing was signed


def test_wallet_without_policy_is_denied_by_default(signer, stub):
    other = signer.create_wallet(31337)
    (signer.signer_home / "policies" / f"{other.lower()}.json").unlink()
    with pytest.raises(grpc.RpcError) as refused:
        stub.SignEvmTransaction(transfer(other, 31337))
    assert refused.value.code() == grpc.StatusCode.PERMISSION_DENIED
    assert audit_entries(signer)[-1]["rule"] == "default-deny"


def test_unknown_wallet_and_malformed_requests_are_refused(stub, wallet):
    with pytest.raises(grpc.RpcError) as unknown:
        stub.SignEvmTransaction(transfer("0x" + "12" * 20, 31337))
    assert unknown.value.code() == grpc.StatusCode.NOT_FOUND
    bad = transfer(wallet, 31337)
    bad.transaction.value = "1.5"
    with pytest.raises(grpc.RpcError) as malformed:
        stub.SignEvmTransaction(bad)
    assert malformed.value.code() == grpc.StatusCode.INVALID_ARGUMENT and "value" in malformed.value.details()


def test_key_never_leaves_the_keystore(signer, stub, wallet):
    response = stub.SignEvmTransaction(transfer(wallet, 31337, nonce=1))
    key = private_key_hex(signer, wallet)
    places = {
        "audit log": (signer.signer_home / "audit.jsonl").read_text(),
        "signer output": signer.log_text("signer"),
        "gRPC response": response.SerializeToString().hex(),
        "wallet list": signer.corral("signer", "--home", str(signer.signer_home), "wallet", "list").stdout,
    }
    for where, text in places.items():
        assert key.lower() not in text.lower(), f"private key found in {where}"


def audit_verify(stack: DevStack, *extra: str) -> subprocess.CompletedProcess:
    return subprocess.run([*CORRAL_COMMAND, "signer", "--home", str(stack.signer_home), "--passphrase-file", str(stack.passphrase_file),
                           "audit", "verify", *extra], cwd=stack.home, capture_output=True, text=True, timeout=60)


def test_audit_verify_command_checks_the_keyed_chain_and_a_head(signer, stub, wallet):
    signed = stub.SignEvmTransaction(transfer(wallet, 31337, nonce=5))
    head = f"{signed.audit_head.seq}:{signed.audit_head.mac}"
    entry = next(e for e in audit_entries(signer) if e["seq"] == signed.audit_head.seq)
    assert entry["mac"] == signed.audit_head.mac and entry.get("transaction_hash") == signed.transaction_hash
    ok = audit_verify(signer, "--expect-head", head)
    assert ok.returncode == 0 and "intact" in ok.stdout and "head " in ok.stdout, ok.stderr
    made_up = audit_verify(signer, "--expect-head", f"{signed.audit_head.seq}:{'0' * 64}")
    assert made_up.returncode == 1 and "does not hold the expected head" in made_up.stderr


def test_a_tampered_log_stops_the_signer_from_serving(tmp_path):
    """The attack: remove one wallet's lines from the log and re-chain the rest (which reset
    that wallet's spent caps after a restart). Without the passphrase the MACs cannot be
    remade, and the signer refuses to start on the log, naming the line."""
    import hashlib

    stack = DevStack(tmp_path / "tamper")
    stack.home.mkdir(parents=True, exist_ok=True)
    try:
        stack.start_signer()
        spender, other = stack.create_wallet(31337), stack.create_wallet(31337)
        for nonce, who in enumerate([spender, other, spender]):
            channel = grpc.insecure_channel(f"unix:{stack.signer_socket}")
            signer_pb2_grpc.SignerServiceStub(channel).SignEvmTransaction(transfer(who, 31337, nonce=nonce))
            channel.close()
        stack._stop("signer")
        log = stack.signer_home / "audit.jsonl"
        kept = [json.loads(line) for line in log.read_text().splitlines() if json.loads(line).get("wallet") != spender]
        prev, lines = "0" * 64, []
        for seq, entry in enumerate(kept, start=1):
            entry.pop("mac")
            entry.update(seq=seq, prev=prev)
            entry["mac"] = prev = hashlib.sha256(json.dumps(entry, sort_keys=True, separators=(",", ":")).encode()).hexdigest()
            lines.append(json.dumps(entry, sort_keys=True, separators=(",", ":")))
        log.write_text("\n".join(lines) + "\n")
        with pytest.raises(RuntimeError, match="exited"):
            stack.start_signer()
        assert "the audit log" in stack.log_text("signer") and "is broken at line 1" in stack.log_text("signer")
        assert audit_verify(stack).returncode == 1
    finally:
        stack.close()


def test_every_run_of_the_signer_is_in_the_log_with_how_the_previous_one_ended(signer):
    starts = [e for e in audit_entries(signer) if e["action"] == "signer_start"]
    assert starts and starts[0]["previous_stop"] == "clean"  # an empty log: nothing was in flight
    assert [e["action"] for e in audit_entries(signer)].count("signer_stop") == len(starts) - 1


def test_halt_refuses_everything_until_resume(signer, stub, wallet):
    home = ["signer", "--home", str(signer.signer_home)]
    signer.corral(*home, "halt")
    try:
        with pytest.raises(grpc.RpcError) as refused:
            stub.SignEvmTransaction(transfer(wallet, 31337, nonce=2))
        assert refused.value.code() == grpc.StatusCode.PERMISSION_DENIED and "halted" in refused.value.details()
        assert audit_entries(signer)[-1]["rule"] == "halted"
    finally:
        signer.corral(*home, "resume")
    assert stub.SignEvmTransaction(transfer(wallet, 31337, nonce=2)).raw_transaction


def test_spend_cap_holds_across_a_signer_restart(signer, tmp_path):
    wallet = signer.create_wallet(31337)
    cap = 2 * COST + COST // 2
    signer.set_policy(wallet, {"allowed_chain_ids": [31337], "spend_caps": [{"chain_id": 31337, "asset": "native", "amount": str(cap)}]})
    channel = grpc.insecure_channel(f"unix:{signer.signer_socket}")
    stub = signer_pb2_grpc.SignerServiceStub(channel)
    assert stub.SignEvmTransaction(transfer(wallet, 31337, nonce=0)).raw_transaction  # 1 x COST
    assert stub.SignEvmTransaction(transfer(wallet, 31337, nonce=1)).raw_transaction  # 2 x COST
    with pytest.raises(grpc.RpcError) as over:
        stub.SignEvmTransaction(transfer(wallet, 31337, nonce=2))  # 3 x COST > 2.5 x COST
    assert "spend-cap" in over.value.details()
    channel.close()

    # Restart the signer: the spend is counted from its audit log, not from memory.
    process = signer.processes.pop("signer")
    process.terminate()
    process.wait(timeout=10)
    signer.start_signer()
    channel = grpc.insecure_channel(f"unix:{signer.signer_socket}")
    with pytest.raises(grpc.RpcError) as still_over:
        signer_pb2_grpc.SignerServiceStub(channel).SignEvmTransaction(transfer(wallet, 31337, nonce=3))
    assert "spend-cap" in still_over.value.details()
    channel.close()


def test_unlimited_approval_is_refused(signer, stub, tmp_path):
    wallet = signer.create_wallet(31337)
    token, spender = "0x" + "22" * 20, "0x" + "33" * 20
    signer.set_policy(wallet, {"allowed_chain_ids": [31337], "approvals": [{"token": token, "spender": spender, "max_amount": "1000000"}]})
    approve = transfer(wallet, 31337)
    approve.transaction.to = token
    approve.transaction.value = "0"
    approve.transaction.gas = 60000
    word = bytes.fromhex("00" * 12 + spender[2:])
    approve.transaction.data = bytes.fromhex("095ea7b3") + word + (2**256 - 1).to_bytes(32, "big")
    with pytest.raises(grpc.RpcError) as refused:
        stub.SignEvmTransaction(approve)
    assert "approval-limit" in refused.value.details()
    approve.transaction.data = bytes.fromhex("095ea7b3") + word + (1000).to_bytes(32, "big")
    assert stub.SignEvmTransaction(approve).raw_transaction


def test_owner_export_reencrypts_to_a_new_passphrase(signer, wallet, tmp_path):
    export_passphrase = tmp_path / "export-pass"
    export_passphrase.write_text("a fresh export passphrase")
    export_passphrase.chmod(0o600)
    target = tmp_path / "exported.json"
    signer.corral("signer", "--home", str(signer.signer_home), "--passphrase-file", str(signer.passphrase_file),
                  "wallet", "export", wallet, "--to", str(target), "--export-passphrase-file", str(export_passphrase))
    assert stat.S_IMODE(target.stat().st_mode) == 0o600
    key = Account.decrypt(json.loads(target.read_text()), "a fresh export passphrase")
    assert Account.from_key(key).address == wallet
    assert private_key_hex(signer, wallet) == bytes(key).hex()


def test_session_budget_survives_a_signer_restart(signer, tmp_path):
    wallet = signer.create_wallet(31337)
    signer.set_policy(wallet, {"allowed_chain_ids": [31337], "session_budgets": [{"chain_id": 31337, "max_amount": str(5 * COST)}]})

    def stub_now():
        return signer_pb2_grpc.SignerServiceStub(grpc.insecure_channel(f"unix:{signer.signer_socket}"))

    def for_session(nonce):
        request = transfer(wallet, 31337, nonce=nonce)
        request.context.session_id = 77
        return request

    with pytest.raises(grpc.RpcError) as unopened:
        stub_now().SignEvmTransaction(for_session(0))
    assert "no native budget opened" in unopened.value.details()
    with pytest.raises(grpc.RpcError) as too_big:
        stub_now().OpenSessionBudget(signer_pb2.OpenSessionBudgetRequest(wallet_address=wallet, session_id=77, chain_id=31337, asset="native",
                                                                         amount=str(6 * COST)))
    assert too_big.value.code() == grpc.StatusCode.PERMISSION_DENIED
    budget = COST + COST // 2
    opened = stub_now().OpenSessionBudget(signer_pb2.OpenSessionBudgetRequest(wallet_address=wallet, session_id=77, chain_id=31337, asset="native",
                                                                              amount=str(budget)))
    assert opened.opened
    assert stub_now().SignEvmTransaction(for_session(1)).raw_transaction  # 1 x COST of 1.5

    process = signer.processes.pop("signer")
    process.terminate()
    process.wait(timeout=10)
    signer.start_signer()
    with pytest.raises(grpc.RpcError) as over:
        stub_now().SignEvmTransaction(for_session(2))  # 2 x COST > 1.5, counted from the audit log
    assert "session-budget" in over.value.details() and f"over its budget {budget}" in over.value.details()


def test_a_second_signer_on_the_same_home_refuses_to_start(signer, stub, wallet):
    """Two signers on one home would each count spends in a ledger of their own: every cap
    would hold twice. The second one exits; the first one keeps signing."""
    second = subprocess.run([*CORRAL_COMMAND, "signer", "--home", str(signer.signer_home), "--passphrase-file",
                             str(signer.passphrase_file), "serve"], cwd=signer.home, capture_output=True, text=True, timeout=60)
    assert second.returncode != 0 and "another signer is serving" in second.stderr
    assert stub.SignEvmTransaction(transfer(wallet, 31337, nonce=3)).raw_transaction


def test_nested_json_is_refused_and_the_signer_lives_on(signer, stub, wallet):
    """Typed data or a Hyperliquid action nested deep enough (a few hundred KB) overflowed the C
    stack of json.loads and killed the signer; deep nesting is refused as malformed before it is
    parsed, audited, and the next request is served."""
    deep = "[" * 30_000 + "]" * 30_000
    for call, request in [
        (stub.SignEvmMessage, signer_pb2.SignEvmMessageRequest(wallet_address=wallet, eip712=signer_pb2.Eip712Message(typed_data_json=deep))),
        (stub.SignHyperliquidAction, signer_pb2.SignHyperliquidActionRequest(wallet_address=wallet, action_json=deep, nonce=1)),
    ]:
        with pytest.raises(grpc.RpcError) as refused:
            call(request)
        assert refused.value.code() == grpc.StatusCode.INVALID_ARGUMENT and "deeper than" in refused.value.details()
        assert audit_entries(signer)[-1]["rule"] == "malformed-request"
    assert stub.SignEvmTransaction(transfer(wallet, 31337, nonce=4)).raw_transaction
    assert signer.processes["signer"].poll() is None


def decision_counts(stub) -> dict[tuple[str, str, str], int]:
    return {(c.action, c.decision, c.rule): c.count for c in stub.GetDecisionCounts(signer_pb2.GetDecisionCountsRequest()).counts}


def test_decision_counts_follow_the_audit_log_and_carry_no_wallet(signer, stub, wallet):
    """What /metrics reports for the signer: one more per decision line, by action, outcome
    and rule; nothing that names a wallet or a request."""
    before = decision_counts(stub)
    stub.SignEvmTransaction(transfer(wallet, 31337, nonce=1))
    with pytest.raises(grpc.RpcError):
        stub.SignEvmTransaction(transfer(wallet, 1, nonce=6))
    after = decision_counts(stub)
    allowed = audit_entries(signer)[-2]
    assert allowed["decision"] == "allow"
    moved = {key: after[key] - before.get(key, 0) for key in after if after[key] != before.get(key, 0)}
    assert moved == {("sign_evm_transaction", "allow", allowed["rule"]): 1, ("sign_evm_transaction", "deny", "chain-allowlist"): 1}
    answer = stub.GetDecisionCounts(signer_pb2.GetDecisionCountsRequest())
    assert wallet.lower()[2:] not in str(answer).lower() and answer.started_at > 0
