"""Solana transactions: what one does to the wallet, decoded from its own bytes, and signing.

The policy never trusts a description of a transaction. `decode` reads the compiled
instructions of a legacy or v0 transaction and reports, for the wallet that would sign:
which programs it calls, the lamports it sends out, the SPL tokens it transfers (by mint),
the priority fee it pays, and anything it does that the signer refuses outright (handing
the wallet's account to another program, token approvals, burns, ...).

Only top-level instructions are visible here; what an allowed program does through
cross-program invocations is bounded by the program allowlist, which is why that list
is the wallet owner's to keep short. Signing uses solders (ed25519 from Rust), never
hand-written cryptography.
"""

from __future__ import annotations

import math
import struct
from dataclasses import dataclass, field

from solders.keypair import Keypair
from solders.message import to_bytes_versioned
from solders.pubkey import Pubkey
from solders.signature import Signature
from solders.transaction import VersionedTransaction

SYSTEM_PROGRAM = "11111111111111111111111111111111"
TOKEN_PROGRAM = "TokenkegQfeZyiNwAJbNbGKPFXCWuBvf9Ss623VQ5DA"
TOKEN_2022_PROGRAM = "TokenzQdBNbLqP5VEhdkAS6EPFLC1PHnBqCXEpPxuEb"
ASSOCIATED_TOKEN_PROGRAM = "ATokenGPvbdGVxr1b2hvZbsiqW5xWH25efTNsLJA8knL"
COMPUTE_BUDGET_PROGRAM = "ComputeBudget111111111111111111111111111111"

# Compute units a transaction gets without SetComputeUnitLimit (per instruction, capped).
DEFAULT_UNITS_PER_INSTRUCTION = 200_000
MAX_UNITS = 1_400_000

# SPL Token instruction tags (the first data byte; Token-2022 shares them).
_TOKEN_NAMES = {
    0: "InitializeMint", 1: "InitializeAccount", 2: "InitializeMultisig", 3: "Transfer", 4: "Approve", 5: "Revoke",
    6: "SetAuthority", 7: "MintTo", 8: "Burn", 9: "CloseAccount", 10: "FreezeAccount", 11: "ThawAccount",
    12: "TransferChecked", 13: "ApproveChecked", 14: "MintToChecked", 15: "BurnChecked", 16: "InitializeAccount2",
    17: "SyncNative", 18: "InitializeAccount3", 19: "InitializeMultisig2", 20: "InitializeMint2",
    21: "GetAccountDataSize", 22: "InitializeImmutableOwner",
}
# Token instructions that cannot move or give away the wallet's tokens (TransferChecked,
# CloseAccount and MintTo/MintToChecked are decoded and checked separately).
_HARMLESS_TOKEN = {0, 1, 5, 16, 17, 18, 19, 20, 21, 22}
_MINT_TO, _MINT_TO_CHECKED = 7, 14

# The network's fee per signature, paid by the fee payer (the first account).
LAMPORTS_PER_SIGNATURE = 5_000
# Rent-exempt minimum of an account of `size` bytes: (size + 128 bytes of metadata) x
# 3,480 lamports per byte-year x 2 years (the Rent sysvar's values since genesis).
def rent_exempt_lamports(size: int) -> int:
    return (size + 128) * 3_480 * 2


# An SPL Token account is 165 bytes (2,039,280 lamports of rent); a Token-2022 account
# grows with its mint's extensions, so the signer, which cannot read the mint, counts the
# rent of a 512-byte account as the most it can cost.
RENT_TOKEN_ACCOUNT = rent_exempt_lamports(165)
RENT_TOKEN_2022_ACCOUNT_AT_MOST = rent_exempt_lamports(512)

# System program instruction tags.
_SYS_CREATE_ACCOUNT, _SYS_ASSIGN, _SYS_TRANSFER, _SYS_CREATE_WITH_SEED = 0, 1, 2, 3
_SYS_ADVANCE_NONCE, _SYS_ALLOCATE, _SYS_ALLOCATE_WITH_SEED, _SYS_ASSIGN_WITH_SEED, _SYS_TRANSFER_WITH_SEED = 4, 8, 9, 10, 11


class MalformedSolanaTransaction(ValueError):
    pass


@dataclass(frozen=True)
class Refusal:
    """Something in the transaction the signer never signs, with the rule that says so."""

    rule: str
    reason: str


@dataclass(frozen=True)
class TokenTransfer:
    # None when the account comes from an address lookup table (the signer cannot see it).
    mint: str | None
    destination: str | None
    amount: int
    token_program: str = TOKEN_PROGRAM


@dataclass
class SolanaEffects:
    """What signing this transaction would let happen to the wallet."""

    programs: list[str] = field(default_factory=list)
    # (recipient or None when it comes from an address lookup table, lamports)
    lamport_transfers: list[tuple[str | None, int]] = field(default_factory=list)
    # Rent the wallet pays for associated token accounts it creates for other owners:
    # (owner or None when unknown, lamports at most).
    rent_for_others: list[tuple[str | None, int]] = field(default_factory=list)
    token_transfers: list[TokenTransfer] = field(default_factory=list)
    # The network's fee the wallet pays as the fee payer: 5,000 lamports per signature plus
    # the priority fee.
    base_fee_lamports: int = 0
    priority_fee_lamports: int = 0
    # MintTo/MintToChecked instructions with the wallet as the mint authority.
    mints_by_wallet: int = 0
    # An AdvanceNonceAccount instruction: a durable-nonce transaction, valid until used.
    advances_nonce: bool = False
    refusals: list[Refusal] = field(default_factory=list)

    @property
    def lamports_out(self) -> int:
        """Lamports the wallet sends or locks up as rent for others (fees not included)."""
        return sum(amount for _, amount in self.lamport_transfers) + sum(amount for _, amount in self.rent_for_others)

    @property
    def fee_lamports(self) -> int:
        return self.base_fee_lamports + self.priority_fee_lamports


def parse_transaction(raw: bytes) -> VersionedTransaction:
    """A legacy or v0 transaction from its wire bytes; raises MalformedSolanaTransaction."""
    try:
        tx = VersionedTransaction.from_bytes(raw)
    except ValueError as exc:
        raise MalformedSolanaTransaction(f"not a serialized Solana transaction: {exc}") from None
    if bytes(tx) != raw:
        raise MalformedSolanaTransaction("trailing bytes after the transaction")
    return tx


def signer_index(tx: VersionedTransaction, wallet: str) -> int:
    """The wallet's position among the transaction's required signers."""
    message = tx.message
    keys = [str(k) for k in message.account_keys[: message.header.num_required_signatures]]
    if wallet not in keys:
        raise MalformedSolanaTransaction(f"wallet {wallet} is not a required signer of this transaction")
    return keys.index(wallet)


def decode(tx: VersionedTransaction, wallet: str) -> SolanaEffects:
    message = tx.message
    static = [str(k) for k in message.account_keys]
    effects = SolanaEffects()

    def account(index: int) -> str | None:
        # Indices past the static keys come from address lookup tables, which only the
        # chain can resolve; the signer has no network, so they stay unknown.
        return static[index] if index < len(static) else None

    unit_limit: int | None = None
    unit_price = 0
    counted = 0
    for instruction in message.instructions:
        if instruction.program_id_index >= len(static):
            raise MalformedSolanaTransaction("an instruction's program comes from an address lookup table, which a program id never may")
        program = static[instruction.program_id_index]
        accounts = [account(i) for i in bytes(instruction.accounts)]
        data = bytes(instruction.data)
        if program not in effects.programs:
            effects.programs.append(program)
        if program == COMPUTE_BUDGET_PROGRAM:
            if data[:1] == b"\x02" and len(data) >= 5:
                unit_limit = struct.unpack_from("<I", data, 1)[0]
            elif data[:1] == b"\x03" and len(data) >= 9:
                unit_price = struct.unpack_from("<Q", data, 1)[0]
            continue
        counted += 1
        if program == SYSTEM_PROGRAM:
            _system(accounts, data, wallet, effects)
        elif program in (TOKEN_PROGRAM, TOKEN_2022_PROGRAM):
            _token(program, accounts, data, wallet, effects)
        elif program == ASSOCIATED_TOKEN_PROGRAM:
            _associated_token(accounts, data, wallet, effects)
    units = unit_limit if unit_limit is not None else min(MAX_UNITS, DEFAULT_UNITS_PER_INSTRUCTION * counted)
    if static and static[0] == wallet:  # the wallet pays the fees
        effects.priority_fee_lamports = math.ceil(units * unit_price / 1_000_000)
        effects.base_fee_lamports = LAMPORTS_PER_SIGNATURE * message.header.num_required_signatures
    return effects


def _associated_token(accounts: list[str | None], data: bytes, wallet: str, effects: SolanaEffects) -> None:
    """Create / CreateIdempotent: accounts are funder, the new account, its owner, mint,
    System, token program. Rent for someone else's account is the wallet's outflow."""
    if data[:1] not in (b"", b"\x00", b"\x01"):
        effects.refusals.append(Refusal("solana-instruction", "associated-token RecoverNested is never signed"))
        return
    funder = accounts[0] if accounts else None
    owner = accounts[2] if len(accounts) > 2 else None
    if funder == wallet and owner != wallet:
        token_program = accounts[5] if len(accounts) > 5 else None
        rent = RENT_TOKEN_ACCOUNT if token_program == TOKEN_PROGRAM else RENT_TOKEN_2022_ACCOUNT_AT_MOST
        effects.rent_for_others.append((owner, rent))


def _u64(data: bytes, offset: int) -> int:
    if len(data) < offset + 8:
        raise MalformedSolanaTransaction("instruction data too short")
    value: int = struct.unpack_from("<Q", data, offset)[0]
    return value


def _system(accounts: list[str | None], data: bytes, wallet: str, effects: SolanaEffects) -> None:
    if len(data) < 4:
        raise MalformedSolanaTransaction("system instruction data too short")
    tag = struct.unpack_from("<I", data)[0]
    first = accounts[0] if accounts else None
    if tag == _SYS_TRANSFER:
        if first == wallet:
            effects.lamport_transfers.append((accounts[1] if len(accounts) > 1 else None, _u64(data, 4)))
    elif tag in (_SYS_CREATE_ACCOUNT, _SYS_CREATE_WITH_SEED):
        if first == wallet:
            # CreateAccount: lamports at 4; CreateAccountWithSeed: after base, seed and (u64 len) string.
            offset = 4 if tag == _SYS_CREATE_ACCOUNT else 4 + 32 + 8 + _u64(data, 36)
            effects.lamport_transfers.append((accounts[1] if len(accounts) > 1 else None, _u64(data, offset)))
    elif tag == _SYS_TRANSFER_WITH_SEED:
        # Accounts: funding (derived from base), base (signs), recipient.
        if len(accounts) > 1 and accounts[1] == wallet:
            effects.lamport_transfers.append((accounts[2] if len(accounts) > 2 else None, _u64(data, 4)))
    elif tag in (_SYS_ASSIGN, _SYS_ALLOCATE, _SYS_ASSIGN_WITH_SEED, _SYS_ALLOCATE_WITH_SEED):
        if first == wallet:
            effects.refusals.append(Refusal("solana-instruction", "assigning or allocating the wallet's own account is never signed"))
    elif tag == _SYS_ADVANCE_NONCE:
        effects.advances_nonce = True
    else:
        effects.refusals.append(Refusal("solana-instruction", f"system instruction {tag} is not one the signer signs"))


def _token(program: str, accounts: list[str | None], data: bytes, wallet: str, effects: SolanaEffects) -> None:
    if not data:
        raise MalformedSolanaTransaction("token instruction without data")
    tag = data[0]
    name = _TOKEN_NAMES.get(tag, f"extension instruction {tag}")
    if tag == 12:  # TransferChecked: source, mint, destination, authority; amount u64, decimals u8
        if len(accounts) > 3 and accounts[3] == wallet:
            effects.token_transfers.append(TokenTransfer(accounts[1], accounts[2], _u64(data, 1), program))
    elif tag in (_MINT_TO, _MINT_TO_CHECKED):  # mint, destination, authority
        if len(accounts) > 2 and accounts[2] == wallet:
            effects.mints_by_wallet += 1
    elif tag == 3:
        effects.refusals.append(Refusal("solana-token-transfer", "plain token Transfer does not name its mint; use TransferChecked"))
    elif tag == 9:  # CloseAccount: account, destination, owner: the rent goes to `destination`
        if len(accounts) > 2 and accounts[2] == wallet and accounts[1] != wallet:
            effects.refusals.append(Refusal("solana-instruction", "closing a token account must return its lamports to the wallet"))
    elif tag not in _HARMLESS_TOKEN:
        effects.refusals.append(Refusal("solana-instruction", f"token {name} is never signed (it can move or give away tokens)"))


@dataclass(frozen=True)
class SignedSolanaTransaction:
    raw: bytes
    # Base58: the first signature is the transaction's id.
    signature: str
    transaction_id: str


def sign(keypair: Keypair, tx: VersionedTransaction, index: int) -> SignedSolanaTransaction:
    """Fills the wallet's signature slot; other signers' slots are kept as given."""
    message = tx.message
    signature = keypair.sign_message(to_bytes_versioned(message))
    required = message.header.num_required_signatures
    given = list(tx.signatures) + [Signature.default()] * (required - len(tx.signatures))
    given[index] = signature
    signed = VersionedTransaction.populate(message, given[:required])
    return SignedSolanaTransaction(raw=bytes(signed), signature=str(signature), transaction_id=str(signed.signatures[0]))


def is_solana_address(address: str) -> bool:
    try:
        return not address.startswith("0x") and len(bytes(Pubkey.from_string(address))) == 32
    except ValueError:
        return False
