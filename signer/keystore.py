"""Encrypted keys at rest: one keystore v3 file per wallet, Ethereum or Solana.

The v3 format (scrypt KDF, AES-128-CTR, keccak MAC over the ciphertext: encrypt-then-MAC)
is what geth, eth-account and web3signer read, so an owner can take an Ethereum key
elsewhere with standard tools. Solana keys (32-byte ed25519 seeds) are stored in the same
envelope, with their base58 address and `"corral": {"wallet_type": "solana"}` beside it.

Keys are decrypted only inside this process, once per wallet, never returned by any API
(`export` re-encrypts to a new passphrase), and wiped from memory by `lock` as far as
Python allows (see `signer.wipe`).
"""

from __future__ import annotations

import json
from pathlib import Path
from typing import Any, Literal

from eth_account import Account
from eth_keyfile.keyfile import create_keyfile_json
from eth_keys.datatypes import PrivateKey
from eth_utils.address import to_checksum_address
from solders.keypair import Keypair

from signer.privileges import write_private_file
from signer.solana import is_solana_address
from signer.wipe import wipe

WalletType = Literal["ethereum", "solana"]


# geth's --lightkdf scrypt cost (its StandardScryptN is 262,144, eth-account's default too).
LIGHT_SCRYPT_N = 4096



class KeystoreError(Exception):
    pass


class Keystore:
    def __init__(self, directory: Path, passphrase: str) -> None:
        self._directory = directory
        self._passphrase = passphrase
        self._evm: dict[str, PrivateKey] = {}
        self._solana: dict[str, Keypair] = {}
        self._known: set[str] = set()

    def create_wallet(self, wallet_type: WalletType = "ethereum", light_kdf: bool = False, paper_of: str | None = None) -> str:
        """Creates a new random key, stores it encrypted, and returns its address.

        `light_kdf`: scrypt at geth's `--lightkdf` cost (N = 4,096 instead of 262,144), for
        throwaway wallets on development chains only: about 60 times cheaper to guess a
        passphrase against, and to unlock. `paper_of`: the wallet (of the same type) this is
        the paper wallet of (marked in the file, see `paper_of`)."""
        iterations = LIGHT_SCRYPT_N if light_kdf else None
        if wallet_type == "solana":
            keypair = Keypair()
            seed = bytes(keypair.secret())
            address = str(keypair.pubkey())
            keyfile = create_keyfile_json(seed, self._passphrase.encode(), kdf="scrypt", iterations=iterations)
            keyfile["address"] = address
            keyfile["corral"] = {"wallet_type": "solana", **({"paper_of": paper_of} if paper_of is not None else {})}
            wipe(seed)
        else:
            account = Account.create()
            keyfile = Account.encrypt(account.key, self._passphrase, kdf="scrypt", iterations=iterations)
            address = account.address
            wipe(account.key)  # one bytes object, shared with its eth_keys PrivateKey
            if paper_of is not None:
                keyfile["corral"] = {"paper_of": canonical_address(paper_of)}
        self._write(self._path_for(address), keyfile)
        return address

    def paper_of(self) -> dict[str, str]:
        """Each paper wallet's address, with the wallet it was made for."""
        return {address: source for address, _, source in self.listed() if source}

    def wallets(self) -> list[tuple[str, WalletType]]:
        """(address, type) of every wallet, sorted by file name."""
        return [(address, wallet_type) for address, wallet_type, _ in self.listed()]

    def listed(self) -> list[tuple[str, WalletType, str]]:
        """(address, type, the wallet it is the paper wallet of or "") of every wallet, sorted
        by file name: each key file read once."""
        found: list[tuple[str, WalletType, str]] = []
        for path in sorted(self._directory.glob("*.json")):
            keyfile = json.loads(path.read_text())
            marks = keyfile.get("corral", {})
            if marks.get("wallet_type") == "solana":  # base58: compared exactly, never case-folded
                found.append((keyfile["address"], "solana", marks.get("paper_of", "")))
            else:
                found.append((canonical_address(keyfile["address"]), "ethereum", marks.get("paper_of", "")))
        return found

    def addresses(self) -> list[str]:
        return [address for address, _ in self.wallets()]

    def evm_key(self, address: str) -> PrivateKey:
        """The unlocked Ethereum key for `address`; decrypts it on first use. Kept as an
        eth_keys PrivateKey (public key derived once), which eth-account signs with."""
        if address in self._evm:  # as asked (any case); checked against the key when first unlocked
            return self._evm[address]
        canonical = canonical_address(address)
        if canonical not in self._evm:
            raw = self._decrypt(canonical)
            key = PrivateKey(raw)
            if raw is not key.to_bytes():
                wipe(raw)
            if key.public_key.to_checksum_address() != canonical:
                raise KeystoreError(f"the key file for {canonical} holds another key")
            self._evm[canonical] = key
        self._evm[address] = self._evm[canonical]
        return self._evm[address]

    def solana_keypair(self, address: str) -> Keypair:
        """The unlocked Solana keypair for `address`; decrypts it on first use."""
        if not is_solana_address(address):
            raise KeystoreError(f"{address!r} is not a Solana address")
        if address not in self._solana:
            seed = self._decrypt(address)
            keypair = Keypair.from_seed(seed)
            wipe(seed)
            if str(keypair.pubkey()) != address:
                raise KeystoreError(f"the key file for {address} holds another key")
            self._solana[address] = keypair
        return self._solana[address]

    def export(self, address: str, new_passphrase: str, target: Path) -> None:
        """The owner's export: the key re-encrypted to `new_passphrase`, written to `target`
        (mode 600, never overwriting). The only way a key ever leaves the keystore."""
        if len(new_passphrase) < 8:
            raise KeystoreError("the export passphrase must be at least 8 characters")
        key = self._decrypt(canonical_address(address))
        try:
            keyfile = create_keyfile_json(key, new_passphrase.encode(), kdf="scrypt")
        finally:
            wipe(key)
        original = json.loads(self._path_for(address).read_text())
        keyfile["address"] = original["address"]
        if "corral" in original:
            keyfile["corral"] = original["corral"]
        self._write(target, keyfile)

    def remove_paper_wallet(self, address: str) -> None:
        """Deletes a paper wallet's key file and forgets its key (zeroed first). Refuses any
        wallet that is not marked as a paper wallet: no other key is ever deleted here."""
        canonical = canonical_address(address)
        path = self._path_for(canonical)
        if not path.exists():
            raise KeystoreError(f"no key for wallet {canonical}")
        if not json.loads(path.read_text()).get("corral", {}).get("paper_of"):
            raise KeystoreError(f"{canonical} is not a paper wallet")
        for asked in [a for a, key in self._evm.items() if key.public_key.to_checksum_address() == canonical]:
            wipe(self._evm.pop(asked).to_bytes())
        self._solana.pop(canonical, None)
        self._known = {known for known in self._known if canonical_address(known) != canonical}
        path.unlink()

    def has(self, address: str) -> bool:
        # Asked on every request, so a "yes" is remembered (only a paper wallet's key is ever
        # deleted, and that forgets it); a "no" is not, as the admin CLI may create the
        # wallet while the signer runs.
        if address in self._known:
            return True
        try:
            found = self._path_for(address).exists()
        except KeystoreError:
            return False
        if found:
            self._known.add(address)
        return found

    def lock(self) -> None:
        """Forgets every decrypted key, zeroing its bytes first (shutdown)."""
        for key in set(self._evm.values()):
            wipe(key.to_bytes())
        self._evm.clear()
        # solders keeps the ed25519 key in Rust memory, zeroed when the Keypair is dropped.
        self._solana.clear()

    def _decrypt(self, address: str) -> bytes:
        path = self._path_for(address)
        if not path.exists():
            raise KeystoreError(f"no key for wallet {address}")
        try:
            return bytes(Account.decrypt(json.loads(path.read_text()), self._passphrase))
        except ValueError as exc:  # wrong passphrase (MAC mismatch)
            raise KeystoreError(f"cannot unlock wallet {address}: {exc}") from None

    def _write(self, path: Path, keyfile: dict[str, Any]) -> None:
        write_private_file(path, json.dumps(keyfile).encode(), overwrite=False)  # never replaces a key

    def _path_for(self, address: str) -> Path:
        return self._directory / f"{canonical_address(address)}.json"


def canonical_address(address: str) -> str:
    """Checksummed for Ethereum, unchanged (validated) base58 for Solana."""
    if is_solana_address(address):
        return address
    try:
        return to_checksum_address(address if address.startswith("0x") else "0x" + address)
    except ValueError:
        raise KeystoreError(f"{address!r} is neither an Ethereum nor a Solana address") from None


def read_passphrase_file(path: Path) -> str:
    """Reads the keystore passphrase from a file that only its owner can read."""
    mode = path.stat().st_mode & 0o777
    if mode & 0o077:
        raise KeystoreError(f"passphrase file {path} is readable by others (mode {mode:o}); chmod 600 it")
    passphrase = path.read_text().rstrip("\n")
    if not passphrase:
        raise KeystoreError(f"passphrase file {path} is empty")
    return passphrase
