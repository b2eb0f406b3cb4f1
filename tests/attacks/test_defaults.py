"""Defaults. `wallet create --allow-chain` used to write a policy that signed any native
amount to anyone: the policy most users would run. The shorthand now caps value and fees
and lists recipients, and `policy show` names every rule left open."""

from __future__ import annotations

import json
import subprocess

from devtools.devstack import CORRAL_COMMAND
from tests.attacks.conftest import attack, balance, nonce_of

STRANGER = "0x000000000000000000000000000000000000bad1"
FRIEND = "0x00000000000000000000000000000000000000f1"


def signer_cli(stack, *args: str) -> subprocess.CompletedProcess:
    return subprocess.run([*CORRAL_COMMAND, "signer", "--home", str(stack.signer_home), "--passphrase-file", str(stack.passphrase_file),
                           *args], cwd=stack.home, text=True, capture_output=True, check=True)


def test_the_shorthand_wallet_sends_nothing_to_strangers_and_little_to_friends(evm, evm_attacker):
    wallet = signer_cli(evm, "wallet", "create", "--allow-chain", "31337", "--allow-recipient", FRIEND).stdout.strip()
    evm.fund(wallet, 5 * 10**18)
    friend_before = balance(evm, FRIEND)
    to_stranger, too_much, small = attack(evm, evm_attacker, wallet, [
        ["sign_and_send", {"network": "ethereum:31337", "request": {"to_address": STRANGER, "data": "0x", "value": "1000"}}],
        ["sign_and_send", {"network": "ethereum:31337", "request": {"to_address": FRIEND, "data": "0x", "value": str(10**18)}}],
        ["sign_and_send", {"network": "ethereum:31337", "request": {"to_address": FRIEND, "data": "0x", "value": str(10**15)}}],
    ])
    assert not to_stranger["success"] and "recipient-allowlist" in to_stranger["error"]
    assert not too_much["success"] and "native-value-cap" in too_much["error"]
    assert small["success"], small
    assert balance(evm, STRANGER) == 0 and balance(evm, FRIEND) - friend_before == 10**15 and nonce_of(evm, wallet) == 1
    policy = json.loads(signer_cli(evm, "policy", "show", wallet).stdout)
    assert policy["max_native_value_per_tx"] == str(10**16) and policy["allowed_recipients"] == [FRIEND.lower()]
    assert policy["spend_caps"] == [{"chain_id": 31337, "asset": "native", "amount": str(10**17), "window_seconds": 86400}]


def test_policy_show_warns_about_every_open_ended_rule(evm):
    wallet = evm.create_wallet()
    evm.set_policy(wallet, {"allowed_chain_ids": [31337], "contracts": [{"address": STRANGER, "selectors": ["*"]}],
                            "eip191": {"allow_raw_hashes": True}})
    shown = signer_cli(evm, "policy", "show", wallet)
    warnings = [line for line in shown.stderr.splitlines() if line.startswith("warning:")]
    for fragment in ("no native spend cap", "max_native_value_per_tx is not set", "allowed_recipients is not set", "\"*\" allows every function",
                     "allow_raw_hashes", "eip191 has no prefixes"):
        assert any(fragment in w for w in warnings), (fragment, warnings)
    quiet = signer_cli(evm, "wallet", "create", "--allow-chain", "31337", "--allow-recipient", FRIEND).stdout.strip()
    assert "warning:" not in signer_cli(evm, "policy", "show", quiet).stderr
