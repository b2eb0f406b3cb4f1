"""Refusals are rate-limited per session. Every request the signer refuses costs it a
decision and an audit line; an agent that keeps asking (probing its policy, or filling the
signer's disk) used to be answered every time. Past the platform's limit
(`[breakers] max_signer_refusals_per_hour`, 20 by default) the session is paused and its
further requests never reach the signer."""

from __future__ import annotations

import json

from corral.v1 import orchestrator_pb2 as pb
from tests.attacks.conftest import audit_entries, balance, funded_wallet, nonce_of
from tests.helpers import wait_for

FRIEND = "0x00000000000000000000000000000000000000f1"
STRANGER = "0x000000000000000000000000000000000000bad1"
LIMIT = 20


def test_a_session_that_keeps_being_refused_is_paused_and_stops_reaching_the_signer(evm, evm_attacker):
    wallet = funded_wallet(evm, {"allowed_chain_ids": [31337], "allowed_recipients": [FRIEND], "max_native_value_per_tx": "1000",
                                 "spend_caps": [{"chain_id": 31337, "asset": "native", "amount": "10000000000000000"}]})
    to_stranger = ["sign_and_send", {"network": "ethereum:31337", "request": {"to_address": STRANGER, "data": "0x", "value": "1"}}]
    plan = [to_stranger] * (LIMIT + 5)
    session = evm.api.StartSession(pb.StartSessionRequest(agent_id=evm_attacker, wallet_address=wallet,
                                                          settings={"plan": json.dumps(plan)})).session

    def memory():
        entries = {e.key: e.value for e in evm.api.ListSessionMemory(pb.ListSessionMemoryRequest(session_id=session.id)).entries}
        return entries if "done" in entries else None

    try:
        entries = wait_for(memory, timeout=180, what="the attacker to try its plan")
        paused = evm.api.GetSession(pb.GetSessionRequest(session_id=session.id)).session
    finally:
        evm.api.StopSession(pb.StopSessionRequest(session_id=session.id))
    envelopes = [json.loads(entries[f"step-{i}"]) for i in range(len(plan))]
    assert not any(e["success"] for e in envelopes)
    assert all("recipient-allowlist" in e["error"] for e in envelopes[:LIMIT]), envelopes[:LIMIT]
    assert all("max_signer_refusals_per_hour" in e["error"] and "not sent to the signer" in e["error"] for e in envelopes[LIMIT:])
    # The signer decided exactly LIMIT of them; the rest never reached it.
    denied = [e for e in audit_entries(evm) if str(e.get("wallet")).lower() == wallet.lower() and e["decision"] == "deny"]
    assert len(denied) == LIMIT and {e["rule"] for e in denied} == {"recipient-allowlist"}
    assert paused.status == pb.SESSION_STATUS_PAUSED and "max_signer_refusals_per_hour" in paused.status_reason
    assert balance(evm, STRANGER) == 0 and nonce_of(evm, wallet) == 0
