"""Dollar-cost averaging, Circuit v2.10 style: every run, swap a fixed amount of the
starting stablecoin for a token, then report what the platform says the session holds."""

import json
import time
import urllib.request

from agent_sdk import AgentContext


def _ends(text: str) -> list[str]:
    """The first and last words of an error: a log line holds 250 characters."""
    return [text[:24], text[-24:]]


def _balance_read_on_chain(agent: AgentContext, network: str, token: str) -> str:
    """The wallet's balance of `token` as the agent's own chain reads see it (an ERC-20
    balanceOf through agent.rpc_url, as web3.py would send it)."""
    call = {"to": token, "data": "0x70a08231" + agent.sessionWalletAddress[2:].lower().rjust(64, "0")}
    body = json.dumps({"jsonrpc": "2.0", "id": 1, "method": "eth_call", "params": [call, "latest"]}).encode()
    request = urllib.request.Request(agent.rpc_url(network), data=body, headers={"Content-Type": "application/json"}, method="POST")
    try:
        with urllib.request.urlopen(request, timeout=20) as reply:
            return str(int(json.loads(reply.read())["result"], 16))
    except (OSError, ValueError, KeyError) as exc:
        return f"unread: {type(exc).__name__}"


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
    if agent.settings.get("read_chain"):
        agent.log(json.dumps({"on_chain": _balance_read_on_chain(agent, stable.network, stable.assetAddress)}))
