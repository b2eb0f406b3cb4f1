"""The signer's policy engine: each rule, and properties over random policies and calls."""

from __future__ import annotations

import pytest
from hypothesis import given, settings
from hypothesis import strategies as st
from pydantic import ValidationError

from signer.policy import (
    MAX_UINT256,
    SELECTOR_APPROVE,
    SELECTOR_TRANSFER,
    EvmCall,
    SpendLedger,
    WalletPolicy,
    decide_evm_transaction,
)

WALLET = "0x" + "11" * 20
TOKEN = "0x" + "22" * 20
SPENDER = "0x" + "33" * 20
OTHER = "0x" + "44" * 20


def calldata(selector: str, *words: int) -> bytes:
    return bytes.fromhex(selector[2:]) + b"".join(w.to_bytes(32, "big") for w in words)


def address_word(address: str) -> int:
    return int(address, 16)


def decide(policy, call, ledger=None, now=1_000_000.0, halted=False):
    return decide_evm_transaction(policy, WALLET, call, ledger or SpendLedger(), now, halted)


POLICY = WalletPolicy(
    allowed_chain_ids=[1],
    max_native_value_per_tx="1000",
    contracts=[{"address": TOKEN, "selectors": [SELECTOR_TRANSFER]}],
    approvals=[{"token": TOKEN, "spender": SPENDER, "max_amount": "500"}],
    spend_caps=[{"chain_id": 1, "asset": "native", "amount": "1500", "window_seconds": 3600},
                {"chain_id": 1, "asset": TOKEN, "amount": "700", "window_seconds": 3600}],
)


@pytest.mark.parametrize(
    "call, allowed, rule",
    [
        (EvmCall(1, OTHER, 10, b""), True, "chain-allowlist"),
        (EvmCall(5, OTHER, 10, b""), False, "chain-allowlist"),
        (EvmCall(1, OTHER, 1001, b""), False, "native-value-cap"),
        (EvmCall(1, TOKEN, 0, calldata(SELECTOR_TRANSFER, address_word(OTHER), 10)), True, "contract-allowlist"),
        (EvmCall(1, TOKEN, 0, calldata("0xdeadbeef", 1)), False, "contract-allowlist"),
        (EvmCall(1, OTHER, 0, calldata(SELECTOR_TRANSFER, address_word(OTHER), 10)), False, "contract-allowlist"),
        (EvmCall(1, TOKEN, 0, calldata(SELECTOR_APPROVE, address_word(SPENDER), 500)), True, "approval-limit"),
        (EvmCall(1, TOKEN, 0, calldata(SELECTOR_APPROVE, address_word(SPENDER), 501)), False, "approval-limit"),
        (EvmCall(1, TOKEN, 0, calldata(SELECTOR_APPROVE, address_word(SPENDER), MAX_UINT256)), False, "approval-limit"),
        (EvmCall(1, TOKEN, 0, calldata(SELECTOR_APPROVE, address_word(OTHER), 1)), False, "approval-limit"),
        (EvmCall(1, TOKEN, 0, calldata(SELECTOR_TRANSFER, address_word(OTHER), 701)), False, "spend-cap"),
    ],
)
def test_each_rule(call, allowed, rule):
    decision = decide(POLICY, call)
    assert (decision.allowed, decision.rule) == (allowed, rule), decision.reason


def test_no_policy_and_halt_deny():
    assert decide(None, EvmCall(1, OTHER, 0, b"")).rule == "default-deny"
    assert decide(POLICY, EvmCall(1, OTHER, 0, b""), halted=True).rule == "halted"


def test_recipient_allowlist():
    policy = WalletPolicy(allowed_chain_ids=[1], allowed_recipients=[OTHER])
    assert decide(policy, EvmCall(1, OTHER, 5, b"")).allowed
    assert decide(policy, EvmCall(1, SPENDER, 5, b"")).rule == "recipient-allowlist"


def test_spend_cap_counts_a_rolling_window():
    ledger = SpendLedger()
    for at in (100.0, 2000.0):
        decision = decide(POLICY, EvmCall(1, OTHER, 700, b""), ledger, now=at)
        assert decision.allowed
        ledger.record(WALLET, 1, "native", 700, at)
    assert decide(POLICY, EvmCall(1, OTHER, 200, b""), ledger, now=2500.0).rule == "spend-cap"
    # An hour after the first spend it has left the window.
    assert decide(POLICY, EvmCall(1, OTHER, 200, b""), ledger, now=3701.0).allowed


def test_unlimited_approvals_cannot_even_be_configured():
    with pytest.raises(ValidationError, match="unlimited"):
        WalletPolicy(approvals=[{"token": TOKEN, "spender": SPENDER, "max_amount": str(MAX_UINT256)}])


addresses = st.sampled_from([TOKEN, SPENDER, OTHER, "0x" + "55" * 20])
selectors = st.sampled_from([SELECTOR_TRANSFER, SELECTOR_APPROVE, "0x39509351", "0xdeadbeef", "0x23b872dd"])
amounts = st.one_of(st.integers(0, 3000), st.just(MAX_UINT256), st.integers(0, MAX_UINT256))
policies = st.builds(
    WalletPolicy,
    allowed_chain_ids=st.lists(st.sampled_from([1, 5, 137]), max_size=2),
    max_native_value_per_tx=st.one_of(st.none(), st.integers(0, 2000).map(str)),
    allowed_recipients=st.one_of(st.none(), st.lists(addresses, max_size=2)),
    contracts=st.lists(st.fixed_dictionaries({"address": addresses, "selectors": st.lists(st.one_of(selectors, st.just("*")), min_size=1, max_size=2)}), max_size=2),
    approvals=st.lists(st.fixed_dictionaries({"token": addresses, "spender": addresses, "max_amount": st.integers(0, 2000).map(str)}), max_size=2),
    spend_caps=st.lists(st.fixed_dictionaries({"chain_id": st.sampled_from([1, 5]), "asset": st.one_of(st.just("native"), addresses),
                                               "amount": st.integers(0, 3000).map(str), "window_seconds": st.integers(1, 100)}), max_size=2),
)
calls = st.builds(
    EvmCall,
    chain_id=st.sampled_from([1, 5, 137]),
    to=addresses,
    value=st.integers(0, 3000),
    data=st.one_of(st.just(b""), st.builds(lambda sel, a, b: calldata(sel, a, b), selectors, st.one_of(addresses.map(address_word), amounts), amounts)),
)


@settings(max_examples=400, deadline=None)
@given(policies, st.lists(st.tuples(calls, st.floats(0, 50)), max_size=8))
def test_nothing_outside_the_policy_is_ever_allowed(policy, sequence):
    ledger = SpendLedger()
    now = 0.0
    allowed_so_far: list[tuple[float, tuple]] = []
    for call, step in sequence:
        now += step
        decision = decide(policy, call, ledger, now)
        if not decision.allowed:
            continue
        assert call.chain_id in policy.allowed_chain_ids
        if policy.max_native_value_per_tx is not None:
            assert call.value <= int(policy.max_native_value_per_tx)
        to = call.to.lower()
        if not call.data:
            assert policy.allowed_recipients is None or to in policy.allowed_recipients
        elif call.selector in (SELECTOR_APPROVE, "0x39509351"):
            spender, amount = "0x" + call.data[16:36].hex(), int.from_bytes(call.data[36:68], "big")
            assert any(r.token == to and r.spender == spender and amount <= int(r.max_amount) for r in policy.approvals)
            assert amount < MAX_UINT256
        else:
            assert any(c.address == to and ("*" in c.selectors or call.selector in c.selectors) for c in policy.contracts)
        for chain_id, asset, amount in decision.spends:
            ledger.record(WALLET, chain_id, asset, amount, now)
        allowed_so_far.append((now, decision.spends))
        # Every cap holds over its window, counting everything allowed so far.
        for cap in policy.spend_caps:
            window_total = sum(
                amount for at, spends in allowed_so_far if at > now - cap.window_seconds
                for chain_id, asset, amount in spends if (chain_id, asset) == (cap.chain_id, cap.asset)
            )
            assert window_total <= int(cap.amount)


def test_message_rules():
    from signer.policy import decide_evm_message

    domain = {"name": "Corral Exchange", "chainId": 1, "verifyingContract": TOKEN}
    policy = WalletPolicy(eip712_domains=[{"name": "Corral Exchange", "chain_id": 1, "verifying_contract": TOKEN}])
    assert decide_evm_message(policy, None).rule == "eip191-allowed" and not decide_evm_message(policy, None).allowed
    assert decide_evm_message(WalletPolicy(allow_eip191=True), None).allowed
    assert decide_evm_message(policy, {"domain": domain}).allowed
    assert not decide_evm_message(policy, {"domain": {**domain, "chainId": 5}}).allowed
    assert not decide_evm_message(policy, {"domain": {**domain, "verifyingContract": OTHER}}).allowed
    assert not decide_evm_message(policy, {"message": {}}).allowed
    assert not decide_evm_message(None, {"domain": domain}).allowed
    assert decide_evm_message(policy, {"domain": domain}, halted=True).rule == "halted"


def test_session_budgets():
    from signer.policy import decide_session_budget

    policy = WalletPolicy(allowed_chain_ids=[1], session_budgets=[{"chain_id": 1, "max_amount": "1000"}])
    assert not decide_session_budget(policy, 1, "native", 1001).allowed
    assert decide_session_budget(policy, 1, "native", 1000).allowed
    assert decide_session_budget(WalletPolicy(allowed_chain_ids=[1]), 1, "native", 10**30).allowed  # nothing to open
    ledger = SpendLedger()
    # A session without an opened budget spends nothing of a budgeted asset.
    assert decide(policy, EvmCall(1, OTHER, 10, b""), ledger).allowed  # no session: wallet rules only
    denied = decide_evm_transaction(policy, WALLET, EvmCall(1, OTHER, 10, b""), ledger, 0.0, session_id=7)
    assert (denied.allowed, denied.rule) == (False, "session-budget")
    ledger.open_budget(WALLET, 7, 1, "native", 600)
    assert decide_evm_transaction(policy, WALLET, EvmCall(1, OTHER, 600, b""), ledger, 0.0, session_id=7).allowed
    ledger.record(WALLET, 1, "native", 600, 0.0, session_id=7)
    over = decide_evm_transaction(policy, WALLET, EvmCall(1, OTHER, 1, b""), ledger, 0.0, session_id=7)
    assert (over.allowed, over.rule) == (False, "session-budget")
    # Another session's budget is its own.
    ledger.open_budget(WALLET, 8, 1, "native", 600)
    assert decide_evm_transaction(policy, WALLET, EvmCall(1, OTHER, 600, b""), ledger, 0.0, session_id=8).allowed
