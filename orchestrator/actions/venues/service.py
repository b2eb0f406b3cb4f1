"""The venues a platform has configured, and the calls that act on them by name.

Acting calls (orders, cancels, transfers, redemptions) have a kind name, so manual mode
can store one as a suggestion (the request's bytes) and run it when approved through the
very same code as auto mode. A paper session's calls go to the venue's paper engine
(`paper_hyperliquid.py`), never to the venue's accounts or exchange.
"""

from __future__ import annotations

from collections.abc import Awaitable, Callable, Mapping
from dataclasses import dataclass, field
from typing import Any, TypeVar

import grpc
from google.protobuf.message import Message

from corral.v1 import runtime_pb2
from orchestrator.actions.venues import hyperliquid, polymarket
from orchestrator.actions.venues.hyperliquid import HyperliquidVenue
from orchestrator.actions.venues.market_data import MarketData
from orchestrator.actions.venues.paper_hyperliquid import PaperHyperliquid
from orchestrator.actions.venues.paper_polymarket import PaperPolymarket
from orchestrator.actions.venues.polymarket import PolymarketVenue
from orchestrator.chains import Chain
from orchestrator.errors import Refused, precondition
from orchestrator.store import Database, SessionRow

Real = TypeVar("Real")
Paper = TypeVar("Paper")

# Suggestion kind -> the runtime request it stores.
ACTIONS: dict[str, type[Message]] = {
    "hl_order": runtime_pb2.HyperliquidPlaceOrderRequest,
    "hl_cancel": runtime_pb2.HyperliquidCancelOrderRequest,
    "hl_transfer": runtime_pb2.HyperliquidTransferRequest,
    "pm_order": runtime_pb2.PolymarketMarketOrderRequest,
    "pm_redeem": runtime_pb2.PolymarketRedeemPositionsRequest,
}


@dataclass
class Venues:
    hyperliquid: HyperliquidVenue | None = None
    polymarket: PolymarketVenue | None = None
    # Where paper sessions' venue accounts are kept (None: paper sessions use no venue), and
    # the chains whose forks hold their collateral (Polymarket's USDC).
    paper_db: Database | None = None
    paper_chains: Mapping[str, Chain] = field(default_factory=dict)
    # The recorded market data backtests by time fill against.
    market_data: MarketData | None = None

    def __post_init__(self) -> None:
        self._paper_hyperliquid = (PaperHyperliquid(self.hyperliquid, self.paper_db, self.market_data)
                                   if self.hyperliquid is not None and self.paper_db is not None else None)
        self._paper_polymarket = (PaperPolymarket(self.polymarket, self.paper_db, self.paper_chains)
                                  if self.polymarket is not None and self.paper_db is not None else None)

    @property
    def paper_hyperliquid(self) -> PaperHyperliquid | None:
        """The Hyperliquid paper engine (backtests by time value their accounts with it)."""
        return self._paper_hyperliquid

    def hyperliquid_for(self, session: SessionRow) -> HyperliquidVenue | PaperHyperliquid:
        return _for_session(session, "Hyperliquid", "hyperliquid", self.hyperliquid, self._paper_hyperliquid)

    def polymarket_for(self, session: SessionRow) -> PolymarketVenue | PaperPolymarket:
        return _for_session(session, "Polymarket", "polymarket", self.polymarket, self._paper_polymarket)

    async def details(self, session: SessionRow, kind: str, request: Message) -> dict:
        """Checks an acting call exactly as running it would (a bad one is refused, nothing is
        stored) and says what the user approving it is shown."""
        if kind == "hl_order":
            action, _ = await self.hyperliquid_for(session).order_action(request)
            return hyperliquid.describe_order(request, action)
        if kind == "hl_cancel":
            await self.hyperliquid_for(session).cancel_action(request)
            return {"venue": "hyperliquid", "action": "cancel", "orderId": request.order_id, "coin": request.coin}
        if kind == "hl_transfer":
            amount = self.hyperliquid_for(session).transfer_amount(request)
            return {"venue": "hyperliquid", "action": "transfer", "amount": amount, "toPerp": request.to_perp,
                    "from": "spot" if request.to_perp else "perp", "to": "perp" if request.to_perp else "spot"}
        if kind == "pm_order":
            self.polymarket_for(session).check_order(request)
            return polymarket.describe_order(request)
        if kind == "pm_redeem":
            venue = self.polymarket_for(session)
            positions = await venue.redeemable(session, list(request.token_ids))  # (a paper session's is refused)
            assert isinstance(venue, PolymarketVenue)
            return {"venue": "polymarket", "action": "redeem_positions", "tokenIds": list(request.token_ids),
                    "positions": [venue.position(p) for p in positions]}
        raise ValueError(f"unknown venue action {kind!r}")

    async def run(self, session: SessionRow, execution_id: int | None, kind: str, request: Message) -> Any:
        """Runs an acting call; returns Circuit's `data`."""
        runners: dict[str, Callable[[], Awaitable[Any]]] = {
            "hl_order": lambda: self.hyperliquid_for(session).place_order(session, execution_id, request),
            "hl_cancel": lambda: self.hyperliquid_for(session).cancel_order(session, execution_id, request),
            "hl_transfer": lambda: self.hyperliquid_for(session).transfer(session, execution_id, request),
            "pm_order": lambda: self.polymarket_for(session).market_order(session, execution_id, request),
            "pm_redeem": lambda: self.polymarket_for(session).redeem_positions(session, execution_id, request),
        }
        return await runners[kind]()

    async def close(self) -> None:
        for venue in (self.hyperliquid, self.polymarket):
            if venue is not None:
                await venue.close()


def _for_session(session: SessionRow, name: str, table: str, real: Real | None, paper: Paper | None) -> Real | Paper:
    """The venue a session's calls go to: the real one, or for a paper session its paper
    engine (never the real venue). A backtest by time of a Hyperliquid agent gets the paper
    engine on the market data the platform recorded (paper_hyperliquid.py); any other backtest
    gets none: its runs are at past blocks while a venue's book is today's, and its thousands
    of runs would spend the venue's request quota."""
    if real is None:
        raise Refused(grpc.StatusCode.UNIMPLEMENTED, f"{name} is not configured on this platform ([{table}] in the orchestrator config)")
    if not session.paper:
        return real
    if session.backtest_every_blocks is not None and not (session.backtest_by_time and table == "hyperliquid"):
        raise precondition(f"a backtest cannot use {name}: its runs are at past blocks, and the platform records no {name} "
                           "market data for them (a backtest by time of a hypercore:* agent fills Hyperliquid orders against "
                           "the market data the platform recorded)")
    if paper is None:
        raise precondition(f"this orchestrator keeps no paper venue accounts: a paper session cannot use {name} here")
    return paper
