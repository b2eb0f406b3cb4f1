"""Fetches a price the way agent code usually does (the standard library's urllib here, with
nothing Corral-specific: the proxy and the CA bundle come from the environment)."""

import json
import os
import urllib.request


def run(agent):
    url = agent.settings["url"]
    if agent.settings.get("inspect") == "yes":
        _show_what_the_sandbox_holds()
    headers = {}
    if agent.settings.get("header"):  # "Name: value", e.g. "X-Api-Key: {{secret:PRICES_KEY}}"
        name, value = agent.settings["header"].split(":", 1)
        headers[name.strip()] = value.strip()
    with urllib.request.urlopen(urllib.request.Request(url, headers=headers), timeout=20) as reply:
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


def _show_what_the_sandbox_holds():
    """Everything a secret could be found in from inside: the environment and every file
    under the socket directory that can be read, printed to the output the platform keeps."""
    for name, value in sorted(os.environ.items()):
        print(f"env {name}={value}")
    names = {"egress-ca.pem", "egress.sock", "runtime.sock"}  # the directory itself may not be listable
    try:
        names.update(os.listdir("/run/corral"))
    except OSError as exc:
        print(f"dir /run/corral: not listable ({exc})")
    for name in sorted(names):
        try:
            with open(os.path.join("/run/corral", name), "rb") as file:
                print(f"file {name}: {file.read(65536)!r}")
        except OSError as exc:
            print(f"file {name}: unreadable ({exc})")


def unwind(agent, positions):
    pass
