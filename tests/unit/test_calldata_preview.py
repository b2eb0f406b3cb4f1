"""The calldata a suggestion's preview decodes for the person approving: well-known
functions shown with their arguments, anything the agent appended or encoded unusually said
rather than hidden, unknown selectors named as unknown, and malformed calldata never an error."""

from __future__ import annotations

import pytest
from eth_abi import encode
from eth_utils import to_checksum_address

from orchestrator.actions.calldata import decode

SPENDER = to_checksum_address("0x" + "ab" * 20)
RECIPIENT = to_checksum_address("0x" + "cd" * 20)


def named(decoded: dict) -> dict:
    return {argument["name"]: argument["value"] for argument in decoded["arguments"]}


def call(selector: str, types: list[str], values: list) -> str:
    return selector + encode(types, values).hex()


def test_a_transfer_shows_its_recipient_and_amount():
    decoded = decode(call("0xa9059cbb", ["address", "uint256"], [RECIPIENT, 1234]))
    assert decoded == {"selector": "0xa9059cbb", "function": "transfer(address,uint256)",
                       "arguments": [{"name": "to", "type": "address", "value": RECIPIENT},
                                     {"name": "amount", "type": "uint256", "value": "1234"}], "decoded_by": "selector"}


def test_an_unlimited_approval_says_so():
    decoded = decode(call("0x095ea7b3", ["address", "uint256"], [SPENDER, 2**256 - 1]))
    assert decoded["function"] == "approve(address,uint256)"
    assert named(decoded)["spender"] == SPENDER and named(decoded)["amount"].endswith("(unlimited)")


def test_bytes_appended_after_the_arguments_are_counted():
    decoded = decode(call("0xa9059cbb", ["address", "uint256"], [RECIPIENT, 1]) + "de" * 40)
    assert named(decoded) == {"to": RECIPIENT, "amount": "1"} and decoded["extra_bytes"] == 40


def test_a_non_standard_encoding_is_flagged():
    # The path's offset points one word further than the standard encoding puts it.
    words = [1, 2, 0xC0, int(RECIPIENT, 16), 9, 0, 1, int(SPENDER, 16)]
    body = "".join(f"{word:064x}" for word in words)
    decoded = decode("0x38ed1739" + body)
    assert named(decoded)["path"] == [SPENDER] and "standard encoding" in decoded["note"]


def test_a_long_swap_path_is_cut_and_counted():
    decoded = decode(call("0x38ed1739", ["uint256", "uint256", "address[]", "address", "uint256"], [1, 2, [SPENDER] * 40, RECIPIENT, 9]))
    path = named(decoded)["path"]
    assert len(path) == 17 and path[-1] == "… 24 more" and named(decoded)["to"] == RECIPIENT


@pytest.mark.parametrize(("data", "expected"), [
    ("0x12345678" + "00" * 64, {"selector": "0x12345678", "function": None}),
    ("0xabcd", {"selector": "0xabcd", "function": None}),
])
def test_unknown_calldata_is_named_unknown(data, expected):
    decoded = decode(data)
    assert {key: decoded[key] for key in expected} == expected and decoded["note"]


def test_truncated_arguments_are_an_explained_failure_not_an_error():
    decoded = decode("0xa9059cbb" + "00" * 40)
    assert decoded["function"] == "transfer(address,uint256)" and decoded["error"].startswith("does not decode as transfer")
    assert "arguments" not in decoded


def test_dirty_padding_shows_where_an_old_token_would_send_and_warns():
    # High bytes the agent chose in the address word: a pre-0.5 Solidity token drops them and
    # pays the low 20 bytes; the preview shows that address and says so, never the agent's bytes.
    data = "0xa9059cbb" + "41" * 12 + RECIPIENT[2:].lower() + f"{5:064x}"
    decoded = decode(data)
    assert named(decoded) == {"to": RECIPIENT, "amount": "5"} and "old Solidity" in decoded["note"]
    assert "AAAA" not in str(decoded) and "41414141" not in str(decoded)


def test_allowances_too_large_to_spend_down_are_marked():
    assert named(decode(call("0x095ea7b3", ["address", "uint256"], [SPENDER, 2**255])))["amount"].endswith("(effectively unlimited)")
    assert named(decode(call("0x095ea7b3", ["address", "uint256"], [SPENDER, 10**18])))["amount"] == str(10**18)
    assert named(decode(call("0xa9059cbb", ["address", "uint256"], [SPENDER, 2**256 - 1])))["amount"] == str(2**256 - 1)  # not an allowance


def test_long_calldata_is_not_decoded_but_named():
    decoded = decode(call("0x38ed1739", ["uint256", "uint256", "address[]", "address", "uint256"], [1, 2, [SPENDER] * 200, RECIPIENT, 9]))
    assert decoded["function"].startswith("swapExactTokensForTokens") and "longer than this preview decodes" in decoded["error"]


def test_a_plain_native_transfer_has_nothing_to_decode():
    assert decode("0x") is None and decode("") is None
