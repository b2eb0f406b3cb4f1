"""`corral market-data [--venue hyperliquid]`: the venue market data the platform has recorded
(one line per series: its first and last sample and how many), what a backtest by time of a
hypercore:* agent can run over (`corral session start ... --backtest-from ... --backtest-to ...
--backtest-every ...`)."""

from __future__ import annotations

from corral.v1 import orchestrator_pb2 as pb


def add_parser(sub, common) -> None:
    market_data = sub.add_parser("market-data", parents=[common], help="the venue market data the platform recorded, for backtests by time")
    market_data.add_argument("--venue", default="", help="only this venue's series, e.g. hyperliquid")


def run(api, metadata, args) -> int:
    from corral_cli.client import print_table

    series = api.ListMarketData(pb.ListMarketDataRequest(venue=args.venue), metadata=metadata).series
    print_table(["venue", "series", "first (UTC)", "last (UTC)", "samples"],
                [[s.venue, s.series, f"{s.first_at.ToDatetime():%Y-%m-%d %H:%M:%S}", f"{s.last_at.ToDatetime():%Y-%m-%d %H:%M:%S}", s.samples]
                 for s in series])
    if not series:
        print("the platform records market data for the coins in [market_data] hyperliquid_coins of its config")
    return 0
