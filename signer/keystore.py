"""Encrypted keys at rest, one Ethereum keystore v3 file per wallet.

The v3 format (scrypt KDF, AES-128-CTR, keccak MAC) is what geth, eth-account and
web3signer read, so an owner can take a key elsewhere with standard tools. Keys are
decrypted only inside this process, once per wallet, and never returned by any API.
"""

from __future__ import annotations

import json
import os
from pathlib import Path

from eth_account import Account
from eth_account.signers.local import LocalAccount


class KeystoreError(Exception):
    pass


class Keystore:
    def __init__(self, directory: Path, passphrase: str) -> None:
        self._directory = directory
        self._passphrase = passphrase
        self._unlocked: dict[str, LocalAccount] = {}

    def create_wallet(self) -> str:
        """Creates a new random key, stores it encrypted, and returns its address."""
        account = Account.create()
        keyfile = Account.encrypt(account.key, self._passphrase)
        address = account.address
        path = self._path_for(address)
        # O_EXCL: never overwrite an existing key file.
        fd = os.open(path, os.O_WRONLY | os.O_CREAT | os.O_EXCL, 0o600)
        with os.fdopen(fd, "w") as f:
            json.dump(keyfile, f)
        return address

    def addresses(self) -> list[str]:
        found = []
        for path in sorted(self._directory.glob("*.json")):
            found.append(_checksum(json.loads(path.read_text())["address"]))
        return found

    def account(self, address: str) -> LocalAccount:
        """The unlocked account for `address`; decrypts it on first use."""
        address = _checksum(address)
        if address not in self._unlocked:
            path = self._path_for(address)
            if not path.exists():
                raise KeystoreError(f"no key for wallet {address}")
            try:
                key = Account.decrypt(json.loads(path.read_text()), self._passphrase)
            except ValueError as exc:  # wrong passphrase (MAC mismatch)
                raise KeystoreError(f"cannot unlock wallet {address}: {exc}") from None
            self._unlocked[address] = Account.from_key(key)
        return self._unlocked[address]

    def export(self, address: str, new_passphrase: str, target: Path) -> None:
        """The owner's export: the key re-encrypted to `new_passphrase`, written to `target`
        (mode 600, never overwriting). The only way a key ever leaves the keystore."""
        if len(new_passphrase) < 8:
            raise KeystoreError("the export passphrase must be at least 8 characters")
        keyfile = Account.encrypt(self.account(address).key, new_passphrase)
        fd = os.open(target, os.O_WRONLY | os.O_CREAT | os.O_EXCL, 0o600)
        with os.fdopen(fd, "w") as f:
            json.dump(keyfile, f)

    def has(self, address: str) -> bool:
        return self._path_for(address).exists()

    def _path_for(self, address: str) -> Path:
        return self._directory / f"{_checksum(address)}.json"


def _checksum(address: str) -> str:
    from eth_utils import to_checksum_address

    if not address.startswith("0x"):
        address = "0x" + address
    return to_checksum_address(address)


def read_passphrase_file(path: Path) -> str:
    """Reads the keystore passphrase from a file that only its owner can read."""
    mode = path.stat().st_mode & 0o777
    if mode & 0o077:
        raise KeystoreError(f"passphrase file {path} is readable by others (mode {mode:o}); chmod 600 it")
    passphrase = path.read_text().rstrip("\n")
    if not passphrase:
        raise KeystoreError(f"passphrase file {path} is empty")
    return passphrase
