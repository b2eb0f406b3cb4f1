"""Pays `amount` of its ERC-20 starting asset to `recipient` each run, then reports the
positions and the ledger the platform keeps for it."""

import json

from agent_sdk import AgentContext

TRANSFER = "0xa9059cbb"


def run(agent: AgentContext) -> None:
    token = agent.currentPositions[0].assetAddress
    amount = int(agent.settings["amount"])
    if amount:
        data = TRANSFER + agent.settings["recipient"][2:].lower().rjust(64, "0") + hex(amount)[2:].rjust(64, "0")
        sent = agent.sign_and_send({"network": "ethereum:31337", "request": {"to_address": token, "data": data, "value": "0"}})
        agent.log(json.dumps({"sent": sent.success, "error": sent.error}))
    positions = agent.get_current_positions()
    held = {p.assetAddress.lower(): p.currentQty for p in positions.data.positions}
    ledger = agent.transactions()
    agent.log(json.dumps({"token": held.get(token.lower()), "ledger": len(ledger.data) if ledger.success else ledger.error}))
