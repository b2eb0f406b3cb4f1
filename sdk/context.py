"""`AgentContext`: what an agent's `run(agent)` receives.

Every method returns an envelope `{success, data, error}` and never raises: transport
failures, validation failures, garbage arguments and platform refusals all come back as
`success=False` with an error string. Both Circuit surfaces are present: ≤2.8
(`currentPositions`, `get_current_positions()`, `swidge`) and 2.10 (`portfolio`, `swap`).
Methods also answer to their TypeScript (camelCase) names.
"""

from __future__ import annotations

import json
import logging
import math
import sys
import uuid
from collections.abc import Callable
from datetime import UTC, datetime
from typing import TYPE_CHECKING, Any

from google.protobuf.json_format import MessageToDict
from pydantic import BaseModel, ValidationError

from corral.hosts import CHAIN_READS_URL
from corral.limits import ACTION_MESSAGE_MAX_CHARS, LOG_LINE_MAX_CHARS, shortened
from corral.networks import parse_or_none
from corral.v1 import common_pb2, runtime_pb2
from sdk.envelopes import (
    AssetChange,
    CurrentPosition,
    CurrentPositionsData,
    EnrichedPosition,
    Envelope,
    EthereumSignRequest,
    EvmMessageSignData,
    EvmMessageSignRequest,
    LogResponse,
    SessionPortfolio,
    SignAndSendData,
    SignAndSendRequest,
    SolanaSignRequest,
    T,
    describe_exception,
    never_raises,
)
from sdk.lean_grpc import grpc
from sdk.memory import MemoryApi
from sdk.platforms import PlatformsApi
from sdk.portfolio import as_portfolio, portfolio_from_positions, positions_from_portfolio
from sdk.swap import SwapApi
from sdk.transport import RuntimeTransport, Transport, describe_rpc_error

if TYPE_CHECKING:
    from google.protobuf.message import Message

# Circuit's session id for local runs.
LOCAL_SESSION_SENTINEL = -1


def position_from_proto(p: common_pb2.Position) -> CurrentPosition:
    return CurrentPosition(
        network=p.network,
        assetAddress=p.asset_address,
        tokenId=p.token_id if p.HasField("token_id") else None,
        avgUnitCost=p.avg_unit_cost or "0",
        currentQty=p.current_qty,
    )


def _enriched_from_proto(p: common_pb2.Position) -> EnrichedPosition:
    return EnrichedPosition(**position_from_proto(p).model_dump())


def _truncate(message: str) -> str:
    # Stored log lines are cut to this length, as on Circuit.
    return shortened(message, LOG_LINE_MAX_CHARS)


# -- console logging: logger `circuit_agent`, `%(message)s`, INFO to stdout, ERROR to stderr

CONSOLE_LOGGER = "circuit_agent"


class _ConsoleHandler(logging.Handler):
    """Writes to whatever sys.stdout / sys.stderr are at the time (so captured output works)."""

    def emit(self, record: logging.LogRecord) -> None:
        try:
            stream = sys.stderr if record.levelno >= logging.ERROR else sys.stdout
            stream.write(self.format(record) + "\n")
            stream.flush()
        except Exception:  # a closed or broken console never fails the agent
            pass


def _console_logger() -> logging.Logger:
    logger = logging.getLogger(CONSOLE_LOGGER)
    if not any(isinstance(h, _ConsoleHandler) for h in logger.handlers):
        handler = _ConsoleHandler()
        handler.setFormatter(logging.Formatter("%(message)s"))
        logger.addHandler(handler)
        logger.setLevel(logging.INFO)
        logger.propagate = False
    return logger


def _format_log_message(message: Any) -> tuple[str, str]:
    """(console copy, stored copy): objects pretty-printed for the console, compact JSON stored."""
    if isinstance(message, BaseModel):
        try:
            message = message.model_dump(mode="json")
        except Exception:
            message = message.model_dump()
    if isinstance(message, (dict, list, tuple)):
        try:
            return json.dumps(message, indent=2, default=str), json.dumps(message, default=str)
        except Exception:  # circular or unserializable: fall back to its text
            pass
    for render in (str, repr):
        try:
            text = render(message)
            if isinstance(text, str):
                return text, text
        except Exception:
            continue
    text = f"<unprintable {type(message).__name__}>"
    return text, text


def _normalize_settings(settings: Any) -> dict[str, Any]:
    """Settings as a flat dict. A whole number arrives as an int, as over Circuit's JSON
    wire (protobuf Structs carry every number as a float)."""
    if not settings:
        return {}
    result = dict(settings.model_dump() if isinstance(settings, BaseModel) else settings)
    for name, value in result.items():
        if isinstance(value, float) and math.isfinite(value) and value.is_integer() and abs(value) < 2**53:
            result[name] = int(value)
    return result


def _as_position(value: Any) -> CurrentPosition:
    if isinstance(value, CurrentPosition):
        return value
    if isinstance(value, BaseModel):
        value = value.model_dump()
    return CurrentPosition.model_validate(value)


def _as_dict(value: Any, what: str) -> dict[str, Any]:
    if isinstance(value, BaseModel):
        value = value.model_dump()
    if not isinstance(value, dict):
        raise _BadRequest(f"{what} must be a dict or a pydantic model, got {type(value).__name__}")
    return value


class _BadRequest(Exception):
    pass


class AgentContext:
    """What `run(agent)` / `unwind(agent, ...)` receive. For tests, build one by hand:
    `AgentContext(sessionId=1, sessionWalletAddress="0x…", currentPositions=[...],
    executionMode="auto", settings={...})` (Circuit 1.9's `base_url` and
    `authorization_header` are accepted and ignored; pass `transport=` to choose where
    calls go), or with a 2.10 `portfolio=` instead of `currentPositions=`."""

    def __init__(
        self,
        sessionId: int,
        sessionWalletAddress: str,
        executionMode: str = "auto",
        settings: dict[str, Any] | None = None,
        currentPositions: list[CurrentPosition] | None = None,
        transport: Transport | None = None,
        *,
        portfolio: SessionPortfolio | dict[str, Any] | None = None,
        base_url: str | None = None,
        authorization_header: str | None = None,
        **extra: Any,
    ) -> None:
        self.sessionId = sessionId
        self.sessionWalletAddress = sessionWalletAddress
        self.executionMode = executionMode
        self.settings = _normalize_settings(settings)
        # Circuit's "advanced settings" name for the same dict.
        self.advancedSettings = self.settings
        self._portfolio = as_portfolio(portfolio) if portfolio is not None else None
        if currentPositions is None and self._portfolio is not None:
            self.currentPositions = positions_from_portfolio(self._portfolio)
        else:
            self.currentPositions = [_as_position(p) for p in (currentPositions or [])]
        self.base_url = base_url
        self.authorization_header = authorization_header
        self._transport = transport or RuntimeTransport()
        self.memory = MemoryApi(self._call)
        self.swap = SwapApi(self._call)
        # Circuit ≤1.9's name; the same object.
        self.swidge = self.swap
        self.platforms = PlatformsApi(self._call)
        # Other request fields Circuit passes (userId, sessionStartedAt, runId, jobId, ...),
        # kept as attributes unless they would hide one of the context's own.
        for name, value in extra.items():
            if not name.startswith("_") and name not in self.__dict__ and not hasattr(type(self), name):
                setattr(self, name, value)

    def __repr__(self) -> str:
        return f"AgentContext(sessionId={self.sessionId!r}, sessionWalletAddress={self.sessionWalletAddress!r}, executionMode={self.executionMode!r})"

    @property
    def portfolio(self) -> SessionPortfolio:
        """Circuit 2.10's `{balances, positions}`: the session's holdings at execution start
        (the same snapshot as `currentPositions`, unless the context was built from a portfolio)."""
        if self._portfolio is not None:
            return self._portfolio
        return portfolio_from_positions(self.currentPositions)

    def get_setting(self, *args: Any, **kwargs: Any) -> Any:
        """`get_setting(name, default=None)`: a setting's resolved value (session override >
        manifest default), or `default`. Like every SDK call it never raises (None then)."""
        try:
            return _get_setting(self.settings, *args, **kwargs)
        except Exception:
            return None

    def rpc_url(self, *args: Any, **kwargs: Any) -> str | None:
        """`rpc_url(network)`: a JSON-RPC URL for reading `network` ("ethereum:1", "solana")
        with web3.py, solana-py or plain HTTP, e.g. `Web3(Web3.HTTPProvider(agent.rpc_url("ethereum:1")))`.
        Reads only: the platform relays read methods to its own node and refuses the rest;
        transactions go through `sign_and_send`. None for a network that is not one."""
        network = (args[0] if args else kwargs.get("network")) if len(args) + len(kwargs) == 1 else None
        parsed = parse_or_none(network) if isinstance(network, str) else None
        return None if parsed is None else f"{CHAIN_READS_URL}/{network}"

    # -- plumbing ---------------------------------------------------------------

    def _call(self, method: str, request: Message, to_data: Callable[[Any], T] | None = None) -> Envelope[T]:
        try:
            response = self._transport.call(method, request)
        except grpc.RpcError as exc:
            try:
                error = describe_rpc_error(exc)
            except Exception:
                error = ""
            return Envelope(success=False, error=error or f"{method} failed: {describe_exception(exc)}")
        except Exception as exc:  # never let an SDK call raise into agent code
            return Envelope(success=False, error=describe_exception(exc))
        try:
            return Envelope(success=True, data=to_data(response) if to_data else None)
        except Exception as exc:
            return Envelope(success=False, error=f"unexpected response: {describe_exception(exc)}")

    # -- logging ----------------------------------------------------------------

    @never_raises(LogResponse)
    def log(self, message: Any, error: bool | dict[str, Any] = False, debug: bool = False) -> LogResponse:
        """Prints the message (stderr when `error`); unless `debug`, also stores it, cut to
        250 characters, with the execution. Dicts, lists and pydantic models are printed as
        indented JSON and stored as compact JSON."""
        if isinstance(error, dict):  # TypeScript-style `log(message, {error, debug})`
            options = error  # (mypy narrows `error` before reading the second get)
            error, debug = options.get("error", False), options.get("debug", debug)
        console, stored = _format_log_message(message)
        # Lone surrogates and the like cannot go over the wire: store a replacement character.
        stored = stored.encode("utf-8", "replace").decode("utf-8")
        is_error, is_debug = bool(error), bool(debug)
        _console_logger().log(logging.ERROR if is_error else logging.INFO, console)
        if is_debug:
            return LogResponse(success=True)
        level = runtime_pb2.LOG_LEVEL_ERROR if is_error else runtime_pb2.LOG_LEVEL_INFO
        result: Envelope[None] = self._call(
            "AppendLogs", runtime_pb2.AppendLogsRequest(entries=[runtime_pb2.LogEntry(level=level, message=_truncate(stored))])
        )
        return LogResponse(success=result.success, error=result.error)

    # -- transactions -----------------------------------------------------------

    @never_raises()
    def sign_and_send(self, request: dict[str, Any] | BaseModel) -> Envelope[SignAndSendData]:
        """Signs and broadcasts a transaction (auto mode) or stores a suggestion (manual)."""
        try:
            parsed = SignAndSendRequest.model_validate(_as_dict(request, "request"))
            if parsed.message is not None and len(parsed.message) > ACTION_MESSAGE_MAX_CHARS:
                return Envelope(success=False, error=f"message must be at most {ACTION_MESSAGE_MAX_CHARS} characters")
            inner = _as_dict(parsed.request, "request.request")
            wire = runtime_pb2.SignAndSendRequest(request_id=str(uuid.uuid4()), network=parsed.network)
            if parsed.message is not None:
                wire.message = parsed.message
            if parsed.expires_at is not None:
                wire.expires_at = parsed.expires_at
            network = parse_or_none(parsed.network)
            if network is not None and network.is_evm:
                try:
                    evm = EthereumSignRequest.model_validate(inner)
                except ValidationError:
                    if _validates(SolanaSignRequest, inner):
                        return Envelope(success=False, error="Ethereum network requires EthereumSignRequest")
                    raise
                fields = {k: v for k, v in evm.model_dump().items() if v is not None}
                wire.evm.CopyFrom(runtime_pb2.EvmTransactionRequest(**fields))
            elif network is not None and network.is_solana:
                try:
                    solana = SolanaSignRequest.model_validate(inner)
                except ValidationError:
                    if _validates(EthereumSignRequest, inner):
                        return Envelope(success=False, error="Solana network requires SolanaSignRequest")
                    raise
                wire.solana.CopyFrom(runtime_pb2.SolanaTransactionRequest(**solana.model_dump()))
            else:
                return Envelope(success=False, error=f"Unsupported network: {parsed.network}")
        except ValidationError as exc:
            return Envelope(success=False, error=f"invalid sign_and_send request: {_first_error(exc)}")
        except (_BadRequest, TypeError, ValueError) as exc:
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

    @never_raises()
    def sign_message(self, request: dict[str, Any] | BaseModel) -> Envelope[EvmMessageSignData | SignAndSendData]:
        """Signs an EIP-712 (`data` = {domain, types, primaryType, message}) or EIP-191
        (`data` = {message}) message with the session's wallet, as the wallet's policy allows."""
        try:
            parsed = EvmMessageSignRequest.model_validate(_as_dict(request, "request"))
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
        except (_BadRequest, TypeError, ValueError) as exc:
            return Envelope(success=False, error=f"invalid sign_message request: {exc}")
        return self._call(
            "SignMessage",
            wire,
            lambda r: _suggestion(r) if r.suggested else EvmMessageSignData(v=r.v, r=r.r, s=r.s, formattedSignature=r.formatted_signature),
        )

    @never_raises()
    def clear_suggested_transactions(self) -> Envelope[None]:
        """Manual mode: discards this session's pending suggestions (the next run's start
        does it too)."""
        return self._call("ClearSuggestions", runtime_pb2.ClearSuggestionsRequest())

    @never_raises()
    def transactions(self, *args: Any, **kwargs: Any) -> Envelope[list[AssetChange]]:
        """The session's ledger: the assets its confirmed transactions moved in or out of the
        wallet (`AssetChange[]`, oldest first; amounts are smallest-unit strings), the newest
        1,000 of them: a call's cost does not grow with the session's history."""
        return self._call(
            "ListAssetChanges",
            runtime_pb2.ListAssetChangesRequest(),
            lambda r: [
                AssetChange(
                    network=c.network, transactionHash=c.transaction_hash, fromAddress=c.from_address, toAddress=c.to_address,
                    amount=c.amount, tokenAddress=c.token_address, tokenId=c.token_id if c.HasField("token_id") else None,
                    tokenType=c.token_type, tokenUsdPrice=None,
                    timestamp=datetime.fromtimestamp(c.timestamp_ms / 1000, UTC).isoformat().replace("+00:00", "Z"),
                )
                for c in r.changes
            ],
        )

    # -- positions --------------------------------------------------------------

    @never_raises()
    def get_current_positions(self) -> Envelope[CurrentPositionsData]:
        """The session's positions now, and whether a transaction is still unconfirmed
        (`hasPendingTxs`: balances may be stale). `currentPositions` is the snapshot
        taken at execution start."""
        return self._call(
            "GetCurrentPositions",
            runtime_pb2.GetCurrentPositionsRequest(),
            lambda r: CurrentPositionsData(
                positions=[_enriched_from_proto(p) for p in r.positions], hasPendingTxs=r.has_pending_txs
            ),
        )

    # -- TypeScript names ---------------------------------------------------------

    signAndSend = sign_and_send
    signMessage = sign_message
    clearSuggestedTransactions = clear_suggested_transactions
    getCurrentPositions = get_current_positions
    getSetting = get_setting


def _get_setting(settings: dict[str, Any], name: str, default: Any = None) -> Any:
    return settings.get(name, default)


def _validates(model: type[BaseModel], value: Any) -> bool:
    try:
        model.model_validate(value)
    except ValidationError:
        return False
    return True


def _suggestion(response: Any) -> SignAndSendData:
    """Manual mode's answer to a value- or signature-producing call: nothing happened yet."""
    return SignAndSendData(
        suggested=True, suggestionId=response.suggestion_id, details=MessageToDict(response.suggestion_details),
    )


def _first_error(exc: ValidationError) -> str:
    err = exc.errors()[0]
    where = ".".join(str(x) for x in err["loc"]) or "request"
    return f"{where}: {err['msg']}"
