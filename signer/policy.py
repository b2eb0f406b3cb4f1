"""Per-wallet signing policy, owned by the wallet owner. Default deny; deny beats allow.

Policies are JSON files written through `corral signer policy set`; nothing on the
signer's socket can change them. A wallet without a policy file can sign nothing.

An EVM transaction is allowed only if every rule that applies to it passes:

- `chain-allowlist`      its chain id is listed
- `native-value-cap`     its value is at most `max_native_value_per_tx`
- `recipient-allowlist`  a plain transfer (no calldata) goes to `allowed_recipients`, when set
- `approval-limit`       ERC-20 approve/increaseAllowance: the token and spender are listed in
                         `approvals` and the amount is at most that rule's bound (never unlimited)
- `contract-allowlist`   any other call goes to a listed contract with a listed selector
- `spend-cap`            native value, and ERC-20 transfer/transferFrom amounts, stay within each
                         rolling-window cap, counted by the signer from its own allowed decisions
- `session-budget`       where `session_budgets` caps an asset, a request made for a session
                         spends only within the budget opened for that session (at most the cap)

A Solana transaction (policy section `solana`) is allowed only if:

- `solana-program-allowlist`   every program it calls is in `allowed_programs`
- `solana-instruction`         it does nothing the signer never signs (assigning the wallet's
                               account away, token approvals, burns, authority changes, ...)
- `solana-lamport-cap`         the lamports it sends from the wallet are at most `max_lamports_per_tx`
- `recipient-allowlist`        lamports go only to `allowed_recipients`, when set
- `solana-token-transfer`      each SPL transfer names its mint (TransferChecked), the mint is in
                               `token_transfer_caps` and the amount within its per-transaction cap
- `solana-priority-fee`        its priority fee is at most `max_priority_fee_lamports`
- `spend-cap`                  native lamports and SPL amounts stay within the rolling `spend_caps`

A Hyperliquid L1 action (policy section `hyperliquid`) is allowed only if:

- `hyperliquid-chain`        it is for the network the wallet signs for (`mainnet` true or false)
- `hyperliquid-action-type`  it is an order, a cancel or a leverage change, or, with `class_transfers`,
                             a usdClassTransfer between the wallet's own spot and perp accounts
                             (never a send, a withdrawal or an agent approval)
- `hyperliquid-asset`        every asset it touches is one of the wallet's `assets`
- `hyperliquid-notional`     each order's price x size is at most `max_notional_per_order`
- `hyperliquid-reduce-only`  with `reduce_only`, every order is reduce-only
- `hyperliquid-leverage`     a leverage change stays within `max_leverage`

A Polymarket CLOB order (policy section `polymarket`) is allowed only if:

- `polymarket-exchange`    it is for one of the wallet's `exchanges` (chain id and contract)
- `polymarket-signer`      its `signer` is this wallet, and `polymarket-funder`: it spends from
                           this wallet or one of its `funders` (proxy wallets, safes)
- `polymarket-token`       its outcome token is one of `token_ids`, when set
- `polymarket-collateral`  the collateral it pays (BUY) or receives (SELL) is within `max_collateral_per_order`
- `polymarket-fee`         its fee rate is within `max_fee_rate_bps`

A message is allowed only if it is EIP-191 and `allow_eip191` is set (`eip191-allowed`), or
EIP-712 with a domain matching one of `eip712_domains` (`eip712-domain-allowlist`).

The calldata is decoded here, from the transaction itself: no description supplied by the
caller is ever trusted.
"""

from __future__ import annotations

import json
import re
from dataclasses import dataclass
from decimal import Decimal, InvalidOperation
from pathlib import Path

from pydantic import BaseModel, ConfigDict, Field, field_validator

from signer.hyperliquid import ActionEffects
from signer.polymarket import PolymarketOrder
from signer.privileges import write_private_file
from signer.solana import SolanaEffects, is_solana_address

_ADDRESS = re.compile(r"^0x[0-9a-fA-F]{40}$")
_SELECTOR = re.compile(r"^(0x[0-9a-fA-F]{8}|\*)$")
NATIVE = "native"
MAX_UINT256 = 2**256 - 1

SELECTOR_APPROVE = "0x095ea7b3"
SELECTOR_INCREASE_ALLOWANCE = "0x39509351"
SELECTOR_TRANSFER = "0xa9059cbb"
SELECTOR_TRANSFER_FROM = "0x23b872dd"


def _address(value: str) -> str:
    if not _ADDRESS.match(value):
        raise ValueError(f"{value!r} is not a 0x-prefixed 20-byte hex address")
    return value.lower()


def _asset(value: str) -> str:
    """"native" or an ERC-20 token address."""
    return NATIVE if value == NATIVE else _address(value)


def _solana_address(value: str) -> str:
    if not is_solana_address(value):
        raise ValueError(f"{value!r} is not a base58 Solana address")
    return value


def _solana_asset(value: str) -> str:
    """"native" (lamports) or an SPL mint address."""
    return NATIVE if value == NATIVE else _solana_address(value)


def _amount(value: str | int) -> str:
    text = str(value)
    if not text.isdigit():
        raise ValueError(f"{value!r} must be a non-negative integer (smallest unit) written as a string")
    return text


class ContractRule(BaseModel):
    model_config = ConfigDict(extra="forbid")

    address: str
    # 4-byte selectors ("0xa9059cbb") the wallet may call; "*" allows any function.
    selectors: list[str] = Field(min_length=1)

    _address = field_validator("address")(lambda cls, v: _address(v))

    @field_validator("selectors")
    @classmethod
    def _selectors(cls, values: list[str]) -> list[str]:
        for value in values:
            if not _SELECTOR.match(value):
                raise ValueError(f"selector {value!r} must be 0x followed by 8 hex digits, or \"*\"")
        return [v.lower() for v in values]


class ApprovalRule(BaseModel):
    model_config = ConfigDict(extra="forbid")

    token: str
    spender: str
    max_amount: str

    _token = field_validator("token", "spender")(lambda cls, v: _address(v))
    _max = field_validator("max_amount", mode="before")(lambda cls, v: _amount(v))

    @field_validator("max_amount")
    @classmethod
    def _not_unlimited(cls, v: str) -> str:
        if int(v) >= MAX_UINT256 // 2:
            raise ValueError("unlimited approvals are never allowed; give a bounded max_amount")
        return v


class SpendCap(BaseModel):
    model_config = ConfigDict(extra="forbid")

    chain_id: int
    # "native" or an ERC-20 token address.
    asset: str
    amount: str
    window_seconds: int = Field(default=86_400, ge=1)

    _amount = field_validator("amount", mode="before")(lambda cls, v: _amount(v))
    _asset = field_validator("asset")(lambda cls, v: _asset(v))


class SessionBudgetCap(BaseModel):
    """The most one session may be given to spend of an asset on a chain."""

    model_config = ConfigDict(extra="forbid")

    chain_id: int
    asset: str = NATIVE
    max_amount: str

    _max = field_validator("max_amount", mode="before")(lambda cls, v: _amount(v))
    _asset = field_validator("asset")(lambda cls, v: _asset(v))


class Eip712DomainRule(BaseModel):
    """An allowed EIP-712 domain; a field left out matches any value."""

    model_config = ConfigDict(extra="forbid")

    name: str | None = None
    chain_id: int | None = None
    verifying_contract: str | None = None

    _contract = field_validator("verifying_contract")(lambda cls, v: None if v is None else _address(v))

    def matches(self, domain: dict) -> bool:
        contract = domain.get("verifyingContract")
        return (
            (self.name is None or domain.get("name") == self.name)
            and (self.chain_id is None or _int(domain.get("chainId")) == self.chain_id)
            and (self.verifying_contract is None or (isinstance(contract, str) and contract.lower() == self.verifying_contract))
        )


class SolanaTokenCap(BaseModel):
    model_config = ConfigDict(extra="forbid")

    mint: str
    max_amount_per_tx: str

    _mint = field_validator("mint")(lambda cls, v: _solana_address(v))
    _max = field_validator("max_amount_per_tx", mode="before")(lambda cls, v: _amount(v))


class SolanaSpendCap(BaseModel):
    model_config = ConfigDict(extra="forbid")

    # "native" (lamports) or an SPL mint.
    asset: str
    amount: str
    window_seconds: int = Field(default=86_400, ge=1)

    _asset = field_validator("asset")(lambda cls, v: _solana_asset(v))
    _amount = field_validator("amount", mode="before")(lambda cls, v: _amount(v))


class SolanaPolicy(BaseModel):
    """Rules for a Solana wallet; a wallet without this section signs no Solana transaction."""

    model_config = ConfigDict(extra="forbid")

    # Every program a transaction calls must be listed, System and ComputeBudget included.
    allowed_programs: list[str] = Field(default_factory=list)
    max_lamports_per_tx: str | None = None
    allowed_recipients: list[str] | None = None
    # SPL mints the wallet may transfer, each with a per-transaction cap (base units).
    token_transfer_caps: list[SolanaTokenCap] = Field(default_factory=list)
    # ComputeBudget unit price x unit limit, in lamports; 0 allows no priority fee.
    max_priority_fee_lamports: int = Field(default=0, ge=0)
    spend_caps: list[SolanaSpendCap] = Field(default_factory=list)

    _max = field_validator("max_lamports_per_tx", mode="before")(lambda cls, v: None if v is None else _amount(v))

    @field_validator("allowed_programs")
    @classmethod
    def _programs(cls, values: list[str]) -> list[str]:
        return [_solana_address(v) for v in values]

    @field_validator("allowed_recipients")
    @classmethod
    def _recipients(cls, values: list[str] | None) -> list[str] | None:
        return None if values is None else [_solana_address(v) for v in values]


class HyperliquidPolicy(BaseModel):
    """Rules for a wallet's Hyperliquid L1 actions; a wallet without this section signs none.
    Only orders, cancels, leverage changes and (opted in) transfers between the wallet's own
    spot and perp accounts can be allowed: sends, withdrawals and agent approvals never."""

    model_config = ConfigDict(extra="forbid")

    # Mainnet ("a") or testnet ("b") phantom agents; the other is refused.
    mainnet: bool
    # The venue's asset indexes this wallet may trade, by name, as the owner read them from
    # the venue's `meta` (e.g. {"BTC": 0, "ETH": 1}): orders name assets by index.
    assets: dict[str, int] = Field(default_factory=dict)
    # The most one order may be worth: price x size, in the quote currency (USD), as a decimal string.
    max_notional_per_order: str
    # Only orders that reduce a position (every order must be reduceOnly).
    reduce_only: bool = False
    max_leverage: int = Field(default=1, ge=1)
    # usdClassTransfer: USDC between this wallet's own spot and perp accounts (nothing
    # leaves the wallet). Signed by the account's own key only: the venue refuses API wallets.
    class_transfers: bool = False

    @field_validator("max_notional_per_order")
    @classmethod
    def _notional(cls, value: str) -> str:
        try:
            if Decimal(value) < 0:
                raise InvalidOperation
        except InvalidOperation:
            raise ValueError(f"{value!r} must be a non-negative decimal string, e.g. \"1000\" or \"250.5\"") from None
        return value


class PolymarketExchange(BaseModel):
    model_config = ConfigDict(extra="forbid")

    chain_id: int
    address: str

    _address = field_validator("address")(lambda cls, v: _address(v))


class PolymarketPolicy(BaseModel):
    """Rules for a wallet's Polymarket CLOB orders; a wallet without this section signs none."""

    model_config = ConfigDict(extra="forbid")

    # The exchange contracts orders may be for (e.g. the CTF Exchange and the neg-risk one on Polygon).
    exchanges: list[PolymarketExchange]
    # The most collateral (USDC base units, 6 decimals) one order may pay or receive.
    max_collateral_per_order: str
    # Outcome token ids the wallet may trade (decimal strings); None: any.
    token_ids: list[str] | None = None
    # Funders (proxy wallets or safes) whose orders this wallet may sign as `signer`.
    funders: list[str] = Field(default_factory=list)
    max_fee_rate_bps: int = Field(default=1000, ge=0)

    _max = field_validator("max_collateral_per_order", mode="before")(lambda cls, v: _amount(v))
    _funders = field_validator("funders")(lambda cls, v: [_address(a) for a in v])


# The spend ledger's chain key for Solana (EVM chains are keyed by chain id).
SOLANA = "solana"
ChainKey = int | str


def _int(value) -> int | None:
    try:
        return int(value, 0) if isinstance(value, str) else int(value)
    except (TypeError, ValueError):
        return None


class WalletPolicy(BaseModel):
    model_config = ConfigDict(extra="forbid")

    allowed_chain_ids: list[int] = Field(default_factory=list, description="EVM chain ids this wallet may sign for")
    max_native_value_per_tx: str | None = None
    allowed_recipients: list[str] | None = None
    contracts: list[ContractRule] = Field(default_factory=list)
    approvals: list[ApprovalRule] = Field(default_factory=list)
    spend_caps: list[SpendCap] = Field(default_factory=list)
    # Per-session budgets: with a cap for a chain and asset, every session must have a budget
    # opened (at most the cap) before it may spend that asset, and spends within it.
    session_budgets: list[SessionBudgetCap] = Field(default_factory=list)
    # Messages: EIP-191 personal_sign is off unless allowed; EIP-712 only for listed domains.
    allow_eip191: bool = False
    eip712_domains: list[Eip712DomainRule] = Field(default_factory=list)
    solana: SolanaPolicy | None = None
    hyperliquid: HyperliquidPolicy | None = None
    polymarket: PolymarketPolicy | None = None

    _max = field_validator("max_native_value_per_tx", mode="before")(lambda cls, v: None if v is None else _amount(v))

    @field_validator("allowed_recipients")
    @classmethod
    def _recipients(cls, values: list[str] | None) -> list[str] | None:
        return None if values is None else [_address(v) for v in values]


@dataclass(frozen=True)
class Decision:
    allowed: bool
    # Which rule decided, e.g. "default-deny" or "chain-allowlist".
    rule: str
    reason: str
    # What an allowed transaction spends, per (chain id, asset), for the spend caps.
    spends: tuple[tuple[ChainKey, str, int], ...] = ()


@dataclass(frozen=True)
class EvmCall:
    """What a transaction does, decoded from its own fields."""

    chain_id: int
    to: str
    value: int
    data: bytes

    @property
    def selector(self) -> str | None:
        return "0x" + self.data[:4].hex() if len(self.data) >= 4 else None

    def words(self) -> list[int]:
        body = self.data[4:]
        return [int.from_bytes(body[i : i + 32], "big") for i in range(0, len(body) - len(body) % 32, 32)]


class SpendLedger:
    """What the signer itself has allowed, per wallet, chain and asset, with times and the
    session each spend was made for; and the budgets opened for sessions."""

    def __init__(self) -> None:
        self._entries: dict[tuple[str, ChainKey, str], list[tuple[float, int, int]]] = {}
        self._budgets: dict[tuple[str, int, ChainKey, str], int] = {}

    def record(self, wallet: str, chain_id: ChainKey, asset: str, amount: int, at: float, session_id: int = 0) -> None:
        self._entries.setdefault((_wallet_key(wallet), chain_id, asset), []).append((at, amount, session_id))

    def spent_since(self, wallet: str, chain_id: ChainKey, asset: str, since: float) -> int:
        return sum(amount for at, amount, _ in self._entries.get((_wallet_key(wallet), chain_id, asset), []) if at > since)

    def spent_by_session(self, wallet: str, chain_id: ChainKey, asset: str, session_id: int) -> int:
        return sum(amount for _, amount, s in self._entries.get((_wallet_key(wallet), chain_id, asset), []) if s == session_id)

    def open_budget(self, wallet: str, session_id: int, chain_id: int, asset: str, amount: int) -> None:
        self._budgets[(_wallet_key(wallet), session_id, chain_id, asset)] = amount

    def budget(self, wallet: str, session_id: int, chain_id: int, asset: str) -> int | None:
        return self._budgets.get((_wallet_key(wallet), session_id, chain_id, asset))


def _wallet_key(wallet: str) -> str:
    # EVM addresses are case-insensitive hex; Solana's base58 addresses are case-sensitive.
    return wallet.lower() if wallet.startswith("0x") else wallet


def decide_session_budget(
    policy: WalletPolicy | None, chain_id: int, asset: str, amount: int, halted: bool = False
) -> Decision:
    """May a session be given a budget of `amount` of `asset` on `chain_id`?"""
    if halted:
        return Decision(False, "halted", "the signer is halted; `corral signer resume` lifts it")
    if policy is None:
        return Decision(False, "default-deny", "the wallet has no policy; set one with `corral signer policy set`")
    caps = [c for c in policy.session_budgets if c.chain_id == chain_id and c.asset == asset]
    if not caps:
        return Decision(True, "session-budget", "the wallet's policy sets no session budget for this asset; nothing to open")
    bound = max(int(c.max_amount) for c in caps)
    if amount > bound:
        return Decision(False, "session-budget", f"a session budget of {amount} exceeds the wallet's per-session cap {bound}")
    return Decision(True, "session-budget", f"budget of {amount} within the per-session cap {bound}")


def decide_evm_transaction(
    policy: WalletPolicy | None, wallet: str, call: EvmCall, ledger: SpendLedger, now: float, halted: bool = False,
    session_id: int = 0,
) -> Decision:
    if halted:
        return Decision(False, "halted", "the signer is halted; `corral signer resume` lifts it")
    if policy is None:
        return Decision(False, "default-deny", "the wallet has no policy; set one with `corral signer policy set`")
    if call.chain_id not in policy.allowed_chain_ids:
        return Decision(False, "chain-allowlist", f"chain id {call.chain_id} is not in the wallet's allowed chains {policy.allowed_chain_ids}")
    if policy.max_native_value_per_tx is not None and call.value > int(policy.max_native_value_per_tx):
        return Decision(False, "native-value-cap", f"value {call.value} exceeds the per-transaction cap {policy.max_native_value_per_tx}")

    to = call.to.lower()
    spends: list[tuple[int, str, int]] = [(call.chain_id, NATIVE, call.value)] if call.value else []
    if not call.data:
        if policy.allowed_recipients is not None and to not in policy.allowed_recipients:
            return Decision(False, "recipient-allowlist", f"{call.to} is not an allowed recipient")
        rule = "recipient-allowlist" if policy.allowed_recipients is not None else "chain-allowlist"
    elif call.selector in (SELECTOR_APPROVE, SELECTOR_INCREASE_ALLOWANCE):
        words = call.words()
        if len(words) < 2:
            return Decision(False, "approval-limit", "malformed approve calldata")
        spender, amount = "0x" + words[0].to_bytes(32, "big")[-20:].hex(), words[1]
        matching = [r for r in policy.approvals if r.token == to and r.spender == spender]
        if not matching:
            return Decision(False, "approval-limit", f"approvals of token {call.to} to spender {spender} are not allowed")
        bound = max(int(r.max_amount) for r in matching)
        if amount > bound:
            return Decision(False, "approval-limit", f"approval of {amount} exceeds the bound {bound} for spender {spender}")
        rule = "approval-limit"
    else:
        selectors = {s for c in policy.contracts if c.address == to for s in c.selectors}
        if not selectors:
            return Decision(False, "contract-allowlist", f"contract {call.to} is not in the wallet's contract allowlist")
        if "*" not in selectors and call.selector not in selectors:
            return Decision(False, "contract-allowlist", f"function {call.selector} of {call.to} is not allowed")
        words = call.words()
        if call.selector == SELECTOR_TRANSFER and len(words) >= 2:
            spends.append((call.chain_id, to, words[1]))
        elif call.selector == SELECTOR_TRANSFER_FROM and len(words) >= 3:
            spends.append((call.chain_id, to, words[2]))
        rule = "contract-allowlist"

    for cap in policy.spend_caps:
        for chain_id, asset, amount in spends:
            if cap.chain_id == chain_id and cap.asset == asset:
                already = ledger.spent_since(wallet, chain_id, asset, now - cap.window_seconds)
                if already + amount > int(cap.amount):
                    return Decision(
                        False, "spend-cap",
                        f"{asset} spend of {amount} on chain {chain_id} would exceed the cap {cap.amount} per "
                        f"{cap.window_seconds}s ({already} already spent)",
                    )
    if session_id:
        for chain_id, asset, amount in spends:
            if not any(c.chain_id == chain_id and c.asset == asset for c in policy.session_budgets):
                continue
            budget = ledger.budget(wallet, session_id, chain_id, asset)
            if budget is None:
                return Decision(False, "session-budget", f"session {session_id} has no {asset} budget opened on chain {chain_id}")
            already = ledger.spent_by_session(wallet, chain_id, asset, session_id)
            if already + amount > budget:
                return Decision(
                    False, "session-budget",
                    f"session {session_id} would spend {already + amount} of {asset}, over its budget {budget}",
                )
    return Decision(True, rule, "every applicable rule passed", spends=tuple(spends))


def decide_solana_transaction(
    policy: WalletPolicy | None, wallet: str, effects: SolanaEffects, ledger: SpendLedger, now: float, halted: bool = False
) -> Decision:
    if halted:
        return Decision(False, "halted", "the signer is halted; `corral signer resume` lifts it")
    if policy is None or policy.solana is None:
        return Decision(False, "default-deny", "the wallet has no Solana policy; set one with `corral signer policy set`")
    rules = policy.solana
    unlisted = [p for p in effects.programs if p not in rules.allowed_programs]
    if unlisted:
        return Decision(False, "solana-program-allowlist", f"program(s) {', '.join(unlisted)} are not in the wallet's allowed programs")
    if effects.refusals:
        return Decision(False, effects.refusals[0].rule, effects.refusals[0].reason)
    lamports = effects.lamports_out
    if rules.max_lamports_per_tx is not None and lamports > int(rules.max_lamports_per_tx):
        return Decision(False, "solana-lamport-cap", f"sends {lamports} lamports, over the per-transaction cap {rules.max_lamports_per_tx}")
    if rules.allowed_recipients is not None:
        for recipient, _ in effects.lamport_transfers:
            if recipient not in rules.allowed_recipients:
                shown = recipient or "an address from a lookup table"
                return Decision(False, "recipient-allowlist", f"{shown} is not an allowed recipient")
    spends: list[tuple[str, str, int]] = [(SOLANA, NATIVE, lamports)] if lamports else []
    for mint, amount in effects.token_transfers:
        if mint is None:
            return Decision(False, "solana-token-transfer", "a token transfer's mint comes from an address lookup table; it cannot be checked")
        caps = [int(c.max_amount_per_tx) for c in rules.token_transfer_caps if c.mint == mint]
        if not caps:
            return Decision(False, "solana-token-transfer", f"transfers of mint {mint} are not allowed")
        if amount > max(caps):
            return Decision(False, "solana-token-transfer", f"transfer of {amount} of mint {mint} exceeds the per-transaction cap {max(caps)}")
        spends.append((SOLANA, mint, amount))
    if effects.priority_fee_lamports > rules.max_priority_fee_lamports:
        return Decision(
            False, "solana-priority-fee",
            f"priority fee of {effects.priority_fee_lamports} lamports exceeds max_priority_fee_lamports {rules.max_priority_fee_lamports}",
        )
    for cap in rules.spend_caps:
        total = sum(amount for _, asset, amount in spends if asset == cap.asset)
        if not total:
            continue
        already = ledger.spent_since(wallet, SOLANA, cap.asset, now - cap.window_seconds)
        if already + total > int(cap.amount):
            return Decision(
                False, "spend-cap",
                f"{cap.asset} spend of {total} on Solana would exceed the cap {cap.amount} per {cap.window_seconds}s ({already} already spent)",
            )
    return Decision(True, "solana-program-allowlist", "every applicable rule passed", spends=tuple(spends))


def decide_evm_message(policy: WalletPolicy | None, typed_data: dict | None, halted: bool = False) -> Decision:
    """`typed_data` is the EIP-712 object, or None for an EIP-191 message."""
    if halted:
        return Decision(False, "halted", "the signer is halted; `corral signer resume` lifts it")
    if policy is None:
        return Decision(False, "default-deny", "the wallet has no policy; set one with `corral signer policy set`")
    if typed_data is None:
        if not policy.allow_eip191:
            return Decision(False, "eip191-allowed", "the wallet's policy does not allow EIP-191 messages (allow_eip191)")
        return Decision(True, "eip191-allowed", "EIP-191 messages are allowed")
    domain = typed_data.get("domain")
    if not isinstance(domain, dict):
        return Decision(False, "eip712-domain-allowlist", "typed data has no domain object")
    if not any(rule.matches(domain) for rule in policy.eip712_domains):
        return Decision(False, "eip712-domain-allowlist", f"EIP-712 domain {domain} is not in the wallet's allowlist")
    return Decision(True, "eip712-domain-allowlist", "the domain is allowed")


class PolicyStore:
    def __init__(self, directory: Path) -> None:
        self._directory = directory
        # Parsed policies, keyed by the file's identity: a `policy set` (a rename over the
        # file) changes the inode and mtime, so the next request reads the new policy.
        self._parsed: dict[Path, tuple[tuple[int, int, int], WalletPolicy]] = {}

    def get(self, address: str) -> WalletPolicy | None:
        path = self._path(address)
        try:
            stat = path.stat()
        except FileNotFoundError:
            self._parsed.pop(path, None)
            return None
        identity = (stat.st_ino, stat.st_mtime_ns, stat.st_size)
        cached = self._parsed.get(path)
        if cached is None or cached[0] != identity:
            cached = (identity, WalletPolicy.model_validate_json(path.read_text()))
            self._parsed[path] = cached
        return cached[1]

    def set(self, address: str, policy: WalletPolicy) -> None:
        write_private_file(self._path(address), policy.model_dump_json(indent=2).encode(), overwrite=True)

    def _path(self, address: str) -> Path:
        return self._directory / f"{_wallet_key(address)}.json"


def policy_from_json(text: str) -> WalletPolicy:
    return WalletPolicy.model_validate(json.loads(text))


HYPERLIQUID_ACTIONS = ("order", "cancel", "cancelByCloid", "updateLeverage")


def decide_hyperliquid_action(policy: WalletPolicy | None, effects: ActionEffects, mainnet: bool, halted: bool = False) -> Decision:
    if halted:
        return Decision(False, "halted", "the signer is halted; `corral signer resume` lifts it")
    if policy is None or policy.hyperliquid is None:
        return Decision(False, "default-deny", "the wallet has no Hyperliquid policy; set one with `corral signer policy set`")
    rules = policy.hyperliquid
    if mainnet != rules.mainnet:
        wanted = "mainnet" if rules.mainnet else "testnet"
        return Decision(False, "hyperliquid-chain", f"the action is for {'mainnet' if mainnet else 'testnet'}; this wallet signs for {wanted} only")
    if effects.kind == "usdClassTransfer":
        if not rules.class_transfers:
            return Decision(False, "hyperliquid-action-type", "the wallet's Hyperliquid policy does not allow spot/perp transfers (class_transfers)")
        return Decision(True, "hyperliquid", f"usdClassTransfer of {effects.transfer_amount} USDC between the wallet's own accounts")
    if effects.kind not in HYPERLIQUID_ACTIONS:
        return Decision(False, "hyperliquid-action-type", f"{effects.kind!r} actions are never signed; allowed: {', '.join(HYPERLIQUID_ACTIONS)}")
    allowed = set(rules.assets.values())
    names = {index: name for name, index in rules.assets.items()}
    for asset in [o.asset for o in effects.orders] + list(effects.assets):
        if asset not in allowed:
            return Decision(False, "hyperliquid-asset", f"asset {asset} is not one of the wallet's assets ({', '.join(rules.assets) or 'none'})")
    cap = Decimal(rules.max_notional_per_order)
    for order in effects.orders:
        if order.notional > cap:
            return Decision(False, "hyperliquid-notional",
                            f"an order of {order.size} {names[order.asset]} at {order.price} is worth {order.notional}, over the cap {cap}")
        if rules.reduce_only and not order.reduce_only:
            return Decision(False, "hyperliquid-reduce-only", "the wallet only signs reduce-only orders")
    if effects.leverage is not None and effects.leverage > rules.max_leverage:
        return Decision(False, "hyperliquid-leverage", f"leverage {effects.leverage} is over the wallet's maximum {rules.max_leverage}")
    return Decision(True, "hyperliquid", f"{effects.kind} within the wallet's Hyperliquid policy")


def decide_polymarket_auth(policy: WalletPolicy | None, chain_id: int, halted: bool = False) -> Decision:
    """The CLOB's API credentials only let the platform post orders the signer signed, so
    any wallet with a Polymarket policy on that chain may derive them."""
    if halted:
        return Decision(False, "halted", "the signer is halted; `corral signer resume` lifts it")
    if policy is None or policy.polymarket is None:
        return Decision(False, "default-deny", "the wallet has no Polymarket policy; set one with `corral signer policy set`")
    if not any(e.chain_id == chain_id for e in policy.polymarket.exchanges):
        return Decision(False, "polymarket-exchange", f"the wallet's Polymarket policy names no exchange on chain {chain_id}")
    return Decision(True, "polymarket-auth", f"CLOB authentication on chain {chain_id}")


def decide_polymarket_order(policy: WalletPolicy | None, wallet: str, order: PolymarketOrder, halted: bool = False) -> Decision:
    if halted:
        return Decision(False, "halted", "the signer is halted; `corral signer resume` lifts it")
    if policy is None or policy.polymarket is None:
        return Decision(False, "default-deny", "the wallet has no Polymarket policy; set one with `corral signer policy set`")
    rules = policy.polymarket
    if not any(e.chain_id == order.chain_id and e.address == order.exchange.lower() for e in rules.exchanges):
        return Decision(False, "polymarket-exchange", f"exchange {order.exchange} on chain {order.chain_id} is not one of the wallet's exchanges")
    message = order.message
    if message["signer"].lower() != wallet.lower():
        return Decision(False, "polymarket-signer", f"the order's signer is {message['signer']}, not this wallet")
    if message["maker"].lower() != wallet.lower() and message["maker"].lower() not in rules.funders:
        return Decision(False, "polymarket-funder", f"the order spends from {message['maker']}, which is neither this wallet nor one of its funders")
    if rules.token_ids is not None and str(order.token_id) not in rules.token_ids:
        return Decision(False, "polymarket-token", f"outcome token {order.token_id} is not one of the wallet's tokens")
    if order.collateral > int(rules.max_collateral_per_order):
        return Decision(False, "polymarket-collateral",
                        f"the order moves {order.collateral} collateral units, over the per-order cap {rules.max_collateral_per_order}")
    if message["feeRateBps"] > rules.max_fee_rate_bps:
        return Decision(False, "polymarket-fee", f"fee rate {message['feeRateBps']} bps is over the wallet's maximum {rules.max_fee_rate_bps}")
    return Decision(True, "polymarket", "order within the wallet's Polymarket policy")
