"""Messages: EIP-191 (personal_sign) and EIP-712 (typed data) on the generic path.

A signed message can be worth as much as a transaction: an EIP-2612 `Permit` or a Permit2
signature is an allowance, a `SafeTx` moves a Safe's funds, a venue's `Order` or `Agent`
trades, and a raw 32-byte hash signed with EIP-191 is what a Safe accepts as an owner's
approval of a transaction. So:

- EIP-191 is off unless the policy has an `eip191` section, and even then 32-byte payloads
  (`allow_raw_hashes`) and payloads that are not UTF-8 text (`allow_binary`) are refused
  unless opted in; `prefixes` can limit it to, e.g., one site's sign-in messages.
- EIP-712 is allowed only under a rule that names the chain id, the verifying contract and
  the primary types; the domain must carry both, so the signature holds on that chain and
  contract only. Permits and SafeTx must be named with their field rules
  (spenders, amount cap, deadline bound; SafeTx targets and value); their struct types must
  be exactly the standard ones. Venue types (Hyperliquid, Polymarket) and types the signer
  cannot bound (SafeMessage, Permit2 witness transfers) are never signed here.
"""

from __future__ import annotations

from typing import TYPE_CHECKING, Any

from eth_utils.hexadecimal import is_hexstr
from pydantic import BaseModel, ConfigDict, Field, model_validator

from signer.policy.caps import check_session_budget, check_spend_caps
from signer.policy.decision import Decision, PolicyUnreadable, allow, deny, guard
from signer.policy.ledger import AllowanceChange, AllowanceKind, Commitments, Spend, SpendLedger
from signer.policy.values import Amount, EvmAddress

if TYPE_CHECKING:
    from signer.policy.document import WalletPolicy

RAW_HASH_BYTES = 32

# The standard struct types, field for field (name, type).
_EIP2612_PERMIT = [("owner", "address"), ("spender", "address"), ("value", "uint256"), ("nonce", "uint256"), ("deadline", "uint256")]
_PERMIT_DETAILS = [("token", "address"), ("amount", "uint160"), ("expiration", "uint48"), ("nonce", "uint48")]
_TOKEN_PERMISSIONS = [("token", "address"), ("amount", "uint256")]
PERMIT_SCHEMAS: dict[str, dict[str, list[tuple[str, str]]]] = {
    "Permit": {"Permit": _EIP2612_PERMIT},
    "PermitSingle": {"PermitSingle": [("details", "PermitDetails"), ("spender", "address"), ("sigDeadline", "uint256")],
                     "PermitDetails": _PERMIT_DETAILS},
    "PermitBatch": {"PermitBatch": [("details", "PermitDetails[]"), ("spender", "address"), ("sigDeadline", "uint256")],
                    "PermitDetails": _PERMIT_DETAILS},
    "PermitTransferFrom": {"PermitTransferFrom": [("permitted", "TokenPermissions"), ("spender", "address"), ("nonce", "uint256"),
                                                  ("deadline", "uint256")], "TokenPermissions": _TOKEN_PERMISSIONS},
    "PermitBatchTransferFrom": {"PermitBatchTransferFrom": [("permitted", "TokenPermissions[]"), ("spender", "address"),
                                                            ("nonce", "uint256"), ("deadline", "uint256")],
                                "TokenPermissions": _TOKEN_PERMISSIONS},
}
SAFE_TX_SCHEMA = {"SafeTx": [
    ("to", "address"), ("value", "uint256"), ("data", "bytes"), ("operation", "uint8"), ("safeTxGas", "uint256"), ("baseGas", "uint256"),
    ("gasPrice", "uint256"), ("gasToken", "address"), ("refundReceiver", "address"), ("nonce", "uint256"),
]}
# Signed only through their own checked paths, or not at all.
NEVER_ON_GENERIC_PATH = {"Agent", "ClobAuth", "SafeMessage", "PermitWitnessTransferFrom", "PermitBatchWitnessTransferFrom"}
VENUE_DOMAIN_NAMES = {"Polymarket CTF Exchange", "HyperliquidSignTransaction", "ClobAuthDomain"}


class Eip191Rule(BaseModel):
    model_config = ConfigDict(extra="forbid")

    # 32-byte payloads: indistinguishable from a hash, which a Safe (and others) accept as
    # the owner's approval of whatever that hash stands for.
    allow_raw_hashes: bool = False
    # Payloads that are not UTF-8 text.
    allow_binary: bool = False
    # The text must start with one of these (e.g. "app.example.com wants you to sign in").
    prefixes: list[str] | None = Field(default=None, min_length=1)
    max_bytes: int = Field(default=4096, ge=1, le=65_536)


class PermitRule(BaseModel):
    """What a Permit / Permit2 signature may grant."""

    model_config = ConfigDict(extra="forbid")

    spenders: list[EvmAddress] = Field(min_length=1)
    max_amount: Amount
    # The permit's deadline (and a Permit2 allowance's expiration) at most this far ahead.
    max_deadline_seconds: int = Field(default=3600, ge=1, le=30 * 86_400)


class SafeTxRule(BaseModel):
    """What a SafeTx (a Safe's transaction, approved by this wallet as an owner) may do."""

    model_config = ConfigDict(extra="forbid")

    allowed_to: list[EvmAddress] = Field(min_length=1)
    max_value: Amount = 0
    allow_calldata: bool = False


class Eip712Rule(BaseModel):
    model_config = ConfigDict(extra="forbid")

    chain_id: int
    verifying_contract: EvmAddress
    primary_types: list[str] = Field(min_length=1)
    name: str | None = None
    version: str | None = None
    permit: PermitRule | None = None
    safe_tx: SafeTxRule | None = None

    @model_validator(mode="after")
    def _guarded_types_have_rules(self) -> Eip712Rule:
        for primary in self.primary_types:
            if primary in NEVER_ON_GENERIC_PATH or primary.startswith("HyperliquidTransaction:"):
                raise ValueError(f"{primary} is never signed as a generic message (venue actions and orders have their own checked calls)")
            if primary in PERMIT_SCHEMAS and self.permit is None:
                raise ValueError(f"{primary} is an allowance: name its limits in \"permit\" (spenders, max_amount, max_deadline_seconds)")
            if primary == "SafeTx" and self.safe_tx is None:
                raise ValueError("SafeTx moves a Safe's funds: name its limits in \"safe_tx\" (allowed_to, max_value)")
        return self

    def matches(self, domain: dict[str, Any]) -> bool:
        contract = domain.get("verifyingContract")
        return (
            _integer(domain.get("chainId")) == self.chain_id
            and isinstance(contract, str) and contract.lower() == self.verifying_contract
            and (self.name is None or domain.get("name") == self.name)
            and (self.version is None or domain.get("version") == self.version)
        )


def decide_eip191(policy: WalletPolicy | PolicyUnreadable | None, message: bytes, halted: bool = False) -> Decision:
    if (refusal := guard(policy, halted)) is not None:
        return refusal
    assert policy is not None and not isinstance(policy, PolicyUnreadable)  # guard refused both
    rules = policy.eip191
    if rules is None:
        return deny("eip191-allowed", "the wallet's policy does not allow EIP-191 messages (add an eip191 section)")
    if len(message) > rules.max_bytes:
        return deny("eip191-allowed", f"the message is {len(message)} bytes; the policy allows at most {rules.max_bytes}")
    if len(message) == RAW_HASH_BYTES and not rules.allow_raw_hashes:
        return deny("eip191-raw-hash", "a 32-byte message is indistinguishable from a hash (a Safe takes its EIP-191 signature as an "
                                       "owner's approval); the policy does not allow it (allow_raw_hashes)")
    try:
        text = message.decode("utf-8")
    except UnicodeDecodeError:
        if not rules.allow_binary:
            return deny("eip191-binary", "the message is not UTF-8 text; the policy does not allow binary messages (allow_binary)")
        text = None
    if rules.prefixes is not None and (text is None or not any(text.startswith(p) for p in rules.prefixes)):
        return deny("eip191-prefix", "the message does not start with one of the policy's prefixes")
    return allow("eip191-allowed", "EIP-191 message within the policy")


def decide_eip712(
    policy: WalletPolicy | PolicyUnreadable | None, wallet: str, typed_data: dict[str, Any], ledger: SpendLedger, now: float,
    halted: bool = False, session_id: int = 0,
) -> Decision:
    if (refusal := guard(policy, halted)) is not None:
        return refusal
    assert policy is not None and not isinstance(policy, PolicyUnreadable)  # guard refused both
    domain, types, primary = typed_data.get("domain"), typed_data.get("types"), typed_data.get("primaryType")
    message = typed_data.get("message")
    if not isinstance(domain, dict) or not isinstance(types, dict) or not isinstance(primary, str) or not isinstance(message, dict):
        return deny("eip712-domain-allowlist", "typed data needs a domain object, types, a primaryType and a message object")
    if not isinstance(domain.get("name", ""), str):
        return deny("eip712-domain-allowlist", "the domain's name must be a string")
    # The domain separator is hashed from the domain object's own keys (eth-account checks
    # that types.EIP712Domain, when given, lists the same ones), so a rule that matches the
    # domain's chainId and verifyingContract binds the signature to that chain and contract.
    if domain.get("name") in VENUE_DOMAIN_NAMES or primary in NEVER_ON_GENERIC_PATH or primary.startswith("HyperliquidTransaction:"):
        return deny("eip712-guarded-type", f"{primary} in domain {domain.get('name')!r} is never signed as a generic message")
    rules = [r for r in policy.eip712 if r.matches(domain)]
    if not rules:
        return deny("eip712-domain-allowlist", f"no eip712 rule names chain {domain.get('chainId')} and contract "
                                               f"{domain.get('verifyingContract')} (domain {domain.get('name')!r})")
    named = [r for r in rules if primary in r.primary_types]
    if not named:
        allowed = sorted({t for r in rules for t in r.primary_types})
        return deny("eip712-primary-type", f"primary type {primary!r} is not one the wallet signs for this contract ({', '.join(allowed)})")
    rule = named[0]
    chain = rule.chain_id
    if primary in PERMIT_SCHEMAS:
        return _permit(policy, wallet, rule, chain, primary, types, message, ledger, now, session_id)
    if primary == "SafeTx":
        return _safe_tx(rule, types, message)
    return allow("eip712-primary-type", f"{primary} for contract {rule.verifying_contract} on chain {chain}")


def _permit(policy: WalletPolicy, wallet: str, rule: Eip712Rule, chain: int, primary: str, types: dict[str, Any],
            message: dict[str, Any], ledger: SpendLedger, now: float, session_id: int) -> Decision:
    if (problem := _schema_problem(types, PERMIT_SCHEMAS[primary])) is not None:
        return deny("eip712-permit", f"{primary}: {problem}")
    limits = rule.permit
    assert limits is not None  # Eip712Rule requires permit limits for every permit type it names
    spender = message.get("spender")
    if not isinstance(spender, str) or spender.lower() not in limits.spenders:
        return deny("eip712-permit", f"{primary} spender {spender!r} is not one of the rule's spenders")
    # (token, amount, deadline-like values) of each grant in the message.
    if primary == "Permit":
        grants = [(rule.verifying_contract, message.get("value"))]
        deadlines = [message.get("deadline")]
    elif primary in ("PermitSingle", "PermitBatch"):
        details = message.get("details")
        details = [details] if primary == "PermitSingle" else details
        if not isinstance(details, list) or not all(isinstance(d, dict) for d in details):
            return deny("eip712-permit", f"{primary}: details are malformed")
        grants = [(d.get("token"), d.get("amount")) for d in details]
        deadlines = [message.get("sigDeadline"), *(d.get("expiration") for d in details)]
    else:
        permitted = message.get("permitted")
        permitted = [permitted] if primary == "PermitTransferFrom" else permitted
        if not isinstance(permitted, list) or not all(isinstance(p, dict) for p in permitted):
            return deny("eip712-permit", f"{primary}: permitted is malformed")
        grants = [(p.get("token"), p.get("amount")) for p in permitted]
        deadlines = [message.get("deadline")]
    for deadline in deadlines:
        value = _integer(deadline)
        if value is None or value > now + limits.max_deadline_seconds:
            return deny("eip712-permit", f"{primary} deadline {deadline!r} is more than {limits.max_deadline_seconds}s ahead")
    spends, allowances = [], []
    for token, raw_amount in grants:
        value = _integer(raw_amount)
        if not isinstance(token, str) or len(token) != 42 or value is None:
            return deny("eip712-permit", f"{primary}: token {token!r} or amount {raw_amount!r} is malformed")
        if value > limits.max_amount:
            return deny("eip712-permit", f"{primary} grants {value}, over the rule's max_amount {limits.max_amount}")
        spends.append(Spend(chain, token.lower(), value))
        if primary == "Permit":
            allowances.append(AllowanceChange(chain, token.lower(), spender.lower(), AllowanceKind.SET, value))
    spends_tuple = tuple(spends)
    if (refusal := check_spend_caps(policy.spend_caps, wallet, spends_tuple, ledger, now)) is not None:
        return refusal
    if (refusal := check_session_budget(policy.session_budgets, wallet, spends_tuple, ledger, session_id)) is not None:
        return refusal
    return allow("eip712-permit", f"{primary} within the rule's spenders, amount and deadline",
                 Commitments(spends=spends_tuple, allowances=tuple(allowances)))


def _safe_tx(rule: Eip712Rule, types: dict[str, Any], message: dict[str, Any]) -> Decision:
    if (problem := _schema_problem(types, SAFE_TX_SCHEMA)) is not None:
        return deny("eip712-safe-tx", f"SafeTx: {problem}")
    limits = rule.safe_tx
    assert limits is not None  # Eip712Rule requires safe_tx limits when it names SafeTx
    to, value, operation = message.get("to"), _integer(message.get("value")), _integer(message.get("operation"))
    if not isinstance(to, str) or to.lower() not in limits.allowed_to:
        return deny("eip712-safe-tx", f"SafeTx to {to!r} is not one of the rule's allowed_to")
    if value is None or value > limits.max_value:
        return deny("eip712-safe-tx", f"SafeTx value {message.get('value')!r} is over the rule's max_value {limits.max_value}")
    if operation != 0:
        return deny("eip712-safe-tx", "SafeTx with a delegatecall (operation 1) can do anything with the Safe; never signed")
    if _integer(message.get("gasPrice")) != 0:
        return deny("eip712-safe-tx", "SafeTx with a gasPrice pays a refund out of the Safe; only gasPrice 0 is signed")
    data = message.get("data")
    if data not in ("0x", "", b"", None) and not limits.allow_calldata:
        return deny("eip712-safe-tx", "SafeTx with calldata is not allowed by the rule (allow_calldata)")
    return allow("eip712-safe-tx", f"SafeTx to {to} within the rule")


def _fields(types: dict[str, Any], name: str) -> list[tuple[str, str]] | None:
    fields = types.get(name)
    if not isinstance(fields, list) or not all(isinstance(f, dict) for f in fields):
        return None
    return [(f.get("name"), f.get("type")) for f in fields]


def _schema_problem(types: dict[str, Any], schema: dict[str, list[tuple[str, str]]]) -> str | None:
    for name, expected in schema.items():
        if _fields(types, name) != expected:
            return f"the {name} type is not the standard one ({', '.join(f'{t} {n}' for n, t in expected)})"
    return None


def _integer(value: object) -> int | None:
    """A typed-data integer read exactly as eth-account reads it when it hashes the message
    (an int; a 0x-hex string; else Python's int() of the string), or None where eth-account
    would not hash it as an integer."""
    if isinstance(value, bool) or not isinstance(value, int | str):
        return None
    if isinstance(value, int):
        return value
    try:
        return int(value, 16) if value.startswith("0x") and is_hexstr(value) else int(value)
    except ValueError:
        return None
