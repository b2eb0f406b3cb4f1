"""No SDK call ever raises: every public method of the context and its namespaces, fed
random junk (wrong types, wrong arity, unprintable objects, lone surrogates, huge
numbers, half-valid requests) over a socket stand-in that answers, refuses, breaks or
answers nonsense, returns an envelope."""

from __future__ import annotations

import grpc
import pytest
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st
from pydantic import BaseModel

from corral.v1 import runtime_pb2
from sdk.envelopes import Envelope, LogResponse
from sdk.testing import RUNTIME_METHODS, MockRuntime, RpcRefusal, mock_context

# Methods that return a value rather than an envelope (still must not raise).
VALUE_METHODS = {"get_setting", "getSetting", "rpc_url"}


def public_methods(ctx) -> dict[str, object]:
    namespaces = {
        "": ctx,
        "memory.": ctx.memory,
        "swap.": ctx.swap,
        "swidge.": ctx.swidge,
        "platforms.hyperliquid.": ctx.platforms.hyperliquid,
        "platforms.polymarket.": ctx.platforms.polymarket,
    }
    methods = {}
    for prefix, namespace in namespaces.items():
        for name in dir(namespace):
            if name.startswith("_"):
                continue
            attribute = getattr(namespace, name)
            if callable(attribute) and not isinstance(attribute, type):
                methods[prefix + name] = attribute
    return methods


METHOD_NAMES = sorted(public_methods(mock_context()))


def resolve(ctx, dotted: str):
    target = ctx
    for part in dotted.split("."):
        target = getattr(target, part)
    return target


class Unprintable:
    def __str__(self):
        raise RuntimeError("no str")

    def __repr__(self):
        raise RuntimeError("no repr")

    def __bool__(self):
        raise RuntimeError("no truth value")

    def __len__(self):
        raise RuntimeError("no len")


class Model(BaseModel):
    network: str = "ethereum:1"
    anything: object = None


def circular() -> list:
    loop: list = []
    loop.append(loop)
    return loop


text = st.text(st.characters(exclude_categories=()), max_size=300)
scalars = st.one_of(
    st.none(),
    st.booleans(),
    st.integers(),
    st.integers(min_value=2**64, max_value=2**200),
    st.floats(allow_nan=True, allow_infinity=True),
    text,
    st.binary(max_size=16),
    st.builds(Unprintable),
    st.builds(object),
    st.builds(circular),
    st.builds(Model, anything=st.none() | st.integers() | text),
    st.sampled_from(["ethereum:1", "ethereum:0", "ethereum:-5", "ethereum:" + "9" * 30, "solana", "hypercore:perp", "", "eip191",
                     "eip712", "0x" + "11" * 20, "k" * 256]),
)
junk = st.recursive(scalars, lambda inner: st.lists(inner, max_size=3) | st.dictionaries(text, inner, max_size=3), max_leaves=8)
# Half-valid requests: the right keys, junk or plausible values.
inner_request = st.fixed_dictionaries(
    {},
    optional={
        "toAddress": junk, "to_address": st.just("0x" + "11" * 20) | junk, "data": junk, "value": junk, "gas": st.integers() | junk,
        "nonce": st.integers(), "maxFeePerGas": junk, "hexTransaction": junk, "hex_transaction": st.just("00ff") | junk,
        "enforceTransactionSuccess": junk,
    },
)
plausible = st.fixed_dictionaries(
    {},
    optional={
        "network": scalars, "request": inner_request | junk, "message": junk, "expiresAt": junk, "messageType": scalars,
        "chainId": st.integers() | junk, "data": st.fixed_dictionaries({}, optional={"message": junk, "domain": junk, "types": junk}) | junk,
    },
)
argument = st.one_of(junk, plausible)
arguments = st.lists(argument, max_size=4)
keyword_names = st.sampled_from(["key", "value", "shared", "prefix", "message", "error", "debug", "request", "quote", "dex",
                                 "start_time", "coin", "order_id", "bogus"])
keywords = st.dictionaries(keyword_names, argument, max_size=3)


def _garbage_answer(kind: str):
    return {
        "none": lambda request: None,
        "str": lambda request: "not a message",
        "wrong-message": lambda request: runtime_pb2.CompleteExecutionResponse(),
    }[kind]


answers = st.one_of(
    st.just(None),  # the method's normal (empty) answer
    st.builds(RpcRefusal, st.sampled_from([grpc.StatusCode.INVALID_ARGUMENT, grpc.StatusCode.UNAVAILABLE]), text),
    st.builds(RuntimeError, text),
    st.sampled_from(["none", "str", "wrong-message"]).map(_garbage_answer),
    st.just(runtime_pb2.GetMemoryResponse(key="k", value="v", updated_at_ms=1)),
)


def transports():
    return st.dictionaries(st.sampled_from(sorted(RUNTIME_METHODS)), answers, max_size=4).map(lambda r: MockRuntime(**r))


def assert_envelope(result) -> None:
    if isinstance(result, list):  # swap.execute of a list: one envelope per quote
        for item in result:
            assert_envelope(item)
        return
    assert isinstance(result, (Envelope, LogResponse)), type(result)
    assert isinstance(result.success, bool)
    assert result.error is None or isinstance(result.error, str)
    if not result.success:
        assert result.error
    result.model_dump()  # readable all the way down


@pytest.mark.parametrize("name", METHOD_NAMES)
@settings(max_examples=40, deadline=None, suppress_health_check=[HealthCheck.too_slow])
@given(transport=transports(), args=arguments, kwargs=keywords)
def test_no_public_method_raises_on_junk(name, transport, args, kwargs):
    ctx = mock_context(transport)
    result = resolve(ctx, name)(*args, **kwargs)
    if name.rsplit(".", 1)[-1] not in VALUE_METHODS:
        assert_envelope(result)


@settings(max_examples=100, deadline=None)
@given(transport=transports(), request_=plausible)
def test_sign_and_send_with_half_valid_requests(transport, request_):
    ctx = mock_context(transport)
    assert_envelope(ctx.sign_and_send(request_))
    assert_envelope(ctx.sign_message(request_))


def test_every_circuit_method_name_is_covered():
    expected = {
        "log", "sign_and_send", "signAndSend", "sign_message", "signMessage", "transactions", "get_current_positions",
        "getCurrentPositions", "clear_suggested_transactions", "clearSuggestedTransactions",
        "memory.set", "memory.get", "memory.delete", "memory.list", "swap.quote", "swap.execute", "swidge.quote", "swidge.execute",
        "platforms.hyperliquid.place_order", "platforms.hyperliquid.midpoint_price", "platforms.hyperliquid.liquidations",
        "platforms.polymarket.market_order", "platforms.polymarket.redeem_positions", "platforms.polymarket.positions",
    }
    assert expected <= set(METHOD_NAMES)
