"""`agent.sign_message` end to end: the agent's request crosses the sandbox, the
orchestrator and the signer, which signs only what the wallet's policy allows."""

from __future__ import annotations

import json

from eth_account import Account
from eth_account.messages import encode_defunct, encode_typed_data

from corral.v1 import orchestrator_pb2 as pb
from tests.agents.messenger.main import typed
from tests.conftest import AGENTS_DIR
from tests.helpers import finished, log_lines, start_session, wait_for


def test_messages_are_signed_within_the_policy(stack, agent_image, tmp_path):
    wallet = stack.create_wallet(31337)
    stack.fund(wallet, 10**16)
    stack.set_policy(wallet, {
        "allowed_chain_ids": [31337], "eip191": {},
        "eip712": [{"name": "Corral Exchange", "chain_id": 31337, "verifying_contract": "0x" + "cc" * 20, "primary_types": ["Order"]}],
    })
    _, session = start_session(stack, agent_image(AGENTS_DIR / "messenger"), wallet)
    run = wait_for(lambda: finished(stack, session.id), what="the messenger's run")[0]
    stack.api.StopSession(pb.StopSessionRequest(session_id=session.id))
    assert run.status == pb.EXECUTION_STATUS_SUCCEEDED, run.error
    personal, eip712, other = (json.loads(line) for line in log_lines(run))

    assert Account.recover_message(encode_defunct(text="hello corral"), signature=personal["eip191"]) == wallet
    assert Account.recover_message(encode_typed_data(full_message=typed("Corral Exchange", "0x" + "cc" * 20, wallet)),
                                   signature=eip712["eip712"]) == wallet
    assert other["other"] is False and "eip712-domain-allowlist" in other["error"]
    audit = [json.loads(line) for line in (stack.signer_home / "audit.jsonl").read_text().splitlines()]
    denied = [e for e in audit if e["action"] == "sign_evm_message" and e["decision"] == "deny"]
    assert denied and "Phishing Permit" in denied[-1]["request"]["eip712"]["typed_data_json"]
