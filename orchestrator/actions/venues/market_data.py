"""Recorded market data: venues' public reads (Hyperliquid's mids and L2 books) sampled on a
schedule and kept, so that a backtest by time (on hypercore:*) fills against the market as
it was at each of its steps (docs/api.md, "Backtests"), where the platform has it.

Only public data is read (no account, no signature). It is bounded: the series are the
operator's (`[market_data] hyperliquid_coins`), a sample is taken at most once per half
`every_seconds` per series whatever the number of replicas, an answer of more than
MAX_ANSWER_BYTES of JSON is not kept (said in the log), answers are stored compressed, and
`[retention] market_data_days` prunes them. A read answers the newest sample at or before a
time, if it is at most `max_age` old: a backtest never fills against a book from long before
its step (or after it: a sample is dated when its answer came, so it shows the market at or
before its date). Listing the series reads the whole (series, time) index: it is done at most once per
SERIES_CACHE_SECONDS, whoever asks.
"""

from __future__ import annotations

import asyncio
import json
import logging
import time
import zlib
from collections.abc import Sequence
from dataclasses import dataclass
from datetime import datetime, timedelta

from sqlalchemy import func, select
from sqlalchemy.orm import Session

from orchestrator.actions.venues.hyperliquid import HyperliquidVenue
from orchestrator.errors import Refused
from orchestrator.store import Database, MarketSampleRow, utcnow

log = logging.getLogger("corral.market_data")

HYPERLIQUID = "hyperliquid"
# A book of the venue's 20 levels a side is about 2 KB of JSON; all mids about 4 KB per 100 coins.
MAX_ANSWER_BYTES = 256 * 1024
SERIES_CACHE_SECONDS = 10.0


def series_name(request: dict) -> str:
    """A public read as a series: "allMids", or "l2Book BTC"."""
    coin = request.get("coin")
    return f"{request['type']} {coin}" if coin else str(request["type"])


@dataclass(frozen=True)
class Series:
    """What the platform holds of one series."""

    venue: str
    series: str
    first_at: datetime
    last_at: datetime
    samples: int


class MarketData:
    """The recorded samples: `keep` one, read the one `at` a time, list the `series`."""

    def __init__(self, db: Database, max_age: timedelta, min_interval: timedelta = timedelta(seconds=30)) -> None:
        self._db = db
        self.max_age = max_age
        self._min_interval = min_interval
        self._series: tuple[float, list[Series]] | None = None

    async def keep(self, venue: str, series: str, answer: object, at: datetime) -> bool:
        """Stores `answer` as the sample of `series` whose answer came at `at`; False when it is
        too large, or another replica kept one less than the interval before. (Serialized and
        compressed in the database's thread, off the event loop.)"""

        def store(db: Session) -> bool:
            data = json.dumps(answer, separators=(",", ":")).encode()
            if len(data) > MAX_ANSWER_BYTES:
                log.warning("market data: %s %s answered %d bytes, more than %d: not kept", venue, series, len(data), MAX_ANSWER_BYTES)
                return False
            compressed = zlib.compress(data, 6)
            last = db.scalar(select(func.max(MarketSampleRow.sampled_at)).where(
                MarketSampleRow.venue == venue, MarketSampleRow.series == series, MarketSampleRow.sampled_at > at - self._min_interval))
            if last is not None:
                return False
            db.add(MarketSampleRow(venue=venue, series=series, sampled_at=at, answer=compressed))
            db.commit()
            return True

        return await self._db.run(store)

    async def at(self, venue: str, series: str, when: datetime) -> object | None:
        """The newest sample of `series` at or before `when` (naive UTC), if at most `max_age`
        old; None otherwise."""

        def read(db: Session) -> tuple[datetime, bytes] | None:
            row = db.execute(select(MarketSampleRow.sampled_at, MarketSampleRow.answer).where(
                MarketSampleRow.venue == venue, MarketSampleRow.series == series, MarketSampleRow.sampled_at <= when)
                .order_by(MarketSampleRow.sampled_at.desc()).limit(1)).first()
            return None if row is None else (row[0], row[1])

        found = await self._db.run(read)
        if found is None or when - found[0] > self.max_age:
            return None
        inflated = zlib.decompressobj()
        data = inflated.decompress(found[1], MAX_ANSWER_BYTES + 1)  # written by `keep` only; bounded all the same
        if len(data) > MAX_ANSWER_BYTES or inflated.unconsumed_tail:
            return None
        return json.loads(data)

    async def series(self, venue: str = "") -> list[Series]:
        """Every series held (read at most once per SERIES_CACHE_SECONDS: it scans the index), or one venue's."""
        if self._series is None or time.monotonic() - self._series[0] > SERIES_CACHE_SECONDS:
            def read(db: Session) -> list[Series]:
                query = (select(MarketSampleRow.venue, MarketSampleRow.series, func.min(MarketSampleRow.sampled_at),
                                func.max(MarketSampleRow.sampled_at), func.count())
                         .group_by(MarketSampleRow.venue, MarketSampleRow.series).order_by(MarketSampleRow.venue, MarketSampleRow.series))
                return [Series(*row) for row in db.execute(query).all()]

            self._series = (time.monotonic(), await self._db.run(read))
        return [held for held in self._series[1] if not venue or held.venue == venue]


class HyperliquidRecorder:
    """Samples Hyperliquid's mids and the L2 books of the operator's coins: `await sample()`
    every `[market_data] every_seconds`."""

    def __init__(self, data: MarketData, venue: HyperliquidVenue, coins: Sequence[str]) -> None:
        self._data = data
        self._venue = venue
        self._coins = list(coins)

    async def sample(self) -> int:
        """Takes one sample of each series; how many were kept. A series the venue refuses
        (an unknown coin) is said in the log and skipped; the others are still taken."""
        markets = await self._venue.markets()
        requests: list[dict] = [{"type": "allMids"}]
        for coin in self._coins:
            try:
                requests.append({"type": "l2Book", "coin": markets.get(coin).mid_key})
            except Refused as refused:
                log.warning("market data: %s", refused.message)
        kept = await asyncio.gather(*(self._sample_one(request) for request in requests))
        return sum(kept)

    async def _sample_one(self, request: dict) -> bool:
        try:
            answer = await self._venue.info(request)
        except (Refused, OSError, TimeoutError, ValueError) as exc:
            log.warning("market data: hyperliquid %s was not read: %s", series_name(request), exc)
            return False
        # Dated when the answer came: it shows the market at or before then, never after (a
        # backtest step at that time sees nothing later than itself).
        return await self._data.keep(HYPERLIQUID, series_name(request), answer, utcnow())
