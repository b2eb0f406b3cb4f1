"""`AgentContext`: what an agent's `run(agent)` receives.

Every method returns an envelope `{success, data, error}` and never raises: transport
failures, validation failures and platform refusals all come back as `success=False`
with an error string.
"""

from __future__ import annotations

import json
import sys
import uuid
from typing import Any, Callable

import grpc
from google.protobuf.json_format import MessageToDict
from pydantic import BaseModel, ValidationError

from corral.v1 import common_pb2, runtime_pb2
from sdk.envelopes import (
    CurrentPosition,
    CurrentPositionsData,
    Envelope,
    EthereumSignRequest,
    EvmMessageSignData,
    EvmMessageSignRequest,
    LogResponse,
    SignAndSendData,
    SignAndSendRequest,
    SolanaSignRequest,
)
from sdk.memory import MemoryApi
from sdk.transport import RuntimeTransport, describe_rpc_error

# Stored log lines are cut to this length, as on Circuit.
LOG_MAX_CHARS = 250


def position_from_proto(p: common_pb2.Position) -> CurrentPosition:
    return CurrentPosition(
        network=p.network,
        assetAddress=p.asset_address,
        tokenId=p.token_id if p.HasField("token_id") else None,
        avgUnitCost=p.avg_unit_cost or "0",
        currentQty=p.current_qty,
    )


def _truncate(message: str) -> str:
    return message if len(message) <= LOG_MAX_CHARS else message[: LOG_MAX_CHARS - 3] + "..."


class AgentContext:
    def __init__(
        self,
        sessionId: int,
        sessionWalletAddress: str,
        executionMode: str = "auto",
        settings: dict[str, Any] | None = None,
        currentPositions: list[CurrentPosition] | None = None,
        transport: RuntimeTransport | None = None,
    ) -> None:
        self.sessionId = sessionId
        self.sessionWalletAddress = sessionWalletAddress
        self.executionMode = executionMode
        self.settings = dict(settings or {})
        self.currentPositions = list(currentPositions or [])
        self._transport = transport or RuntimeTransport()
        self.memory = MemoryApi(self._call)

    # -- plumbing ---------------------------------------------------------------

    def _call(self, method: str, request, to_data: Callable | None = None) -> Envelope:
        try:
            response = self._transport.call(method, request)
        except grpc.RpcError as exc:
            return Envelope(success=False, error=describe_rpc_error(exc))
        except Exception as exc:  # never let an SDK call raise into agent code
            return Envelope(success=False, error=f"{type(exc).__name__}: {exc}")
        try:
            return Envelope(success=True, data=to_data(response) if to_data else None)
        except (ValidationError, ValueError) as exc:
            return Envelope(success=False, error=f"unexpected response: {exc}")

    # -- logging ----------------------------------------------------------------

    def log(self, message: Any, error: bool = False, debug: bool = False) -> LogResponse:
        """Prints the message; unless `debug`, also stores it (cut to 250 chars) with the execution."""
        if isinstance(message, BaseModel):
            message = message.model_dump()
        if isinstance(message, (dict, list)):
            console, stored = json.dumps(message, indent=2, default=str), json.dumps(message, default=str)
        else:
            console = stored = str(message)
        print(console, file=sys.stderr if error else sys.stdout, flush=True)
        if debug:
            return LogResponse(success=True)
        level = runtime_pb2.LOG_LEVEL_ERROR if error else runtime_pb2.LOG_LEVEL_INFO
        result = self._call(
            "AppendLogs", runtime_pb2.AppendLogsRequest(entries=[runtime_pb2.LogEntry(level=level, message=_truncate(stored))])
        )
        return LogResponse(success=result.success, error=result.error)

    # -- transactions -----------------------------------------------------------

    def sign_and_send(self, request: dict | BaseModel) -> Envelope[SignAndSendData]:
        """Signs and broadcasts a transaction (auto mode) or stores a suggestion (manual)."""
        try:
            parsed = SignAndSendRequest.model_validate(request.model_dump() if isinstance(request, BaseModel) else request)
            wire = runtime_pb2.SignAndSendRequest(request_id=str(uuid.uuid4()), network=parsed.network)
            if parsed.message is not None:
                wire.message = parsed.message
            if parsed.expires_at is not None:
                wire.expires_at = parsed.expires_at
            if parsed.network.startswith("ethereum:"):
                evm = EthereumSignRequest.model_validate(parsed.request)
                fields = {k: v for k, v in evm.model_dump().items() if v is not None}
                wire.evm.CopyFrom(runtime_pb2.EvmTransactionRequest(**fields))
            elif parsed.network == "solana":
                wire.solana.CopyFrom(runtime_pb2.SolanaTransactionRequest(**SolanaSignRequest.model_validate(parsed.request).model_dump()))
            else:
                return Envelope(success=False, error=f"Unsupported network: {parsed.network}")
        except ValidationError as exc:
            return Envelope(success=False, error=f"invalid sign_and_send request: {_first_error(exc)}")
        except (TypeError, ValueError) as exc:
            return Envelope(success=False, error=f"invalid sign_and_send request: {exc}")
        return self._call(
            "SignAndSend",
            wire,
            lambda r: _suggestion(r) if r.suggested else SignAndSendData(
                internal_transaction_id=r.internal_transaction_id or None,
                tx_hash=r.tx_hash or None,
                transaction_url=r.transaction_url if r.HasField("transaction_url") else None,
            ),
        )

    def sign_message(self, request: dict | BaseModel) -> Envelope[EvmMessageSignData]:
        """Signs an EIP-712 (`data` = {domain, types, primaryType, message}) or EIP-191
        (`data` = {message}) message with the session's wallet, as the wallet's policy allows."""
        try:
            parsed = EvmMessageSignRequest.model_validate(request.model_dump() if isinstance(request, BaseModel) else request)
            wire = runtime_pb2.SignMessageRequest(request_id=str(uuid.uuid4()), chain_id=parsed.chainId)
            if parsed.messageType == "eip191":
                message = parsed.data.get("message")
                if not isinstance(message, str):
                    return Envelope(success=False, error="invalid sign_message request: eip191 data needs {\"message\": str}")
                wire.eip191_text = message
            else:
                wire.eip712_json = json.dumps(parsed.data)
        except ValidationError as exc:
            return Envelope(success=False, error=f"invalid sign_message request: {_first_error(exc)}")
        return self._call(
            "SignMessage",
            wire,
            lambda r: _suggestion(r) if r.suggested else EvmMessageSignData(v=r.v, r=r.r, s=r.s, formattedSignature=r.formatted_signature),
        )

    def clear_suggested_transactions(self) -> Envelope[None]:
        """Manual mode: discards this session's pending suggestions (the next run's start
        does it too)."""
        return self._call("ClearSuggestions", runtime_pb2.ClearSuggestionsRequest())

    # -- positions --------------------------------------------------------------

    def get_current_positions(self) -> Envelope[CurrentPositionsData]:
        return self._call(
            "GetCurrentPositions",
            runtime_pb2.GetCurrentPositionsRequest(),
            lambda r: CurrentPositionsData(
                positions=[position_from_proto(p) for p in r.positions], hasPendingTxs=r.has_pending_txs
            ),
        )


def _suggestion(response) -> SignAndSendData:
    """Manual mode's answer to a value- or signature-producing call: nothing happened yet."""
    return SignAndSendData(
        suggested=True, suggestionId=response.suggestion_id, details=MessageToDict(response.suggestion_details),
    )


def _first_error(exc: ValidationError) -> str:
    err = exc.errors()[0]
    where = ".".join(str(x) for x in err["loc"]) or "request"
    return f"{where}: {err['msg']}"
