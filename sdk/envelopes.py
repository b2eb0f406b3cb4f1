"""Pydantic models at the SDK boundary.

Responses keep unknown keys (`extra="allow"`), requests ignore them
(`extra="ignore"`), and both accept snake_case and camelCase names, as Circuit's SDK does:
a response field can be read as `resp.data.tx_hash`, `resp.data.txHash`,
`resp["data"]["txHash"]` or `resp.get("data")`.

Models are built (their validators made) when first used, not when defined (`defer_build`,
inherited by subclasses): a sandbox starts with 25 of them defined and an execution uses a
few. Building the others cost about 2% of the CPU a cold start spends before `run()`.
"""

from __future__ import annotations

import functools
import re
from collections.abc import Callable
from typing import TYPE_CHECKING, Any, Generic, Literal, ParamSpec, Protocol, TypeVar, cast

from pydantic import AliasChoices, BaseModel, ConfigDict, Field, computed_field

if TYPE_CHECKING:
    from google.protobuf.message import Message

T = TypeVar("T")
P = ParamSpec("P")
R = TypeVar("R")

# The error string of an SDK call whose platform feature does not exist on Corral yet.
NOT_AVAILABLE_CODE = "FEATURE_NOT_AVAILABLE"


def _snake(name: str) -> str:
    return re.sub(r"(?<=[a-z0-9])([A-Z])", r"_\1", name).lower()


def _camel(name: str) -> str:
    head, *rest = name.split("_")
    return head + "".join(part[:1].upper() + part[1:] for part in rest)


class _Response(BaseModel):
    # Inherited by every response model (pydantic merges a subclass's config with this one).
    model_config = ConfigDict(extra="allow", populate_by_name=True, defer_build=True)

    def _has_key(self, key: str) -> bool:
        return key in type(self).model_fields or key in (self.__pydantic_extra__ or {})

    def __getattr__(self, name: str) -> Any:
        try:
            return super().__getattr__(name)  # type: ignore[misc]  # pydantic defines it at run time only (not TYPE_CHECKING)
        except AttributeError:
            if not name.startswith("_"):
                for other in (_snake(name), _camel(name)):
                    if other != name and self._has_key(other):
                        return getattr(self, other)
            raise

    def __getitem__(self, key: str) -> Any:
        """Dict-style access (`resp["data"]`) for agents written against plain dicts."""
        if not isinstance(key, str):
            raise KeyError(key)
        try:
            return getattr(self, key)
        except AttributeError:
            raise KeyError(key) from None

    def __contains__(self, key: object) -> bool:
        if not isinstance(key, str):
            return False
        try:
            getattr(self, key)
        except AttributeError:
            return False
        return True

    def get(self, key: str, default: Any = None) -> Any:
        try:
            return self[key]
        except KeyError:
            return default


class Envelope(_Response, Generic[T]):
    success: bool
    data: T | None = None
    error: str | None = None

    # Circuit ≤1.x names for `error`, still read by older agents.
    @property
    def error_message(self) -> str | None:
        return self.error

    @property
    def errorMessage(self) -> str | None:
        return self.error

    @property
    def error_details(self) -> Any:
        extra = self.__pydantic_extra__ or {}
        return extra.get("error_details", extra.get("errorDetails"))

    @property
    def errorDetails(self) -> Any:
        return self.error_details


class LogResponse(_Response):
    success: bool
    error: str | None = None


def describe_exception(exc: BaseException) -> str:
    try:
        return f"{type(exc).__name__}: {exc}"
    except Exception:  # an exception whose __str__ fails
        return type(exc).__name__


def never_raises(response: type[Envelope[Any]] | type[LogResponse] = Envelope) -> Callable[[Callable[P, R]], Callable[P, R]]:
    """Decorates a public SDK method: whatever goes wrong inside it (bad arguments,
    garbage input, a broken transport) comes back as `response(success=False, error=...)`."""

    def decorate(method: Callable[P, R]) -> Callable[P, R]:
        @functools.wraps(method)
        def wrapper(*args: P.args, **kwargs: P.kwargs) -> R:
            try:
                return method(*args, **kwargs)
            except Exception as exc:
                # `response` is the kind of envelope the method returns (Envelope or LogResponse).
                return cast(R, response(success=False, error=describe_exception(exc)))

        return wrapper

    return decorate


class RuntimeCall(Protocol):
    """`call(method, request, to_data)`: one runtime API call, answered as an envelope whose
    data is `to_data(response)` (AgentContext._call); never raises."""

    def __call__(self, method: str, request: Message, to_data: Callable[[Any], T] | None = None, /) -> Envelope[T]: ...


def not_available(feature: str) -> Envelope[Any]:
    return Envelope(
        success=False,
        error=f"{feature} is not available on this platform yet",
        code=NOT_AVAILABLE_CODE,  # type: ignore[call-arg]  # an extra field (extra="allow"), which pydantic's typed signature omits
    )


# -- positions and portfolio ------------------------------------------------------


class CurrentPosition(_Response):
    network: str
    assetAddress: str
    tokenId: str | None = None
    avgUnitCost: str = "0"
    currentQty: str


class EnrichedPosition(CurrentPosition):
    """What `get_current_positions()` returns: a position plus Polymarket details, when it is one."""

    polymarketMetadata: dict[str, Any] | None = None


class CurrentPositionsData(_Response):
    positions: list[EnrichedPosition]
    hasPendingTxs: bool


AssetClass = Literal["cash", "spot", "perp", "staking"]


class SessionBalance(_Response):
    """One asset the session holds (Circuit 2.10 `SessionBalance`). `amountRaw` is in the
    asset's smallest unit; `decimals` is None when Corral does not know the token."""

    network: str
    assetKey: str
    tokenAddress: str
    tokenId: str | None = None
    symbol: str | None = None
    decimals: int | None = None
    amountRaw: str
    valueUsd: str | None = None
    assetClass: AssetClass = "spot"


class SessionPosition(_Response):
    """A perp or prediction-market position (Circuit 2.10 `SessionPosition`)."""

    network: str
    assetKey: str
    coin: str
    size: str
    averageEntryPrice: str | None = None
    markPriceUsd: str | None = None
    unrealizedPnlUsd: str | None = None
    polymarketMetadata: dict[str, Any] | None = None


class SessionPortfolio(_Response):
    balances: list[SessionBalance] = []
    positions: list[SessionPosition] = []


# -- memory -------------------------------------------------------------------------


class MemoryKeyData(_Response):
    key: str


class MemoryValueData(_Response):
    key: str
    value: str | None = None
    updated_at: int | None = Field(default=None, alias="updatedAt")


class MemoryListItem(_Response):
    key: str
    updatedAt: int


class MemoryListData(_Response):
    items: list[MemoryListItem]

    # Circuit ≤1.x answered `memory.list()` with `{keys, count}`.
    @computed_field  # type: ignore[prop-decorator]  # pydantic's documented spelling, which mypy does not model
    @property
    def keys(self) -> list[str]:
        return [item.key for item in self.items]

    @computed_field  # type: ignore[prop-decorator]  # pydantic's documented spelling, which mypy does not model
    @property
    def count(self) -> int:
        return len(self.items)


# -- transactions and messages -------------------------------------------------------


class SignAndSendData(_Response):
    internal_transaction_id: int | None = None
    tx_hash: str | None = None
    transaction_url: str | None = None
    suggested: bool = False
    suggestionId: int | None = None
    # Manual mode: what the user is shown for approval.
    details: dict[str, Any] | None = None


class EvmMessageSignData(_Response):
    v: int
    r: str
    s: str
    formattedSignature: str
    type: str = "evm"


class _Request(BaseModel):
    model_config = ConfigDict(extra="ignore", populate_by_name=True, defer_build=True)


class EthereumSignRequest(_Request):
    to_address: str = Field(validation_alias=AliasChoices("to_address", "toAddress"))
    data: str = "0x"
    value: str = "0"
    gas: int | None = None
    max_fee_per_gas: str | None = Field(default=None, validation_alias=AliasChoices("max_fee_per_gas", "maxFeePerGas"))
    max_priority_fee_per_gas: str | None = Field(
        default=None, validation_alias=AliasChoices("max_priority_fee_per_gas", "maxPriorityFeePerGas")
    )
    nonce: int | None = None
    enforce_transaction_success: bool | None = Field(
        default=None, validation_alias=AliasChoices("enforce_transaction_success", "enforceTransactionSuccess")
    )


class SolanaSignRequest(_Request):
    hex_transaction: str = Field(validation_alias=AliasChoices("hex_transaction", "hexTransaction"))


class SignAndSendRequest(_Request):
    network: str
    message: str | None = None
    expires_at: str | None = Field(default=None, validation_alias=AliasChoices("expires_at", "expiresAt"))
    # A dict, an EthereumSignRequest or a SolanaSignRequest; checked against `network`.
    request: Any


LogLevel = Literal["info", "error"]


class EvmMessageSignRequest(_Request):
    messageType: Literal["eip712", "eip191"] = Field(validation_alias=AliasChoices("messageType", "message_type"))
    chainId: int = Field(validation_alias=AliasChoices("chainId", "chain_id"))
    data: dict[str, Any]


class AssetChange(_Response):
    """One asset movement of a confirmed transaction (SDK `transactions()`)."""

    network: str
    transactionHash: str
    fromAddress: str
    toAddress: str
    amount: str
    tokenAddress: str
    tokenId: str | None = None
    tokenType: str
    tokenUsdPrice: float | None = None
    # ISO-8601, UTC.
    timestamp: str


# Built now, not on first use: every execution that calls the SDK gets an Envelope (and most
# log), and the first build also pays pydantic's one-off costs, which would otherwise land on
# the agent's first call instead of before `run()`.
for _model in (Envelope, LogResponse):
    _model.model_rebuild(force=True)
