"""The value types a policy file is written in, each parsed strictly once, at the boundary.

Amounts are integers in the asset's smallest unit, written as ASCII digit strings (JSON
numbers lose precision past 2^53); `str.isdigit()` is not used because it accepts "²" and
Arabic-Indic digits. Venue decimals are plain positive decimal strings as the venues write
them ("0.5", "100000"), never exponents, signs, NaN or infinities.
"""

from __future__ import annotations

import re
from decimal import Decimal, InvalidOperation
from typing import Annotated

from pydantic import BeforeValidator, Field, PlainSerializer

from signer.solana import is_solana_address

_ADDRESS = re.compile(r"^0x[0-9a-fA-F]{40}$")
_DIGITS = re.compile(r"^[0-9]{1,78}$")  # 78 digits hold every uint256
_VENUE_DECIMAL = re.compile(r"^(0|[1-9][0-9]{0,29})(\.[0-9]{1,30})?$")

NATIVE = "native"
MAX_UINT256 = 2**256 - 1
# The address policies write for "the wallet this policy belongs to".
WALLET = "$wallet"


def evm_address(value: object) -> str:
    """A 0x-prefixed 20-byte hex address, lower-cased (EVM addresses are case-insensitive)."""
    if not isinstance(value, str) or not _ADDRESS.match(value):
        raise ValueError(f"{value!r} is not a 0x-prefixed 20-byte hex address")
    return value.lower()


def solana_address(value: object) -> str:
    if not isinstance(value, str) or not is_solana_address(value):
        raise ValueError(f"{value!r} is not a base58 Solana address")
    return value


def amount(value: object) -> int:
    """A non-negative integer amount in the smallest unit, from "123" or 123."""
    if isinstance(value, bool):
        raise ValueError(f"{value!r} is not an amount")
    text = str(value) if isinstance(value, int) else value
    if not isinstance(text, str) or not _DIGITS.match(text):
        raise ValueError(f"{value!r} must be a non-negative integer in the smallest unit, written with the digits 0-9 (e.g. \"1000\")")
    parsed = int(text)
    if parsed > MAX_UINT256:
        raise ValueError(f"{value!r} is larger than any on-chain amount (2^256 - 1)")
    return parsed


def venue_decimal(value: object, what: str = "value") -> Decimal:
    """A finite non-negative decimal in the venues' plain format ("0.25", "100000")."""
    if isinstance(value, int) and not isinstance(value, bool):
        value = str(value)
    if not isinstance(value, str) or not _VENUE_DECIMAL.match(value):
        raise ValueError(f"{what} {value!r} must be a plain decimal string such as \"0.25\" or \"100000\" (no sign, exponent or spaces)")
    try:
        return Decimal(value)
    except InvalidOperation:  # pragma: no cover - the pattern admits only valid decimals
        raise ValueError(f"{what} {value!r} is not a decimal") from None


def asset(value: object) -> str:
    """"native" or an ERC-20 token address."""
    return NATIVE if value == NATIVE else evm_address(value)


def solana_asset(value: object) -> str:
    """"native" (lamports) or an SPL mint address."""
    return NATIVE if value == NATIVE else solana_address(value)


def _positive_decimal(value: object) -> Decimal:
    parsed = venue_decimal(value)
    if parsed <= 0:
        raise ValueError(f"{value!r} must be greater than zero")
    return parsed


# Pydantic field types: parsed on the way in, written back as strings.
EvmAddress = Annotated[str, BeforeValidator(evm_address)]
SolanaAddress = Annotated[str, BeforeValidator(solana_address)]
Asset = Annotated[str, BeforeValidator(asset)]
SolanaAsset = Annotated[str, BeforeValidator(solana_asset)]
Amount = Annotated[int, BeforeValidator(amount), PlainSerializer(str, return_type=str)]
UsdAmount = Annotated[Decimal, BeforeValidator(lambda v: venue_decimal(v, "amount")), PlainSerializer(lambda d: format(d, "f"), return_type=str)]
PositiveDecimal = Annotated[Decimal, BeforeValidator(_positive_decimal), PlainSerializer(lambda d: format(d, "f"), return_type=str)]
# A rolling cap's window: a day unless given, at most ten years (date arithmetic stays finite).
WindowSeconds = Annotated[int, Field(ge=1, le=10 * 365 * 86_400)]
DAY = 86_400


def wallet_key(wallet: str) -> str:
    """The key a wallet is filed under: EVM addresses are case-insensitive hex, Solana's
    base58 addresses are case-sensitive."""
    return wallet.lower() if wallet.startswith("0x") else wallet
