"""Outflows through allowed contracts. An earlier signer checked only a call's contract and
selector: a router swap paying a stranger was signed once the router's swap selector was
listed (after the token's cap was spent), `increaseAllowance` was bounded per call and not
in total (5x the bound signed), and `allowed_recipients` did not apply to ERC-20 transfers.
Each attack here is made by a real sandboxed agent; the chain is read back afterwards."""

from __future__ import annotations

import time

import pytest
from eth_abi import encode
from eth_utils import function_signature_to_4byte_selector, to_checksum_address

from tests.attacks.conftest import attack
from tests.helpers import SwapMarket

STRANGER = "0x000000000000000000000000000000000000bad1"
FRIEND = "0x00000000000000000000000000000000000000f1"
SWAP = "swapExactTokensForTokens(uint256,uint256,address[],address,uint256)"


def calldata(signature: str, *args) -> str:
    types = signature[signature.index("(") + 1 : -1].split(",")
    return "0x" + (function_signature_to_4byte_selector(signature) + encode(types, list(args))).hex()


def send(to: str, data: str) -> list:
    return ["sign_and_send", {"network": "ethereum:31337", "request": {"to_address": to, "data": data, "value": "0"}}]


@pytest.fixture(scope="module")
def market(evm):
    return SwapMarket(evm)


def funded_wallet(evm, market, policy: dict, stable: int = 1_000_000) -> str:
    wallet = evm.create_wallet()
    evm.fund(wallet, 10**18)
    market.erc20[market.stable].functions.mint(to_checksum_address(wallet), stable).transact({"from": evm.web3.eth.accounts[0]})
    evm.set_policy(wallet, {"allowed_chain_ids": [31337], **policy})
    return wallet


def test_a_router_swap_cannot_pay_a_stranger(evm, evm_attacker, market):
    """The router is listed the way that used to be enough: by its swap selector."""
    wallet = funded_wallet(evm, market, {
        "approvals": [{"token": market.stable, "spender": evm.uniswap_router, "max_amount": "100000"}],
        "contracts": [{"address": evm.uniswap_router, "selectors": ["0x" + function_signature_to_4byte_selector(SWAP).hex()]}],
    })
    path, deadline = [market.stable, market.token], int(time.time()) + 600
    approve, to_stranger, to_wallet = attack(evm, evm_attacker, wallet, [
        send(market.stable, calldata("approve(address,uint256)", evm.uniswap_router, 100_000)),
        send(evm.uniswap_router, calldata(SWAP, 100_000, 1, path, STRANGER, deadline)),
        send(evm.uniswap_router, calldata(SWAP, 100_000, 1, path, wallet, deadline)),
    ])
    assert approve["success"], approve
    assert not to_stranger["success"] and "contract-arguments" in to_stranger["error"] and "'to'" in to_stranger["error"]
    assert market.balance(market.token, STRANGER) == 0  # the stranger got nothing
    # The same swap paying the wallet itself goes through: the rule is about where it pays.
    assert to_wallet["success"], to_wallet
    assert market.balance(market.token, wallet) > 0 and market.balance(market.stable, wallet) == 900_000


def test_an_allowance_cannot_be_grown_past_its_bound_call_by_call(evm, evm_attacker, market):
    spender = "0x000000000000000000000000000000000000cafe"
    wallet = funded_wallet(evm, market, {"approvals": [{"token": market.stable, "spender": spender, "max_amount": "1000"}]})
    steps = attack(evm, evm_attacker, wallet, [send(market.stable, calldata("increaseAllowance(address,uint256)", spender, 1000))] * 5)
    assert [s["success"] for s in steps] == [True, False, False, False, False]
    assert all("approval-limit" in s["error"] for s in steps[1:])
    allowance = market.erc20[market.stable].functions.allowance(to_checksum_address(wallet), to_checksum_address(spender)).call()
    assert allowance == 1000  # read from the token: not 5,000


def test_allowed_recipients_bind_token_transfers(evm, evm_attacker, market):
    wallet = funded_wallet(evm, market, {"allowed_recipients": [FRIEND], "contracts": [{"address": market.stable, "preset": "erc20"}]})
    to_stranger, to_friend = attack(evm, evm_attacker, wallet, [
        send(market.stable, calldata("transfer(address,uint256)", STRANGER, 5000)),
        send(market.stable, calldata("transfer(address,uint256)", FRIEND, 5000)),
    ])
    assert not to_stranger["success"] and "allowed_recipients" in to_stranger["error"]
    assert to_friend["success"], to_friend
    assert (market.balance(market.stable, STRANGER), market.balance(market.stable, FRIEND)) == (0, 5000)


def test_a_token_cap_counts_allowances_granted(evm, evm_attacker, market):
    """Approve, let the spender pull it all, approve again: each approve is within the bound,
    but every grant counts against the token's daily cap, so the second is refused."""
    spender = "0x000000000000000000000000000000000000beef"
    wallet = funded_wallet(evm, market, {
        "approvals": [{"token": market.stable, "spender": spender, "max_amount": "600"}],
        "spend_caps": [{"chain_id": 31337, "asset": market.stable, "amount": "1000"}],
    })
    first, second = attack(evm, evm_attacker, wallet, [send(market.stable, calldata("approve(address,uint256)", spender, 600))] * 2)
    assert first["success"] and not second["success"] and "spend-cap" in second["error"]
