"""Solana transactions: programs, lamports (transfers, rent for others, fees), SPL transfers."""

from __future__ import annotations

from typing import TYPE_CHECKING

from pydantic import BaseModel, ConfigDict, Field
from solders.pubkey import Pubkey
from solders.token.associated import get_associated_token_address

from signer.policy.caps import check_spend_caps
from signer.policy.decision import Decision, PolicyUnreadable, allow, deny, guard
from signer.policy.ledger import SOLANA, Commitments, Spend, SpendLedger
from signer.policy.values import DAY, NATIVE, Amount, SolanaAddress, SolanaAsset, WindowSeconds
from signer.solana import SolanaEffects, TokenTransfer

if TYPE_CHECKING:
    from signer.policy.document import WalletPolicy


class SolanaTokenCap(BaseModel):
    model_config = ConfigDict(extra="forbid")

    mint: SolanaAddress
    max_amount_per_tx: Amount


class SolanaSpendCap(BaseModel):
    model_config = ConfigDict(extra="forbid")

    # "native" (lamports sent, rent for others and fees) or an SPL mint.
    asset: SolanaAsset
    amount: Amount
    window_seconds: WindowSeconds = DAY

    @property
    def chain_key(self) -> str:
        return SOLANA


class SolanaPolicy(BaseModel):
    """Rules for a Solana wallet; a wallet without this section signs no Solana transaction."""

    model_config = ConfigDict(extra="forbid")

    # Every program a transaction calls must be listed, System and ComputeBudget included.
    allowed_programs: list[SolanaAddress] = Field(default_factory=list)
    # Lamports sent plus rent paid for other owners' token accounts, per transaction.
    max_lamports_per_tx: Amount | None = None
    allowed_recipients: list[SolanaAddress] | None = None
    # SPL mints the wallet may transfer, each with a per-transaction cap (base units).
    token_transfer_caps: list[SolanaTokenCap] = Field(default_factory=list)
    # Where SPL transfers may go: a token account listed here, or the associated token
    # account of an owner listed here (the wallet's own always). None: anywhere.
    token_recipients: list[SolanaAddress] | None = None
    # ComputeBudget unit price x unit limit, in lamports; 0 allows no priority fee.
    max_priority_fee_lamports: int = Field(default=0, ge=0)
    # MintTo with the wallet as mint authority (off: a wallet that holds a mint authority
    # could otherwise be made to dilute its token or mint to a stranger).
    allow_mint: bool = False
    # Durable-nonce transactions never expire: signing one is a signature kept for later.
    allow_durable_nonce: bool = False
    spend_caps: list[SolanaSpendCap] = Field(default_factory=list)


# Complex by design: the Solana rules read top to bottom in the order they are checked, as reviewers read them.
def decide_solana_transaction(  # noqa: C901
    policy: WalletPolicy | PolicyUnreadable | None, wallet: str, effects: SolanaEffects, ledger: SpendLedger, now: float,
    halted: bool = False, session_id: int = 0,
) -> Decision:
    if (refusal := guard(policy, halted, "solana")) is not None:
        return refusal
    assert policy is not None and not isinstance(policy, PolicyUnreadable)  # guard refused both
    rules = policy.solana
    assert rules is not None  # guard refused a policy without this section
    unlisted = [p for p in effects.programs if p not in rules.allowed_programs]
    if unlisted:
        return deny("solana-program-allowlist", f"program(s) {', '.join(unlisted)} are not in the wallet's allowed programs")
    if effects.refusals:
        return deny(effects.refusals[0].rule, effects.refusals[0].reason)
    if effects.advances_nonce and not rules.allow_durable_nonce:
        return deny("solana-durable-nonce", "durable-nonce transactions (AdvanceNonceAccount) never expire; the policy does not "
                                            "allow them (allow_durable_nonce)")
    if effects.mints_by_wallet and not rules.allow_mint:
        return deny("solana-mint", "MintTo with the wallet as mint authority is not allowed (allow_mint)")
    lamports = effects.lamports_out
    if rules.max_lamports_per_tx is not None and lamports > rules.max_lamports_per_tx:
        return deny("solana-lamport-cap", f"sends or locks up {lamports} lamports (transfers and rent for other owners' accounts), "
                                          f"over the per-transaction cap {rules.max_lamports_per_tx}")
    if rules.allowed_recipients is not None:
        for recipient, _ in effects.lamport_transfers:
            if recipient not in rules.allowed_recipients:
                return deny("recipient-allowlist", f"{recipient or 'an address from a lookup table'} is not an allowed recipient")
    if rules.token_recipients is not None:
        for owner, _ in effects.rent_for_others:
            if owner not in rules.token_recipients:
                return deny("solana-token-recipient", f"creates a token account for {owner or 'an owner from a lookup table'}, "
                                                      "which is not one of the wallet's token_recipients")
    spends: list[Spend] = [Spend(SOLANA, NATIVE, lamports + effects.fee_lamports)]
    for transfer in effects.token_transfers:
        if transfer.mint is None:
            return deny("solana-token-transfer", "a token transfer's mint comes from an address lookup table; it cannot be checked")
        caps = [c.max_amount_per_tx for c in rules.token_transfer_caps if c.mint == transfer.mint]
        if not caps:
            return deny("solana-token-transfer", f"transfers of mint {transfer.mint} are not allowed")
        if transfer.amount > max(caps):
            return deny("solana-token-transfer", f"transfer of {transfer.amount} of mint {transfer.mint} exceeds the per-transaction cap {max(caps)}")
        if rules.token_recipients is not None and not _allowed_destination(transfer, wallet, rules.token_recipients):
            return deny("solana-token-recipient", f"token transfer to {transfer.destination or 'an account from a lookup table'}, which is "
                                                  "neither a listed token account nor the token account of a listed owner")
        spends.append(Spend(SOLANA, transfer.mint, transfer.amount))
    if effects.priority_fee_lamports > rules.max_priority_fee_lamports:
        return deny("solana-priority-fee", f"priority fee of {effects.priority_fee_lamports} lamports exceeds max_priority_fee_lamports "
                                           f"{rules.max_priority_fee_lamports}")
    if (refusal := check_spend_caps(rules.spend_caps, wallet, tuple(spends), ledger, now)) is not None:
        return refusal
    return allow("solana-program-allowlist", "every applicable rule passed", Commitments(spends=tuple(spends)))


def _allowed_destination(transfer: TokenTransfer, wallet: str, recipients: list[str]) -> bool:
    if transfer.destination is None:
        return False
    if transfer.destination in recipients:
        return True
    assert transfer.mint is not None  # the caller refused transfers without a mint
    mint, program = Pubkey.from_string(transfer.mint), Pubkey.from_string(transfer.token_program)
    return any(
        str(get_associated_token_address(Pubkey.from_string(owner), mint, program)) == transfer.destination
        for owner in [wallet, *recipients]
    )
