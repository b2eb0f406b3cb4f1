"""Dollar-cost averaging, Circuit v2.10 style: every run, swap a fixed amount of the
starting stablecoin for a token, then report what the platform says the session holds."""

import json
import time

from agent_sdk import AgentContext


def _ends(text: str) -> list[str]:
    """The first and last words of an error: a log line holds 250 characters."""
    return [text[:24], text[-24:]]


def run(agent: AgentContext) -> None:
    stable = agent.currentPositions[0]
    quote = agent.swap.quote({
        "from": {"network": stable.network, "address": stable.assetAddress},
        "to": {"network": stable.network, "address": agent.settings["token"]},
        "amount": str(agent.settings["amount"]),
        "slippage": "1.0",
        "priceImpact": agent.settings["max_impact"],
    })
    if not quote.success:
        agent.log(json.dumps({"quote": False, "code": quote.get("code"), "error": quote.error[:150]}))
        return
    time.sleep(int(agent.settings["wait_seconds"]))
    result = agent.swap.execute(quote.data)
    status = result.data.get("status") if result.data else None  # a suggestion (manual mode) has none
    steps = [s.get("status") for s in getattr(result.data, "steps", [])]
    agent.log(json.dumps({"status": status, "code": result.get("code"), "min": quote.data.assetReceive["minimumAmount"],
                          "steps": steps, "error": _ends(result.error or "")}))
    held = {p.assetAddress.lower(): p.currentQty for p in agent.get_current_positions().data.positions}
    ledger = agent.transactions()
    agent.log(json.dumps({"stable": held.get(stable.assetAddress.lower()), "token": held.get(agent.settings["token"].lower()),
                          "ledger": len(ledger.data)}))
