"""The frontend API's gRPC server as the orchestrator serves it: the service, health and
reflection, behind the interceptors that guard every call. One place, so a test's server in
process is the production one."""

from __future__ import annotations

import grpc
from grpc_health.v1 import health, health_pb2_grpc

from corral.v1 import orchestrator_pb2, orchestrator_pb2_grpc
from orchestrator.api.boundary import ApiBoundary
from orchestrator.api.reflection import serve_reflection
from orchestrator.api.service import OrchestratorApi
from orchestrator.config import API_MAX_REQUEST_BYTES
from orchestrator.wire_errors import WireErrorsAsInvalidArgument

SERVICE_NAME = orchestrator_pb2.DESCRIPTOR.services_by_name["OrchestratorService"].full_name


def api_server(api: OrchestratorApi, guard: grpc.aio.ServerInterceptor) -> tuple[grpc.aio.Server, health.aio.HealthServicer]:
    """The server (not yet listening) and its health servicer; `guard` (app/api_guard.py) runs
    first on every call and names its caller."""
    # The guard first (a refused caller is answered before anything reads its request),
    # then bytes that do not parse, then the boundary around the parsed request.
    server = grpc.aio.server(
        interceptors=[guard, WireErrorsAsInvalidArgument(), ApiBoundary(SERVICE_NAME, api.access)],
        options=[("grpc.max_receive_message_length", API_MAX_REQUEST_BYTES)],
    )
    orchestrator_pb2_grpc.add_OrchestratorServiceServicer_to_server(api, server)
    health_servicer = health.aio.HealthServicer()
    health_pb2_grpc.add_HealthServicer_to_server(health_servicer, server)
    serve_reflection(server, [SERVICE_NAME, health.SERVICE_NAME])
    return server, health_servicer
