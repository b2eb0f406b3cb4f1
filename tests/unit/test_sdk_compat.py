"""The Circuit import names and both API eras: `agent_sdk.Agent`, `circuit_sdk`, helpers,
and the features Corral does not have yet (present, answering "not available")."""

from __future__ import annotations

import json

import grpc
import pytest

import tests.unit.test_sdk_fakes  # noqa: F401  (puts sdk/compat on sys.path)
from sdk.envelopes import Envelope
from sdk.testing import MockRuntime, RpcRefusal, mock_context
from tests.helpers import run_entrypoint


@pytest.fixture
def agent_sdk(monkeypatch):
    import agent_sdk

    monkeypatch.setattr(agent_sdk, "registered_agent", None)
    return agent_sdk


def test_both_import_names_give_the_same_objects(agent_sdk):
    import circuit_sdk
    from agent_sdk.agent_context import AgentContext as FromSubmodule
    from agent_sdk.agent_context import CurrentPosition

    from sdk.context import AgentContext

    assert agent_sdk.AgentContext is AgentContext is FromSubmodule is circuit_sdk.AgentContext
    assert circuit_sdk.SessionPortfolio is agent_sdk.SessionPortfolio and circuit_sdk.Agent is agent_sdk.Agent
    assert CurrentPosition is agent_sdk.CurrentPosition and agent_sdk.BaseResponse is Envelope
    assert agent_sdk.LOCAL_SESSION_SENTINEL == -1


def test_v1_agent_registers_its_functions(agent_sdk, capsys):
    def run(agent):
        pass

    def unwind(agent, positions):
        pass

    agent = agent_sdk.Agent(run_function=run, unwind_function=unwind)
    assert agent_sdk.registered_agent is agent
    assert (agent.run_function, agent.unwind_function) == (run, unwind)
    handler = agent.get_handler()
    response = handler({"endpoint": "run", "body": {}}, None)
    assert response["statusCode"] == 501 and json.loads(response["body"])["success"] is False
    agent.run()  # Circuit's local server: on Corral it only says who starts agents
    assert "started by the platform" in capsys.readouterr().out


def test_v0_names_and_an_agent_without_unwind(agent_sdk):
    def execute(agent):
        pass

    def stop(agent):
        pass

    old = agent_sdk.Agent(execution_function=execute, stop_function=stop)
    assert (old.run_function, old.unwind_function, old.execution_function, old.stop_function) == (execute, stop, execute, stop)
    positional = agent_sdk.Agent(execute, stop)
    assert (positional.run_function, positional.unwind_function) == (execute, stop)
    only_run = agent_sdk.Agent(run_function=execute)
    assert only_run.unwind_function is None and agent_sdk.registered_agent is only_run


def test_network_helpers(agent_sdk):
    assert agent_sdk.is_ethereum_network("ethereum:137") and not agent_sdk.is_ethereum_network("solana")
    assert agent_sdk.is_solana_network("solana") and not agent_sdk.is_solana_network("ethereum:1")
    assert agent_sdk.get_chain_id_from_network("ethereum:42161") == 42161
    for bad in ("solana", "ethereum:abc", "hypercore:perp"):
        with pytest.raises(ValueError):
            agent_sdk.get_chain_id_from_network(bad)


def test_swidge_is_swap_and_typed_errors_keep_their_code():
    from corral.v1 import runtime_pb2

    stale = RpcRefusal(grpc.StatusCode.FAILED_PRECONDITION, "QUOTE_STALE: quote q1 expired at 10:00:00 UTC; ask for a new one")
    result = runtime_pb2.SwapExecuteResponse()
    result.result.update({"status": "failure", "in": {"network": "ethereum:1", "txs": ["0xaa"]}, "error": "step 2 of 2 failed"})
    fake = MockRuntime(SwapExecute=lambda request: result if request.quote["engine"] == "ok" else (_ for _ in ()).throw(stale))
    ctx = mock_context(fake)
    assert ctx.swidge is ctx.swap
    refused = ctx.swap.execute({"engine": "stale"})
    assert (refused.success, refused.error, refused["code"]) == (False, "quote q1 expired at 10:00:00 UTC; ask for a new one", "QUOTE_STALE")
    failed = ctx.swidge.execute({"engine": "ok"})
    assert failed.success is False and failed.data.status == "failure" and failed.data.in_ == {"network": "ethereum:1", "txs": ["0xaa"]}
    bulk = ctx.swap.execute([{"engine": "ok"}, {"engine": "stale"}])
    assert [e.success for e in bulk] == [False, False] and bulk[1]["code"] == "QUOTE_STALE"
    assert ctx.swap.execute([]) == Envelope(success=False, error="No quote provided")
    assert ctx.swap.execute(None) == Envelope(success=False, error="No quote provided")


def test_platform_methods_send_circuits_requests_and_return_venue_data():
    from corral.v1 import runtime_pb2

    order = runtime_pb2.VenueResponse(data_json='{"orderId": 9007199254740993, "coin": "BTC", "status": "filled", "filled": "0.001"}')
    fake = MockRuntime(HyperliquidPlaceOrder=order, PolymarketMarketOrder=runtime_pb2.VenueResponse(
        suggested=True, suggestion_id=4, suggestion_details={"venue": "polymarket"}))
    ctx = mock_context(fake)
    placed = ctx.platforms.hyperliquid.placeOrder({"symbol": "BTC", "side": "buy", "size": 0.001, "price": 61000.5, "market": "perp",
                                                   "type": "take_profit", "triggerPrice": 60000, "reduceOnly": True})
    # Integers stay integers (a protobuf Value would have made the order id a double).
    assert placed.success and placed.data.orderId == 9007199254740993 and placed.data["order_id"] == 9007199254740993
    [sent] = fake.requests("HyperliquidPlaceOrder")
    assert (sent.coin, sent.size, sent.price, sent.trigger_price, sent.reduce_only) == ("BTC", "0.001", "61000.5", "60000", True)
    assert sent.type == runtime_pb2.HYPERLIQUID_ORDER_TYPE_TAKE_PROFIT and sent.side == runtime_pb2.ORDER_SIDE_BUY
    suggested = ctx.platforms.polymarket.market_order(tokenId=123, size="5", side="BUY")
    assert suggested.data.suggested and suggested.data.suggestionId == 4 and suggested.data.details == {"venue": "polymarket"}
    ctx.platforms.hyperliquid.midpoint_price(["BTC", "ETH"], dex="spot")
    [read] = fake.requests("HyperliquidRead")
    assert list(read.coins) == ["BTC", "ETH"] and read.dex == "spot" and read.kind == runtime_pb2.HYPERLIQUID_READ_KIND_MIDPOINT_PRICE
    # Bad requests are answered by the SDK itself, with what to fix, and send nothing.
    for bad in ({"coin": "BTC", "side": "long", "size": 1, "price": 1}, {"coin": "BTC", "side": "buy", "size": 1},
                {"side": "buy", "size": 1, "price": 1}, {"coin": "BTC", "side": "buy", "size": 1, "price": 1, "market": "futures"}):
        refused = ctx.platforms.hyperliquid.place_order(bad)
        assert refused.success is False and refused.error
    assert len(fake.requests("HyperliquidPlaceOrder")) == 1
    assert ctx.platforms.hyperliquid.transfer({"amount": 5}).error == "ValueError: toPerp is required: true moves spot -> perp, false perp -> spot"
    # A method or venue of a newer SDK: still an envelope, never an AttributeError.
    assert ctx.platforms.hyperliquid.send_usdc({"destination": "0x0", "amount": "1"}).error == (
        "platforms.hyperliquid.send_usdc is not available on this platform yet")
    assert ctx.platforms.kalshi.market_order({}).error == "platforms.kalshi.market_order is not available on this platform yet"


def test_transactions_returns_the_ledger_in_circuits_asset_change_shape():
    from corral.v1 import common_pb2, runtime_pb2

    change = common_pb2.AssetChange(
        network="ethereum:1", transaction_hash="0x" + "ab" * 32, from_address="0x" + "11" * 20, to_address="0x" + "22" * 20,
        amount="250000", token_address="0x" + "33" * 20, token_type="ERC20", timestamp_ms=1_700_000_000_000,
    )
    fake = MockRuntime(ListAssetChanges=runtime_pb2.ListAssetChangesResponse(changes=[change]))
    result = mock_context(fake).transactions()
    assert result.success
    [entry] = result.data
    assert (entry.amount, entry.tokenType, entry.tokenAddress, entry.tokenId, entry.tokenUsdPrice) == ("250000", "ERC20", "0x" + "33" * 20, None, None)
    assert entry["transactionHash"] == "0x" + "ab" * 32 and entry.timestamp == "2023-11-14T22:13:20Z"


def test_a_v2_10_style_agent_runs_against_a_context(agent_sdk):
    """What a current-docs agent does, end to end against the fake socket."""
    from agent_sdk import AgentContext, SessionPortfolio

    def run(agent: AgentContext) -> None:
        portfolio: SessionPortfolio = agent.portfolio
        for balance in portfolio.balances:
            agent.log(f"{balance.symbol} {balance.amountRaw}")
        agent.memory.set("last", json.dumps({"n": len(portfolio.balances)}))
        quote = agent.swap.quote({"amount": "1"})
        if not quote.success:
            agent.log(quote.error, error=True)

    fake = MockRuntime(SwapQuote=RpcRefusal(grpc.StatusCode.INVALID_ARGUMENT, "INVALID_REQUEST: from: Field required"))
    ctx = mock_context(fake, currentPositions=[{"network": "ethereum:1", "assetAddress": "0x" + "e" * 40, "currentQty": "9"}])
    run(ctx)
    logged = [e.message for r in fake.requests("AppendLogs") for e in r.entries]
    assert logged == ["ETH 9", "from: Field required"]
    assert fake.requests("SetMemory")[0].value == '{"n": 1}'


# -- through the real in-container entrypoint, against the socket stand-in -----------------


def _run_entrypoint(monkeypatch, agent_dir, command: int, fake: MockRuntime) -> int:
    from corral.v1 import common_pb2, runtime_pb2

    fake.responses.setdefault("GetExecutionContext", runtime_pb2.GetExecutionContextResponse(
        session_id=4, session_wallet_address="0x" + "ab" * 20, execution_mode=common_pb2.EXECUTION_MODE_AUTO, command=command,
        current_positions=[common_pb2.Position(network="ethereum:1", asset_address="0x" + "e" * 40, avg_unit_cost="0", current_qty="5")],
    ))
    fake.responses["GetExecutionContext"].settings.update({"count": 3, "ratio": 0.25})
    return run_entrypoint(monkeypatch, agent_dir, fake)


def _outcome(fake: MockRuntime) -> tuple[bool, str | None]:
    (report,) = fake.requests("CompleteExecution")
    return report.success, report.error if report.HasField("error") else None


def test_v1_agent_main_py_runs_and_unwinds_through_the_entrypoint(agent_sdk, monkeypatch, tmp_path):
    from corral.v1 import common_pb2

    (tmp_path / "main.py").write_text(
        "from agent_sdk import Agent, AgentContext\n"
        "from agent_sdk.agent_context import CurrentPosition\n"
        "def run(agent: AgentContext) -> None:\n"
        "    agent.log(f\"{agent.settings['count'] * 2} {agent.settings['ratio']} {agent.currentPositions[0].currentQty}\")\n"
        "    live = agent.get_current_positions()\n"
        "    agent.log(f'pending={live.data.hasPendingTxs} swidge={agent.swidge.quote({}).success}')\n"
        "def unwind(agent: AgentContext, positions: list[CurrentPosition]) -> None:\n"
        "    agent.log(f'unwinding {len(positions)}')\n"
        "agent = Agent(run_function=run, unwind_function=unwind)\n"
        "handler = agent.get_handler()\n"
        "if __name__ == '__main__':\n"
        "    agent.run()\n"
    )
    fake = MockRuntime(SwapQuote=RpcRefusal(grpc.StatusCode.INVALID_ARGUMENT, "INVALID_REQUEST: from: Field required"))
    assert _run_entrypoint(monkeypatch, tmp_path, common_pb2.EXECUTION_COMMAND_RUN, fake) == 0
    assert _outcome(fake) == (True, None)
    # An integer setting arrives as an int (6, not 6.0), as over Circuit's JSON wire.
    assert [e.message for r in fake.requests("AppendLogs") for e in r.entries] == ["6 0.25 5", "pending=False swidge=False"]
    unwind = MockRuntime()
    assert _run_entrypoint(monkeypatch, tmp_path, common_pb2.EXECUTION_COMMAND_UNWIND, unwind) == 0
    assert [e.message for r in unwind.requests("AppendLogs") for e in r.entries] == ["unwinding 1"]


def test_an_uncaught_agent_exception_fails_the_execution(agent_sdk, monkeypatch, tmp_path):
    from corral.v1 import common_pb2

    (tmp_path / "main.py").write_text(
        "def run(agent):\n"
        "    agent.memory.set('k', 5)  # an envelope, not an exception\n"
        "    raise ValueError('the strategy found no price')\n"
    )
    fake = MockRuntime()
    assert _run_entrypoint(monkeypatch, tmp_path, common_pb2.EXECUTION_COMMAND_RUN, fake) == 1
    assert _outcome(fake) == (False, "ValueError: the strategy found no price")
    assert fake.requests("SetMemory") == []
