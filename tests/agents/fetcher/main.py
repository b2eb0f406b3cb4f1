"""Fetches a price the way agent code usually does (the standard library's urllib here, with
nothing Corral-specific: the proxy and the CA bundle come from the environment)."""

import json
import urllib.request


def run(agent):
    url = agent.settings["url"]
    with urllib.request.urlopen(url, timeout=20) as reply:
        body = json.loads(reply.read())
    for coin, quote in body["coins"].items():
        agent.log(f"price of {coin}: {quote['price']}")
    if agent.settings.get("read_chain") == "yes":
        balance = _rpc(agent, "eth_getBalance", [agent.sessionWalletAddress, "latest"])
        agent.log(f"balance read through the chain: {int(balance['result'], 16)}")
        refused = _rpc(agent, "eth_sendRawTransaction", ["0x00"])
        agent.log(f"send through the chain reads: {refused['error']['message']}")


def _rpc(agent, method, params):
    request = urllib.request.Request(agent.rpc_url("ethereum:31337"), method="POST", headers={"Content-Type": "application/json"},
                                     data=json.dumps({"jsonrpc": "2.0", "id": 1, "method": method, "params": params}).encode())
    with urllib.request.urlopen(request, timeout=20) as reply:
        return json.loads(reply.read())


def unwind(agent, positions):
    pass
