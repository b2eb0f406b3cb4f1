"""Who is calling the frontend API, and may they call this method: checked on every call but
health and reflection, before its request is read, by both transports (native gRPC here,
Connect and gRPC-Web in browser_server.py). The caller found is handed to the call's handler
in orchestrator.api.access.CALLER (which then checks what the request names is theirs).

Three ways to run, from the orchestrator's config:
- API keys (`api_keys = true`): `authorization: Bearer corral_…`, a key of `corral user add`,
  read from the database on every call (a revoked key is refused from the next call on);
- the single API token (`api_token_file`): the principal API_TOKEN, which may do anything;
- neither (loopback only, config.py refuses otherwise): every caller is LOCAL.
ResumePlatform takes the separate resume credential and nothing else, in every mode."""

from __future__ import annotations

import hmac

import grpc

from corral.v1 import orchestrator_pb2
from orchestrator.api.access import CALLER, RESUME_METHOD, may_call, refusal_for_role
from orchestrator.errors import Refused, refusing_handler
from orchestrator.store import Database, principals
from orchestrator.store.principals import API_TOKEN, LOCAL, Principal

SERVICE_NAME = orchestrator_pb2.DESCRIPTOR.services_by_name["OrchestratorService"].full_name
SERVICE_PREFIX = f"/{SERVICE_NAME}/"
# Generic clients may discover the server and check its health without a credential.
OPEN_METHOD_PREFIXES = ("/grpc.health.v1.Health/", "/grpc.reflection.")
# The principal that lifted a halt, as events name it.
RESUME_CREDENTIAL = Principal("resume-credential", frozenset(), frozenset())
_BEARER = "Bearer "


class ApiGuard:
    """`keys`: the database holding principals when API keys are on."""

    def __init__(self, token: str | None, resume_token: str | None, keys: Database | None = None) -> None:
        if keys is not None and token is not None:
            raise ValueError("API keys replace the single API token: set one of api_keys and api_token_file")
        self._expected = f"{_BEARER}{token}".encode() if token else None
        self._resume = f"{_BEARER}{resume_token}".encode() if resume_token else None
        self._keys = keys

    @property
    def guarded(self) -> bool:
        return self._keys is not None or self._expected is not None

    async def caller(self, method: str, authorization: str) -> Principal | None:
        """The principal calling `method` ("/package.Service/Method") with this `authorization`
        header; None for the open methods. Raises Refused: UNAUTHENTICATED for a missing or
        wrong credential, PERMISSION_DENIED for a method the principal's roles do not allow."""
        if method.startswith(OPEN_METHOD_PREFIXES):
            return None
        name = method.removeprefix(SERVICE_PREFIX)
        if name == RESUME_METHOD:
            return self._resumer(authorization)
        principal = await self._authenticated(authorization)
        if method.startswith(SERVICE_PREFIX) and not may_call(principal, name):
            raise refusal_for_role(principal, name)
        return principal

    async def _authenticated(self, authorization: str) -> Principal:
        if self._keys is not None:
            key = authorization.removeprefix(_BEARER) if authorization.startswith(_BEARER) else ""
            found = await self._keys.run(lambda db: principals.authenticate(db, key)) if principals.looks_like_key(key) else None
            if found is None:
                raise Refused(grpc.StatusCode.UNAUTHENTICATED, (
                    "missing, wrong or revoked API key (authorization: Bearer corral_…; `corral user add` makes one)"))
            return found
        if self._expected is None:
            return LOCAL
        if hmac.compare_digest(authorization.encode(), self._expected):
            return API_TOKEN
        raise Refused(grpc.StatusCode.UNAUTHENTICATED, "missing or wrong API token (authorization: Bearer <token>)")

    def _resumer(self, authorization: str) -> Principal:
        """ResumePlatform: the API token (or key) that runs sessions cannot lift an operator's
        halt, and the resume token can do nothing else."""
        if self._resume is None and not self.guarded:
            return LOCAL  # a local, unguarded API
        if self._resume is None:
            raise Refused(grpc.StatusCode.PERMISSION_DENIED, (
                "lifting a platform halt needs the resume credential, which is not an API token or key: "
                "set resume_token_file in the orchestrator's config and send that token"))
        if hmac.compare_digest(authorization.encode(), self._resume):
            return RESUME_CREDENTIAL
        raise Refused(grpc.StatusCode.PERMISSION_DENIED, (
            "ResumePlatform needs the resume credential (authorization: Bearer <resume token>), "
            "not an API token or key; with the CLI: corral resume --resume-token-file FILE"))


class ApiGuardInterceptor(grpc.aio.ServerInterceptor):
    """The guard on the native gRPC port: a refused call gets its status before its request is
    read; an accepted one runs its handler with CALLER set to its principal."""

    def __init__(self, guard: ApiGuard) -> None:
        self._guard = guard

    async def intercept_service(self, continuation, handler_call_details):
        supplied = dict(handler_call_details.invocation_metadata or ()).get("authorization", "")
        try:
            principal = await self._guard.caller(handler_call_details.method, supplied)
        except Refused as refused:
            return refusing_handler(refused.code, refused.message)
        handler = await continuation(handler_call_details)
        if principal is None or handler is None:
            return handler
        return _as(principal, handler)


def _as(principal: Principal, handler: grpc.RpcMethodHandler) -> grpc.RpcMethodHandler:
    """`handler` with CALLER set to `principal` in the call's own task."""
    if handler.unary_unary:
        behaviour = handler.unary_unary

        async def unary(request, context):
            CALLER.set(principal)
            return await behaviour(request, context)

        return grpc.unary_unary_rpc_method_handler(unary, handler.request_deserializer, handler.response_serializer)
    if handler.unary_stream:
        streaming = handler.unary_stream

        async def stream(request, context):
            CALLER.set(principal)
            async for item in streaming(request, context):
                yield item

        return grpc.unary_stream_rpc_method_handler(stream, handler.request_deserializer, handler.response_serializer)
    return refusing_handler(grpc.StatusCode.UNIMPLEMENTED, "client-streaming calls are not served")
