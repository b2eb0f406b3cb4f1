"""A Circuit-style agent as its docs suggest writing one: a price from a public HTTPS API with
`requests`, the wallet's balance with web3.py, and a transaction sized from both through
`agent.sign_and_send`. Nothing here is Corral-specific: the proxy and the CA bundle come from
the sandbox's environment, the declared packages from pyproject.toml."""

import asyncio
import json
import urllib.request
from decimal import Decimal

import aiohttp
import httpx
import requests
from agent_sdk import AgentContext
from web3 import Web3

NETWORK = "ethereum:31337"
ETH = "coingecko:ethereum"


def sweep_amount(balance_wei: int, price_usd: Decimal, floor_usd: Decimal, percent: Decimal) -> int:
    """Wei to send: `percent` of what the wallet holds above `floor_usd` of ETH (0 below it)."""
    floor_wei = int(floor_usd * 10**18 / price_usd)
    return max(balance_wei - floor_wei, 0) * int(percent) // 100


def run(agent: AgentContext) -> None:
    reply = requests.get(agent.settings["price_url"], timeout=20)
    reply.raise_for_status()
    price = Decimal(str(reply.json()["coins"][ETH]["price"]))
    agent.log(f"price of ETH: {price}")

    w3 = Web3(Web3.HTTPProvider(agent.rpc_url(NETWORK)))
    balance = w3.eth.get_balance(Web3.to_checksum_address(agent.sessionWalletAddress))
    agent.log(f"balance: {balance} wei")

    if agent.settings.get("try_clients") == "yes":
        try_other_clients(agent)

    amount = sweep_amount(balance, price, Decimal(agent.settings.get("floor_usd", "100")),
                          Decimal(agent.settings.get("sweep_percent", "10")))
    if amount == 0:
        agent.log("below the floor: nothing to sweep")
        return
    sent = agent.sign_and_send({
        "network": NETWORK,
        "request": {"to_address": agent.settings["savings"], "data": "0x", "value": str(amount)},
    })
    if sent.success:
        agent.log(f"swept {amount} wei: {sent.data.tx_hash}")
    else:
        agent.log(f"sweep of {amount} wei refused: {sent.error}", error=True)


def try_other_clients(agent: AgentContext) -> None:
    """The same GET with the other usual clients, each as its docs show it."""
    url = agent.settings["price_url"]
    clients = {
        "httpx": lambda: httpx.get(url, timeout=20).json(),
        "urllib": lambda: json.loads(urllib.request.urlopen(url, timeout=20).read()),
        "aiohttp": lambda: asyncio.run(_aiohttp_get(url)),
    }
    for name, fetch in clients.items():
        try:
            agent.log(f"{name}: price of ETH {fetch()['coins'][ETH]['price']}")
        except Exception as exc:  # noqa: BLE001 — each client's failure is reported, not fatal
            agent.log(f"{name}: failed: {type(exc).__name__}: {exc}", error=True)


async def _aiohttp_get(url: str) -> dict:
    # As written for a host with a network: no trust_env; the sandbox's aiohttp reads the proxy variables by default.
    async with aiohttp.ClientSession() as session, session.get(url, timeout=aiohttp.ClientTimeout(total=20)) as reply:
        return await reply.json()


def unwind(agent: AgentContext, positions: list) -> None:
    agent.log(f"{len(positions)} positions: nothing to close")
