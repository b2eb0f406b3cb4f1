"""Hyperliquid L1 actions: the signer's signatures equal the venue's reference vectors (the
test vectors of hyperliquid-python-sdk's tests/signing_test.py, for the same key, action,
nonce, vault and network), and the policy decides from the action the signer decodes."""

from __future__ import annotations

import json

import pytest
from eth_account import Account
from eth_account.messages import encode_typed_data
from eth_keys import keys

from signer import hyperliquid
from signer.policy import HyperliquidPolicy, SpendLedger, WalletPolicy, decide_hyperliquid_action

KEY = keys.PrivateKey(bytes.fromhex("0123456789012345678901234567890123456789012345678901234567890123"))
VAULT = "0x1719884eb866cb12b2287399b15f7db5e7d775ea"
DUMMY = {"type": "dummy", "num": 100000000000}  # float_to_int_for_hashing(1000)


def order(asset=1, px="100", sz="100", reduce_only=False, **extra) -> dict:
    wire = {"a": asset, "b": True, "p": px, "s": sz, "r": reduce_only, "t": {"limit": {"tif": "Gtc"}}, **extra}
    return {"type": "order", "orders": [wire], "grouping": "na"}


# (action, vault, mainnet) -> (r, s, v) from the venue SDK's own tests.
VECTORS = [
    (DUMMY, None, True, (0x53749d5b30552aeb2fca34b530185976545bb22d0b3ce6f62e31be961a59298,
                         0x755c40ba9bf05223521753995abb2f73ab3229be8ec921f350cb447e384d8ed8, 27)),
    (DUMMY, None, False, (0x542af61ef1f429707e3c76c5293c80d01f74ef853e34b76efffcb57e574f9510,
                          0x17b8b32f086e8cdede991f1e2c529f5dd5297cbe8128500e00cbaf766204a613, 28)),
    (DUMMY, VAULT, True, (0x3c548db75e479f8012acf3000ca3a6b05606bc2ec0c29c50c515066a326239,
                          0x4d402be7396ce74fbba3795769cda45aec00dc3125a984f2a9f23177b190da2c, 28)),
    (order(), None, True, (0xd65369825a9df5d80099e513cce430311d7d26ddf477f5b3a33d2806b100d78e,
                           0x2b54116ff64054968aa237c20ca9ff68000f977c93289157748a3162b6ea940e, 28)),
    (order(), None, False, (0x82b2ba28e76b3d761093aaded1b1cdad4960b3af30212b343fb2e6cdfa4e3d54,
                            0x6b53878fc99d26047f4d7e8c90eb98955a109f44209163f52d8dc4278cbbd9f5, 27)),
    (order(c="0x00000000000000000000000000000001"), None, True,
     (0x41ae18e8239a56cacbc5dad94d45d0b747e5da11ad564077fcac71277a946e3,
      0x3c61f667e747404fe7eea8f90ab0e76cc12ce60270438b2058324681a00116da, 27)),
    ({"type": "order", "orders": [{"a": 1, "b": True, "p": "100", "s": "100", "r": False,
                                   "t": {"trigger": {"isMarket": True, "triggerPx": "103", "tpsl": "sl"}}}], "grouping": "na"},
     None, True, (0x98343f2b5ae8e26bb2587daad3863bc70d8792b09af1841b6fdd530a2065a3f9,
                  0x6b5bb6bb0633b710aa22b721dd9dee6d083646a5f8e581a20b545be6c1feb405, 27)),
]


@pytest.mark.parametrize("action, vault, mainnet, expected", VECTORS)
def test_signatures_equal_the_venue_reference_vectors(action, vault, mainnet, expected):
    # Through JSON, as the orchestrator hands actions over: the key order survives.
    signed, digest = hyperliquid.sign(KEY, hyperliquid.parse_action(json.dumps(action)), vault, 0, None, mainnet)
    assert (int(signed.r, 16), int(signed.s, 16), signed.v) == expected
    recovered = Account.recover_message(encode_typed_data(full_message=hyperliquid.typed_data(digest, mainnet)), signature=signed.signature)
    assert recovered == Account.from_key(KEY.to_bytes()).address


def test_the_expiry_is_part_of_what_is_signed():
    plain = hyperliquid.action_hash(DUMMY, None, 5, None)
    assert hyperliquid.action_hash(DUMMY, None, 5, 1_700_000_000_000) != plain
    assert hyperliquid.action_hash(DUMMY, VAULT, 5, None) != plain and hyperliquid.action_hash(DUMMY, None, 6, None) != plain


CLASS_TRANSFER = {"type": "usdClassTransfer", "hyperliquidChain": "Mainnet", "signatureChainId": "0x66eee", "amount": "12.5",
                  "toPerp": True, "nonce": 1700000000000}  # NOW in milliseconds

NOW = 1_700_000_000.0
ASSETS = {"BTC": {"index": 0, "max_size": "5", "reference_price": "50000"},
          "ETH": {"index": 1, "max_size": "200", "reference_price": "50"}}
POLICY = WalletPolicy(hyperliquid=HyperliquidPolicy(mainnet=True, assets=ASSETS, max_notional_per_order="10000", max_leverage=5))


def decide(action: dict, mainnet: bool = True, policy: WalletPolicy | None = POLICY, nonce: int = int(NOW * 1000), ledger=None,
           expires_after: int | None = int(NOW * 1000) + 60_000):
    return decide_hyperliquid_action(policy, "0x" + "11" * 20, hyperliquid.decode(action), mainnet, nonce, ledger or SpendLedger(), NOW,
                                     expires_after=expires_after)


@pytest.mark.parametrize("action, mainnet, rule", [
    (order(), True, "hyperliquid"),                                   # 100 x 100 = 10,000: at the cap
    (order(px="100", sz="100.01"), True, "hyperliquid-notional"),
    (order(px="0.01", sz="200"), True, "hyperliquid"),                # at the reference price 50: 10,000
    (order(px="0.01", sz="200.1"), True, "hyperliquid-size"),        # over ETH's max_size
    (order(asset=0, px="0.01", sz="1"), True, "hyperliquid-notional"),  # a BTC sold at 0.01 is worth 50,000
    (order(asset=7), True, "hyperliquid-asset"),
    (order(), False, "hyperliquid-chain"),
    ({"type": "withdraw3", "destination": "0x" + "11" * 20, "amount": "1"}, True, "hyperliquid-action-type"),
    (dict(CLASS_TRANSFER), True, "hyperliquid-action-type"),  # not opted in (class_transfers)
    ({"type": "usdSend", "hyperliquidChain": "Mainnet", "destination": "0x" + "11" * 20, "amount": "1"}, True, "hyperliquid-action-type"),
    ({"type": "cancel", "cancels": [{"a": 1, "o": 42}]}, True, "hyperliquid"),
    ({"type": "cancel", "cancels": [{"a": 3, "o": 42}]}, True, "hyperliquid-asset"),
    ({"type": "updateLeverage", "asset": 0, "isCross": True, "leverage": 5}, True, "hyperliquid"),
    ({"type": "updateLeverage", "asset": 0, "isCross": True, "leverage": 6}, True, "hyperliquid-leverage"),
])
def test_policy_decides_from_the_decoded_action(action, mainnet, rule):
    decision = decide(action, mainnet)
    assert decision.rule == rule and decision.allowed == (rule == "hyperliquid"), decision.reason


def test_a_trigger_order_counts_at_its_trigger_price():
    trigger = {"trigger": {"isMarket": True, "triggerPx": "120", "tpsl": "sl"}}
    assert decide(order(px="1", sz="80", t=trigger)).allowed  # 80 x max(1, 120, 50) = 9,600
    assert decide(order(px="1", sz="90", t=trigger)).rule == "hyperliquid-notional"  # 10,800


def test_a_nonce_far_from_the_signers_clock_is_a_stockpiled_signature():
    assert decide(order(), nonce=int(NOW * 1000) + 299_000).allowed
    assert decide(order(), nonce=int(NOW * 1000) + 301_000).rule == "hyperliquid-nonce"
    assert decide(order(), nonce=int(NOW * 1000) - 3_600_000).rule == "hyperliquid-nonce"


def test_an_l1_action_must_expire_soon():
    """The venue takes a nonce up to two days old: without a near expiry a signed order could be
    kept and sent after a halt, or together with the next window's orders."""
    assert decide(order(), expires_after=None).rule == "hyperliquid-expiry"
    assert decide(order(), expires_after=int(NOW * 1000) + 301_000).rule == "hyperliquid-expiry"
    assert decide(order(), expires_after=int(NOW * 1000) - 1).rule == "hyperliquid-expiry"
    assert decide(dict(CLASS_TRANSFER), policy=WalletPolicy(hyperliquid={**POLICY.hyperliquid.model_dump(), "class_transfers": True}),
                  nonce=CLASS_TRANSFER["nonce"], expires_after=None).allowed  # user-signed: no expiry, moves nothing out


def test_rolling_notional_caps_count_every_order():
    capped = WalletPolicy(hyperliquid={**POLICY.hyperliquid.model_dump(), "notional_caps": [{"amount": "25000", "window_seconds": 60}]})
    ledger = SpendLedger()
    for _ in range(2):
        decision = decide(order(), policy=capped, ledger=ledger)
        assert decision.allowed
        ledger.reserve("0x" + "11" * 20, decision.commitments, NOW, 0)
    assert decide(order(), policy=capped, ledger=ledger).rule == "spend-cap"  # 30,000 > 25,000


def test_reduce_only_mode_and_default_deny():
    reducing = WalletPolicy(hyperliquid=HyperliquidPolicy(mainnet=True, assets=ASSETS, max_notional_per_order="1000000000", reduce_only=True))
    assert decide(order(reduce_only=True), policy=reducing).allowed
    assert decide(order(), policy=reducing).rule == "hyperliquid-reduce-only"
    assert decide(order(), policy=WalletPolicy()).rule == "default-deny"
    assert decide(order(), policy=None).rule == "default-deny"


@pytest.mark.parametrize("text, fragment", [
    ("not json", "not JSON"),
    ("[1, 2]", 'a JSON object with a "type"'),
    ('{"type": "order", "orders": [{"a": 1}]}', "order action is malformed"),
    ('{"type": "order", "orders": [{"a": 1, "b": "yes", "p": "1", "s": "1", "r": false}]}', "must be booleans"),
    ('{"type": "order", "orders": [{"a": 1, "b": true, "p": "lots", "s": "1", "r": false, "t": {"limit": {}}}]}', "price 'lots'"),
    ('{"type": "order", "orders": [{"a": 1, "b": false, "p": "1", "s": "-5", "r": false, "t": {"limit": {}}}]}', "size '-5'"),
    ('{"type": "order", "orders": [{"a": 1, "b": false, "p": "NaN", "s": "1", "r": false, "t": {"limit": {}}}]}', "price 'NaN'"),
    ('{"type": "order", "orders": [{"a": 1, "b": false, "p": "1e3", "s": "1", "r": false, "t": {"limit": {}}}]}', "price '1e3'"),
    ('{"type": "order", "orders": [{"a": 1, "b": false, "p": "1", "s": "0", "r": false, "t": {"limit": {}}}]}', "size '0'"),
    ('{"type": "order", "orders": [{"a": 1, "b": false, "p": "1", "s": "1", "r": false, "t": {"trigger": {"triggerPx": "-1"}}}]}',
     "triggerPx '-1'"),
    ('{"type": "order", "orders": [{"a": 1, "b": false, "p": "1", "s": "1", "r": false, "t": {"market": {}}}]}', 'order type "t"'),
    ('{"type": "order", "orders": [' + "[" * 20 + "]" * 20 + "]}", "too large"),
    ('{"type": "cancel", "cancels": [{"a": 1, "o": 100000000000000000000000000000}]}', "outside the 64-bit range"),
])
def test_malformed_actions_are_named(text, fragment):
    with pytest.raises(hyperliquid.MalformedAction, match=fragment):
        hyperliquid.decode(hyperliquid.parse_action(text))


def test_a_spot_perp_transfer_is_signed_only_when_opted_in_and_for_its_own_chain():
    transfers = POLICY.model_copy(update={"hyperliquid": POLICY.hyperliquid.model_copy(update={"class_transfers": True})})
    nonce = CLASS_TRANSFER["nonce"]
    assert decide(dict(CLASS_TRANSFER), policy=transfers, nonce=nonce).allowed
    assert decide(dict(CLASS_TRANSFER), mainnet=False, policy=transfers, nonce=nonce).rule == "hyperliquid-chain"


def test_a_user_signed_transfer_signs_its_fields_in_the_venue_domain():
    signed, digest = hyperliquid.sign(KEY, dict(CLASS_TRANSFER), None, CLASS_TRANSFER["nonce"], None, True)
    typed = hyperliquid.user_signed_typed_data(CLASS_TRANSFER)
    assert typed["domain"]["chainId"] == 0x66EEE and typed["domain"]["name"] == "HyperliquidSignTransaction"
    assert typed["message"] == {"hyperliquidChain": "Mainnet", "amount": "12.5", "toPerp": True, "nonce": 1700000000000}
    recovered = Account.recover_message(encode_typed_data(full_message=typed), signature=signed.signature)
    assert recovered == Account.from_key(KEY.to_bytes()).address and digest.hex() == signed.message_hash.removeprefix("0x")


@pytest.mark.parametrize("change", [{"amount": "-1"}, {"amount": 5}, {"toPerp": "yes"}, {"hyperliquidChain": "Devnet"}])
def test_a_malformed_transfer_is_refused_as_malformed(change):
    with pytest.raises(hyperliquid.MalformedAction):
        hyperliquid.decode({**CLASS_TRANSFER, **change})
