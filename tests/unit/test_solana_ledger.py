"""What a landed Solana transaction moved for a wallet, from its metadata: lamports less the
fee the wallet paid, SPL amounts per mint over every token account the wallet owns, and the
account on the other side."""

from __future__ import annotations

import json

from solders.transaction_status import UiTransactionStatusMeta

from orchestrator.agents.manifest import NATIVE_SOLANA
from orchestrator.chains.solana import BalanceChange, balance_changes

# Real-looking base58 keys: solders parses the owners and mints.
WALLET, OTHER = "9xQeWvG816bUx9EPjHmaT23yvVM2ZWbrrpZb9PusVFin", "4Nd1mBQtrMJVYVfKf2PJy9NZUZdTAsp7D4xWLs4gDB4T"
MINT, TOKEN_PROGRAM = "EPjFWdd5AufqSSqeM2qN1xzybapC8G7wHXBoFQL4mJkN", "TokenkegQfeZyiNwAJbNbGKPFXCWuBvf9Ss623VQ5DA"
WALLET_ATA, OTHER_ATA, PROGRAM = "WalletAta", "OtherAta", "11111111111111111111111111111111"


def meta(pre: list[int], post: list[int], pre_tokens: list[dict] = (), post_tokens: list[dict] = (), fee: int = 5000) -> UiTransactionStatusMeta:
    return UiTransactionStatusMeta.from_json(json.dumps({
        "err": None, "status": {"Ok": None}, "fee": fee, "preBalances": pre, "postBalances": post, "innerInstructions": [],
        "logMessages": [], "preTokenBalances": list(pre_tokens), "postTokenBalances": list(post_tokens), "rewards": [],
    }))


def token(index: int, owner: str, amount: int) -> dict:
    return {"accountIndex": index, "mint": MINT, "owner": owner, "programId": TOKEN_PROGRAM,
            "uiTokenAmount": {"amount": str(amount), "decimals": 6, "uiAmount": amount / 1e6, "uiAmountString": str(amount / 1e6)}}


def test_a_lamport_transfer_is_its_amount_without_the_fee():
    keys = [WALLET, OTHER, PROGRAM]
    changes = balance_changes(WALLET, keys, meta([1_000_000, 0, 1], [1_000_000 - 5000 - 300_000, 300_000, 1]))
    assert changes == [BalanceChange(NATIVE_SOLANA, "native", sender=WALLET, recipient=OTHER, amount=300_000)]


def test_only_the_fee_is_no_change():
    assert balance_changes(WALLET, [WALLET, PROGRAM], meta([1_000_000, 1], [995_000, 1])) == []


def test_lamports_received_when_another_account_pays_the_fee():
    keys = [OTHER, WALLET]
    changes = balance_changes(WALLET, keys, meta([1_000_000, 10], [1_000_000 - 5000 - 70, 80]))
    assert changes == [BalanceChange(NATIVE_SOLANA, "native", sender=OTHER, recipient=WALLET, amount=70)]


def test_spl_changes_are_summed_per_mint_over_the_wallets_token_accounts():
    keys = [WALLET, WALLET_ATA, OTHER_ATA, PROGRAM]
    changes = balance_changes(WALLET, keys, meta(
        [1_000_000, 2_039_280, 2_039_280, 1], [995_000, 2_039_280, 2_039_280, 1],
        pre_tokens=[token(1, WALLET, 900), token(2, OTHER, 0)], post_tokens=[token(1, WALLET, 650), token(2, OTHER, 250)],
    ))
    assert changes == [BalanceChange(MINT, "SPL", sender=WALLET, recipient=OTHER, amount=250)]


def test_a_transaction_that_moves_nothing_of_the_wallets_records_nothing():
    keys = [OTHER, PROGRAM]
    assert balance_changes(WALLET, keys, meta([1_000_000, 1], [995_000, 1])) == []
