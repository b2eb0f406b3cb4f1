"""Pydantic models at the SDK boundary.

Responses keep unknown keys (`extra="allow"`), requests ignore them
(`extra="ignore"`), and both accept snake_case and camelCase names, as Circuit's SDK does.
"""

from __future__ import annotations

from typing import Any, Generic, Literal, TypeVar

from pydantic import AliasChoices, BaseModel, ConfigDict, Field

T = TypeVar("T")


class _Response(BaseModel):
    model_config = ConfigDict(extra="allow", populate_by_name=True)

    def __getitem__(self, key: str) -> Any:
        """Dict-style access (`resp["data"]`) for agents written against plain dicts."""
        return getattr(self, key)

    def get(self, key: str, default: Any = None) -> Any:
        return getattr(self, key, default)


class Envelope(_Response, Generic[T]):
    success: bool
    data: T | None = None
    error: str | None = None


class CurrentPosition(_Response):
    network: str
    assetAddress: str
    tokenId: str | None = None
    avgUnitCost: str = "0"
    currentQty: str


class CurrentPositionsData(_Response):
    positions: list[CurrentPosition]
    hasPendingTxs: bool


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
    model_config = ConfigDict(extra="ignore", populate_by_name=True)


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
    request: dict[str, Any]


class LogResponse(_Response):
    success: bool
    error: str | None = None


LogLevel = Literal["info", "error"]


class EvmMessageSignRequest(_Request):
    messageType: Literal["eip712", "eip191"] = Field(validation_alias=AliasChoices("messageType", "message_type"))
    chainId: int = Field(validation_alias=AliasChoices("chainId", "chain_id"))
    data: dict[str, Any]
