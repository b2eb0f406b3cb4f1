"""EVM transactions: what one may cost the wallet, counted worst case, before it is signed.

The outflow of a transaction is its native value, plus its fee at the most it can cost
(`gas x maxFeePerGas`, or `gas x gasPrice`; a reverted call still pays it), plus every
token amount its call moves out: ERC-20 `transfer`/`transferFrom`, allowances it grants
(`approve`, `increaseAllowance`: the spender may pull all of it), and amounts an allowed
contract pulls through an allowance (a router's `amountIn`) beyond what the same session
granted and was counted for. All of it is checked against the per-transaction caps, the
rolling spend caps and the session budget, and reserved before signing.
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import TYPE_CHECKING

from eth_abi.abi import decode
from eth_abi.exceptions import DecodingError
from pydantic import BaseModel, ConfigDict, Field, field_validator, model_validator

from signer.policy.arguments import FunctionRule, check_call
from signer.policy.caps import check_session_budget, check_spend_caps
from signer.policy.decision import Decision, PolicyUnreadable, allow, deny, guard
from signer.policy.ledger import AllowanceChange, AllowanceKind, Commitments, Spend, SpendLedger
from signer.policy.presets import KNOWN_FUNCTIONS, PRESETS, Preset
from signer.policy.values import DAY, MAX_UINT256, NATIVE, Amount, Asset, EvmAddress, WindowSeconds

if TYPE_CHECKING:
    from signer.policy.document import WalletPolicy

GWEI = 10**9
# Chains without a `fees` entry get these: a spike to 500 gwei is refused rather than paid,
# and no transaction may cost more than 0.01 of the native coin in fees.
DEFAULT_MAX_FEE_PER_GAS = 500 * GWEI
DEFAULT_MAX_FEE_PER_TX = 10**16
DEFAULT_NONCE_WINDOW = 8

SELECTOR_APPROVE = "0x095ea7b3"
SELECTOR_INCREASE_ALLOWANCE = "0x39509351"
SELECTOR_DECREASE_ALLOWANCE = "0xa457c2d7"
SELECTOR_TRANSFER = "0xa9059cbb"
SELECTOR_TRANSFER_FROM = "0x23b872dd"
ALLOWANCE_SELECTORS = {
    SELECTOR_APPROVE: AllowanceKind.SET,
    SELECTOR_INCREASE_ALLOWANCE: AllowanceKind.INCREASE,
    SELECTOR_DECREASE_ALLOWANCE: AllowanceKind.DECREASE,
}
ANY_SELECTOR = "*"


class ChainFees(BaseModel):
    """Fee ceilings for one chain (wei)."""

    model_config = ConfigDict(extra="forbid")

    chain_id: int
    # The most one unit of gas may cost: maxFeePerGas (EIP-1559) or gasPrice (legacy).
    max_fee_per_gas: Amount = DEFAULT_MAX_FEE_PER_GAS
    # The most one transaction's fee may cost: gas limit x max fee per gas.
    max_fee_per_tx: Amount = DEFAULT_MAX_FEE_PER_TX


class ContractRule(BaseModel):
    """A contract the wallet may call: a preset, functions with argument rules, or bare
    selectors ("*": any function — everything the contract can do with the wallet's
    allowances and the value sent to it)."""

    model_config = ConfigDict(extra="forbid")

    address: EvmAddress
    preset: Preset | None = None
    functions: list[FunctionRule] = Field(default_factory=list)
    selectors: list[str] = Field(default_factory=list)

    @field_validator("selectors")
    @classmethod
    def _selectors(cls, values: list[str]) -> list[str]:
        for value in values:
            if value != ANY_SELECTOR and not (len(value) == 10 and value.startswith("0x") and _is_hex(value[2:])):
                raise ValueError(f"selector {value!r} must be 0x followed by 8 hex digits, or \"*\"")
        return [v.lower() for v in values]

    @model_validator(mode="after")
    def _allows_something(self) -> ContractRule:
        if self.preset is None and not self.functions and not self.selectors:
            raise ValueError(f"contract {self.address}: give a preset, functions or selectors")
        return self

    def function_rules(self) -> tuple[FunctionRule, ...]:
        return (*self.functions, *(PRESETS[self.preset] if self.preset else ()))


class ApprovalRule(BaseModel):
    """ERC-20 allowances the wallet may grant: `max_amount` bounds the spender's allowance
    in total, across approve and increaseAllowance."""

    model_config = ConfigDict(extra="forbid")

    token: EvmAddress
    spender: EvmAddress
    max_amount: Amount

    @field_validator("max_amount")
    @classmethod
    def _not_unlimited(cls, value: int) -> int:
        if value >= MAX_UINT256 // 2:
            raise ValueError("unlimited approvals are never allowed; give a bounded max_amount")
        return value


class SpendCap(BaseModel):
    model_config = ConfigDict(extra="forbid")

    chain_id: int
    # "native" (value and fees) or an ERC-20 token address.
    asset: Asset
    amount: Amount
    window_seconds: WindowSeconds = DAY

    @property
    def chain_key(self) -> int:
        return self.chain_id


class SessionBudgetCap(BaseModel):
    """The most one session may be given to spend of an asset on a chain."""

    model_config = ConfigDict(extra="forbid")

    chain_id: int
    asset: Asset = NATIVE
    max_amount: Amount


@dataclass(frozen=True)
class EvmTransaction:
    """What the signer would sign, from the request's own fields."""

    chain_id: int
    nonce: int
    to: str
    value: int
    data: bytes
    gas: int
    # maxFeePerGas (EIP-1559) or gasPrice (legacy).
    fee_per_gas: int

    @property
    def selector(self) -> str | None:
        return "0x" + self.data[:4].hex() if len(self.data) >= 4 else None

    @property
    def worst_fee(self) -> int:
        return self.gas * self.fee_per_gas


@dataclass(frozen=True)
class _CallEffects:
    rule: str
    token_spends: tuple[Spend, ...] = ()
    allowances: tuple[AllowanceChange, ...] = ()


def decide_evm_transaction(
    policy: WalletPolicy | PolicyUnreadable | None, wallet: str, tx: EvmTransaction, ledger: SpendLedger, now: float,
    halted: bool = False, session_id: int = 0,
) -> Decision:
    if (refusal := guard(policy, halted)) is not None:
        return refusal
    assert policy is not None and not isinstance(policy, PolicyUnreadable)  # guard refused both
    if tx.chain_id not in policy.allowed_chain_ids:
        return deny("chain-allowlist", f"chain id {tx.chain_id} is not in the wallet's allowed chains {policy.allowed_chain_ids}")
    fees = policy.fees_for(tx.chain_id)
    if tx.fee_per_gas > fees.max_fee_per_gas:
        return deny("fee-per-gas", f"a fee of {tx.fee_per_gas} wei per gas is over the ceiling {fees.max_fee_per_gas} for chain {tx.chain_id}")
    if tx.worst_fee > fees.max_fee_per_tx:
        return deny("fee-cap", f"gas {tx.gas} x {tx.fee_per_gas} wei may cost {tx.worst_fee} wei in fees, over the per-transaction "
                               f"fee cap {fees.max_fee_per_tx} for chain {tx.chain_id}")
    highest = policy.highest_allowed_nonce(tx.chain_id, ledger.last_nonce(wallet, tx.chain_id))
    if tx.nonce > highest:
        return deny("nonce-window", f"nonce {tx.nonce} is beyond the next nonces this wallet may sign on chain {tx.chain_id} "
                                    f"(at most {highest}); a far-future nonce would be a signature kept for later")
    if policy.max_native_value_per_tx is not None and tx.value > policy.max_native_value_per_tx:
        return deny("native-value-cap", f"value {tx.value} exceeds the per-transaction cap {policy.max_native_value_per_tx}")

    effects = _call_effects(policy, wallet, tx, ledger, now, session_id)
    if isinstance(effects, Decision):
        return effects
    spends = (Spend(tx.chain_id, NATIVE, tx.value + tx.worst_fee), *effects.token_spends)
    if (refusal := check_spend_caps(policy.spend_caps, wallet, spends, ledger, now)) is not None:
        return refusal
    if (refusal := check_session_budget(policy.session_budgets, wallet, spends, ledger, session_id)) is not None:
        return refusal
    commitments = Commitments(spends=spends, allowances=effects.allowances, nonce=(tx.chain_id, tx.nonce))
    return allow(effects.rule, "every applicable rule passed", commitments)


def _call_effects(policy: WalletPolicy, wallet: str, tx: EvmTransaction, ledger: SpendLedger, now: float, session_id: int
                  ) -> _CallEffects | Decision:
    to = tx.to.lower()
    if not tx.data:
        if policy.allowed_recipients is not None and to not in policy.allowed_recipients:
            return deny("recipient-allowlist", f"{tx.to} is not an allowed recipient")
        return _CallEffects("recipient-allowlist" if policy.allowed_recipients is not None else "chain-allowlist")
    if tx.selector in ALLOWANCE_SELECTORS:
        return _allowance_effects(policy, wallet, tx, ledger)

    contracts = [c for c in policy.contracts if c.address == to]
    if not contracts:
        return deny("contract-allowlist", f"contract {tx.to} is not in the wallet's contract allowlist")
    function = next((f for c in contracts for f in c.function_rules() if f.selector == tx.selector), None)
    if function is None:
        selectors = {s for c in contracts for s in c.selectors}
        if ANY_SELECTOR not in selectors and tx.selector not in selectors:
            return deny("contract-allowlist", f"function {tx.selector} of {tx.to} is not allowed")
        function = KNOWN_FUNCTIONS.get(tx.selector or "")
    if function is None:
        return _CallEffects("contract-allowlist")
    check = check_call(function, to, tx.data, wallet, policy.allowed_recipients, now)
    if check.refusal:
        return deny("contract-arguments", check.refusal)
    token_spends, draws = [], []
    credits: dict[str, int] = {}  # what is left of this session's credit per token, within this call
    for outflow in check.outflows:
        if not outflow.via_allowance:
            token_spends.append(Spend(tx.chain_id, outflow.token, outflow.amount))
            continue
        # Pulled by `to` through the wallet's allowance: the part this session granted (and
        # was counted for) is covered; any more is counted now.
        credit = credits.get(outflow.token, ledger.credit(wallet, tx.chain_id, outflow.token, to, session_id))
        covered = min(outflow.amount, credit)
        credits[outflow.token] = credit - covered
        token_spends.append(Spend(tx.chain_id, outflow.token, outflow.amount - covered))
        draws.append(AllowanceChange(tx.chain_id, outflow.token, to, AllowanceKind.DRAW, outflow.amount))
    return _CallEffects("contract-arguments", tuple(token_spends), tuple(draws))


def _allowance_effects(policy: WalletPolicy, wallet: str, tx: EvmTransaction, ledger: SpendLedger) -> _CallEffects | Decision:
    assert tx.selector is not None  # the caller checked it is one of ALLOWANCE_SELECTORS
    kind = ALLOWANCE_SELECTORS[tx.selector]
    try:
        spender, amount = decode(["address", "uint256"], tx.data[4:], strict=True)
    except (DecodingError, ValueError, OverflowError):
        return deny("approval-limit", "malformed approve/increaseAllowance/decreaseAllowance calldata")
    token, spender = tx.to.lower(), spender.lower()
    rules = [r for r in policy.approvals if r.token == token and r.spender == spender]
    if not rules:
        return deny("approval-limit", f"approvals of token {tx.to} to spender {spender} are not allowed")
    change = AllowanceChange(tx.chain_id, token, spender, kind, amount)
    if kind is AllowanceKind.DECREASE:
        return _CallEffects("approval-limit", allowances=(change,))
    bound = max(r.max_amount for r in rules)
    counted = ledger.allowance(wallet, tx.chain_id, token, spender)
    total = amount if kind is AllowanceKind.SET else counted + amount
    if total > bound:
        return deny("approval-limit", f"the allowance of spender {spender} could reach {total}, over the bound {bound} "
                                      f"(increaseAllowance adds to the {counted} counted so far, which decreases never lower: "
                                      f"the signer cannot see whether they were mined; approve sets it)")
    return _CallEffects("approval-limit", token_spends=(Spend(tx.chain_id, token, amount),), allowances=(change,))


def decide_session_budget(policy: WalletPolicy | PolicyUnreadable | None, chain_id: int, asset: str, amount: int,
                          halted: bool = False) -> Decision:
    """May a session be given a budget of `amount` of `asset` on `chain_id`?"""
    if (refusal := guard(policy, halted)) is not None:
        return refusal
    assert policy is not None and not isinstance(policy, PolicyUnreadable)  # guard refused both
    caps = [c for c in policy.session_budgets if c.chain_id == chain_id and c.asset == asset]
    if not caps:
        return allow("session-budget", "the wallet's policy sets no session budget for this asset; nothing to open")
    bound = max(c.max_amount for c in caps)
    if amount > bound:
        return deny("session-budget", f"a session budget of {amount} exceeds the wallet's per-session cap {bound}")
    return allow("session-budget", f"budget of {amount} within the per-session cap {bound}")


def _is_hex(text: str) -> bool:
    return all(c in "0123456789abcdefABCDEF" for c in text)
