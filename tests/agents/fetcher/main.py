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


def unwind(agent, positions):
    pass
