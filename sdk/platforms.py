"""The parts of Circuit's agent API that need platform features Corral does not have yet:
Hyperliquid and Polymarket (swaps are in `sdk.swap`).

They are present under Circuit's method names (snake_case and camelCase) so agents
written for Circuit import and call them unchanged; every call returns
`{success: False, error: "<feature> is not available on this platform yet"}` and never
raises. Any other public name on these namespaces does the same instead of raising
AttributeError.
"""

from __future__ import annotations

from typing import Any, Callable

from sdk.envelopes import Envelope, not_available


class _UnavailableApi:
    """A namespace whose every method answers "not available"."""

    _name = "platform"
    _methods: tuple[str, ...] = ()

    def __init__(self) -> None:
        for method in self._methods:
            setattr(self, method, self._unavailable(method))

    def _unavailable(self, method: str) -> Callable[..., Envelope[Any]]:
        feature = f"{self._name}.{method}"

        def call(*args: Any, **kwargs: Any) -> Envelope[Any]:
            return not_available(feature)

        call.__name__ = method
        call.__doc__ = f"Circuit's `{feature}`; not available on this platform yet (returns success=False)."
        return call

    def __getattr__(self, name: str) -> Any:
        # Only reached for names not set in __init__: a method of a newer SDK we have not listed.
        if name.startswith("_"):
            raise AttributeError(name)
        return self._unavailable(name)

    def __repr__(self) -> str:
        return f"<{self._name}: not available on this platform yet>"


class HyperliquidApi(_UnavailableApi):
    _name = "platforms.hyperliquid"
    _methods = (
        "place_order", "placeOrder",
        "order",
        "delete_order", "deleteOrder",
        "balances",
        "positions",
        "open_orders", "openOrders",
        "order_fills", "orderFills",
        "orders",
        "transfer",
        "liquidations",
        "midpoint_price", "midpointPrice",
        "send_usdc", "sendUsdc",
        "account_history", "accountHistory",
    )


class PolymarketApi(_UnavailableApi):
    _name = "platforms.polymarket"
    _methods = (
        "market_order", "marketOrder",
        "redeem_positions", "redeemPositions",
        "positions",
    )


class PlatformsApi:
    """`agent.platforms`: `.hyperliquid` and `.polymarket`; any other venue name gives a
    namespace whose calls all answer "not available"."""

    def __init__(self) -> None:
        self.hyperliquid = HyperliquidApi()
        self.polymarket = PolymarketApi()

    def __getattr__(self, name: str) -> Any:
        if name.startswith("_"):
            raise AttributeError(name)
        api = _UnavailableApi()
        api._name = f"platforms.{name}"
        return api
