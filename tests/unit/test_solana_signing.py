"""Solana transactions in the signer: decoding what a transaction does to the wallet from
its own instructions, each policy rule, and a property over random transactions and
policies: nothing outside the policy is signed, and every signature made verifies with
an ed25519 implementation independent of solders (pyca/cryptography)."""

from __future__ import annotations

import struct

import pytest
from cryptography.exceptions import InvalidSignature
from cryptography.hazmat.primitives.asymmetric.ed25519 import Ed25519PublicKey
from hypothesis import given, settings
from hypothesis import strategies as st
from solders.hash import Hash
from solders.instruction import AccountMeta, Instruction
from solders.keypair import Keypair
from solders.message import Message, MessageV0, to_bytes_versioned
from solders.pubkey import Pubkey
from solders.signature import Signature
from solders.system_program import (
    AssignParams,
    CreateAccountParams,
    TransferParams,
    assign,
    create_account,
    transfer,
)
from solders.token.associated import get_associated_token_address
from solders.transaction import VersionedTransaction
from spl.token.instructions import approve, transfer_checked
from spl.token.instructions import transfer as token_transfer
from spl.token.models import ApproveParams, TransferCheckedParams
from spl.token.models import TransferParams as TokenTransferParams

from signer import solana
from signer.policy import SolanaPolicy, SpendLedger, WalletPolicy, decide_solana_transaction

KEYPAIR = Keypair.from_seed(bytes(range(32)))
WALLET = KEYPAIR.pubkey()
RECIPIENT = Pubkey.from_string("9xQeWvG816bUx9EPjHmaT23yvVM2ZWbrrpZb9PusVFin")
MINT = Pubkey.from_string("EPjFWdd5AufqSSqeM2qN1xzybapC8G7wHXBoFQL4mJkN")
OTHER_MINT = Pubkey.from_string("Es9vMFrzaCERmJfrF4H2FYD4KCoNkY11McCe8BenwNYB")
TOKEN_PROGRAM = Pubkey.from_string(solana.TOKEN_PROGRAM)
SYSTEM_PROGRAM = Pubkey.from_string(solana.SYSTEM_PROGRAM)
ASSOCIATED_TOKEN = Pubkey.from_string(solana.ASSOCIATED_TOKEN_PROGRAM)
COMPUTE_BUDGET = Pubkey.from_string(solana.COMPUTE_BUDGET_PROGRAM)
UNKNOWN_PROGRAM = Pubkey.from_string("JUP6LkbZbjS1jKKwapdHNy74zcZ3tLUZoi5QNyVTaV4")
BLOCKHASH = Hash.from_string("4vJ9JU1bJJE96FWSJKvHsmmFADCg4gpZQff4P3bkLKi")


def legacy(*instructions: Instruction) -> VersionedTransaction:
    message = Message.new_with_blockhash(list(instructions), WALLET, BLOCKHASH)
    return VersionedTransaction.populate(message, [Signature.default()] * message.header.num_required_signatures)


def v0(*instructions: Instruction) -> VersionedTransaction:
    message = MessageV0.try_compile(WALLET, list(instructions), [], BLOCKHASH)
    return VersionedTransaction.populate(message, [Signature.default()] * message.header.num_required_signatures)


def sol_transfer(lamports: int, to: Pubkey = RECIPIENT) -> Instruction:
    return transfer(TransferParams(from_pubkey=WALLET, to_pubkey=to, lamports=lamports))


def token_transfer_checked(amount: int, mint: Pubkey = MINT, dest: Pubkey | None = None) -> Instruction:
    return transfer_checked(TransferCheckedParams(
        program_id=TOKEN_PROGRAM, source=Pubkey.new_unique(), mint=mint, dest=dest or Pubkey.new_unique(), owner=WALLET,
        amount=amount, decimals=6,
    ))


def create_ata_for(owner: Pubkey, mint: Pubkey = MINT, funder: Pubkey = WALLET, idempotent: bool = False) -> Instruction:
    """The associated-token program's Create(Idempotent): funder, account, owner, mint, System, Token."""
    accounts = [AccountMeta(funder, True, True), AccountMeta(get_associated_token_address(owner, mint), False, True),
                AccountMeta(owner, False, False), AccountMeta(mint, False, False), AccountMeta(SYSTEM_PROGRAM, False, False),
                AccountMeta(TOKEN_PROGRAM, False, False)]
    return Instruction(ASSOCIATED_TOKEN, b"\x01" if idempotent else b"", accounts)


def mint_to(authority: Pubkey = WALLET) -> Instruction:
    accounts = [AccountMeta(MINT, False, True), AccountMeta(Pubkey.new_unique(), False, True), AccountMeta(authority, True, False)]
    return Instruction(TOKEN_PROGRAM, bytes([7]) + (10**9).to_bytes(8, "little"), accounts)


def advance_nonce() -> Instruction:
    return Instruction(SYSTEM_PROGRAM, struct.pack("<I", 4), [
        AccountMeta(Pubkey.new_unique(), False, True), AccountMeta(Pubkey.from_string("SysvarRecentB1ockHashes11111111111111111111"), False, False),
        AccountMeta(WALLET, True, False)])


def unit_price(micro_lamports: int) -> Instruction:
    return Instruction(COMPUTE_BUDGET, bytes([3]) + struct.pack("<Q", micro_lamports), [])


def unit_limit(units: int) -> Instruction:
    return Instruction(COMPUTE_BUDGET, bytes([2]) + struct.pack("<I", units), [])


POLICY = WalletPolicy(solana=SolanaPolicy(
    allowed_programs=[solana.SYSTEM_PROGRAM, solana.TOKEN_PROGRAM, solana.COMPUTE_BUDGET_PROGRAM, solana.ASSOCIATED_TOKEN_PROGRAM],
    max_lamports_per_tx="1000000",
    token_transfer_caps=[{"mint": str(MINT), "max_amount_per_tx": "500"}],
    max_priority_fee_lamports=10_000,
    spend_caps=[{"asset": "native", "amount": "1500000", "window_seconds": 60}],
))
FEE = solana.LAMPORTS_PER_SIGNATURE  # one signature, the wallet's


def decide(tx, policy=POLICY, ledger=None, now=1000.0):
    return decide_solana_transaction(policy, str(WALLET), solana.decode(tx, str(WALLET)), ledger or SpendLedger(), now)


@pytest.mark.parametrize("build", [legacy, v0], ids=["legacy", "v0"])
def test_transfer_is_decoded_from_the_instructions(build):
    effects = solana.decode(build(sol_transfer(1234), token_transfer_checked(77)), str(WALLET))
    assert effects.lamport_transfers == [(str(RECIPIENT), 1234)]
    assert [(t.mint, t.amount) for t in effects.token_transfers] == [(str(MINT), 77)]
    assert effects.programs == [solana.SYSTEM_PROGRAM, solana.TOKEN_PROGRAM]
    assert effects.fee_lamports == FEE


@pytest.mark.parametrize(
    "instructions, allowed, rule",
    [
        ([sol_transfer(1_000_000)], True, "solana-program-allowlist"),
        ([sol_transfer(1_000_001)], False, "solana-lamport-cap"),
        ([sol_transfer(600_000), sol_transfer(600_000)], False, "solana-lamport-cap"),
        ([create_account(CreateAccountParams(from_pubkey=WALLET, to_pubkey=RECIPIENT, lamports=2_000_000, space=0, owner=TOKEN_PROGRAM))],
         False, "solana-lamport-cap"),
        ([token_transfer_checked(500)], True, "solana-program-allowlist"),
        ([token_transfer_checked(501)], False, "solana-token-transfer"),
        ([token_transfer_checked(1, OTHER_MINT)], False, "solana-token-transfer"),
        ([token_transfer(TokenTransferParams(program_id=TOKEN_PROGRAM, source=Pubkey.new_unique(), dest=Pubkey.new_unique(),
                                             owner=WALLET, amount=1))], False, "solana-token-transfer"),
        ([approve(ApproveParams(program_id=TOKEN_PROGRAM, source=Pubkey.new_unique(), delegate=RECIPIENT, owner=WALLET, amount=1))],
         False, "solana-instruction"),
        ([assign(AssignParams(pubkey=WALLET, owner=UNKNOWN_PROGRAM))], False, "solana-instruction"),
        ([Instruction(UNKNOWN_PROGRAM, b"\x01", [AccountMeta(WALLET, True, True)])], False, "solana-program-allowlist"),
        ([unit_limit(100_000), unit_price(100_000), sol_transfer(1)], True, "solana-program-allowlist"),  # fee 10_000
        ([unit_limit(100_000), unit_price(100_001), sol_transfer(1)], False, "solana-priority-fee"),
        ([unit_price(60_000), sol_transfer(1)], False, "solana-priority-fee"),  # default 200k units: fee 12_000
    ],
)
def test_solana_rules(instructions, allowed, rule):
    decision = decide(legacy(*instructions))
    assert (decision.allowed, decision.rule) == (allowed, rule), decision.reason


def test_rent_for_other_owners_token_accounts_counts_as_lamports_out():
    """Seven associated token accounts for strangers lock up 7 x 2,039,280 lamports of the
    wallet's: that is an outflow, however small each transfer in the transaction is."""
    strangers = [create_ata_for(Pubkey.new_unique()) for _ in range(7)]
    effects = solana.decode(legacy(*strangers), str(WALLET))
    assert effects.lamports_out == 7 * solana.RENT_TOKEN_ACCOUNT == 7 * 2_039_280
    assert decide(legacy(*strangers)).rule == "solana-lamport-cap"
    assert decide(legacy(create_ata_for(WALLET), create_ata_for(WALLET, OTHER_MINT, idempotent=True))).allowed  # its own: no outflow
    generous = WalletPolicy(solana={**POLICY.solana.model_dump(), "max_lamports_per_tx": "3000000", "spend_caps": []})
    assert decide(legacy(create_ata_for(RECIPIENT)), generous).allowed
    listed = WalletPolicy(solana={**generous.solana.model_dump(), "token_recipients": [str(RECIPIENT)]})
    assert decide(legacy(create_ata_for(RECIPIENT)), listed).allowed
    assert decide(legacy(create_ata_for(Pubkey.new_unique())), listed).rule == "solana-token-recipient"


def test_mint_authority_and_durable_nonces_need_opting_in():
    assert decide(legacy(mint_to())).rule == "solana-mint"
    assert decide(legacy(mint_to(authority=RECIPIENT))).allowed  # not the wallet's authority: nothing of its own
    assert decide(legacy(advance_nonce(), sol_transfer(1))).rule == "solana-durable-nonce"
    opted = WalletPolicy(solana={**POLICY.solana.model_dump(), "allow_mint": True, "allow_durable_nonce": True})
    assert decide(legacy(mint_to()), opted).allowed
    assert decide(legacy(advance_nonce(), sol_transfer(1)), opted).allowed


def test_token_destinations_can_be_limited_to_listed_owners_and_accounts():
    account = Pubkey.new_unique()
    listed = WalletPolicy(solana={**POLICY.solana.model_dump(), "token_recipients": [str(RECIPIENT), str(account)]})
    assert decide(legacy(token_transfer_checked(5, dest=get_associated_token_address(RECIPIENT, MINT))), listed).allowed
    assert decide(legacy(token_transfer_checked(5, dest=account)), listed).allowed
    assert decide(legacy(token_transfer_checked(5, dest=get_associated_token_address(WALLET, MINT))), listed).allowed
    stranger = decide(legacy(token_transfer_checked(5, dest=get_associated_token_address(Pubkey.new_unique(), MINT))), listed)
    assert stranger.rule == "solana-token-recipient"


def test_no_solana_section_and_halt_deny_everything():
    tx = legacy(sol_transfer(1))
    assert decide(tx, WalletPolicy(allowed_chain_ids=[1])).rule == "default-deny"
    assert decide(tx, None).rule == "default-deny"
    decision = decide_solana_transaction(POLICY, str(WALLET), solana.decode(tx, str(WALLET)), SpendLedger(), 0, halted=True)
    assert decision.rule == "halted" and not decision.allowed


def test_recipient_allowlist_and_lookup_table_recipients():
    policy = WalletPolicy(solana={**POLICY.solana.model_dump(), "allowed_recipients": [str(RECIPIENT)]})
    assert decide(legacy(sol_transfer(5)), policy).allowed
    assert decide(legacy(sol_transfer(5, Pubkey.new_unique())), policy).rule == "recipient-allowlist"
    # A recipient the signer cannot see (an address lookup table index) is never allowed.
    effects = solana.SolanaEffects(programs=[solana.SYSTEM_PROGRAM], lamport_transfers=[(None, 5)])
    assert decide_solana_transaction(policy, str(WALLET), effects, SpendLedger(), 0).rule == "recipient-allowlist"


def test_rolling_spend_cap_counts_what_was_signed_with_its_fees():
    ledger = SpendLedger()
    first = decide(legacy(sol_transfer(1_000_000)), ledger=ledger, now=0.0)
    assert first.allowed and [s.amount for s in first.spends] == [1_000_000 + FEE]
    ledger.reserve(str(WALLET), first.commitments, 0.0, 0)
    assert decide(legacy(sol_transfer(500_000 - 2 * FEE + 1)), ledger=ledger, now=30.0).rule == "spend-cap"
    assert decide(legacy(sol_transfer(500_000 - 2 * FEE)), ledger=ledger, now=30.0).allowed
    assert decide(legacy(sol_transfer(600_000)), ledger=ledger, now=61.0).allowed  # the window moved on


def test_malformed_and_foreign_transactions_are_refused():
    with pytest.raises(solana.MalformedSolanaTransaction):
        solana.parse_transaction(b"\x01not a transaction")
    raw = bytes(legacy(sol_transfer(1)))
    with pytest.raises(solana.MalformedSolanaTransaction, match="trailing"):
        solana.parse_transaction(raw + b"\x00")
    with pytest.raises(solana.MalformedSolanaTransaction, match="not a required signer"):
        solana.signer_index(solana.parse_transaction(raw), str(RECIPIENT))


def verifies_independently(signed: bytes, wallet: Pubkey) -> bool:
    tx = VersionedTransaction.from_bytes(signed)
    index = [str(k) for k in tx.message.account_keys].index(str(wallet))
    try:
        Ed25519PublicKey.from_public_bytes(bytes(wallet)).verify(bytes(tx.signatures[index]), to_bytes_versioned(tx.message))
    except InvalidSignature:
        return False
    return True


instructions = st.one_of(
    st.builds(sol_transfer, st.integers(0, 2_000_000), st.sampled_from([RECIPIENT, Pubkey.new_unique()])),
    st.builds(token_transfer_checked, st.integers(0, 1000), st.sampled_from([MINT, OTHER_MINT])),
    st.builds(unit_price, st.integers(0, 200_000)),
    st.builds(lambda: Instruction(UNKNOWN_PROGRAM, b"\x09", [AccountMeta(WALLET, True, True)])),
    st.builds(lambda: assign(AssignParams(pubkey=WALLET, owner=UNKNOWN_PROGRAM))),
    st.builds(create_ata_for, st.sampled_from([WALLET, RECIPIENT]), st.sampled_from([MINT, OTHER_MINT])),
    st.builds(mint_to, st.sampled_from([WALLET, RECIPIENT])),
    st.builds(advance_nonce),
)
programs = st.sampled_from([solana.SYSTEM_PROGRAM, solana.TOKEN_PROGRAM, solana.COMPUTE_BUDGET_PROGRAM, solana.ASSOCIATED_TOKEN_PROGRAM,
                            str(UNKNOWN_PROGRAM)])
solana_policies = st.builds(
    SolanaPolicy,
    allowed_programs=st.lists(programs, max_size=4),
    max_lamports_per_tx=st.one_of(st.none(), st.integers(0, 2_000_000).map(str)),
    token_transfer_caps=st.lists(st.fixed_dictionaries({"mint": st.sampled_from([str(MINT), str(OTHER_MINT)]),
                                                        "max_amount_per_tx": st.integers(0, 1000).map(str)}), max_size=2),
    max_priority_fee_lamports=st.integers(0, 20_000),
    allow_mint=st.booleans(),
    allow_durable_nonce=st.booleans(),
)


@settings(max_examples=300, deadline=None)
@given(solana_policies, st.lists(instructions, min_size=1, max_size=5), st.booleans())
def test_nothing_outside_the_solana_policy_is_signed(rules, chosen, versioned):
    tx = (v0 if versioned else legacy)(*chosen)
    effects = solana.decode(tx, str(WALLET))
    decision = decide_solana_transaction(WalletPolicy(solana=rules), str(WALLET), effects, SpendLedger(), 0)
    if not decision.allowed:
        return
    static = [str(k) for k in tx.message.account_keys]
    called = {static[i.program_id_index] for i in tx.message.instructions}
    assert called <= set(rules.allowed_programs)
    assert str(UNKNOWN_PROGRAM) not in called or str(UNKNOWN_PROGRAM) in rules.allowed_programs
    sent = sum(struct.unpack_from("<Q", bytes(i.data), 4)[0] for i in tx.message.instructions
               if static[i.program_id_index] == solana.SYSTEM_PROGRAM and bytes(i.data)[:4] == b"\x02\x00\x00\x00")
    rent = sum(2_039_280 for i in tx.message.instructions
               if static[i.program_id_index] == solana.ASSOCIATED_TOKEN_PROGRAM and static[bytes(i.accounts)[2]] != str(WALLET))
    assert rules.max_lamports_per_tx is None or sent + rent <= int(rules.max_lamports_per_tx)
    for i in tx.message.instructions:
        data = bytes(i.data)
        if static[i.program_id_index] == solana.TOKEN_PROGRAM and data[0] == 12:
            mint, amount = static[bytes(i.accounts)[1]], struct.unpack_from("<Q", data, 1)[0]
            assert any(c.mint == mint and amount <= int(c.max_amount_per_tx) for c in rules.token_transfer_caps)
        if static[i.program_id_index] == solana.TOKEN_PROGRAM and data[0] == 7:
            assert rules.allow_mint or static[bytes(i.accounts)[2]] != str(WALLET)
        if static[i.program_id_index] == solana.SYSTEM_PROGRAM:
            assert data[:4] != b"\x01\x00\x00\x00"  # never an Assign of the wallet
            assert data[:4] != b"\x04\x00\x00\x00" or rules.allow_durable_nonce
    signed = solana.sign(KEYPAIR, tx, solana.signer_index(tx, str(WALLET)))
    assert verifies_independently(signed.raw, WALLET)
    assert signed.transaction_id == signed.signature  # the wallet pays the fee: its signature is the id
