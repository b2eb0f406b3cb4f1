"""Recorded market data (orchestrator/actions/venues/market_data.py) on a real SQLite database:
a read at a time answers the newest sample at or before it, never a later one and never one
older than the bound; samples are taken at most once per interval whatever the number of
recorders; an oversized answer is not kept; the recorder samples the mids and the operator's
coins' books by the venue's own keys, skipping a coin the venue does not list."""

from __future__ import annotations

import asyncio
from datetime import datetime, timedelta

import pytest

from orchestrator.actions.venues.hyperliquid import Market, Markets
from orchestrator.actions.venues.market_data import HYPERLIQUID, MAX_ANSWER_BYTES, HyperliquidRecorder, MarketData, series_name
from orchestrator.store import Database

T0 = datetime(2026, 11, 30, 12, 0, 0)


@pytest.fixture
def data(tmp_path) -> MarketData:
    return MarketData(Database(f"sqlite:///{tmp_path / 'samples.db'}"), max_age=timedelta(minutes=5), min_interval=timedelta(seconds=30))


def run(awaitable):
    return asyncio.run(awaitable)


def test_a_read_answers_the_newest_sample_at_or_before_its_time_within_the_bound(data):
    assert run(data.keep(HYPERLIQUID, "allMids", {"BTC": "60000"}, T0))
    assert run(data.keep(HYPERLIQUID, "allMids", {"BTC": "61000"}, T0 + timedelta(minutes=1)))
    assert run(data.at(HYPERLIQUID, "allMids", T0 - timedelta(seconds=1))) is None  # nothing recorded yet then
    assert run(data.at(HYPERLIQUID, "allMids", T0)) == {"BTC": "60000"}
    assert run(data.at(HYPERLIQUID, "allMids", T0 + timedelta(seconds=59))) == {"BTC": "60000"}  # never the later one
    assert run(data.at(HYPERLIQUID, "allMids", T0 + timedelta(minutes=6))) == {"BTC": "61000"}
    assert run(data.at(HYPERLIQUID, "allMids", T0 + timedelta(minutes=6, seconds=1))) is None  # older than 5 minutes
    assert run(data.at(HYPERLIQUID, "l2Book BTC", T0)) is None  # another series


def test_a_series_is_sampled_at_most_once_per_interval_and_an_oversized_answer_is_not_kept(data):
    assert run(data.keep(HYPERLIQUID, "allMids", {"BTC": "1"}, T0))
    assert not run(data.keep(HYPERLIQUID, "allMids", {"BTC": "2"}, T0 + timedelta(seconds=10)))  # another replica's, too soon
    assert run(data.at(HYPERLIQUID, "allMids", T0 + timedelta(seconds=20))) == {"BTC": "1"}
    assert not run(data.keep(HYPERLIQUID, "l2Book BTC", {"levels": ["x" * MAX_ANSWER_BYTES]}, T0))
    [series] = run(data.series())
    assert (series.venue, series.series, series.first_at, series.last_at, series.samples) == (HYPERLIQUID, "allMids", T0, T0, 1)


class Venue:
    def __init__(self) -> None:
        self.asked: list[dict] = []

    async def markets(self) -> Markets:
        return Markets({"BTC": Market("BTC", 0, 5, False, "BTC", 40), "PURR/USDC": Market("PURR/USDC", 10000, 0, True, "@0")}, {}, 0.0)

    async def info(self, request: dict) -> object:
        self.asked.append(request)
        return {"BTC": "60000"} if request["type"] == "allMids" else {"coin": request["coin"], "levels": [[], []]}


def test_the_recorder_samples_the_mids_and_each_listed_coins_book_by_the_venues_key(data, caplog):
    venue = Venue()
    recorder = HyperliquidRecorder(data, venue, ["BTC", "PURR/USDC", "NOPE"])  # type: ignore[arg-type]
    assert run(recorder.sample()) == 3
    assert sorted(series_name(r) for r in venue.asked) == ["allMids", "l2Book @0", "l2Book BTC"]
    assert "'NOPE' is not a coin on the venue" in caplog.text
    assert sorted(s.series for s in run(data.series(HYPERLIQUID))) == ["allMids", "l2Book @0", "l2Book BTC"]


def test_sampling_that_would_spend_the_venues_rate_limit_or_miss_steps_is_refused_at_config():
    from pydantic import ValidationError

    from orchestrator.config import MarketDataConfig

    assert MarketDataConfig(hyperliquid_coins=["BTC"], every_seconds=1)  # 240 weight a minute
    with pytest.raises(ValidationError, match="6120 request weight a minute, more than 600: raise every_seconds or list fewer coins"):
        MarketDataConfig(hyperliquid_coins=[f"C{n}" for n in range(50)], every_seconds=1)
    with pytest.raises(ValidationError, match="max_age_seconds must be at least every_seconds"):
        MarketDataConfig(hyperliquid_coins=["BTC"], every_seconds=600, max_age_seconds=300)
