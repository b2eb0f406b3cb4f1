"""Circuit v1.x style (an `Agent` instance with a run function): proposes a transfer and a
message every run. In manual mode both come back as suggestions."""

import json
from datetime import datetime, timedelta, timezone

from agent_sdk import Agent, AgentContext

RECIPIENT = "0x000000000000000000000000000000000000dEaD"


def brief(data) -> dict:
    # Stored log lines are cut at 250 characters: keep what the tests read.
    details = data.get("details") or {}
    return {"suggested": data.get("suggested"), "suggestionId": data.get("suggestionId"), "tx_hash": data.get("tx_hash"),
            "to": details.get("to")}


def run(agent: AgentContext) -> None:
    expires = agent.settings.get("expires_in_seconds")
    request = {"network": "ethereum:31337", "message": "tip the dead address",
               "request": {"to_address": RECIPIENT, "data": "0x", "value": "1000"}}
    if expires:
        request["expiresAt"] = (datetime.now(timezone.utc) + timedelta(seconds=int(expires))).isoformat()
    tx = agent.sign_and_send(request)
    agent.log(json.dumps({"tx": brief(tx.data) if tx.success else None, "error": tx.error}))
    message = agent.sign_message({"messageType": "eip191", "chainId": 31337, "data": {"message": "approve me"}})
    agent.log(json.dumps({"message": brief(message.data) if message.success else None, "error": message.error}))
    bad = agent.sign_and_send({"network": "ethereum:31337", "request": {"to_address": "0x1234", "value": "1"}})
    agent.log(json.dumps({"bad": bad.success, "error": bad.error}))
    if agent.settings.get("clear") == "yes":
        cleared = agent.clear_suggested_transactions()
        agent.log(json.dumps({"cleared": cleared.success}))


agent = Agent(run_function=run)
