"""Bytes that are not the request's message get INVALID_ARGUMENT naming the method, on unary
and streaming calls alike, never UNKNOWN with a Python exception's name."""

from __future__ import annotations

import asyncio

import grpc
from grpc_health.v1 import health, health_pb2, health_pb2_grpc

from corral.v1 import runtime_pb2, runtime_pb2_grpc
from orchestrator.wire_errors import WireErrorsAsInvalidArgument


def nested_struct_request(depth: int) -> bytes:
    def varint(n: int) -> bytes:
        out = b""
        while True:
            low, n = n & 0x7F, n >> 7
            if not n:
                return out + bytes([low])
            out += bytes([low | 0x80])

    inner = b""
    for _ in range(depth):
        value = b"\x2a" + varint(len(inner)) + inner
        entry = b"\x0a\x01a\x12" + varint(len(value)) + value
        inner = b"\x0a" + varint(len(entry)) + entry
    return b"\x0a" + varint(len(inner)) + inner


class Runtime(runtime_pb2_grpc.AgentRuntimeServicer):
    async def SwapQuote(self, request, context):
        return runtime_pb2.SwapQuoteResponse()


async def calls(requests: list[tuple[str, bytes]]) -> list[tuple[grpc.StatusCode, str]]:
    server = grpc.aio.server(interceptors=[WireErrorsAsInvalidArgument()])
    runtime_pb2_grpc.add_AgentRuntimeServicer_to_server(Runtime(), server)
    health_pb2_grpc.add_HealthServicer_to_server(health.aio.HealthServicer(), server)
    port = server.add_insecure_port("127.0.0.1:0")
    await server.start()
    answers = []
    try:
        async with grpc.aio.insecure_channel(f"127.0.0.1:{port}") as channel:
            for method, raw in requests:
                kind = channel.unary_stream if method.endswith("Watch") else channel.unary_unary
                call = kind(method, request_serializer=lambda b: b, response_deserializer=lambda b: b)
                try:
                    if method.endswith("Watch"):
                        stream = call(raw, timeout=2)
                        await stream.read()
                    else:
                        await call(raw)
                    answers.append((grpc.StatusCode.OK, ""))
                except grpc.aio.AioRpcError as error:
                    answers.append((error.code(), error.details()))
    finally:
        await server.stop(None)
    return answers


def test_malformed_and_too_deep_requests_are_invalid_arguments():
    quote, watch = "/corral.v1.AgentRuntime/SwapQuote", "/grpc.health.v1.Health/Watch"
    answers = asyncio.run(calls([
        (quote, nested_struct_request(300)),
        (quote, b"\xff\xff\xff\xff"),
        (watch, b"\xff\xff\xff\xff"),
        (quote, runtime_pb2.SwapQuoteRequest().SerializeToString()),
        (watch, health_pb2.HealthCheckRequest().SerializeToString()),
    ]))
    for code, details in answers[:3]:
        assert code == grpc.StatusCode.INVALID_ARGUMENT and "is not a valid message" in details, (code, details)
        assert "Error" not in details  # no Python class names
    assert answers[3][0] == grpc.StatusCode.OK  # a valid request is served as before
    assert answers[4][0] in (grpc.StatusCode.OK, grpc.StatusCode.DEADLINE_EXCEEDED)  # the stream started and sent
