"""Every RPC of the frontend API, called with requests generated from its descriptor: out-of-range
enums, huge strings, long maps, non-ASCII digits, extreme integers, and bytes that are no
message at all. Whatever comes in, the answer is never UNKNOWN, never names a Python class or
shows a traceback, and a refused call leaves every table as it was. (The defects this found,
one at a time: test_api_input.py.)

A server per test (api_in_process: the production server on SQLite, seeded), its session 1
running before every example; the example counts keep the module under a minute on two cores,
and derandomize keeps CI's examples the same from run to run."""

from __future__ import annotations

import re

import grpc
import pytest
from google.protobuf.descriptor import Descriptor, FieldDescriptor
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from corral.v1 import orchestrator_pb2
from tests.integration.api_in_process import NATIVE, NETWORK, WALLET, serving

SERVICE = orchestrator_pb2.DESCRIPTOR.services_by_name["OrchestratorService"]
METHODS = [method.name for method in SERVICE.methods]
PYTHON_TEXT = re.compile(r"\b[A-Z][A-Za-z]*(Error|Exception)\b|Traceback|<class |File \"")
EXAMPLES_PER_METHOD = 80
FUZZ = settings(max_examples=EXAMPLES_PER_METHOD, deadline=None, derandomize=True,
                suppress_health_check=[HealthCheck.function_scoped_fixture, HealthCheck.too_slow, HealthCheck.data_too_large])

DIGITS = "0123456789٠١٢٣٤٥٦٧٨٩０１２３４５６７８９²³¹۵߃"
texts = st.one_of(
    st.text(max_size=40),
    st.text(alphabet=DIGITS, max_size=90),  # amounts in other scripts, superscripts, past 78 digits
    st.sampled_from(["", " ", "1", "1000", "12345", WALLET, NETWORK, NATIVE, "auto", "NaN", "-1", "1e400", "inf", "%s", "{{secret:X}}"]),
    # Past every bound, and past a client's 8-16 KiB limit on a status if an error quoted it.
    st.sampled_from([300, 5_000, 20_000, 100_000, 300_000]).map(lambda n: "x" * n),
    st.sampled_from([100, 3_000, 30_000]).map(lambda n: "é\u202e😀" * n),  # multi-byte, a bidi control
)
# Often the seeded agent and session (id 1) and the signer's wallet, so a call gets past
# "not found" to what its other fields are checked for.
ids = st.one_of(st.just(1), st.sampled_from([0, 2, -1]), st.integers(-(2**63), 2**63 - 1))
FAVOURED_TEXT = {"wallet_address": WALLET, "network": NETWORK, "asset_address": NATIVE, "name": "API_KEY"}
INT_RANGES = {
    FieldDescriptor.TYPE_INT32: (-(2**31), 2**31 - 1), FieldDescriptor.TYPE_INT64: (-(2**63), 2**63 - 1),
    FieldDescriptor.TYPE_UINT32: (0, 2**32 - 1), FieldDescriptor.TYPE_UINT64: (0, 2**64 - 1),
}


def scalar(field: FieldDescriptor) -> st.SearchStrategy:
    if field.type == FieldDescriptor.TYPE_STRING:
        return st.one_of(st.just(FAVOURED_TEXT[field.name]), texts) if field.name in FAVOURED_TEXT else texts
    if field.type == FieldDescriptor.TYPE_BOOL:
        return st.booleans()
    if field.type == FieldDescriptor.TYPE_ENUM:
        # Proto3 enums are open: any int32 reaches the server.
        return st.one_of(st.sampled_from([v.number for v in field.enum_type.values]), st.integers(-(2**31), 2**31 - 1))
    if field.name.endswith("_id"):
        return ids
    low, high = INT_RANGES[field.type]
    return st.one_of(st.sampled_from([0, 1, -1, 50, 1000, 2**31 - 1]).filter(lambda v: low <= v <= high), st.integers(low, high))


def message(descriptor: Descriptor) -> st.SearchStrategy:
    """Messages of `descriptor` with any subset of their fields set."""
    fields = {}
    for field in descriptor.fields:
        if field.message_type is not None and field.message_type.GetOptions().map_entry:
            entry = field.message_type.fields_by_name
            many = st.integers(60, 80).map(lambda n: {f"s{i}": "1" for i in range(n)})  # past the count bound
            fields[field.name] = st.one_of(st.dictionaries(texts, scalar(entry["value"]), max_size=4), many)
        elif field.message_type is not None:
            inner = message(field.message_type)
            fields[field.name] = st.lists(inner, max_size=70) if field.is_repeated else inner
        elif field.is_repeated:
            fields[field.name] = st.lists(scalar(field), max_size=70)
        else:
            fields[field.name] = scalar(field)
    cls = orchestrator_pb2.__dict__.get(descriptor.name) or _message_class(descriptor)
    # Ids always (mostly a seeded row's), so the other fields are what a call is refused for.
    named = {name: strategy for name, strategy in fields.items() if name.endswith("_id") or name == "wallet_address"}
    others = {name: strategy for name, strategy in fields.items() if name not in named}
    return st.fixed_dictionaries(named, optional=others).map(lambda values: _build(cls, values))


def _message_class(descriptor: Descriptor):
    from google.protobuf import message_factory

    return message_factory.GetMessageClass(descriptor)


def _build(cls, values: dict):
    built = cls()
    for name, value in values.items():
        field = built.DESCRIPTOR.fields_by_name[name]
        if field.message_type is not None and field.message_type.GetOptions().map_entry:
            getattr(built, name).update(value)
        elif field.is_repeated:
            getattr(built, name).extend(value)
        elif field.message_type is not None:
            getattr(built, name).CopyFrom(value)
        else:
            setattr(built, name, value)
    return built


def not_messages() -> st.SearchStrategy[bytes]:
    """Bytes that do not parse as any request: truncated, wrong wire types, and groups nested
    past protobuf's depth limit (a 'deep struct' in an unknown field)."""
    deep = st.integers(90, 400).map(lambda n: b"\x0b" * n + b"\x0c" * n)  # start-group / end-group, field 1
    return st.one_of(st.sampled_from([b"\xff", b"\x08", b"\x12\x05ab", b"\x0a\x80\x80\x80\x80\x10", b"\x0f"]), deep,
                     st.binary(min_size=1, max_size=64))


@pytest.fixture
def api(tmp_path):
    with serving(tmp_path) as api:
        yield api


def call(api, method: str, request) -> tuple[grpc.StatusCode, str]:
    if SERVICE.methods_by_name[method].server_streaming:
        # A watch that is accepted streams until its deadline: that is an answer too.
        code, details = api.call_raw(method, request.SerializeToString(), streaming=True, timeout=0.3)
        return (grpc.StatusCode.OK, "") if code == grpc.StatusCode.DEADLINE_EXCEEDED else (code, details)
    code, details, _reply = api.call(method, request)
    return code, details


def assert_answered_properly(api, method: str, send) -> None:
    api.rerun_session()
    before = api.dump()
    code, details = send()
    assert code != grpc.StatusCode.UNKNOWN, f"{method}: UNKNOWN {details[:300]!r}"
    assert not PYTHON_TEXT.search(details), f"{method}: {code} {details[:300]!r}"
    assert len(details.encode()) <= 2048, f"{method}: a {len(details.encode())}-byte message"
    # A status whose message is past the client's metadata limit is lost on the way.
    assert "metadata size exceeds" not in details, f"{method}: the real status was lost ({details[:200]!r})"
    if code != grpc.StatusCode.OK:
        assert api.dump() == before, f"{method} was refused ({code}: {details[:200]!r}) but changed the store"


@pytest.mark.parametrize("method", METHODS)
def test_any_request_is_answered_with_a_status_a_client_can_act_on(api, method):
    @FUZZ
    @given(request=message(SERVICE.methods_by_name[method].input_type))
    def one(request):
        assert_answered_properly(api, method, lambda: call(api, method, request))

    one()


@pytest.mark.parametrize("method", METHODS)
def test_any_bytes_are_answered_with_a_status_a_client_can_act_on(api, method):
    streaming = SERVICE.methods_by_name[method].server_streaming

    @settings(FUZZ, max_examples=5)
    @given(raw=not_messages())
    def one(raw):
        def send():
            code, details = api.call_raw(method, raw, streaming=streaming, timeout=0.3 if streaming else 10)
            return (grpc.StatusCode.OK, "") if code == grpc.StatusCode.DEADLINE_EXCEEDED else (code, details)

        assert_answered_properly(api, method, send)

    one()
