"""Networks as one value type: what `"ethereum:1"`, `"solana"` and `"hypercore:perp"` mean,
parsed once, instead of string comparisons scattered through every side.

The wire (and circuit.toml) carries networks as text; code that decides anything by network
parses it into a `Network` and asks it (`network.is_evm`, `network.chain_id`), and compares
addresses through `network.address_key` (hex in any case is one address; base58 is not).
"""

from __future__ import annotations

import re
from dataclasses import dataclass
from enum import StrEnum

NATIVE_EVM = "0xeeeeeeeeeeeeeeeeeeeeeeeeeeeeeeeeeeeeeeee"
NATIVE_SOLANA = "11111111111111111111111111111111"
LEGACY_NATIVE_EVM = "0x0000000000000000000000000000000000000000"

_EVM = re.compile(r"ethereum:([1-9][0-9]{0,18})")
_HYPERCORE = re.compile(r"hypercore:([a-z0-9-]{1,32})")


class NetworkKind(StrEnum):
    EVM = "ethereum"
    SOLANA = "solana"
    HYPERCORE = "hypercore"


@dataclass(frozen=True)
class Network:
    kind: NetworkKind
    # EVM: the chain id ("ethereum:1"); Hypercore: the venue ("hypercore:perp").
    chain_id: int | None = None
    venue: str | None = None

    @classmethod
    def parse(cls, text: str) -> Network:
        """`"ethereum:<chain id>"`, `"solana"` or `"hypercore:<venue>"`; ValueError naming the forms."""
        if text == NetworkKind.SOLANA:
            return cls(NetworkKind.SOLANA)
        if match := _EVM.fullmatch(text):
            return cls(NetworkKind.EVM, chain_id=int(match.group(1)))
        if match := _HYPERCORE.fullmatch(text):
            return cls(NetworkKind.HYPERCORE, venue=match.group(1))
        raise ValueError(f'{text[:80]!r} is not a network; write "ethereum:<chain id>" (e.g. "ethereum:1"), "solana" or "hypercore:perp"')

    def __str__(self) -> str:
        if self.kind is NetworkKind.EVM:
            return f"ethereum:{self.chain_id}"
        if self.kind is NetworkKind.HYPERCORE:
            return f"hypercore:{self.venue}"
        return str(self.kind)

    @property
    def is_evm(self) -> bool:
        return self.kind is NetworkKind.EVM

    @property
    def is_solana(self) -> bool:
        return self.kind is NetworkKind.SOLANA

    @property
    def is_hypercore(self) -> bool:
        return self.kind is NetworkKind.HYPERCORE

    @property
    def native_asset(self) -> str:
        """The address positions use for the network's native coin."""
        return NATIVE_SOLANA if self.is_solana else NATIVE_EVM

    def address_key(self, address: str) -> str:
        """An address as compared on this network: hex addresses in any case are one
        address, base58 (Solana) addresses are case-sensitive."""
        return address if self.is_solana else address.lower()


def parse_or_none(text: object) -> Network | None:
    """The network `text` names, or None (for checks that answer with their own message)."""
    if not isinstance(text, str):
        return None
    try:
        return Network.parse(text)
    except ValueError:
        return None


def is_solana(network: str) -> bool:
    """For text that may not be a network at all (an unchecked wire field): never raises."""
    return network == NetworkKind.SOLANA


def native_asset(network: str) -> str:
    """The address positions use for a network's native coin (the network as text)."""
    return NATIVE_SOLANA if is_solana(network) else NATIVE_EVM


def address_key(network: str, address: str) -> str:
    """`Network.address_key` for a network given as text (stored rows, wire fields)."""
    return address if is_solana(network) else address.lower()
