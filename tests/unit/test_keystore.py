"""The keystore: both key types round-trip through their encrypted files, decrypted keys
are zeroed on lock, and key files are never overwritten."""

from __future__ import annotations

import json

import pytest
from eth_account import Account
from solders.keypair import Keypair

from signer.keystore import Keystore, KeystoreError
from signer.privileges import write_private_file


def test_both_key_types_unlock_and_are_wiped_on_lock(tmp_path):
    keystore = Keystore(tmp_path, "correct horse")
    evm_address, solana_address = keystore.create_wallet(), keystore.create_wallet("solana")
    assert keystore.wallets() == sorted([(evm_address, "ethereum"), (solana_address, "solana")], key=lambda w: f"{w[0]}.json")
    key = keystore.evm_key(evm_address)
    raw = key.to_bytes()
    assert Account.from_key(raw).address == evm_address
    assert str(keystore.solana_keypair(solana_address).pubkey()) == solana_address
    keystore.lock()
    assert raw == bytes(32)  # the very object that held the key now holds zeros
    # Unlocking again decrypts afresh.
    assert keystore.evm_key(evm_address).public_key.to_checksum_address() == evm_address


def test_wrong_passphrase_and_unknown_wallets_are_errors(tmp_path):
    address = Keystore(tmp_path, "right").create_wallet("solana")
    with pytest.raises(KeystoreError, match="cannot unlock"):
        Keystore(tmp_path, "wrong").solana_keypair(address)
    with pytest.raises(KeystoreError, match="no key"):
        Keystore(tmp_path, "right").solana_keypair(str(Keypair().pubkey()))
    assert not Keystore(tmp_path, "right").has("not-an-address")


def test_key_files_are_private_and_never_overwritten(tmp_path):
    keystore = Keystore(tmp_path, "pw")
    address = keystore.create_wallet()
    path = tmp_path / f"{address}.json"
    assert path.stat().st_mode & 0o777 == 0o600
    before = path.read_bytes()
    with pytest.raises(FileExistsError):
        write_private_file(path, b"{}", overwrite=False)
    assert path.read_bytes() == before and json.loads(before)["crypto"]["kdf"] == "scrypt"
    assert [p.name for p in tmp_path.iterdir()] == [path.name]  # no temporary file left behind


@pytest.mark.parametrize("wallet_type", ["ethereum", "solana"])
def test_keys_use_the_standard_scrypt_cost_unless_light_is_asked_for(tmp_path, wallet_type):
    """Light (geth's --lightkdf cost) only when asked, for throwaway development wallets;
    the cost is in each file, so both kinds unlock the same way."""
    keystore = Keystore(tmp_path, "correct horse")
    standard, light = keystore.create_wallet(wallet_type), keystore.create_wallet(wallet_type, light_kdf=True)
    cost = {address: json.loads(path.read_text())["crypto"]["kdfparams"]["n"]
            for address in (standard, light) for path in tmp_path.glob(f"{address}.json")}
    assert cost == {standard: 262144, light: 4096}
    fresh = Keystore(tmp_path, "correct horse")
    unlock = fresh.evm_key if wallet_type == "ethereum" else fresh.solana_keypair
    assert unlock(standard) and unlock(light)
