"""A development stand-in for a Solana validator, built on LiteSVM.

No validator binary exists on development machines, so this plays the part anvil plays
for EVM: an HTTP JSON-RPC 2.0 server on 127.0.0.1 that speaks the subset of the Solana
JSON-RPC API (https://solana.com/docs/rpc) the platform uses, backed by one in-process
LiteSVM bank. Production client code (solana-py's `AsyncClient`) talks to it unchanged.

    python -m devtools.solana_devchain --port 0 --airdrop <pubkey>=<lamports>

The chain it presents:

* Every landed transaction is a block of its own: the slot advances by one and the
  blockhash changes, so identical transfers sent one after another get fresh blockhashes
  (and signatures), as on a real chain. Block height equals slot. Airdrops are real
  transfers from a faucet keypair, so they have signatures, statuses and transactions.
* A blockhash stays valid for 150 further blocks (a real cluster's MAX_PROCESSING_AGE),
  up to and including its `lastValidBlockHeight`; here that means 150 further landed
  transactions rather than about a minute.
* Everything is final at once: every commitment level sees the same state and statuses
  say "finalized". Commitment, minContextSlot and maxRetries are accepted and ignored.

A fork (`--fork-url URL`, `DevChain(source=RpcAccountSource(url))`): every account the chain is
asked about, or that a transaction names (its keys, its lookup tables and what they load), is
copied from the source cluster the first time, unless the devchain already has it (its built-in
programs and sysvars); an upgradeable program comes with its program-data account. From then
on it lives here only: what the fork's transactions do never reaches the source. An owner's
token accounts are looked up at the source before they are listed. Programs loaded by a
program at run time (cross-program invocations of programs no key names) are not copied. Two
cheat methods set state on any devchain, with Surfpool's names: `surfnet_setAccount(pubkey,
{"lamports": n})` and `surfnet_setTokenAccount(owner, mint, {"amount": n}, tokenProgram?)`,
which writes the owner's associated token account.

Deviations from the real API, beyond the methods that are simply not served:

* jsonParsed account data exists only for SPL Token / Token-2022 mints and token
  accounts (Token-2022 extensions are not listed); other accounts fall back to base64,
  as the real node does for accounts it has no parser for. base64+zstd is refused.
* getTransaction: "jsonParsed" answers in the "json" shape; `rewards` is always empty
  and `costUnits` / `loadedAccountsDataSize` are absent.
* simulateTransaction: `replaceRecentBlockhash` skips the blockhash check instead of
  re-signing, and inner instructions come back compiled rather than parsed.
* getFeeForMessage asks LiteSVM (signature and priority fees); when the fee payer cannot
  pay, LiteSVM stops before pricing and the answer is 5000 lamports per signature.
* sendTransaction with skipPreflight drops transactions rejected before execution
  (unknown blockhash, unfunded payer, duplicate) as a cluster would: their status stays
  null. Transactions that fail during execution land, pay their fee and are recorded.
* getVersion reports a `solana-core` of "0.0.0-devchain" and `feature-set` 0.
"""

from __future__ import annotations

import argparse
import base64
import binascii
import ctypes
import json
import os
import signal
import struct
import sys
import threading
import time
import traceback
import urllib.request
from collections import OrderedDict
from collections.abc import Callable, Iterator
from contextlib import contextmanager
from dataclasses import dataclass
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from typing import Any

from solders.account import Account
from solders.address_lookup_table_account import AddressLookupTable
from solders.clock import Clock
from solders.hash import Hash
from solders.keypair import Keypair
from solders.litesvm import LiteSVM
from solders.message import Message, MessageV0, from_bytes_versioned
from solders.pubkey import Pubkey
from solders.signature import Signature
from solders.system_program import ID as SYSTEM_PROGRAM_ID
from solders.system_program import TransferParams, transfer
from solders.token.associated import get_associated_token_address
from solders.transaction import Legacy, VersionedTransaction
from solders.transaction_metadata import FailedTransactionMetadata, TransactionMetadata
from solders.transaction_status import TransactionErrorFieldless, TransactionStatus

MAX_PROCESSING_AGE = 150  # blockhashes a real cluster accepts
MAX_SLOT_HASHES = 512  # entries in the SlotHashes sysvar
PACKET_DATA_SIZE = 1232  # largest serialized transaction a validator accepts
LAMPORTS_PER_SIGNATURE = 5000
FAUCET_LAMPORTS = 500_000_000 * 10**9
HISTORY_CAPACITY = 100_000  # landed transactions kept for statuses and getTransaction
MAX_MULTIPLE_ACCOUNTS = 100
MAX_SIGNATURE_STATUSES = 256
VERSION = "0.0.0-devchain"

TOKEN_PROGRAM_ID = Pubkey.from_string("TokenkegQfeZyiNwAJbNbGKPFXCWuBvf9Ss623VQ5DA")
TOKEN_2022_PROGRAM_ID = Pubkey.from_string("TokenzQdBNbLqP5VEhdkAS6EPFLC1PHnBqCXEpPxuEb")
TOKEN_PROGRAM_NAMES = {TOKEN_PROGRAM_ID: "spl-token", TOKEN_2022_PROGRAM_ID: "spl-token-2022"}


# ---------------------------------------------------------------------------------------
# base58 (Solana's text form for keys, signatures and, by default, transactions)

_B58_ALPHABET = "123456789ABCDEFGHJKLMNPQRSTUVWXYZabcdefghijkmnopqrstuvwxyz"
_B58_INDEX = {char: index for index, char in enumerate(_B58_ALPHABET)}


def b58encode(data: bytes) -> str:
    number = int.from_bytes(data, "big")
    digits = []
    while number:
        number, digit = divmod(number, 58)
        digits.append(_B58_ALPHABET[digit])
    leading_zeros = len(data) - len(data.lstrip(b"\0"))
    return "1" * leading_zeros + "".join(reversed(digits))


def b58decode(text: str) -> bytes:
    number = 0
    for char in text:
        if char not in _B58_INDEX:
            raise ValueError(f"invalid base58 character {char!r}")
        number = number * 58 + _B58_INDEX[char]
    leading_ones = len(text) - len(text.lstrip("1"))
    body = number.to_bytes((number.bit_length() + 7) // 8, "big") if number else b""
    return b"\0" * leading_ones + body


# ---------------------------------------------------------------------------------------
# SPL Token state (the same byte layout in Token and Token-2022, which appends extensions)

TOKEN_ACCOUNT_LEN = 165
MINT_LEN = 82
MULTISIG_LEN = 355
_TOKEN_2022_ACCOUNT_TYPE = {1: "mint", 2: "account"}  # the byte after the 165-byte base
_ACCOUNT_STATES = ["uninitialized", "initialized", "frozen"]


@dataclass(frozen=True)
class TokenAccountState:
    mint: Pubkey
    owner: Pubkey
    amount: int
    delegate: Pubkey | None
    state: int
    native_reserve: int | None  # Some(rent-exempt reserve) for wrapped SOL
    delegated_amount: int
    close_authority: Pubkey | None


@dataclass(frozen=True)
class MintState:
    mint_authority: Pubkey | None
    supply: int
    decimals: int
    is_initialized: bool
    freeze_authority: Pubkey | None


def token_state_kind(account: Account) -> str | None:
    """"account", "mint" or None for anything that is not SPL Token state."""
    if account.owner not in TOKEN_PROGRAM_NAMES:
        return None
    size = len(account.data)
    if size == TOKEN_ACCOUNT_LEN:
        return "account"
    if size == MINT_LEN:
        return "mint"
    # Token-2022 accounts with extensions carry an account-type byte after the base;
    # a multisig of that length would have a signer key there instead.
    if account.owner == TOKEN_2022_PROGRAM_ID and size > TOKEN_ACCOUNT_LEN and size != MULTISIG_LEN:
        return _TOKEN_2022_ACCOUNT_TYPE.get(account.data[TOKEN_ACCOUNT_LEN])
    return None


def _coption_pubkey(data: bytes, offset: int) -> Pubkey | None:
    (tag,) = struct.unpack_from("<I", data, offset)
    return Pubkey.from_bytes(data[offset + 4 : offset + 36]) if tag == 1 else None


def decode_token_account(account: Account) -> TokenAccountState | None:
    """The token account's state, or None if it is not an initialized token account."""
    if token_state_kind(account) != "account":
        return None
    data = bytes(account.data)
    state = data[108]
    if state == 0 or state >= len(_ACCOUNT_STATES):
        return None
    (native_tag,) = struct.unpack_from("<I", data, 109)
    return TokenAccountState(
        mint=Pubkey.from_bytes(data[0:32]),
        owner=Pubkey.from_bytes(data[32:64]),
        amount=struct.unpack_from("<Q", data, 64)[0],
        delegate=_coption_pubkey(data, 72),
        state=state,
        native_reserve=struct.unpack_from("<Q", data, 113)[0] if native_tag == 1 else None,
        delegated_amount=struct.unpack_from("<Q", data, 121)[0],
        close_authority=_coption_pubkey(data, 129),
    )


def decode_mint(account: Account) -> MintState | None:
    if token_state_kind(account) != "mint":
        return None
    data = bytes(account.data)
    if not data[45]:
        return None
    return MintState(
        mint_authority=_coption_pubkey(data, 0),
        supply=struct.unpack_from("<Q", data, 36)[0],
        decimals=data[44],
        is_initialized=True,
        freeze_authority=_coption_pubkey(data, 46),
    )


def ui_token_amount(amount: int, decimals: int) -> dict:
    """The real API's UiTokenAmount: raw amount as a string plus its decimal renderings."""
    if decimals:
        digits = str(amount).rjust(decimals + 1, "0")
        ui_string = f"{digits[:-decimals]}.{digits[-decimals:]}".rstrip("0").rstrip(".")
    else:
        ui_string = str(amount)
    return {"amount": str(amount), "decimals": decimals, "uiAmount": amount / 10**decimals, "uiAmountString": ui_string}


def parsed_token_data(account: Account, mint_of: Callable[[Pubkey], MintState | None]) -> dict | None:
    """jsonParsed `data` for a mint or token account, None when it cannot be parsed."""
    program = TOKEN_PROGRAM_NAMES.get(account.owner)
    if program is None:
        return None
    if (mint := decode_mint(account)) is not None:
        info: dict[str, Any] = {
            "mintAuthority": _optional_str(mint.mint_authority),
            "supply": str(mint.supply),
            "decimals": mint.decimals,
            "isInitialized": mint.is_initialized,
            "freezeAuthority": _optional_str(mint.freeze_authority),
        }
        kind = "mint"
    elif (token := decode_token_account(account)) is not None:
        # A token amount means nothing without its mint's decimals; the real parser gives up too.
        if (token_mint := mint_of(token.mint)) is None:
            return None
        decimals = token_mint.decimals
        info = {"isNative": token.native_reserve is not None, "mint": str(token.mint), "owner": str(token.owner),
                "state": _ACCOUNT_STATES[token.state], "tokenAmount": ui_token_amount(token.amount, decimals)}
        if token.delegate is not None:
            info["delegate"] = str(token.delegate)
            info["delegatedAmount"] = ui_token_amount(token.delegated_amount, decimals)
        if token.native_reserve is not None:
            info["rentExemptReserve"] = ui_token_amount(token.native_reserve, decimals)
        if token.close_authority is not None:
            info["closeAuthority"] = str(token.close_authority)
        kind = "account"
    else:
        return None
    return {"program": program, "parsed": {"info": info, "type": kind}, "space": len(account.data)}


def _optional_str(value: object | None) -> str | None:
    return None if value is None else str(value)


# ---------------------------------------------------------------------------------------
# Transaction errors in the wire format and in the validator's words

_TRANSACTION_ERROR_TEXT = {
    "AccountInUse": "Account in use",
    "AccountLoadedTwice": "Account loaded twice",
    "AccountNotFound": "Attempt to debit an account but found no record of a prior credit.",
    "ProgramAccountNotFound": "Attempt to load a program that does not exist",
    "InsufficientFundsForFee": "Insufficient funds for fee",
    "InvalidAccountForFee": "This account may not be used to pay transaction fees",
    "AlreadyProcessed": "This transaction has already been processed",
    "BlockhashNotFound": "Blockhash not found",
    "CallChainTooDeep": "Loader call chain is too deep",
    "MissingSignatureForFee": "Transaction requires a fee but has no signature present",
    "InvalidAccountIndex": "Transaction contains an invalid account reference",
    "SignatureFailure": "Transaction did not pass signature verification",
    "InvalidProgramForExecution": "This program may not be used for executing instructions",
    "SanitizeFailure": "Transaction failed to sanitize accounts offsets correctly",
    "UnsupportedVersion": "Transaction version is unsupported",
    "InvalidWritableAccount": "Transaction loads a writable account that cannot be written",
    "AddressLookupTableNotFound": "Transaction loads an address table account that doesn't exist",
    "InvalidAddressLookupTableOwner": "Transaction loads an address table account with an invalid owner",
    "InvalidAddressLookupTableData": "Transaction loads an address table account with invalid data",
    "InvalidAddressLookupTableIndex": "Transaction address table lookup uses an invalid index",
    "InvalidRentPayingAccount": "Transaction leaves an account with a lower balance than rent-exempt minimum",
    "TooManyAccountLocks": "Transaction locked too many accounts",
    "UnbalancedTransaction": "Sum of account balances before and after transaction do not match",
}

_INSTRUCTION_ERROR_TEXT = {
    "GenericError": "generic instruction error",
    "InvalidArgument": "invalid program argument",
    "InvalidInstructionData": "invalid instruction data",
    "InvalidAccountData": "invalid account data for instruction",
    "AccountDataTooSmall": "account data too small for instruction",
    "InsufficientFunds": "insufficient funds for instruction",
    "IncorrectProgramId": "incorrect program id for instruction",
    "MissingRequiredSignature": "missing required signature for instruction",
    "AccountAlreadyInitialized": "instruction requires an uninitialized account",
    "UninitializedAccount": "instruction requires an initialized account",
    "UnbalancedInstruction": "sum of account balances before and after instruction do not match",
    "ExternalAccountLamportSpend": "instruction spent from the balance of an account it does not own",
    "ExternalAccountDataModified": "instruction modified data of an account it does not own",
    "ReadonlyLamportChange": "instruction changed the balance of a read-only account",
    "ReadonlyDataModified": "instruction modified data of a read-only account",
    "NotEnoughAccountKeys": "insufficient account keys for instruction",
    "AccountNotExecutable": "instruction expected an executable account",
    "MissingAccount": "An account required by the instruction is missing",
    "InvalidSeeds": "Provided seeds do not result in a valid address",
    "ComputationalBudgetExceeded": "Computational budget exceeded",
    "PrivilegeEscalation": "Cross-program invocation with unauthorized signer or writable account",
    "ProgramFailedToComplete": "Program failed to complete",
    "IncorrectAuthority": "Incorrect authority provided",
    "InvalidAccountOwner": "Invalid account owner",
    "ArithmeticOverflow": "Program arithmetic overflowed",
    "IllegalOwner": "Provided owner is not allowed",
}


def transaction_error_json(err: Any) -> Any:
    """A solders TransactionError in the JSON form the RPC API uses (e.g. {"InstructionError": [0, {"Custom": 1}]})."""
    if err is None:
        return None
    # solders only renders the wire form as part of a status; its own to_json() differs.
    return json.loads(TransactionStatus(0, None, None, err, None).to_json())["err"]


def describe_transaction_error(err: Any) -> str:
    """The validator's Display text for a wire-format transaction error."""
    if isinstance(err, str):
        return _TRANSACTION_ERROR_TEXT.get(err, err)
    ((kind, value),) = err.items()
    if kind == "InstructionError":
        index, inner = value
        return f"Error processing Instruction {index}: {_describe_instruction_error(inner)}"
    if kind == "InsufficientFundsForRent":
        return f"Transaction results in an account ({value['account_index']}) with insufficient funds for rent"
    if kind == "DuplicateInstruction":
        return f"Transaction contains a duplicate instruction ({value}) that is not allowed"
    if kind == "ProgramExecutionTemporarilyRestricted":
        return f"Execution of the program referenced by account at index {value['account_index']} is temporarily restricted."
    return f"{kind}: {value}"


def _describe_instruction_error(inner: Any) -> str:
    if isinstance(inner, str):
        return _INSTRUCTION_ERROR_TEXT.get(inner, inner)
    ((kind, value),) = inner.items()
    if kind == "Custom":
        return f"custom program error: {value:#x}"
    if kind == "BorshIoError":
        return f"Failed to serialize or deserialize account data: {value}"
    return f"{kind}: {value}"


# ---------------------------------------------------------------------------------------
# The chain: one LiteSVM plus the bookkeeping a validator's RPC needs


class TransactionRejected(Exception):
    """A transaction failed in simulation (or, for airdrops, would fail) and was not sent."""

    def __init__(self, err: Any, meta: TransactionMetadata):
        self.err = err  # wire format
        self.meta = meta
        super().__init__(describe_transaction_error(err))


@dataclass(frozen=True)
class LandedTransaction:
    """What getSignatureStatuses and getTransaction report about a transaction in a block."""

    slot: int
    block_time: int
    transaction: VersionedTransaction
    err: Any  # wire format; None on success
    meta: TransactionMetadata
    loaded_writable: list[Pubkey]
    loaded_readonly: list[Pubkey]
    pre_balances: list[int]
    post_balances: list[int]
    pre_token_balances: list[dict]
    post_token_balances: list[dict]


@dataclass(frozen=True)
class Simulation:
    """A transaction's outcome against the current state, which it leaves untouched."""

    err: Any  # wire format; None on success
    meta: TransactionMetadata
    post_accounts: dict[Pubkey, Account]


BPF_LOADER_UPGRADEABLE_ID = Pubkey.from_string("BPFLoaderUpgradeab1e11111111111111111111111")
SOURCE_TIMEOUT_SECONDS = 30.0
SOURCE_TOKEN_ACCOUNTS_MAX = 1000  # an owner's token accounts copied from a source at most
# A transaction naming more accounts than a cluster locks is refused before anything is copied.
MAX_TRANSACTION_ACCOUNTS = 128
# What a fork copies from its source at most (account data): past it, new accounts are refused.
SOURCE_BYTES_MAX = 256 * 1024 * 1024


class RpcAccountSource:
    """The cluster a fork copies accounts from, over its JSON-RPC API (read-only)."""

    def __init__(self, url: str, timeout: float = SOURCE_TIMEOUT_SECONDS) -> None:
        self.url = url
        self._timeout = timeout

    def _call(self, method: str, params: list) -> Any:
        body = json.dumps({"jsonrpc": "2.0", "id": 1, "method": method, "params": params}).encode()
        request = urllib.request.Request(self.url, body, {"Content-Type": "application/json"})
        with urllib.request.urlopen(request, timeout=self._timeout) as answer:  # noqa: S310 — the operator's cluster URL
            payload = json.loads(answer.read(MAX_BODY_BYTES * 10))
        if "error" in payload:
            raise RuntimeError(f"the source cluster refused {method}: {payload['error'].get('message')}")
        return payload["result"]

    def accounts(self, addresses: list[Pubkey]) -> list[Account | None]:
        found: list[Account | None] = []
        for start in range(0, len(addresses), MAX_MULTIPLE_ACCOUNTS):
            batch = addresses[start:start + MAX_MULTIPLE_ACCOUNTS]
            result = self._call("getMultipleAccounts", [[str(a) for a in batch], {"encoding": "base64"}])
            found += [None if value is None else Account(int(value["lamports"]), base64.b64decode(value["data"][0]),
                                                         Pubkey.from_string(value["owner"]), bool(value["executable"]),
                                                         int(value.get("rentEpoch") or 0))
                      for value in result["value"]]
        return found

    def token_accounts(self, owner: Pubkey, program_id: Pubkey) -> list[Pubkey]:
        result = self._call("getTokenAccountsByOwner", [str(owner), {"programId": str(program_id)}, {"encoding": "base64"}])
        return [Pubkey.from_string(entry["pubkey"]) for entry in result["value"][:SOURCE_TOKEN_ACCOUNTS_MAX]]


def token_account_data(mint: Pubkey, owner: Pubkey, amount: int) -> bytes:
    """An initialized SPL token account's 165 bytes: no delegate, not native, no close authority."""
    return (bytes(mint) + bytes(owner) + struct.pack("<Q", amount) + b"\0" * 36 + bytes([1]) + b"\0" * 12 + struct.pack("<Q", 0)
            + b"\0" * 36)


class DevChain:
    """A LiteSVM bank behind a lock, with blocks, a blockhash window and transaction history.

    Every method is safe to call from any thread: LiteSVM itself is not thread-safe.
    """

    def __init__(self, source: RpcAccountSource | None = None, start_slot: int | None = None,
                 source_bytes_max: int = SOURCE_BYTES_MAX) -> None:
        self._lock = threading.Lock()
        # A fork's source, the accounts already copied from it (or found absent there), and
        # how many bytes of account data it copied (bounded: an agent names the accounts).
        self._source = source
        self._seeded: set[Pubkey] = set()
        self._copied_bytes = 0
        self._source_bytes_max = source_bytes_max
        # LiteSVM() comes with the default programs (System, SPL Token, Token-2022,
        # Associated Token Account, Memo, Address Lookup Table, Compute Budget).
        self._svm = LiteSVM()
        self._faucet = Keypair()
        self._svm.set_account(self._faucet.pubkey(), Account(FAUCET_LAMPORTS, b"", SYSTEM_PROGRAM_ID))
        # LiteSVM accepts only its latest blockhash; this window widens that to a real cluster's.
        self._valid_blockhashes: OrderedDict[str, int] = OrderedDict()  # blockhash -> last valid block height
        self._slot_hashes: list[tuple[int, Hash]] = []
        self._landed: OrderedDict[Signature, LandedTransaction] = OrderedDict()
        if start_slot is not None:  # a fork: at its cluster's slot, as the accounts it copies expect
            self._svm.warp_to_slot(start_slot)
        with self._lock:
            self._open_block(self._svm.get_clock().slot)

    # -- reads

    def slot(self) -> int:
        with self._lock:
            return self._svm.get_clock().slot

    def latest_blockhash(self) -> tuple[Hash, int]:
        """The newest blockhash and the last block height at which it is still accepted."""
        with self._lock:
            blockhash = self._svm.latest_blockhash()
            return blockhash, self._valid_blockhashes[str(blockhash)]

    def is_blockhash_valid(self, blockhash: Hash) -> bool:
        with self._lock:
            return str(blockhash) in self._valid_blockhashes

    def get_account(self, address: Pubkey) -> Account | None:
        with self._lock:
            self._seed([address])
            return self._svm.get_account(address)

    def get_accounts(self, addresses: list[Pubkey]) -> list[Account | None]:
        with self._lock:
            self._seed(addresses)
            return [self._svm.get_account(address) for address in addresses]

    def seed_token_accounts(self, owner: Pubkey, program_id: Pubkey) -> None:
        """A fork: the owner's token accounts at the source copied here (before they are listed)."""
        if self._source is None:
            return
        addresses = self._source.token_accounts(owner, program_id)
        with self._lock:
            self._seed(addresses)

    def set_lamports(self, address: Pubkey, lamports: int) -> None:
        with self._lock:
            self._seed([address])
            account = self._svm.get_account(address)
            self._svm.set_account(address, Account(lamports, bytes(account.data), account.owner, account.executable, account.rent_epoch)
                                  if account else Account(lamports, b"", SYSTEM_PROGRAM_ID))

    def set_token_account(self, owner: Pubkey, mint: Pubkey, amount: int, program_id: Pubkey | None = None) -> Pubkey:
        """Writes `owner`'s associated token account of `mint` holding `amount` (under the
        mint's token program unless one is given); its address."""
        with self._lock:
            self._seed([mint])
            if program_id is None:
                mint_account = self._svm.get_account(mint)
                program_id = mint_account.owner if mint_account and mint_account.owner in TOKEN_PROGRAM_NAMES else TOKEN_PROGRAM_ID
            address = get_associated_token_address(owner, mint, program_id)
            self._seed([address])
            rent = self._svm.minimum_balance_for_rent_exemption(TOKEN_ACCOUNT_LEN)
            self._svm.set_account(address, Account(rent, token_account_data(mint, owner, amount), program_id))
        return address

    def program_accounts(self, program_id: Pubkey) -> list[tuple[Pubkey, Account]]:
        with self._lock:
            return self._svm.get_program_accounts(program_id)

    def minimum_balance_for_rent_exemption(self, data_len: int) -> int:
        with self._lock:
            return self._svm.minimum_balance_for_rent_exemption(data_len)

    def landed(self, signature: Signature) -> LandedTransaction | None:
        with self._lock:
            return self._landed.get(signature)

    def fee_for_message(self, message: Message | MessageV0) -> int | None:
        """The fee LiteSVM would charge, or None if the message's blockhash is not valid."""
        signers = message.header.num_required_signatures
        with self._lock:
            self._seed_for(message)
            if str(message.recent_blockhash) not in self._valid_blockhashes:
                return None
            unsigned = VersionedTransaction.populate(message, [Signature.default()] * signers)
            result = self._run(self._svm.simulate_transaction, unsigned, sig_verify=False)
        return result.meta().fee() or LAMPORTS_PER_SIGNATURE * signers

    @contextmanager
    def locked(self) -> Iterator[LiteSVM]:
        """The raw LiteSVM, for tests and tools that set up state the RPC API cannot."""
        with self._lock:
            yield self._svm

    # -- writes

    def send_transaction(self, tx: VersionedTransaction, *, preflight: bool = True) -> Signature:
        """Executes `tx` in a new block. With `preflight`, a transaction that fails in
        simulation raises TransactionRejected and changes nothing, as the real RPC's
        preflight check does; without it, a failing transaction still pays its fee."""
        with self._lock:
            self._seed_for(tx.message)
            if preflight:
                simulated = self._run(self._svm.simulate_transaction, tx)
                if isinstance(simulated, FailedTransactionMetadata):
                    raise TransactionRejected(transaction_error_json(simulated.err()), simulated.meta())
            self._execute(tx)
        return tx.signatures[0]

    def simulate_transaction(self, tx: VersionedTransaction, *, sig_verify: bool, check_blockhash: bool = True) -> Simulation:
        with self._lock:
            self._seed_for(tx.message)
            result = self._run(self._svm.simulate_transaction, tx, sig_verify=sig_verify, check_blockhash=check_blockhash)
        if isinstance(result, FailedTransactionMetadata):
            return Simulation(transaction_error_json(result.err()), result.meta(), {})
        return Simulation(None, result.meta(), dict(result.post_accounts()))

    def airdrop(self, address: Pubkey, lamports: int) -> Signature:
        """A real transfer from the faucet, so it has a signature, status and transaction."""
        with self._lock:
            message = Message.new_with_blockhash(
                [transfer(TransferParams(from_pubkey=self._faucet.pubkey(), to_pubkey=address, lamports=lamports))],
                self._faucet.pubkey(),
                self._svm.latest_blockhash(),
            )
            tx = VersionedTransaction(message, [self._faucet])
            simulated = self._svm.simulate_transaction(tx)
            if isinstance(simulated, FailedTransactionMetadata):
                raise TransactionRejected(transaction_error_json(simulated.err()), simulated.meta())
            self._execute(tx)
        return tx.signatures[0]

    # -- internals; the lock is held

    def _seed_for(self, message: Message | MessageV0) -> None:
        """A fork: what a transaction names, copied from the source first (its lookup tables,
        then what they load)."""
        if self._source is None:
            return
        tables = [lookup.account_key for lookup in getattr(message, "address_table_lookups", None) or []]
        if len(message.account_keys) + len(tables) > MAX_TRANSACTION_ACCOUNTS:
            raise invalid_params(f"Transaction locked too many accounts (at most {MAX_TRANSACTION_ACCOUNTS})")
        self._seed([*message.account_keys, *tables])
        writable, readonly = self._loaded_addresses(message)
        if len(message.account_keys) + len(writable) + len(readonly) > MAX_TRANSACTION_ACCOUNTS:
            raise invalid_params(f"Transaction locked too many accounts (at most {MAX_TRANSACTION_ACCOUNTS})")
        self._seed([*writable, *readonly])

    def _seed(self, addresses: list[Pubkey]) -> None:
        """A fork: the accounts not yet here nor asked of the source, copied from it; an
        upgradeable program's program-data account before the program."""
        if self._source is None:
            return
        wanted = list(dict.fromkeys(a for a in addresses if a not in self._seeded))
        missing = [a for a in wanted if self._svm.get_account(a) is None]
        if not missing:
            self._seeded.update(wanted)
            return
        try:
            found = self._source.accounts(missing)
        except Exception as exc:  # noqa: BLE001 — not marked as copied: asked again next time
            raise RpcError(INTERNAL_ERROR, f"the source cluster did not give the accounts this fork needs: {exc}") from None
        copied = sum(len(account.data) for account in found if account is not None)
        if self._copied_bytes + copied > self._source_bytes_max:
            raise RpcError(INTERNAL_ERROR, f"this fork has copied its most from the source cluster "
                                           f"({self._source_bytes_max // (1024 * 1024)} MiB of account data)")
        self._copied_bytes += copied
        self._seeded.update(wanted)
        # Data accounts first, then programs (an upgradeable one after its program data).
        for address, account in sorted(zip(missing, found, strict=True), key=lambda pair: bool(pair[1] and pair[1].executable)):
            if account is None:
                continue
            if account.owner == BPF_LOADER_UPGRADEABLE_ID and account.executable and len(account.data) >= 36:
                self._seed([Pubkey(bytes(account.data)[4:36])])
            self._svm.set_account(address, account)

    def _run(self, operation: Callable[[VersionedTransaction], Any], tx: VersionedTransaction, *,
             sig_verify: bool = True, check_blockhash: bool = True) -> Any:
        """Runs a LiteSVM send/simulate, widening its blockhash check to the valid window."""
        blockhash = tx.message.recent_blockhash
        # An older blockhash from the window is fine; anything else (including durable
        # nonces) goes through LiteSVM's own check.
        relax_blockhash = not check_blockhash or (
            blockhash != self._svm.latest_blockhash() and str(blockhash) in self._valid_blockhashes
        )
        self._svm.with_blockhash_check(not relax_blockhash)
        self._svm.with_sigverify(sig_verify)
        try:
            return operation(tx)
        finally:
            self._svm.with_blockhash_check(True)
            self._svm.with_sigverify(True)

    def _execute(self, tx: VersionedTransaction) -> None:
        message = tx.message
        loaded_writable, loaded_readonly = self._loaded_addresses(message)
        keys = [*message.account_keys, *loaded_writable, *loaded_readonly]
        pre_balances, pre_token_balances = self._balances(keys)
        result = self._run(self._svm.send_transaction, tx)
        if isinstance(result, FailedTransactionMetadata):
            err = result.err()
            # Rejections before execution (stale blockhash, unfunded payer, duplicate)
            # never make it into a block; LiteSVM keeps no history of them either.
            if err == TransactionErrorFieldless.AlreadyProcessed or self._svm.get_transaction(tx.signatures[0]) is None:
                return
            err, meta = transaction_error_json(err), result.meta()
        else:
            err, meta = None, result
        post_balances, post_token_balances = self._balances(keys)
        clock = self._svm.get_clock()
        self._landed[tx.signatures[0]] = LandedTransaction(
            slot=clock.slot, block_time=clock.unix_timestamp, transaction=tx, err=err, meta=meta,
            loaded_writable=loaded_writable, loaded_readonly=loaded_readonly,
            pre_balances=pre_balances, post_balances=post_balances,
            pre_token_balances=pre_token_balances, post_token_balances=post_token_balances,
        )
        while len(self._landed) > HISTORY_CAPACITY:
            self._landed.popitem(last=False)
        self._svm.expire_blockhash()
        self._open_block(clock.slot + 1)

    def _open_block(self, slot: int) -> None:
        old = self._svm.get_clock()
        # Not warp_to_slot: that moves only the slot, and programs and blockTime also want wall-clock time.
        self._svm.set_clock(Clock(slot, old.epoch_start_timestamp, old.epoch, old.leader_schedule_epoch, int(time.time())))
        blockhash = self._svm.latest_blockhash()
        self._valid_blockhashes[str(blockhash)] = slot + MAX_PROCESSING_AGE
        # Ages 0 through MAX_PROCESSING_AGE are accepted, as in a bank's blockhash queue.
        while len(self._valid_blockhashes) > MAX_PROCESSING_AGE + 1:
            self._valid_blockhashes.popitem(last=False)
        # The current slot is included (a real bank only has its parents) so that a
        # lookup table created with `recent_slot = getSlot()` is accepted.
        self._slot_hashes = [(slot, blockhash), *self._slot_hashes][:MAX_SLOT_HASHES]
        self._svm.set_slot_hashes(self._slot_hashes)

    def _loaded_addresses(self, message: Message | MessageV0) -> tuple[list[Pubkey], list[Pubkey]]:
        writable: list[Pubkey] = []
        readonly: list[Pubkey] = []
        for lookup in getattr(message, "address_table_lookups", None) or []:
            account = self._svm.get_account(lookup.account_key)
            try:
                addresses = AddressLookupTable.deserialize(bytes(account.data)).addresses if account else []
                writable += [addresses[i] for i in lookup.writable_indexes]
                readonly += [addresses[i] for i in lookup.readonly_indexes]
            except (ValueError, IndexError):
                pass  # the transaction will fail to load; balances only cover what resolved
        return writable, readonly

    def _balances(self, keys: list[Pubkey]) -> tuple[list[int], list[dict]]:
        """Lamports of every account key, and the token balances among them."""
        lamports: list[int] = []
        token_balances: list[dict] = []
        for index, key in enumerate(keys):
            account = self._svm.get_account(key)
            lamports.append(account.lamports if account else 0)
            token = decode_token_account(account) if account else None
            mint_account = self._svm.get_account(token.mint) if token else None
            mint = decode_mint(mint_account) if mint_account else None
            if token and mint:
                token_balances.append({
                    "accountIndex": index, "mint": str(token.mint), "owner": str(token.owner),
                    "programId": str(account.owner), "uiTokenAmount": ui_token_amount(token.amount, mint.decimals),
                })
        return lamports, token_balances


# ---------------------------------------------------------------------------------------
# JSON-RPC methods, in the real API's request and response shapes

PARSE_ERROR = -32700
INVALID_REQUEST = -32600
METHOD_NOT_FOUND = -32601
INVALID_PARAMS = -32602
INTERNAL_ERROR = -32603
SEND_TRANSACTION_PREFLIGHT_FAILURE = -32002
TRANSACTION_SIGNATURE_VERIFICATION_FAILURE = -32003
UNSUPPORTED_TRANSACTION_VERSION = -32015

ACCOUNT_ENCODINGS = ("binary", "base58", "base64", "jsonParsed", "base64+zstd")
TRANSACTION_ENCODINGS = ("json", "jsonParsed", "base58", "base64")


class RpcError(Exception):
    def __init__(self, code: int, message: str, data: Any = None):
        super().__init__(message)
        self.code = code
        self.message = message
        self.data = data

    def to_json(self) -> dict:
        error = {"code": self.code, "message": self.message}
        if self.data is not None:
            error["data"] = self.data
        return error


def invalid_params(message: str) -> RpcError:
    return RpcError(INVALID_PARAMS, message)


def _param(params: list, index: int, name: str) -> Any:
    if index >= len(params) or params[index] is None:
        raise invalid_params(f"Invalid params: missing {name}")
    return params[index]


def _config(params: list, index: int) -> dict:
    config = params[index] if index < len(params) else None
    if config is None:
        return {}
    if not isinstance(config, dict):
        raise invalid_params(f"Invalid params: configuration must be an object, got {config!r}")
    return config


def _pubkey(value: Any) -> Pubkey:
    try:
        return Pubkey.from_string(value)
    except (TypeError, ValueError):
        raise invalid_params(f"Invalid param: {value!r} is not a base58 public key") from None


def _signature(value: Any) -> Signature:
    try:
        return Signature.from_string(value)
    except (TypeError, ValueError):
        raise invalid_params(f"Invalid param: {value!r} is not a base58 signature") from None


def _u64(value: Any, name: str) -> int:
    if isinstance(value, bool) or not isinstance(value, int) or not 0 <= value < 2**64:
        raise invalid_params(f"Invalid params: {name} must be an unsigned 64-bit integer, got {value!r}")
    return value


def _return_data(meta: TransactionMetadata) -> dict | None:
    return_data = meta.return_data()
    if return_data is None or not bytes(return_data.data):
        return None
    return {"programId": str(return_data.program_id), "data": [base64.b64encode(bytes(return_data.data)).decode(), "base64"]}


def _inner_instructions(meta: TransactionMetadata) -> list[dict]:
    return [
        {"index": index, "instructions": [
            {**_compiled_instruction(inner.instruction), "stackHeight": inner.stack_height} for inner in inners
        ]}
        for index, inners in enumerate(meta.inner_instructions())
        if inners
    ]


def _compiled_instruction(instruction: Any) -> dict:
    return {"programIdIndex": instruction.program_id_index, "accounts": list(bytes(instruction.accounts)),
            "data": b58encode(bytes(instruction.data))}


class SolanaRpc:
    """Answers JSON-RPC requests against a DevChain."""

    def __init__(self, chain: DevChain):
        self.chain = chain
        self._methods: dict[str, Callable[[list], Any]] = {
            "getHealth": self.get_health,
            "getVersion": self.get_version,
            "getSlot": self.get_slot,
            "getBlockHeight": self.get_slot,  # one block per slot
            "getLatestBlockhash": self.get_latest_blockhash,
            "isBlockhashValid": self.is_blockhash_valid,
            "getBalance": self.get_balance,
            "getAccountInfo": self.get_account_info,
            "getMultipleAccounts": self.get_multiple_accounts,
            "getMinimumBalanceForRentExemption": self.get_minimum_balance_for_rent_exemption,
            "getFeeForMessage": self.get_fee_for_message,
            "requestAirdrop": self.request_airdrop,
            "sendTransaction": self.send_transaction,
            "simulateTransaction": self.simulate_transaction,
            "getSignatureStatuses": self.get_signature_statuses,
            "getTransaction": self.get_transaction,
            "getTokenAccountBalance": self.get_token_account_balance,
            "getTokenAccountsByOwner": self.get_token_accounts_by_owner,
            "surfnet_setAccount": self.set_account,
            "surfnet_setTokenAccount": self.set_token_account,
        }

    @property
    def methods(self) -> list[str]:
        return list(self._methods)

    # -- JSON-RPC 2.0 envelope

    def handle_body(self, body: bytes) -> bytes | None:
        """One HTTP body in, one out; None when every request was a notification."""
        try:
            payload = json.loads(body)
        except (UnicodeDecodeError, json.JSONDecodeError):
            return _dump(_error_response(None, RpcError(PARSE_ERROR, "Parse error")))
        if isinstance(payload, list):
            if not payload:
                return _dump(_error_response(None, RpcError(INVALID_REQUEST, "Invalid request")))
            responses = [response for request in payload if (response := self.handle_request(request)) is not None]
            return _dump(responses) if responses else None
        response = self.handle_request(payload)
        return None if response is None else _dump(response)

    def handle_request(self, request: Any) -> dict | None:
        if not isinstance(request, dict) or request.get("jsonrpc") != "2.0" or not isinstance(request.get("method"), str):
            return _error_response(request.get("id") if isinstance(request, dict) else None,
                                   RpcError(INVALID_REQUEST, "Invalid request"))
        is_notification = "id" not in request
        request_id = request.get("id")
        try:
            method = self._methods.get(request["method"])
            if method is None:
                raise RpcError(METHOD_NOT_FOUND, "Method not found")
            params = request.get("params", [])
            if params is None:
                params = []
            if not isinstance(params, list):
                raise invalid_params("Invalid params: expected an array of positional parameters")
            result = method(params)
        except RpcError as exc:
            return None if is_notification else _error_response(request_id, exc)
        except Exception as exc:  # one bad request must not take the server down
            traceback.print_exc(file=sys.stderr)
            return None if is_notification else _error_response(request_id, RpcError(INTERNAL_ERROR, f"Internal error: {exc}"))
        return None if is_notification else {"jsonrpc": "2.0", "result": result, "id": request_id}

    # -- helpers

    def _with_context(self, value: Any) -> dict:
        return {"context": {"slot": self.chain.slot()}, "value": value}

    def _mint(self, address: Pubkey) -> MintState | None:
        account = self.chain.get_account(address)
        return decode_mint(account) if account else None

    def _encode_account(self, account: Account | None, config: dict) -> dict | None:
        if account is None:
            return None
        encoding = config.get("encoding") or "binary"
        if encoding not in ACCOUNT_ENCODINGS:
            raise invalid_params(f"Invalid params: unknown encoding {encoding!r}, expected one of {', '.join(ACCOUNT_ENCODINGS)}")
        if encoding == "base64+zstd":
            raise invalid_params("Invalid params: base64+zstd encoding is not supported by the devchain")
        data = bytes(account.data)
        data_slice = config.get("dataSlice")
        if data_slice is not None and not isinstance(data_slice, dict):
            raise invalid_params('Invalid params: dataSlice must be {"offset": <n>, "length": <n>}')
        if data_slice:
            offset, length = _u64(data_slice.get("offset"), "dataSlice.offset"), _u64(data_slice.get("length"), "dataSlice.length")
            data = data[offset : offset + length]
        encoded: Any = None
        if encoding == "jsonParsed" and not data_slice:
            encoded = parsed_token_data(account, self._mint)
        if encoded is None and encoding in ("binary", "base58"):
            if len(data) > 128:
                raise RpcError(INVALID_REQUEST, "Encoded binary (base 58) data should be less than 128 bytes, please use Base64 encoding.")
            encoded = b58encode(data) if encoding == "binary" else [b58encode(data), "base58"]
        if encoded is None:
            encoded = [base64.b64encode(data).decode(), "base64"]
        return {"data": encoded, "executable": account.executable, "lamports": account.lamports,
                "owner": str(account.owner), "rentEpoch": account.rent_epoch, "space": len(account.data)}

    def _decode_transaction(self, params: list) -> tuple[VersionedTransaction, dict]:
        encoded = _param(params, 0, "transaction")
        config = _config(params, 1)
        if not isinstance(encoded, str):
            raise invalid_params("Invalid params: the transaction must be an encoded string")
        encoding = config.get("encoding") or "base58"
        try:
            if encoding == "base58":
                raw = b58decode(encoded)
            elif encoding == "base64":
                raw = base64.b64decode(encoded, validate=True)
            else:
                raise invalid_params(f"unsupported encoding: {encoding}. Supported encodings: base58, base64")
        except (ValueError, binascii.Error) as exc:
            raise invalid_params(f"invalid {encoding} encoding: {exc}") from None
        if len(raw) > PACKET_DATA_SIZE:
            raise invalid_params(f"decoded solana_transaction::versioned::VersionedTransaction too large: "
                                 f"{len(raw)} bytes (max: {PACKET_DATA_SIZE} bytes)")
        try:
            tx = VersionedTransaction.from_bytes(raw)
        except Exception as exc:  # solders raises its own error types
            raise invalid_params(f"failed to deserialize solana_transaction::versioned::VersionedTransaction: {exc}") from None
        try:
            tx.sanitize()
        except Exception as exc:
            raise invalid_params(f"invalid transaction: {exc}") from None
        if not tx.signatures:
            raise invalid_params("invalid transaction: it has no signatures")
        return tx, config

    # -- methods

    def get_health(self, params: list) -> str:
        return "ok"

    def get_version(self, params: list) -> dict:
        return {"solana-core": VERSION, "feature-set": 0}

    def get_slot(self, params: list) -> int:
        return self.chain.slot()

    def get_latest_blockhash(self, params: list) -> dict:
        blockhash, last_valid_block_height = self.chain.latest_blockhash()
        return self._with_context({"blockhash": str(blockhash), "lastValidBlockHeight": last_valid_block_height})

    def is_blockhash_valid(self, params: list) -> dict:
        value = _param(params, 0, "blockhash")
        try:
            blockhash = Hash.from_string(value)
        except (TypeError, ValueError):
            raise invalid_params(f"Invalid param: {value!r} is not a base58 blockhash") from None
        return self._with_context(self.chain.is_blockhash_valid(blockhash))

    def get_balance(self, params: list) -> dict:
        account = self.chain.get_account(_pubkey(_param(params, 0, "pubkey")))
        return self._with_context(account.lamports if account else 0)

    def get_account_info(self, params: list) -> dict:
        address = _pubkey(_param(params, 0, "pubkey"))
        return self._with_context(self._encode_account(self.chain.get_account(address), _config(params, 1)))

    def get_multiple_accounts(self, params: list) -> dict:
        values = _param(params, 0, "pubkeys")
        if not isinstance(values, list):
            raise invalid_params("Invalid params: pubkeys must be an array")
        if len(values) > MAX_MULTIPLE_ACCOUNTS:
            raise invalid_params(f"Too many inputs provided; max {MAX_MULTIPLE_ACCOUNTS}")
        config = _config(params, 1)
        accounts = self.chain.get_accounts([_pubkey(value) for value in values])
        return self._with_context([self._encode_account(account, config) for account in accounts])

    def get_minimum_balance_for_rent_exemption(self, params: list) -> int:
        return self.chain.minimum_balance_for_rent_exemption(_u64(_param(params, 0, "data length"), "data length"))

    def get_fee_for_message(self, params: list) -> dict:
        encoded = _param(params, 0, "message")
        try:
            message = from_bytes_versioned(base64.b64decode(encoded, validate=True))
            # Only a transaction knows how to sanitize either message version.
            VersionedTransaction.populate(message, [Signature.default()] * message.header.num_required_signatures).sanitize()
        except Exception as exc:  # bad base64, bad bincode and insane messages all land here
            raise invalid_params(f"invalid transaction message: {exc}") from None
        return self._with_context(self.chain.fee_for_message(message))

    def request_airdrop(self, params: list) -> str:
        address = _pubkey(_param(params, 0, "pubkey"))
        lamports = _u64(_param(params, 1, "lamports"), "lamports")
        try:
            return str(self.chain.airdrop(address, lamports))
        except TransactionRejected as exc:
            raise RpcError(INTERNAL_ERROR, f"airdrop request failed: {exc}") from None

    def send_transaction(self, params: list) -> str:
        tx, config = self._decode_transaction(params)
        preflight = not config.get("skipPreflight", False)
        if preflight and not all(tx.verify_with_results()):
            raise RpcError(TRANSACTION_SIGNATURE_VERIFICATION_FAILURE, "Transaction signature verification failure")
        try:
            return str(self.chain.send_transaction(tx, preflight=preflight))
        except TransactionRejected as exc:
            raise RpcError(SEND_TRANSACTION_PREFLIGHT_FAILURE, f"Transaction simulation failed: {exc}", {
                "err": exc.err, "logs": exc.meta.logs(), "accounts": None, "unitsConsumed": exc.meta.compute_units_consumed(),
                "returnData": _return_data(exc.meta), "innerInstructions": None, "replacementBlockhash": None,
            }) from None

    def simulate_transaction(self, params: list) -> dict:
        tx, config = self._decode_transaction(params)
        sig_verify = bool(config.get("sigVerify", False))
        replace_blockhash = bool(config.get("replaceRecentBlockhash", False))
        if sig_verify and replace_blockhash:
            raise invalid_params("sigVerify may not be used with replaceRecentBlockhash")
        if sig_verify and not all(tx.verify_with_results()):
            raise RpcError(TRANSACTION_SIGNATURE_VERIFICATION_FAILURE, "Transaction signature verification failure")
        simulation = self.chain.simulate_transaction(tx, sig_verify=sig_verify, check_blockhash=not replace_blockhash)
        accounts = None
        if (accounts_config := config.get("accounts")) is not None:
            if not isinstance(accounts_config, dict):
                raise invalid_params('Invalid params: accounts must be {"addresses": [...], "encoding": ...}')
            addresses = [_pubkey(value) for value in accounts_config.get("addresses") or []]
            encoding = {"encoding": accounts_config.get("encoding") or "base64"}
            if simulation.err is not None:
                accounts = [None] * len(addresses)
            else:
                current = self.chain.get_accounts(addresses)
                accounts = [self._encode_account(simulation.post_accounts.get(address, account), encoding)
                            for address, account in zip(addresses, current, strict=True)]
        replacement = None
        if replace_blockhash:
            blockhash, last_valid_block_height = self.chain.latest_blockhash()
            replacement = {"blockhash": str(blockhash), "lastValidBlockHeight": last_valid_block_height}
        meta = simulation.meta
        return self._with_context({
            "err": simulation.err, "logs": meta.logs(), "accounts": accounts, "unitsConsumed": meta.compute_units_consumed(),
            "returnData": _return_data(meta),
            "innerInstructions": _inner_instructions(meta) if config.get("innerInstructions") else None,
            "replacementBlockhash": replacement, "fee": meta.fee(),
        })

    def get_signature_statuses(self, params: list) -> dict:
        values = _param(params, 0, "signatures")
        if not isinstance(values, list):
            raise invalid_params("Invalid params: signatures must be an array")
        if len(values) > MAX_SIGNATURE_STATUSES:
            raise invalid_params(f"Too many inputs provided; max {MAX_SIGNATURE_STATUSES}")
        statuses = []
        for signature in [_signature(value) for value in values]:
            landed = self.chain.landed(signature)
            statuses.append(None if landed is None else {
                "slot": landed.slot, "confirmations": None, "err": landed.err,
                "status": {"Ok": None} if landed.err is None else {"Err": landed.err},
                "confirmationStatus": "finalized",
            })
        return self._with_context(statuses)

    def get_transaction(self, params: list) -> dict | None:
        signature = _signature(_param(params, 0, "signature"))
        legacy_encoding = params[1] if len(params) > 1 and isinstance(params[1], str) else None
        # The deprecated form passes the encoding alone.
        config = {"encoding": legacy_encoding} if legacy_encoding else _config(params, 1)
        encoding = config.get("encoding") or "json"
        if encoding not in TRANSACTION_ENCODINGS:
            raise invalid_params(f"Invalid params: unknown encoding {encoding!r}, expected one of {', '.join(TRANSACTION_ENCODINGS)}")
        landed = self.chain.landed(signature)
        if landed is None:
            return None
        tx = landed.transaction
        version = tx.version()
        if version != Legacy.Legacy and config.get("maxSupportedTransactionVersion") is None:
            raise RpcError(UNSUPPORTED_TRANSACTION_VERSION,
                           f"Transaction version ({version}) is not supported by the requesting client. Please try the "
                           f'request again with the following configuration parameter: "maxSupportedTransactionVersion": {version}')
        if encoding == "base64":
            encoded_tx: Any = [base64.b64encode(bytes(tx)).decode(), "base64"]
        elif encoding == "base58":
            encoded_tx = [b58encode(bytes(tx)), "base58"]
        else:
            encoded_tx = {"signatures": [str(s) for s in tx.signatures], "message": self._ui_message(tx.message)}
        meta = landed.meta
        return {
            "slot": landed.slot,
            "blockTime": landed.block_time,
            "version": "legacy" if version == Legacy.Legacy else version,
            "transaction": encoded_tx,
            "meta": {
                "err": landed.err,
                "status": {"Ok": None} if landed.err is None else {"Err": landed.err},
                "fee": meta.fee(),
                "preBalances": landed.pre_balances,
                "postBalances": landed.post_balances,
                "innerInstructions": _inner_instructions(meta),
                "logMessages": meta.logs(),
                "preTokenBalances": landed.pre_token_balances,
                "postTokenBalances": landed.post_token_balances,
                "rewards": [],
                "loadedAddresses": {"writable": [str(k) for k in landed.loaded_writable],
                                    "readonly": [str(k) for k in landed.loaded_readonly]},
                "returnData": _return_data(meta),
                "computeUnitsConsumed": meta.compute_units_consumed(),
            },
        }

    @staticmethod
    def _ui_message(message: Message | MessageV0) -> dict:
        header = message.header
        ui = {
            "accountKeys": [str(key) for key in message.account_keys],
            "header": {"numRequiredSignatures": header.num_required_signatures,
                       "numReadonlySignedAccounts": header.num_readonly_signed_accounts,
                       "numReadonlyUnsignedAccounts": header.num_readonly_unsigned_accounts},
            "recentBlockhash": str(message.recent_blockhash),
            "instructions": [{**_compiled_instruction(ix), "stackHeight": None} for ix in message.instructions],
        }
        if isinstance(message, MessageV0):
            ui["addressTableLookups"] = [
                {"accountKey": str(lookup.account_key), "writableIndexes": list(bytes(lookup.writable_indexes)),
                 "readonlyIndexes": list(bytes(lookup.readonly_indexes))}
                for lookup in message.address_table_lookups
            ]
        return ui

    def get_token_account_balance(self, params: list) -> dict:
        account = self.chain.get_account(_pubkey(_param(params, 0, "pubkey")))
        if account is None:
            raise invalid_params("Invalid param: could not find account")
        token = decode_token_account(account)
        if token is None:
            raise invalid_params("Invalid param: not a Token account")
        mint = self._mint(token.mint)
        if mint is None:
            raise invalid_params("Invalid param: could not find mint")
        return self._with_context(ui_token_amount(token.amount, mint.decimals))

    def get_token_accounts_by_owner(self, params: list) -> dict:
        owner = _pubkey(_param(params, 0, "owner"))
        account_filter = _param(params, 1, "filter")
        config = _config(params, 2)
        if not isinstance(account_filter, dict) or len(account_filter) != 1 or not {"mint", "programId"} & set(account_filter):
            raise invalid_params('Invalid params: the filter must be {"mint": <pubkey>} or {"programId": <pubkey>}')
        mint: Pubkey | None = None
        if "mint" in account_filter:
            mint = _pubkey(account_filter["mint"])
            mint_account = self.chain.get_account(mint)
            if mint_account is None or mint_account.owner not in TOKEN_PROGRAM_NAMES:
                raise invalid_params("Invalid param: could not find mint")
            program_id = mint_account.owner
        else:
            program_id = _pubkey(account_filter["programId"])
            if program_id not in TOKEN_PROGRAM_NAMES:
                raise invalid_params("Invalid param: unrecognized Token program id")
        self.chain.seed_token_accounts(owner, program_id)
        found = []
        for address, account in self.chain.program_accounts(program_id):
            token = decode_token_account(account)
            if token is not None and token.owner == owner and (mint is None or token.mint == mint):
                found.append({"pubkey": str(address), "account": self._encode_account(account, config)})
        return self._with_context(found)


    def set_account(self, params: list) -> None:
        """Surfpool's cheat method, lamports only: sets an account's balance."""
        address = _pubkey(_param(params, 0, "pubkey"))
        update = _config(params, 1)
        if set(update) != {"lamports"}:
            raise invalid_params('Invalid params: this devchain sets {"lamports": n} only')
        self.chain.set_lamports(address, _u64(update["lamports"], "lamports"))

    def set_token_account(self, params: list) -> None:
        """Surfpool's cheat method, amount only: writes the owner's associated token account."""
        owner, mint = _pubkey(_param(params, 0, "owner")), _pubkey(_param(params, 1, "mint"))
        update = _config(params, 2)
        if set(update) != {"amount"}:
            raise invalid_params('Invalid params: this devchain sets {"amount": n} only')
        program = _pubkey(params[3]) if len(params) > 3 else None
        if program is not None and program not in TOKEN_PROGRAM_NAMES:
            raise invalid_params("Invalid param: unrecognized Token program id")
        self.chain.set_token_account(owner, mint, _u64(update["amount"], "amount"), program)


def _error_response(request_id: Any, error: RpcError) -> dict:
    return {"jsonrpc": "2.0", "error": error.to_json(), "id": request_id}


def _dump(payload: Any) -> bytes:
    return json.dumps(payload, separators=(",", ":")).encode()


# ---------------------------------------------------------------------------------------
# HTTP transport

MAX_BODY_BYTES = 10 * 1024 * 1024


class _RpcHttpServer(ThreadingHTTPServer):
    daemon_threads = True
    allow_reuse_address = True

    def __init__(self, address: tuple[str, int], rpc: SolanaRpc):
        self.rpc = rpc
        super().__init__(address, _RpcRequestHandler)


class _RpcRequestHandler(BaseHTTPRequestHandler):
    protocol_version = "HTTP/1.1"  # keep-alive, which RPC clients rely on
    # Headers and body go out in separate writes; with Nagle on, delayed ACKs would add ~40 ms to every call.
    disable_nagle_algorithm = True
    server: _RpcHttpServer

    def do_POST(self) -> None:
        if self.path.split("?")[0] not in ("", "/"):
            return self._reply(404, b"Not Found", "text/plain")
        try:
            length = int(self.headers.get("Content-Length", ""))
        except ValueError:
            return self._reply(411, b"Content-Length required", "text/plain")
        if length > MAX_BODY_BYTES:
            self.close_connection = True
            return self._reply(413, b"Request body too large", "text/plain")
        response = self.server.rpc.handle_body(self.rfile.read(length))
        if response is None:
            return self._reply(204, b"", None)
        self._reply(200, response, "application/json")

    def do_GET(self) -> None:
        # Like a validator's RPC port: a plain GET /health for readiness probes.
        if self.path == "/health":
            return self._reply(200, b"ok", "text/plain")
        self._reply(405, b"Used HTTP Method is not allowed. POST or OPTIONS is required", "text/plain")

    def _reply(self, status: int, body: bytes, content_type: str | None) -> None:
        self.send_response(status)
        if content_type:
            self.send_header("Content-Type", content_type)
        self.send_header("Content-Length", str(len(body)))
        self.end_headers()
        self.wfile.write(body)

    def log_message(self, format: str, *args: Any) -> None:
        pass  # a line per request would drown the logs of whoever runs the devchain


class DevChainServer:
    """The devchain served from a background thread; `url` is where to point an RPC client.

        with DevChainServer() as devchain:
            client = AsyncClient(devchain.url)
    """

    def __init__(self, host: str = "127.0.0.1", port: int = 0, chain: DevChain | None = None):
        self.chain = chain or DevChain()
        self._httpd = _RpcHttpServer((host, port), SolanaRpc(self.chain))
        bound_host, bound_port = self._httpd.server_address[:2]
        self.url = f"http://{bound_host}:{bound_port}"
        self._thread: threading.Thread | None = threading.Thread(
            target=self._httpd.serve_forever, name="solana-devchain", daemon=True
        )
        self._thread.start()

    def close(self) -> None:
        if self._thread is None:
            return
        self._httpd.shutdown()
        self._httpd.server_close()
        self._thread.join()
        self._thread = None

    def __enter__(self) -> DevChainServer:
        return self

    def __exit__(self, *exc_info: object) -> None:
        self.close()


# ---------------------------------------------------------------------------------------
# CLI


def _airdrop_arg(text: str) -> tuple[Pubkey, int]:
    address, sep, lamports = text.partition("=")
    try:
        if not sep:
            raise ValueError("missing '='")
        parsed = Pubkey.from_string(address), int(lamports)
        if not 0 < parsed[1] < 2**64:
            raise ValueError("lamports out of range")
        return parsed
    except ValueError as exc:
        raise argparse.ArgumentTypeError(f"expected <base58 pubkey>=<lamports>, got {text!r} ({exc})") from None


def _exit_with_parent(parent: int) -> None:
    """The kernel sends SIGTERM when the parent ends (PR_SET_PDEATHSIG); a parent (`parent`,
    its pid as it said) already gone before that was set leaves this process to another: it ends now."""
    ctypes.CDLL(None, use_errno=True).prctl(1, signal.SIGTERM)  # PR_SET_PDEATHSIG
    if os.getppid() != parent:
        raise SystemExit(0)


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(prog="python -m devtools.solana_devchain", description=__doc__.splitlines()[0])
    parser.add_argument("--host", default="127.0.0.1", help="address to bind (default: 127.0.0.1)")
    parser.add_argument("--port", type=int, default=8899, help="port to bind; 0 picks a free one (default: 8899)")
    parser.add_argument("--airdrop", type=_airdrop_arg, action="append", default=[], metavar="PUBKEY=LAMPORTS",
                        help="fund an account before serving; repeatable")
    parser.add_argument("--fork-url", help="a cluster's JSON-RPC URL: accounts are copied from it when first used (a fork)")
    parser.add_argument("--fork-slot", type=int, help="with --fork-url: the cluster's slot, where the fork's clock starts")
    parser.add_argument("--exit-with-parent", type=int, metavar="PID", help="end (SIGTERM) when process PID, this one's parent, ends")
    args = parser.parse_args(argv)
    if args.exit_with_parent is not None:
        _exit_with_parent(args.exit_with_parent)

    stop = threading.Event()
    for signum in (signal.SIGTERM, signal.SIGINT):
        signal.signal(signum, lambda *_: stop.set())
    chain = DevChain(RpcAccountSource(args.fork_url), start_slot=args.fork_slot) if args.fork_url else None
    server = DevChainServer(args.host, args.port, chain)
    try:
        for address, lamports in args.airdrop:
            try:
                server.chain.airdrop(address, lamports)
            except TransactionRejected as exc:
                print(f"airdrop of {lamports} lamports to {address} failed: {exc}", file=sys.stderr)
                return 2
        print(f"solana devchain listening on {server.url}", flush=True)
        stop.wait()
    finally:
        server.close()
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
