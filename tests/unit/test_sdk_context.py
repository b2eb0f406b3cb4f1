"""AgentContext against an in-process stand-in for the socket: logging, positions and
portfolio, transactions and messages, response access, and manual construction."""

from __future__ import annotations

import json

import grpc
import pytest
from pydantic import BaseModel

import tests.unit.test_sdk_fakes  # noqa: F401  (puts sdk/compat, where agent_sdk lives, on the path)
from corral.v1 import common_pb2, runtime_pb2
from sdk.context import AgentContext
from sdk.envelopes import Envelope, LogResponse, SessionPortfolio
from sdk.testing import MockRuntime, RpcRefusal, mock_context

WALLET = "0x" + "ab" * 20
NATIVE_EVM = "0xeeeeeeeeeeeeeeeeeeeeeeeeeeeeeeeeeeeeeeee"
USDC_POLYGON = "0x2791Bca1f2de4661ED88A30C99A7a9449Aa84174"


def stored_logs(fake: MockRuntime) -> list[tuple[int, str]]:
    return [(e.level, e.message) for r in fake.requests("AppendLogs") for e in r.entries]


# -- log ------------------------------------------------------------------------------


def test_log_prints_to_stdout_and_stores_an_info_line(capsys):
    fake = MockRuntime()
    result = mock_context(fake).log("bought 1 ETH")
    assert isinstance(result, LogResponse) and result.success and result.error is None
    out = capsys.readouterr()
    assert out.out == "bought 1 ETH\n" and out.err == ""
    assert stored_logs(fake) == [(runtime_pb2.LOG_LEVEL_INFO, "bought 1 ETH")]


def test_log_error_goes_to_stderr_and_is_stored_as_an_error(capsys):
    fake = MockRuntime()
    assert mock_context(fake).log("no price", error=True).success
    out = capsys.readouterr()
    assert out.out == "" and out.err == "no price\n"
    assert stored_logs(fake) == [(runtime_pb2.LOG_LEVEL_ERROR, "no price")]


def test_debug_log_is_console_only(capsys):
    fake = MockRuntime()
    ctx = mock_context(fake)
    assert ctx.log("just for me", debug=True).success
    assert ctx.log("bad, locally", error=True, debug=True).success
    assert ctx.log("options, TypeScript style", {"debug": True}).success
    out = capsys.readouterr()
    assert out.out == "just for me\noptions, TypeScript style\n" and out.err == "bad, locally\n"
    assert fake.calls == []


def test_stored_copy_is_cut_to_250_characters_and_the_console_keeps_all(capsys):
    fake = MockRuntime()
    ctx = mock_context(fake)
    ctx.log("x" * 250)
    ctx.log("y" * 251)
    ctx.log("z" * 5000)
    stored = [message for _, message in stored_logs(fake)]
    assert stored[0] == "x" * 250
    assert stored[1] == "y" * 247 + "..." and len(stored[1]) == 250
    assert stored[2] == "z" * 247 + "..."
    assert "z" * 5000 in capsys.readouterr().out


class Trade(BaseModel):
    coin: str
    size: float


def test_objects_are_pretty_printed_on_the_console_and_stored_as_compact_json(capsys):
    fake = MockRuntime()
    ctx = mock_context(fake)
    ctx.log({"coin": "ETH", "sizes": [1, 2]})
    ctx.log([1, "two"])
    ctx.log(Trade(coin="BTC", size=0.5))
    out = capsys.readouterr().out
    assert json.dumps({"coin": "ETH", "sizes": [1, 2]}, indent=2) in out
    assert json.dumps({"coin": "BTC", "size": 0.5}, indent=2) in out
    assert [m for _, m in stored_logs(fake)] == ['{"coin": "ETH", "sizes": [1, 2]}', '[1, "two"]', '{"coin": "BTC", "size": 0.5}']


def test_a_long_object_is_truncated_after_serialization():
    fake = MockRuntime()
    mock_context(fake).log({"k": "v" * 400})
    (_, stored), = stored_logs(fake)
    assert len(stored) == 250 and stored.startswith('{"k": "vvv') and stored.endswith("...")


def test_a_failed_delivery_is_an_envelope_not_an_exception(capsys):
    fake = MockRuntime(AppendLogs=RpcRefusal(grpc.StatusCode.UNAVAILABLE, "socket closed"))
    result = mock_context(fake).log("hello")
    assert result == LogResponse(success=False, error="socket closed")
    assert capsys.readouterr().out == "hello\n"  # the console copy still printed


def test_unprintable_messages_still_log(capsys):
    class Broken:
        def __str__(self):
            raise RuntimeError("no")

        def __repr__(self):
            raise RuntimeError("no")

    circular: list = []
    circular.append(circular)
    fake = MockRuntime()
    ctx = mock_context(fake)
    assert ctx.log(Broken()).success
    assert ctx.log(circular).success
    assert ctx.log("\ud800 lone surrogate").success
    assert [m for _, m in stored_logs(fake)] == ["<unprintable Broken>", "[[...]]", "? lone surrogate"]


# -- positions and portfolio ------------------------------------------------------------


def test_get_current_positions_returns_live_positions_and_has_pending_txs():
    live = runtime_pb2.GetCurrentPositionsResponse(
        positions=[common_pb2.Position(network="ethereum:1", asset_address=NATIVE_EVM, avg_unit_cost="0", current_qty="42")],
        has_pending_txs=True,
    )
    ctx = mock_context(MockRuntime(GetCurrentPositions=live))
    result = ctx.get_current_positions()
    assert result.success and result.data.hasPendingTxs is True
    assert result.data.has_pending_txs is True and result["data"]["hasPendingTxs"] is True
    (position,) = result.data.positions
    assert (position.network, position.assetAddress, position.currentQty, position.tokenId) == ("ethereum:1", NATIVE_EVM, "42", None)
    assert position.polymarketMetadata is None and position.avgUnitCost == "0"
    assert ctx.getCurrentPositions().data == result.data  # the TypeScript name


def test_portfolio_is_built_from_the_positions_snapshot():
    ctx = mock_context(
        currentPositions=[
            {"network": "ethereum:1", "assetAddress": NATIVE_EVM, "currentQty": "1000"},
            {"network": "ethereum:137", "assetAddress": USDC_POLYGON, "currentQty": "2500000"},
            {"network": "ethereum:137", "assetAddress": "0x" + "12" * 20, "tokenId": "99", "currentQty": "3"},
            {"network": "solana", "assetAddress": "11111111111111111111111111111111", "currentQty": "5"},
        ]
    )
    portfolio = ctx.portfolio
    assert isinstance(portfolio, SessionPortfolio) and portfolio.positions == []
    eth, usdc, unknown, sol = portfolio.balances
    assert (eth.network, eth.tokenAddress, eth.amountRaw, eth.decimals, eth.symbol, eth.assetClass) == (
        "ethereum:1", NATIVE_EVM, "1000", 18, "ETH", "spot")
    assert eth.assetKey == f"ethereum:1:{NATIVE_EVM}" and eth.valueUsd is None and eth.tokenId is None
    assert (usdc.symbol, usdc.decimals, usdc.assetClass, usdc.amountRaw) == ("USDC.e", 6, "cash", "2500000")
    assert usdc.tokenAddress == USDC_POLYGON  # as given; only the key is lower-cased
    assert (unknown.symbol, unknown.decimals, unknown.tokenId, unknown.assetKey) == (None, None, "99", f"ethereum:137:{'0x' + '12' * 20}:99")
    assert (sol.symbol, sol.decimals) == ("SOL", 9)
    assert portfolio["balances"][0]["amount_raw"] == "1000"  # dict access, snake_case alias


def test_a_context_built_from_a_portfolio_also_has_current_positions():
    portfolio = {"balances": [{"network": "ethereum:1", "assetKey": "k", "tokenAddress": NATIVE_EVM, "decimals": 18,
                               "amountRaw": "7", "assetClass": "spot", "somethingNew": 1}], "positions": []}
    ctx = mock_context(portfolio=portfolio)
    assert ctx.portfolio.balances[0].somethingNew == 1  # unknown response keys are kept
    (position,) = ctx.currentPositions
    assert (position.network, position.assetAddress, position.currentQty) == ("ethereum:1", NATIVE_EVM, "7")


# -- construction --------------------------------------------------------------------


def test_manual_construction_as_circuit_documents_it():
    ctx = AgentContext(
        sessionId=123,
        sessionWalletAddress=WALLET,
        currentPositions=[{"network": "ethereum:1", "assetAddress": NATIVE_EVM, "tokenId": None, "avgUnitCost": "0",
                           "currentQty": "5"}],
        executionMode="manual",
        settings={"slippage": 0.5, "count": 3.0, "name": "x", "flag": True, "empty": None},
        base_url="https://agents.circuit.org",
        authorization_header="Bearer abc",
        transport=MockRuntime(),
        jobId="job-1",
        userId=9,
        log="not allowed to hide a method",
    )
    assert (ctx.sessionId, ctx.sessionWalletAddress, ctx.executionMode) == (123, WALLET, "manual")
    assert ctx.currentPositions[0].currentQty == "5"
    # A whole number arrives as an int, as over Circuit's JSON wire; fractions stay floats.
    assert ctx.settings == {"slippage": 0.5, "count": 3, "name": "x", "flag": True, "empty": None}
    assert type(ctx.settings["count"]) is int
    assert ctx.get_setting("name") == "x" and ctx.getSetting("missing", "d") == "d" and ctx.advancedSettings is ctx.settings
    assert (ctx.base_url, ctx.authorization_header, ctx.jobId, ctx.userId) == ("https://agents.circuit.org", "Bearer abc", "job-1", 9)
    assert callable(ctx.log)


def test_without_a_platform_calls_fail_as_envelopes(tmp_path):
    from sdk.transport import RuntimeTransport

    ctx = AgentContext(sessionId=1, sessionWalletAddress=WALLET, transport=RuntimeTransport(socket_path=str(tmp_path / "none.sock")))
    result = ctx.memory.get("k")
    assert isinstance(result, Envelope) and result.success is False and result.error


# -- sign_and_send / sign_message -----------------------------------------------------------


def test_sign_and_send_accepts_snake_and_camel_case_and_ignores_unknown_keys():
    fake = MockRuntime(SignAndSend=runtime_pb2.SignAndSendResponse(
        internal_transaction_id=5, tx_hash="0xfeed", transaction_url="https://scan/tx/0xfeed"))
    ctx = mock_context(fake)
    camel = ctx.signAndSend({"network": "ethereum:8453", "expiresAt": "2030-01-01T00:00:00Z", "message": "m", "surprise": 1,
                             "request": {"toAddress": "0x" + "11" * 20, "value": "10", "maxFeePerGas": "7",
                                         "enforceTransactionSuccess": True, "extra": "ignored"}})
    snake = ctx.sign_and_send({"network": "ethereum:8453", "expires_at": "2030-01-01T00:00:00Z",
                               "request": {"to_address": "0x" + "11" * 20, "value": "10", "max_fee_per_gas": "7"}})
    for result in (camel, snake):
        assert result.success and result.error is None
        assert (result.data.tx_hash, result.data.txHash, result.data["transactionUrl"]) == ("0xfeed", "0xfeed", "https://scan/tx/0xfeed")
        assert result.data.internal_transaction_id == 5 and result.data.suggested is False
    first, second = fake.requests("SignAndSend")
    assert first.network == "ethereum:8453" and first.expires_at == "2030-01-01T00:00:00Z" and first.message == "m"
    assert first.evm.to_address == "0x" + "11" * 20 and first.evm.max_fee_per_gas == "7" and first.evm.enforce_transaction_success
    assert second.evm.max_fee_per_gas == "7" and not second.HasField("message")
    assert first.request_id != second.request_id


def test_sign_and_send_takes_pydantic_request_models():
    from agent_sdk import EthereumSignRequest, SignAndSendRequest, SolanaSignRequest

    fake = MockRuntime()
    ctx = mock_context(fake)
    assert ctx.sign_and_send(SignAndSendRequest(network="ethereum:1", request=EthereumSignRequest(to_address="0x" + "22" * 20))).success
    assert ctx.sign_and_send(SignAndSendRequest(network="solana", request=SolanaSignRequest(hex_transaction="00ff"))).success
    evm, solana = fake.requests("SignAndSend")
    assert evm.evm.to_address == "0x" + "22" * 20 and evm.evm.data == "0x" and evm.evm.value == "0"
    assert solana.solana.hex_transaction == "00ff"


@pytest.mark.parametrize(
    ("request_", "error"),
    [
        ({"network": "ethereum:1", "request": {"hexTransaction": "00"}}, "Ethereum network requires EthereumSignRequest"),
        ({"network": "solana", "request": {"toAddress": "0x" + "11" * 20}}, "Solana network requires SolanaSignRequest"),
        ({"network": "bitcoin", "request": {"toAddress": "0x" + "11" * 20}}, "Unsupported network: bitcoin"),
        ({"network": "ethereum:0", "request": {"toAddress": "0x" + "11" * 20}}, "Unsupported network: ethereum:0"),
        ({"network": "ethereum:abc", "request": {"toAddress": "0x" + "11" * 20}}, "Unsupported network: ethereum:abc"),
        ({"network": "ethereum:1", "message": "m" * 251, "request": {"toAddress": "0x" + "11" * 20}},
         "message must be at most 250 characters"),
        ({"network": "ethereum:1", "request": {"value": "1"}}, "invalid sign_and_send request: to_address: Field required"),
        ({"network": "ethereum:1", "request": {"toAddress": "0x" + "11" * 20, "gas": -1}}, "invalid sign_and_send request: "),
        ({"network": "ethereum:1"}, "invalid sign_and_send request: request: Field required"),
        ("0xdeadbeef", "invalid sign_and_send request: request must be a dict or a pydantic model, got str"),
    ],
)
def test_bad_sign_and_send_requests_are_refused_before_the_wire(request_, error):
    fake = MockRuntime()
    result = mock_context(fake).sign_and_send(request_)
    assert result.success is False and result.data is None and result.error.startswith(error), result.error
    assert fake.calls == []


def test_manual_mode_suggestion_comes_back_as_data():
    details = runtime_pb2.SignAndSendResponse(suggested=True, suggestion_id=12)
    details.suggestion_details.update({"to": "0xdead"})
    fake = MockRuntime(SignAndSend=details, SignMessage=runtime_pb2.SignMessageResponse(suggested=True, suggestion_id=13))
    ctx = mock_context(fake, executionMode="manual")
    tx = ctx.sign_and_send({"network": "solana", "request": {"hex_transaction": "00"}})
    assert tx.success and tx.data.suggested and tx.data.suggestionId == 12 and tx.data.suggestion_id == 12
    assert tx.data["details"] == {"to": "0xdead"} and tx.data.tx_hash is None
    message = ctx.sign_message({"messageType": "eip191", "chainId": 1, "data": {"message": "hi"}})
    assert message.success and message.data.suggested and message.data.suggestionId == 13


def test_sign_message_both_kinds_and_a_refusal():
    signed = runtime_pb2.SignMessageResponse(v=27, r="0x01", s="0x02", formatted_signature="0x0102")
    fake = MockRuntime(SignMessage=signed)
    ctx = mock_context(fake)
    personal = ctx.signMessage({"message_type": "eip191", "chain_id": 1, "data": {"message": "hello"}, "junk": 1})
    assert personal.success and personal.data.formattedSignature == "0x0102" and personal.data.formatted_signature == "0x0102"
    assert personal.data.type == "evm" and personal.data.v == 27
    typed = {"domain": {"name": "X", "chainId": 1}, "types": {"T": [{"name": "a", "type": "uint256"}]}, "primaryType": "T",
             "message": {"a": 1}}
    assert ctx.sign_message({"messageType": "eip712", "chainId": 1, "data": typed}).success
    first, second = fake.requests("SignMessage")
    assert first.eip191_text == "hello" and json.loads(second.eip712_json) == typed
    bad = ctx.sign_message({"messageType": "eip712", "chainId": 1, "data": {"message": {1, 2}}})  # a set: not JSON
    assert bad.success is False and bad.error.startswith("invalid sign_message request")
    fake.responses["SignMessage"] = RpcRefusal(grpc.StatusCode.PERMISSION_DENIED, "eip712-domain-allowlist: not allowed")
    refused = ctx.sign_message({"messageType": "eip191", "chainId": 1, "data": {"message": "x"}})
    assert refused == Envelope(success=False, error="eip712-domain-allowlist: not allowed")


def test_clear_suggested_transactions():
    fake = MockRuntime()
    ctx = mock_context(fake)
    assert ctx.clear_suggested_transactions() == Envelope(success=True, data=None, error=None)
    assert ctx.clearSuggestedTransactions().success
    assert [name for name, _ in fake.calls] == ["ClearSuggestions", "ClearSuggestions"]


# -- envelopes ----------------------------------------------------------------------------


def test_envelopes_read_like_dicts_and_keep_unknown_keys():
    envelope = Envelope(success=False, error="boom", hint="retry later")
    assert envelope["success"] is False and envelope.get("error") == "boom" and envelope["hint"] == "retry later"
    assert envelope.get("missing") is None and envelope.get("missing", 3) == 3 and "missing" not in envelope
    assert "error" in envelope and "data" in envelope
    with pytest.raises(KeyError):
        envelope["missing"]
    with pytest.raises(AttributeError):
        envelope.missing  # noqa: B018
    # ≤1.x names of the error field
    assert envelope.error_message == "boom" and envelope.errorMessage == "boom" and envelope.error_details is None
    assert envelope.model_dump() == {"success": False, "data": None, "error": "boom", "hint": "retry later"}


def test_transport_failures_of_any_kind_become_envelopes():
    ctx = mock_context(MockRuntime(
        GetCurrentPositions=RuntimeError("socket exploded"),
        ClearSuggestions=lambda request: "not a protobuf message",
        SignAndSend=RpcRefusal(grpc.StatusCode.INVALID_ARGUMENT, "to_address must be a 20-byte hex address"),
    ))
    assert ctx.get_current_positions() == Envelope(success=False, error="RuntimeError: socket exploded")
    assert ctx.clear_suggested_transactions().success  # no data expected: any answer is fine
    refused = ctx.sign_and_send({"network": "ethereum:1", "request": {"to_address": "0x1234"}})
    assert refused.success is False and "to_address" in refused.error
    odd = mock_context(MockRuntime(GetMemory=lambda request: None))
    result = odd.memory.get("k")
    assert result.success is False and result.error.startswith("unexpected response")
