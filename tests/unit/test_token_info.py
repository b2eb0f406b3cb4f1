"""What is trusted of a token contract's answers, and of a price endpoint's."""

from __future__ import annotations

from decimal import Decimal

from orchestrator.chains.token_info import erc20_decimals, erc20_symbol
from orchestrator.sessions.prices import number_at


def _abi_string(raw: bytes, claimed_length: int | None = None) -> str:
    length = len(raw) if claimed_length is None else claimed_length
    padded = raw + b"\0" * (-len(raw) % 32)
    return "0x" + (32).to_bytes(32, "big").hex() + length.to_bytes(32, "big").hex() + padded.hex()


def test_symbols_are_decoded_bounded_and_stripped():
    assert erc20_symbol(_abi_string(b"USDC")) == "USDC"
    assert erc20_symbol("0x" + b"MKR".ljust(32, b"\0").hex()) == "MKR"  # bytes32, as older tokens answer
    assert erc20_symbol(_abi_string("USD₮".encode())) == "USD₮"
    assert erc20_symbol(_abi_string(b"\x1b]8;;http://x\x07\xe2\x80\xaeEVIL")) == "]8;;http://xEVIL"
    assert erc20_symbol(_abi_string(b"A" * 5000)) == "A" * 16
    assert erc20_symbol(_abi_string(b"\0\n\t")) is None  # nothing left to show
    assert erc20_symbol(_abi_string(b"ABC", claimed_length=2**200)) is None  # a length past the answer
    assert erc20_symbol("0x") is None and erc20_symbol(None) is None and erc20_symbol("0xzz") is None


def test_decimals_must_be_an_erc20_uint8():
    assert erc20_decimals("0x" + (6).to_bytes(32, "big").hex()) == 6
    assert erc20_decimals("0x" + (256).to_bytes(32, "big").hex()) is None
    assert erc20_decimals("0x") is None and erc20_decimals({"x": 1}) is None


def test_a_price_is_a_finite_non_negative_number_at_its_path():
    assert number_at({"ethereum": {"usd": 3120.5}}, "ethereum.usd") == Decimal("3120.5")
    assert number_at({"data": [{"price": "1.0001"}]}, "data.0.price") == Decimal("1.0001")
    for document, path in (({"a": True}, "a"), ({"a": "NaN"}, "a"), ({"a": -1}, "a"), ({"a": {"b": 1}}, "a"), ({}, "a"),
                           ({"a": [1]}, "a.5"), ({"a": "1e999999999"}, "a")):
        assert number_at(document, path) is None, (document, path)
