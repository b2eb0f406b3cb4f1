"""The Network value type: what each network text means, parsed once."""

from __future__ import annotations

import pytest

from corral.limits import shortened
from corral.networks import NATIVE_EVM, NATIVE_SOLANA, Network, NetworkKind, address_key, parse_or_none


@pytest.mark.parametrize(("text", "kind", "chain_id", "venue"), [
    ("ethereum:1", NetworkKind.EVM, 1, None),
    ("ethereum:31337", NetworkKind.EVM, 31337, None),
    ("solana", NetworkKind.SOLANA, None, None),
    ("hypercore:perp", NetworkKind.HYPERCORE, None, "perp"),
    ("hypercore:spot", NetworkKind.HYPERCORE, None, "spot"),
])
def test_each_network_parses_and_reads_back_as_written(text, kind, chain_id, venue):
    network = Network.parse(text)
    assert (network.kind, network.chain_id, network.venue) == (kind, chain_id, venue)
    assert str(network) == text


@pytest.mark.parametrize("text", ["ethereum:0", "ethereum:01", "ethereum:0x1", "ethereum:", "Solana", "polygon", "hypercore:", "",
                                  "ethereum:1 ", "ethereum:１", "ethereum:1１", "ethereum:" + "9" * 20])
def test_anything_else_is_refused_naming_the_forms(text):
    with pytest.raises(ValueError, match='"ethereum:<chain id>"'):
        Network.parse(text)
    assert parse_or_none(text) is None


def test_addresses_compare_by_the_networks_rules():
    assert Network.parse("ethereum:1").address_key("0xAbC") == "0xabc" == address_key("ethereum:1", "0xABC")
    assert Network.parse("solana").address_key("AbC") == "AbC" == address_key("solana", "AbC")
    assert Network.parse("ethereum:1").native_asset == NATIVE_EVM and Network.parse("solana").native_asset == NATIVE_SOLANA


def test_a_long_line_is_cut_with_a_mark_and_a_short_one_kept():
    assert shortened("x" * 250, 250) == "x" * 250
    assert shortened("x" * 251, 250) == "x" * 247 + "..."
