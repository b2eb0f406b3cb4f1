"""The policy file: one JSON document per wallet, written by its owner, read by the signer.

Policies are written through `corral signer policy set` (or `wallet create`'s shorthand);
nothing on the signer's socket can change them. A wallet without a policy file signs
nothing, and neither does one whose file does not parse (it is refused with the reason).
"""

from __future__ import annotations

from functools import lru_cache
from pathlib import Path

from pydantic import BaseModel, ConfigDict, Field, ValidationError, field_validator, model_validator

from signer.policy.decision import PolicyUnreadable
from signer.policy.evm import (
    ANY_SELECTOR,
    DEFAULT_NONCE_WINDOW,
    ApprovalRule,
    ChainFees,
    ContractRule,
    SessionBudgetCap,
    SpendCap,
)
from signer.policy.messages import Eip191Rule, Eip712Rule
from signer.policy.presets import KNOWN_FUNCTIONS
from signer.policy.solana import SolanaPolicy
from signer.policy.values import NATIVE, Amount, EvmAddress, wallet_key
from signer.policy.venues import HyperliquidPolicy, PolymarketPolicy
from signer.privileges import write_private_file

MAX_POLICY_BYTES = 1024 * 1024
RENAMED_FIELDS = {
    "allow_eip191": 'use "eip191": {} (32-byte and binary payloads then need allow_raw_hashes / allow_binary)',
    "eip712_domains": 'use "eip712" rules, each naming chain_id, verifying_contract and primary_types',
}


class WalletPolicy(BaseModel):
    model_config = ConfigDict(extra="forbid")

    # ---- EVM transactions (signer/policy/evm.py) ----
    allowed_chain_ids: list[int] = Field(default_factory=list, description="EVM chain ids this wallet may sign for")
    max_native_value_per_tx: Amount | None = None
    # Fee ceilings per chain; a chain not listed gets the defaults (500 gwei, 0.01 native per tx).
    fees: list[ChainFees] = Field(default_factory=list)
    # How far past the last nonce it signed the signer may sign (a transaction with a later
    # nonce could be kept and broadcast after a halt or a policy change).
    nonce_window: int = Field(default=DEFAULT_NONCE_WINDOW, ge=1, le=256)
    # The wallet's next nonce per chain when the owner wrote this policy: only needed for a
    # wallet that also sent transactions the signer did not sign (default 0).
    next_nonces: dict[int, int] = Field(default_factory=dict)
    # Where native value and ERC-20 transfers may go; None: anywhere.
    allowed_recipients: list[EvmAddress] | None = None
    contracts: list[ContractRule] = Field(default_factory=list)
    approvals: list[ApprovalRule] = Field(default_factory=list)
    spend_caps: list[SpendCap] = Field(default_factory=list)
    # Per-session budgets: with a cap for a chain and asset, every session must have a budget
    # opened (at most the cap) before it may spend that asset, and spends within it.
    session_budgets: list[SessionBudgetCap] = Field(default_factory=list)
    # ---- messages (signer/policy/messages.py): EIP-191 off without this section ----
    eip191: Eip191Rule | None = None
    eip712: list[Eip712Rule] = Field(default_factory=list)
    # ---- other artifacts (signer/policy/solana.py, signer/policy/venues.py) ----
    solana: SolanaPolicy | None = None
    hyperliquid: HyperliquidPolicy | None = None
    polymarket: PolymarketPolicy | None = None

    @model_validator(mode="before")
    @classmethod
    def _renamed(cls, data: object) -> object:
        """Fields earlier policies had, with what replaced them (so an old file says how to fix it)."""
        if isinstance(data, dict):
            for old, new in RENAMED_FIELDS.items():
                if old in data:
                    raise ValueError(f"{old} was replaced: {new} (see docs/policies.md)")
        return data

    @field_validator("next_nonces")
    @classmethod
    def _nonces(cls, values: dict[int, int]) -> dict[int, int]:
        if any(v < 0 for v in values.values()):
            raise ValueError("nonces are non-negative")
        return values

    def longest_window(self) -> int:
        """The longest rolling-cap window in this policy (0 without any): how far back the
        signer's spend ledger must see for it."""
        windows = [cap.window_seconds for cap in self.spend_caps]
        if self.solana is not None:
            windows += [cap.window_seconds for cap in self.solana.spend_caps]
        if self.hyperliquid is not None:
            windows += [cap.window_seconds for cap in self.hyperliquid.notional_caps]
        if self.polymarket is not None:
            windows += [cap.window_seconds for cap in self.polymarket.value_caps]
        return max(windows, default=0)

    def fees_for(self, chain_id: int) -> ChainFees:
        return next((f for f in self.fees if f.chain_id == chain_id), None) or _default_fees(chain_id)

    def highest_allowed_nonce(self, chain_id: int, last_signed: int | None) -> int:
        following = max(-1 if last_signed is None else last_signed, self.next_nonces.get(chain_id, 0) - 1)
        return following + self.nonce_window

    # Complex by design: one warning per risky policy setting, listed side by side for reviewers.
    def warnings(self) -> list[str]:  # noqa: C901
        """Rules that leave an amount or a destination open, for `policy show` and `policy set`."""
        found = []
        for chain in self.allowed_chain_ids:
            if not any(c.chain_id == chain and c.asset == NATIVE for c in self.spend_caps):
                found.append(f"chain {chain}: no native spend cap (value and fees are bounded per transaction only)")
        if self.allowed_chain_ids and self.max_native_value_per_tx is None:
            found.append("max_native_value_per_tx is not set: one transaction may send any native amount")
        if self.allowed_chain_ids and self.allowed_recipients is None:
            found.append("allowed_recipients is not set: native value and ERC-20 transfers may go to anyone")
        for contract in self.contracts:
            if ANY_SELECTOR in contract.selectors:
                found.append(f"contract {contract.address}: \"*\" allows every function, i.e. everything that contract can do with "
                             "the wallet's allowances and the value sent to it")
            unchecked = [s for s in contract.selectors if s != ANY_SELECTOR and s not in KNOWN_FUNCTIONS]
            if unchecked:
                found.append(f"contract {contract.address}: selectors {', '.join(unchecked)} are allowed with no argument rules")
        for approval in self.approvals:
            if not any(c.asset == approval.token for c in self.spend_caps):
                found.append(f"token {approval.token}: approvals are allowed but the token has no spend cap")
        if self.eip191 is not None:
            if self.eip191.allow_raw_hashes:
                found.append("eip191.allow_raw_hashes: the wallet signs 32-byte hashes (a Safe accepts those as approvals)")
            if self.eip191.allow_binary:
                found.append("eip191.allow_binary: the wallet signs bytes that are not text")
            if self.eip191.prefixes is None:
                found.append("eip191 has no prefixes: any text message is signed")
        if self.solana is not None:
            rules = self.solana
            if rules.max_lamports_per_tx is None:
                found.append("solana.max_lamports_per_tx is not set")
            if not any(c.asset == NATIVE for c in rules.spend_caps):
                found.append("solana: no native spend cap")
            if rules.allowed_recipients is None:
                found.append("solana.allowed_recipients is not set: lamports may go to anyone")
            if rules.token_transfer_caps and rules.token_recipients is None:
                found.append("solana.token_recipients is not set: tokens may go to anyone")
            if rules.allow_mint:
                found.append("solana.allow_mint: the wallet mints with any mint authority it holds")
            if rules.allow_durable_nonce:
                found.append("solana.allow_durable_nonce: signed transactions can be kept and used at any later time")
        if self.hyperliquid is not None and not self.hyperliquid.notional_caps:
            found.append("hyperliquid: no notional_caps (orders are bounded one by one only)")
        if self.polymarket is not None and not self.polymarket.value_caps:
            found.append("polymarket: no value_caps (orders are bounded one by one only)")
        return found


# The shorthand `wallet create` / `policy set` write without a file: per chain, 0.01 of the
# native coin per transaction and 0.1 per day (value and fees together), the default fee
# ceilings, and transfers only to the recipients given (none unless asked).
SHORTHAND_MAX_VALUE = 10**16
SHORTHAND_DAILY_CAP = 10**17


def shorthand_policy(chains: list[int], recipients: list[str] | None, max_value: int = SHORTHAND_MAX_VALUE,
                     daily_cap: int = SHORTHAND_DAILY_CAP) -> WalletPolicy:
    """`recipients` None lets transfers go anywhere (only when the owner asks for it)."""
    return WalletPolicy(
        allowed_chain_ids=chains,
        max_native_value_per_tx=max_value,
        allowed_recipients=recipients,
        spend_caps=[SpendCap(chain_id=chain, asset=NATIVE, amount=daily_cap) for chain in chains],
    )


@lru_cache(maxsize=256)
def _default_fees(chain_id: int) -> ChainFees:
    """The default ceilings, built once per chain (they were a model built per request)."""
    return ChainFees(chain_id=chain_id)


class PolicyStore:
    def __init__(self, directory: Path) -> None:
        self._directory = directory
        # Parsed policies, keyed by the file's identity: a `policy set` (a rename over the
        # file) changes the inode and mtime, so the next request reads the new policy.
        self._parsed: dict[Path, tuple[tuple[int, int, int], WalletPolicy | PolicyUnreadable]] = {}

    def get(self, address: str) -> WalletPolicy | PolicyUnreadable | None:
        """The wallet's policy; None without a file; PolicyUnreadable for a file that does not
        parse (which decisions refuse with the reason)."""
        path = self._path(address)
        try:
            stat = path.stat()
        except FileNotFoundError:
            self._parsed.pop(path, None)
            return None
        identity = (stat.st_ino, stat.st_mtime_ns, stat.st_size)
        cached = self._parsed.get(path)
        if cached is None or cached[0] != identity:
            cached = (identity, _parse(path))
            self._parsed[path] = cached
        return cached[1]

    def longest_window(self) -> int:
        """The longest rolling-cap window over every wallet's policy file that parses."""
        longest = 0
        for path in sorted(self._directory.glob("*.json")):
            policy = self.get(path.stem)
            if isinstance(policy, WalletPolicy):
                longest = max(longest, policy.longest_window())
        return longest

    def set(self, address: str, policy: WalletPolicy) -> None:
        write_private_file(self._path(address), policy.model_dump_json(indent=2).encode(), overwrite=True)

    def remove(self, address: str) -> None:
        """Deletes the wallet's policy file (a removed paper wallet's copy); none is no error."""
        path = self._path(address)
        path.unlink(missing_ok=True)
        self._parsed.pop(path, None)

    def _path(self, address: str) -> Path:
        return self._directory / f"{wallet_key(address)}.json"


def _parse(path: Path) -> WalletPolicy | PolicyUnreadable:
    if path.stat().st_size > MAX_POLICY_BYTES:
        return PolicyUnreadable(f"{path.name} is larger than {MAX_POLICY_BYTES} bytes")
    try:
        return WalletPolicy.model_validate_json(path.read_bytes())
    except ValidationError as exc:
        first = exc.errors()[0]
        where = ".".join(str(p) for p in first["loc"]) or "the file"
        return PolicyUnreadable(f"{where}: {first['msg']}")
