"""The signer's EVM policy, rule by rule: what a transaction may cost the wallet (value, fees,
tokens, allowances), where it may send it, which nonces and contracts it may use."""

from __future__ import annotations

import time

import pytest
from eth_abi import encode
from eth_utils import function_signature_to_4byte_selector
from pydantic import ValidationError

from signer.policy import EvmTransaction, SpendLedger, WalletPolicy, decide_evm_transaction, decide_session_budget
from signer.policy.values import MAX_UINT256

WALLET = "0x" + "11" * 20
TOKEN = "0x" + "22" * 20
SPENDER = "0x" + "33" * 20
OTHER = "0x" + "44" * 20
ROUTER = "0x" + "55" * 20
OUT_TOKEN = "0x" + "66" * 20
GWEI = 10**9
NOW = 1_700_000_000.0


def call(signature: str, *args) -> bytes:
    types = signature[signature.index("(") + 1 : -1].split(",") if not signature.endswith("()") else []
    return function_signature_to_4byte_selector(signature) + encode(types, list(args))


def transfer(to: str, amount: int) -> bytes:
    return call("transfer(address,uint256)", to, amount)


def approve(spender: str, amount: int) -> bytes:
    return call("approve(address,uint256)", spender, amount)


def increase(spender: str, amount: int) -> bytes:
    return call("increaseAllowance(address,uint256)", spender, amount)


def swap(amount_in: int, minimum_out: int, to: str, deadline: float = NOW + 60, path=(TOKEN, OUT_TOKEN)) -> bytes:
    return call("swapExactTokensForTokens(uint256,uint256,address[],address,uint256)", amount_in, minimum_out, list(path), to, int(deadline))


def tx(to: str = OTHER, value: int = 0, data: bytes = b"", chain: int = 1, nonce: int = 0, gas: int = 21_000, fee: int = GWEI) -> EvmTransaction:
    return EvmTransaction(chain_id=chain, nonce=nonce, to=to, value=value, data=data, gas=gas, fee_per_gas=fee)


def decide(policy, transaction, ledger=None, now=NOW, halted=False, session_id=0):
    return decide_evm_transaction(policy, WALLET, transaction, ledger or SpendLedger(), now, halted, session_id)


def reserve(ledger: SpendLedger, decision, now=NOW, session_id=0):
    assert decision.allowed, decision.reason
    ledger.reserve(WALLET, decision.commitments, now, session_id)


POLICY = WalletPolicy(
    allowed_chain_ids=[1],
    max_native_value_per_tx="1000000",
    contracts=[{"address": TOKEN, "preset": "erc20"}, {"address": ROUTER, "preset": "uniswap-v2-router"}],
    approvals=[{"token": TOKEN, "spender": ROUTER, "max_amount": "500"}],
    spend_caps=[{"chain_id": 1, "asset": TOKEN, "amount": "700", "window_seconds": 3600}],
)


@pytest.mark.parametrize("transaction, allowed, rule", [
    (tx(value=10), True, "chain-allowlist"),
    (tx(chain=5), False, "chain-allowlist"),
    (tx(value=1_000_001), False, "native-value-cap"),
    (tx(TOKEN, data=transfer(OTHER, 10), gas=60_000), True, "contract-arguments"),
    (tx(TOKEN, data=call("mint(address,uint256)", WALLET, 1), gas=60_000), False, "contract-allowlist"),
    (tx(OTHER, data=transfer(OTHER, 10), gas=60_000), False, "contract-allowlist"),
    (tx(TOKEN, data=approve(ROUTER, 500), gas=60_000), True, "approval-limit"),
    (tx(TOKEN, data=approve(ROUTER, 501), gas=60_000), False, "approval-limit"),
    (tx(TOKEN, data=approve(OTHER, 1), gas=60_000), False, "approval-limit"),
    (tx(TOKEN, data=transfer(OTHER, 701), gas=60_000), False, "spend-cap"),
])
def test_each_rule(transaction, allowed, rule):
    decision = decide(POLICY, transaction)
    assert (decision.allowed, decision.rule) == (allowed, rule), decision.reason


def test_no_policy_an_unreadable_one_and_a_halt_deny():
    from signer.policy import PolicyUnreadable

    assert decide(None, tx()).rule == "default-deny"
    assert decide(PolicyUnreadable("fees.0.chain_id: field required"), tx()).rule == "policy-invalid"
    assert decide(POLICY, tx(), halted=True).rule == "halted"


# ---- fees -------------------------------------------------------------------------------

def test_a_fee_is_bounded_per_gas_and_per_transaction_with_defaults():
    open_policy = WalletPolicy(allowed_chain_ids=[1])
    # The attack: a zero-value transfer whose gas limit x fee per gas pays 21 ETH to the block producer.
    assert decide(open_policy, tx(gas=30_000_000, fee=700 * GWEI)).rule == "fee-per-gas"
    assert decide(open_policy, tx(gas=30_000_000, fee=400 * GWEI)).rule == "fee-cap"  # 12 ETH of fees
    assert decide(open_policy, tx(gas=21_000, fee=400 * GWEI)).allowed  # 0.0084 ETH: under the 0.01 default
    tight = WalletPolicy(allowed_chain_ids=[1], fees=[{"chain_id": 1, "max_fee_per_gas": str(50 * GWEI), "max_fee_per_tx": str(10**15)}])
    assert decide(tight, tx(fee=51 * GWEI)).rule == "fee-per-gas"
    assert decide(tight, tx(gas=200_000, fee=50 * GWEI)).rule == "fee-cap"  # 0.01 ETH > 0.001
    assert decide(tight, tx(gas=20_000, fee=50 * GWEI)).allowed


def test_fees_count_against_native_spend_caps_and_session_budgets():
    policy = WalletPolicy(allowed_chain_ids=[1], spend_caps=[{"chain_id": 1, "asset": "native", "amount": str(10**16)}],
                          session_budgets=[{"chain_id": 1, "max_amount": str(10**16)}])
    ledger = SpendLedger()
    # 0.01 ETH per day: a zero-value transfer still pays 21,000 x 100 gwei = 0.0021 ETH.
    for nonce in range(4):
        reserve(ledger, decide(policy, tx(nonce=nonce, fee=100 * GWEI), ledger))
    assert decide(policy, tx(nonce=4, fee=100 * GWEI), ledger).rule == "spend-cap"  # 5 x 0.0021 > 0.01
    # A session with a budget of 0.003 ETH pays one such fee, not two.
    budgets = SpendLedger()
    budgets.open_budget(WALLET, 7, 1, "native", 3 * 10**15)
    reserve(budgets, decide(policy, tx(nonce=0, fee=100 * GWEI), budgets, session_id=7), session_id=7)
    assert decide(policy, tx(nonce=1, fee=100 * GWEI), budgets, session_id=7).rule == "session-budget"


# ---- nonces -----------------------------------------------------------------------------

def test_a_far_future_nonce_is_refused():
    policy = WalletPolicy(allowed_chain_ids=[1], nonce_window=4)
    ledger = SpendLedger()
    assert decide(policy, tx(nonce=4), ledger).rule == "nonce-window"  # nothing signed yet: 0..3
    reserve(ledger, decide(policy, tx(nonce=3), ledger))
    assert decide(policy, tx(nonce=7), ledger).allowed
    assert decide(policy, tx(nonce=8), ledger).rule == "nonce-window"
    assert decide(policy, tx(nonce=0), ledger).allowed  # a nonce already used: at worst replaces its own transaction
    assert decide(policy, tx(nonce=1, chain=1), ledger).allowed
    # Another chain has its own sequence; a wallet used elsewhere first starts where its owner says.
    moved = WalletPolicy(allowed_chain_ids=[1, 5], nonce_window=4, next_nonces={5: 100})
    assert decide(moved, tx(nonce=103, chain=5), ledger).allowed
    assert decide(moved, tx(nonce=104, chain=5), ledger).rule == "nonce-window"


# ---- recipients -------------------------------------------------------------------------

def test_allowed_recipients_cover_native_and_token_transfers():
    policy = WalletPolicy(allowed_chain_ids=[1], allowed_recipients=[OTHER], contracts=[{"address": TOKEN, "preset": "erc20"}])
    assert decide(policy, tx(OTHER, value=5)).allowed
    assert decide(policy, tx(SPENDER, value=5)).rule == "recipient-allowlist"
    assert decide(policy, tx(TOKEN, data=transfer(OTHER, 5), gas=60_000)).allowed
    refused = decide(policy, tx(TOKEN, data=transfer(SPENDER, 5), gas=60_000))
    assert refused.rule == "contract-arguments" and "allowed_recipients" in refused.reason
    from_wallet = call("transferFrom(address,address,uint256)", WALLET, SPENDER, 5)
    assert decide(policy, tx(TOKEN, data=from_wallet, gas=60_000)).rule == "contract-arguments"
    # A token listed by selector alone gets the same built-in recipient rule.
    by_selector = WalletPolicy(allowed_chain_ids=[1], allowed_recipients=[OTHER], contracts=[{"address": TOKEN, "selectors": ["0xa9059cbb"]}])
    assert decide(by_selector, tx(TOKEN, data=transfer(SPENDER, 5), gas=60_000)).rule == "contract-arguments"


# ---- allowances ---------------------------------------------------------------------------

def test_an_allowance_is_bounded_in_total_not_per_call():
    ledger = SpendLedger()
    policy = WalletPolicy(allowed_chain_ids=[1], approvals=[{"token": TOKEN, "spender": ROUTER, "max_amount": "500"}])
    reserve(ledger, decide(policy, tx(TOKEN, data=increase(ROUTER, 300), gas=60_000), ledger))
    assert decide(policy, tx(TOKEN, data=increase(ROUTER, 201), gas=60_000, nonce=1), ledger).rule == "approval-limit"
    reserve(ledger, decide(policy, tx(TOKEN, data=increase(ROUTER, 200), gas=60_000, nonce=1), ledger))
    assert decide(policy, tx(TOKEN, data=increase(ROUTER, 1), gas=60_000, nonce=2), ledger).rule == "approval-limit"
    # approve sets the allowance, so it is always within the bound; the count never goes down.
    reserve(ledger, decide(policy, tx(TOKEN, data=approve(ROUTER, 100), gas=60_000, nonce=2), ledger))
    assert ledger.allowance(WALLET, 1, TOKEN, ROUTER) == 500
    assert decide(policy, tx(TOKEN, data=approve(ROUTER, 500), gas=60_000, nonce=3), ledger).allowed


def test_a_decrease_the_chain_may_never_apply_does_not_make_room_for_increases():
    """The attack: increaseAllowance to the bound, then a decreaseAllowance that reverts on chain
    (or is never sent), then increaseAllowance again — day after day the real allowance grows
    past the bound while the signer's count says zero."""
    ledger = SpendLedger()
    policy = WalletPolicy(allowed_chain_ids=[1], approvals=[{"token": TOKEN, "spender": ROUTER, "max_amount": "50"}])
    reserve(ledger, decide(policy, tx(TOKEN, data=increase(ROUTER, 50), gas=60_000), ledger))
    decrease = call("decreaseAllowance(address,uint256)", ROUTER, 2**255)
    reserve(ledger, decide(policy, tx(TOKEN, data=decrease, gas=60_000, nonce=1), ledger))
    assert decide(policy, tx(TOKEN, data=increase(ROUTER, 50), gas=60_000, nonce=2), ledger).rule == "approval-limit"
    assert ledger.allowance(WALLET, 1, TOKEN, ROUTER) == 50


def test_an_allowance_granted_is_a_spend_of_the_token():
    policy = WalletPolicy(allowed_chain_ids=[1], approvals=[{"token": TOKEN, "spender": SPENDER, "max_amount": "500"}],
                          spend_caps=[{"chain_id": 1, "asset": TOKEN, "amount": "900"}])
    ledger = SpendLedger()
    # The attack: approve, let the spender pull it, approve again, ... each approve within its bound.
    reserve(ledger, decide(policy, tx(TOKEN, data=approve(SPENDER, 500), gas=60_000), ledger))
    assert decide(policy, tx(TOKEN, data=approve(SPENDER, 500), gas=60_000, nonce=1), ledger).rule == "spend-cap"
    assert decide(policy, tx(TOKEN, data=approve(SPENDER, 400), gas=60_000, nonce=1), ledger).allowed


def test_unlimited_approvals_cannot_even_be_configured():
    with pytest.raises(ValidationError, match="unlimited"):
        WalletPolicy(approvals=[{"token": TOKEN, "spender": SPENDER, "max_amount": str(MAX_UINT256)}])


# ---- argument rules and presets -------------------------------------------------------------

def test_a_router_swap_must_pay_the_wallet():
    ledger = SpendLedger()
    assert decide(POLICY, tx(ROUTER, data=swap(100, 90, WALLET), gas=200_000), ledger).allowed
    stranger = decide(POLICY, tx(ROUTER, data=swap(100, 90, OTHER), gas=200_000), ledger)
    assert stranger.rule == "contract-arguments" and "'to'" in stranger.reason
    assert decide(POLICY, tx(ROUTER, data=swap(100, 0, WALLET), gas=200_000), ledger).rule == "contract-arguments"  # no floor
    late = decide(POLICY, tx(ROUTER, data=swap(100, 90, WALLET, deadline=NOW + 7200), gas=200_000), ledger)
    assert late.rule == "contract-arguments" and "deadline" in late.reason


def test_the_router_preset_also_binds_a_router_listed_by_selector_or_star():
    for selectors in (["0x38ed1739"], ["*"]):
        policy = WalletPolicy(allowed_chain_ids=[1], contracts=[{"address": ROUTER, "selectors": selectors}])
        assert decide(policy, tx(ROUTER, data=swap(100, 90, OTHER), gas=200_000)).rule == "contract-arguments"
        assert decide(policy, tx(ROUTER, data=swap(100, 90, WALLET), gas=200_000)).allowed


def test_a_swap_draws_on_the_allowance_its_session_granted_or_counts_as_a_spend():
    policy = WalletPolicy(allowed_chain_ids=[1], contracts=[{"address": ROUTER, "preset": "uniswap-v2-router"}],
                          approvals=[{"token": TOKEN, "spender": ROUTER, "max_amount": "1000"}],
                          spend_caps=[{"chain_id": 1, "asset": TOKEN, "amount": "700"}])
    ledger = SpendLedger()
    granted = decide(policy, tx(TOKEN, data=approve(ROUTER, 400), gas=60_000), ledger, session_id=3)
    reserve(ledger, granted, session_id=3)
    drawn = decide(policy, tx(ROUTER, data=swap(400, 1, WALLET), gas=200_000, nonce=1), ledger, session_id=3)
    assert drawn.allowed and sum(s.amount for s in drawn.spends if s.asset == TOKEN) == 0  # counted at the approve
    reserve(ledger, drawn, session_id=3)
    assert ledger.credit(WALLET, 1, TOKEN, ROUTER, 3) == 0
    # Another session's swap on a leftover allowance is its own spend: 300 more fits the cap, 301 does not.
    assert decide(policy, tx(ROUTER, data=swap(300, 1, WALLET), gas=200_000, nonce=2), ledger, session_id=4).allowed
    assert decide(policy, tx(ROUTER, data=swap(301, 1, WALLET), gas=200_000, nonce=2), ledger, session_id=4).rule == "spend-cap"


def test_owner_written_argument_rules():
    vault = "0x" + "77" * 20
    policy = WalletPolicy(allowed_chain_ids=[1], contracts=[{"address": vault, "functions": [{
        "signature": "deposit(uint256 assets,address receiver)",
        "arguments": {"assets": {"spends": TOKEN, "max": "1000"}, "receiver": {"equals": "$wallet"}},
    }, {
        "signature": "setOperator(address operator,bool approved)",
        "arguments": {"operator": {"one_of": [OTHER, "$wallet"]}, "approved": {"equals": "false"}},
    }]}], spend_caps=[{"chain_id": 1, "asset": TOKEN, "amount": "1500"}])
    deposit = decide(policy, tx(vault, data=call("deposit(uint256,address)", 1000, WALLET), gas=90_000))
    assert deposit.allowed and any(s.asset == TOKEN and s.amount == 1000 for s in deposit.spends)
    assert decide(policy, tx(vault, data=call("deposit(uint256,address)", 1001, WALLET), gas=90_000)).rule == "contract-arguments"
    assert decide(policy, tx(vault, data=call("deposit(uint256,address)", 10, OTHER), gas=90_000)).rule == "contract-arguments"
    assert decide(policy, tx(vault, data=call("setOperator(address,bool)", OTHER, False), gas=90_000)).allowed
    assert decide(policy, tx(vault, data=call("setOperator(address,bool)", OTHER, True), gas=90_000)).rule == "contract-arguments"
    assert decide(policy, tx(vault, data=call("withdraw(uint256)", 1), gas=90_000)).rule == "contract-allowlist"
    # Calldata that does not decode as the signature says is refused, not guessed at.
    truncated = call("deposit(uint256,address)", 10, WALLET)[:40]
    assert decide(policy, tx(vault, data=truncated, gas=90_000)).rule == "contract-arguments"


@pytest.mark.parametrize("rule, problem", [
    ({"signature": "deposit(uint256,address)"}, "type name"),
    ({"signature": "deposit(uint256 a,(address,uint256) b)"}, "tuple"),
    ({"signature": "deposit(uint256 a)", "arguments": {"b": {"max": "1"}}}, "no argument named"),
    ({"signature": "deposit(address a)", "arguments": {"a": {"max": "1"}}}, "need an integer"),
    ({"signature": "deposit(uint256 a)", "arguments": {"a": {"equals": "$wallet"}}}, "need an address"),
    ({"signature": "deposit(uint256 a)", "arguments": {"a": {}}}, "at least one of"),
    ({"signature": "deposit(uint256 a)", "arguments": {"a": {"spends": "b[0]"}}}, "spends"),
    ({"signature": "bridgeOut(int256 a)", "arguments": {"a": {"spends": "$contract"}}}, "unsigned"),  # a negative spend would refund the cap
])
def test_argument_rules_that_cannot_hold_are_refused_when_the_policy_is_set(rule, problem):
    with pytest.raises(ValidationError, match=problem):
        WalletPolicy(contracts=[{"address": OTHER, "functions": [rule]}])


# ---- session budgets ------------------------------------------------------------------------

def test_session_budgets():
    policy = WalletPolicy(allowed_chain_ids=[1], session_budgets=[{"chain_id": 1, "max_amount": str(10**16)}])
    assert not decide_session_budget(policy, 1, "native", 10**16 + 1).allowed
    assert decide_session_budget(policy, 1, "native", 10**16).allowed
    assert decide_session_budget(WalletPolicy(allowed_chain_ids=[1]), 1, "native", 10**30).allowed  # nothing to open
    ledger = SpendLedger()
    assert decide(policy, tx(value=10), ledger).allowed  # no session: wallet rules only
    assert decide(policy, tx(value=10), ledger, session_id=7).rule == "session-budget"  # none opened
    ledger.open_budget(WALLET, 7, 1, "native", 10**15)
    fee = 21_000 * GWEI
    reserve(ledger, decide(policy, tx(value=10**15 - fee), ledger, session_id=7), session_id=7)
    assert decide(policy, tx(value=0, nonce=1), ledger, session_id=7).rule == "session-budget"  # even the fee is over
    ledger.open_budget(WALLET, 8, 1, "native", 10**15)
    assert decide(policy, tx(value=10**15 - fee, nonce=1), ledger, session_id=8).allowed  # another session's is its own


def test_the_signers_clock_bounds_deadlines():
    assert decide(POLICY, tx(ROUTER, data=swap(1, 1, WALLET, deadline=time.time() + 60), gas=200_000), now=time.time()).allowed


def test_a_policy_file_that_does_not_parse_signs_nothing_and_says_why(tmp_path):
    from signer.policy import PolicyStore, PolicyUnreadable

    store = PolicyStore(tmp_path)
    (tmp_path / f"{WALLET}.json").write_text('{"allowed_chain_ids": [1], "allow_eip191": true}')  # an older version's field
    policy = store.get(WALLET)
    assert isinstance(policy, PolicyUnreadable) and "allow_eip191 was replaced" in str(policy)
    refusal = decide(policy, tx())
    assert (refusal.allowed, refusal.rule) == (False, "policy-invalid") and '"eip191": {}' in refusal.reason
