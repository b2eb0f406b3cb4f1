"""`corral suggestions` says in one line what approving each suggestion would do."""

from __future__ import annotations

import pytest

from corral.v1 import orchestrator_pb2 as pb
from corral_cli.client import describe_suggestion


@pytest.mark.parametrize("kind, details, line", [
    (pb.SUGGESTION_KIND_TRANSACTION, {"value": "1000", "to": "0xdead"}, "1000 wei → 0xdead"),
    (pb.SUGGESTION_KIND_TRANSACTION, {"value": "0", "to": "0xt0", "decoded": {
        "function": "transfer(address,uint256)", "extra_bytes": 4.0,
        "arguments": [{"name": "to", "type": "address", "value": "0xbeef"}, {"name": "amount", "type": "uint256", "value": "5"}]}},
     "0 wei → 0xt0, calling transfer(to=0xbeef, amount=5) + 4 extra bytes"),
    (pb.SUGGESTION_KIND_TRANSACTION, {"value": "0", "to": "0xt0", "decoded": {"selector": "0x12345678", "function": None}},
     "0 wei → 0xt0, calling unknown function 0x12345678"),
    (pb.SUGGESTION_KIND_TRANSACTION, {"value": "0", "to": "0xt0", "decoded": {
        "function": "transfer(address,uint256)", "note": "padding", "arguments": [{"name": "to", "value": "0xbeef"}]}},
     "0 wei → 0xt0, calling transfer(to=0xbeef) [padding]"),
    (pb.SUGGESTION_KIND_TRANSACTION, {"value": "0", "to": "0xt0", "decoded": {"function": "transfer(address,uint256)", "error": "cut short"}},
     "0 wei → 0xt0, calling transfer(address,uint256) (cut short)"),
    (pb.SUGGESTION_KIND_MESSAGE, {"messageType": "eip712"}, "eip712 message"),
    (pb.SUGGESTION_KIND_SWAP, {"send": {"amount": "100", "symbol": "USDC"}, "receive": {"symbol": "WETH"}}, "swap 100 USDC → WETH"),
    (pb.SUGGESTION_KIND_HYPERLIQUID_ORDER, {"type": "stop", "side": "sell", "size": "0.1", "coin": "BTC", "price": "54000",
                                            "triggerPrice": "55000"}, "hyperliquid stop sell 0.1 BTC @ 54000 trigger 55000"),
    (pb.SUGGESTION_KIND_HYPERLIQUID_CANCEL, {"orderId": 42, "coin": "ETH"}, "hyperliquid cancel order 42 (ETH)"),
    (pb.SUGGESTION_KIND_HYPERLIQUID_TRANSFER, {"amount": "5", "from": "spot", "to": "perp"}, "hyperliquid 5 USDC spot → perp"),
    (pb.SUGGESTION_KIND_POLYMARKET_ORDER, {"side": "BUY", "size": "6", "sizeUnit": "USD", "tokenId": "7"},
     "polymarket BUY 6 USD of token 7"),
    (pb.SUGGESTION_KIND_POLYMARKET_REDEEM, {"tokenIds": ["7", "8"]}, "polymarket redeem 7, 8"),
])
def test_each_kind_of_suggestion_reads_as_what_it_does(kind, details, line):
    assert describe_suggestion(kind, details) == line
