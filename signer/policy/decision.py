"""A decision, and the guard every decision passes first (halt, no policy, a broken file)."""

from __future__ import annotations

from dataclasses import dataclass
from typing import TYPE_CHECKING

from signer.policy.ledger import Commitments, Spend

if TYPE_CHECKING:
    from signer.policy.document import WalletPolicy


@dataclass(frozen=True)
class Decision:
    allowed: bool
    # Which rule decided, e.g. "default-deny" or "chain-allowlist" (the catalogue in
    # signer/policy/__init__.py lists them all).
    rule: str
    reason: str
    # What an allowed request commits the wallet to; reserved before anything is signed.
    commitments: Commitments = Commitments()

    @property
    def spends(self) -> tuple[Spend, ...]:
        return self.commitments.spends


def deny(rule: str, reason: str) -> Decision:
    return Decision(False, rule, reason)


def allow(rule: str, reason: str, commitments: Commitments = Commitments()) -> Decision:
    return Decision(True, rule, reason, commitments)


class PolicyUnreadable(Exception):
    """The wallet's policy file exists but is not a valid policy (e.g. written by an older
    version): every request is refused until the owner sets it again."""


def guard(policy: WalletPolicy | PolicyUnreadable | None, halted: bool, section: str | None = None) -> Decision | None:
    """The refusal that comes before any rule, or None. `policy` is the wallet's policy,
    None when it has none, or a PolicyUnreadable; `section` names the part the request
    needs (e.g. "solana")."""
    if halted:
        return deny("halted", "the signer is halted; `corral signer resume` lifts it")
    if isinstance(policy, PolicyUnreadable):
        return deny("policy-invalid", f"the wallet's policy file is not valid ({policy}); set it again with `corral signer policy set`")
    if policy is None:
        return deny("default-deny", "the wallet has no policy; set one with `corral signer policy set`")
    if section is not None and getattr(policy, section) is None:
        return deny("default-deny", f"the wallet's policy has no {section} section; add one with `corral signer policy set`")
    return None
