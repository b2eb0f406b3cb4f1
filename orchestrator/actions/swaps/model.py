"""What a swap request and a quote are, and the typed errors Circuit agents check for."""

from __future__ import annotations

import re
from dataclasses import dataclass, field
from decimal import Decimal, InvalidOperation

import grpc
from pydantic import AliasChoices, BaseModel, ConfigDict, Field, field_validator

from orchestrator.errors import Refused


class SwapError(Refused):
    """A refusal with one of Circuit's swap error codes, e.g. QUOTE_STALE."""

    def __init__(self, code: str, message: str, status: grpc.StatusCode = grpc.StatusCode.FAILED_PRECONDITION) -> None:
        super().__init__(status, f"{code}: {message}")
        self.swap_code = code


class Asset(BaseModel):
    model_config = ConfigDict(extra="ignore")

    network: str
    address: str


class QuoteRequest(BaseModel):
    """Circuit's quote request; unknown keys are ignored."""

    model_config = ConfigDict(extra="ignore", populate_by_name=True)

    from_: Asset = Field(validation_alias=AliasChoices("from", "from_"))
    to: Asset
    amount: str
    from_token: str | None = Field(default=None, validation_alias=AliasChoices("fromToken", "from_token"))
    to_token: str | None = Field(default=None, validation_alias=AliasChoices("toToken", "to_token"))
    # Percent strings, as Circuit takes them.
    slippage: str = "0.5"
    price_impact: str = Field(default="100.0", validation_alias=AliasChoices("priceImpact", "price_impact"))
    engines: list[str] | None = None

    @field_validator("amount")
    @classmethod
    def _amount(cls, value: str) -> str:
        if not re.fullmatch(r"[1-9]\d*", value):
            raise ValueError(f"amount {value!r} must be a positive integer string in the token's smallest unit")
        return value

    @field_validator("slippage", "price_impact")
    @classmethod
    def _percent(cls, value: str) -> str:
        try:
            number = Decimal(str(value))
        except InvalidOperation:
            raise ValueError(f"{value!r} must be a percentage as a string, e.g. \"0.5\"") from None
        if not 0 <= number <= 100:
            raise ValueError(f"{value!r} must be between 0 and 100 (percent)")
        return str(value)

    @property
    def token_in(self) -> str:
        return (self.from_token or self.from_.address).lower()

    @property
    def token_out(self) -> str:
        return (self.to_token or self.to.address).lower()


@dataclass
class Step:
    """One transaction that carries out part of a quote."""

    description: str
    to: str
    data: str
    value: str = "0"


@dataclass
class EngineQuote:
    engine: str
    amount_in: int
    amount_out: int
    minimum_out: int
    price_impact_percent: Decimal
    steps: list[Step] = field(default_factory=list)
