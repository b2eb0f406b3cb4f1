"""A Hyperliquid account read as the "chain" of a session whose starting asset is on
hypercore:perp or hypercore:spot (USDC, in Circuit's units: 8 decimals).

Starting a session reads the account's USDC to check the allocation, as for any chain.
Reconciliation leaves these accounts alone: a trading account's value moves with every
price, so a shortfall there is not funds that left some other way.
"""

from __future__ import annotations

from decimal import Decimal

from orchestrator.actions.venues.hyperliquid import HyperliquidVenue
from orchestrator.chains import SimulationFailed
from orchestrator.errors import Refused

USDC = "USDC"
# Circuit counts Hyperliquid USDC in 8 decimals.
USDC_UNITS = Decimal(10) ** 8


class HypercoreAccount:
    wallet_type = "ethereum"
    native_asset = USDC
    reconciled = False

    def __init__(self, network: str, venue: HyperliquidVenue) -> None:
        self.network = network
        self._venue = venue

    async def balance(self, address: str) -> int:
        try:
            if self.network == "hypercore:spot":
                state = await self._venue.info({"type": "spotClearinghouseState", "user": address})
                usdc = next((b["total"] for b in state["balances"] if b["coin"] == USDC), "0")
            else:
                # What the account could move or trade with now.
                usdc = (await self._venue.info({"type": "clearinghouseState", "user": address}))["withdrawable"]
        except Refused as refused:
            raise SimulationFailed(refused.message) from None
        return int(Decimal(usdc) * USDC_UNITS)

    async def token_balance(self, token: str, owner: str) -> int:
        if token.upper() not in (USDC, ""):
            raise SimulationFailed(f"{self.network} sessions start with USDC; {token!r} is not an asset here")
        return await self.balance(owner)

    def transaction_url(self, tx_hash: str) -> str | None:
        return None
