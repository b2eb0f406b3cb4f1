"""`agent.swap` (and `agent.swidge`, the same object): quote, then execute the quote.

    quote = agent.swap.quote({"from": {...}, "to": {...}, "amount": "1000000"})
    if quote.success:
        result = agent.swap.execute(quote.data)       # or execute([q1.data, q2.data])
        if result.success: ...                         # true only when data.status == "success"

Refusals carry Circuit's typed codes in `code` (QUOTE_STALE, PRICE_IMPACT_TOO_HIGH,
NO_COMPATIBLE_ENGINES, ALL_ENGINES_FAILED, ...). In manual mode, execute returns a
suggestion (`data.suggested`) per quote.
"""

from __future__ import annotations

import re
from typing import Any, cast

from google.protobuf.json_format import MessageToDict
from google.protobuf.struct_pb2 import Struct
from pydantic import BaseModel, ConfigDict, Field

from corral.v1 import runtime_pb2
from sdk.envelopes import Envelope, RuntimeCall, SignAndSendData, T, _Response, never_raises

_CODE = re.compile(r"^([A-Z][A-Z_]+): (.*)$", re.S)


class SwapQuoteData(_Response):
    """Circuit's SwapData: pass it back to execute unchanged."""

    engine: str | None = None
    assetSend: dict[str, Any] | None = None
    assetReceive: dict[str, Any] | None = None
    priceImpact: dict[str, Any] | None = None
    steps: list[dict[str, Any]] = []


class SwapExecuteData(_Response):
    model_config = ConfigDict(extra="allow", populate_by_name=True)

    status: str
    in_: dict[str, Any] | None = Field(default=None, alias="in")
    out: dict[str, Any] | None = None
    lastUpdated: int | None = None
    error: str | None = None
    # Each step sent: {step, description, status: confirmed|failed|pending, txHash?, error?}.
    steps: list[dict[str, Any]] = Field(default_factory=list)


def _struct(values: dict[str, Any]) -> Struct:
    struct = Struct()
    struct.update(values)
    return struct


def _typed(envelope: Envelope[T]) -> Envelope[T]:
    """"QUOTE_STALE: ..." from the platform becomes error="..." with code="QUOTE_STALE"."""
    match = _CODE.match(envelope.error or "") if not envelope.success else None
    if match:
        return Envelope(success=False, error=match.group(2), code=match.group(1))  # type: ignore[call-arg]  # an extra field
    return envelope


class SwapApi:
    def __init__(self, call: RuntimeCall) -> None:
        self._call = call

    @never_raises()
    def quote(self, request: dict[str, Any] | BaseModel) -> Envelope[SwapQuoteData]:
        body = request.model_dump(by_alias=True) if isinstance(request, BaseModel) else dict(request)
        return _typed(self._call(
            "SwapQuote", runtime_pb2.SwapQuoteRequest(request=_struct(body)), lambda r: SwapQuoteData(**MessageToDict(r.quote))
        ))

    @never_raises()
    def execute(self, quote: Any = None, expires_at: str | None = None, **kwargs: Any) -> Envelope[Any] | list[Envelope[Any]]:
        """One quote's data -> one envelope; a list of them -> a list of envelopes."""
        expires_at = expires_at or kwargs.get("expiresAt")
        if isinstance(quote, (list, tuple)):
            return [self._execute_one(q, expires_at) for q in quote] if quote else Envelope(success=False, error="No quote provided")
        return self._execute_one(quote, expires_at)

    def _execute_one(self, quote: Any, expires_at: str | None) -> Envelope[Any]:
        if isinstance(quote, BaseModel):
            quote = quote.model_dump(by_alias=True)
        if not isinstance(quote, dict) or not quote:
            return Envelope(success=False, error="No quote provided")
        request = runtime_pb2.SwapExecuteRequest(quote=_struct(quote))
        if expires_at:
            request.expires_at = expires_at
        envelope = _typed(self._call("SwapExecute", request, lambda r: r))
        if not envelope.success:
            return envelope
        response = cast(runtime_pb2.SwapExecuteResponse, envelope.data)  # the response itself (to_data above)
        if response.suggested:
            details = MessageToDict(response.suggestion_details)
            return Envelope(success=True, data=SignAndSendData(suggested=True, suggestionId=response.suggestion_id, details=details))
        data = SwapExecuteData(**MessageToDict(response.result))
        return Envelope(success=data.status == "success", data=data, error=data.error)
