"""Token decimals and symbols, read from the chain: ERC-20 `decimals()` and `symbol()` as one
JSON-RPC batch per network; an SPL mint's decimals from its mint account and its symbol from
its Metaplex Token Metadata account (the program's PDA for the mint: where wallets and
explorers read it; Token-2022's own metadata extension is not read), in one batch.

Both are the token contract's answers, so untrusted: a decimals outside 0-255 (ERC-20's uint8)
is no answer, and a symbol is decoded from at most SYMBOL_MAX_BYTES, stripped of control,
format and bidirectional characters and cut to SYMBOL_MAX_CHARS; one left empty is no answer.
A read that fails (no contract, a revert, a malformed answer) leaves the value unknown, never
guessed; a node that does not answer raises ConnectionError, so the caller retries later.
"""

from __future__ import annotations

import base64
import unicodedata
from collections.abc import Sequence
from dataclasses import dataclass
from typing import Any

from solders.pubkey import Pubkey

from orchestrator.chains.evm import EvmChain
from orchestrator.chains.jsonrpc import JsonRpc, RpcError
from orchestrator.chains.solana import SolanaChain

DECIMALS = "0x313ce567"  # decimals()
SYMBOL = "0x95d89b41"  # symbol()
SYMBOL_MAX_BYTES = 256
SYMBOL_MAX_CHARS = 16
TOKENS_PER_BATCH = 25  # two calls each: 50 per batch, as for balances
METADATA_PROGRAM = Pubkey.from_string("metaqbxxUerdq28cj1RbAWkYQm3ybzjb6a8bt518x1s")
_METADATA_V1 = 4  # the Key of a Metadata account (mpl-token-metadata)


@dataclass(frozen=True)
class TokenInfo:
    decimals: int | None
    symbol: str | None


def clean_symbol(raw: bytes) -> str | None:
    """A symbol fit to show: printable, no control/format/bidi characters, at most SYMBOL_MAX_CHARS."""
    text = raw[:SYMBOL_MAX_BYTES].decode("utf-8", errors="replace").replace("\ufffd", "")
    kept = "".join(ch for ch in text if not unicodedata.category(ch).startswith(("C", "Z")) or ch == " ")
    kept = " ".join(kept.split())[:SYMBOL_MAX_CHARS]
    return kept or None


def _hex_bytes(result: Any) -> bytes | None:
    if not isinstance(result, str) or not result.startswith("0x") or len(result) % 2:
        return None
    try:
        return bytes.fromhex(result[2:])
    except ValueError:
        return None


def erc20_decimals(result: Any) -> int | None:
    data = _hex_bytes(result)
    if data is None or len(data) < 32:
        return None
    value = int.from_bytes(data[:32], "big")
    return value if value <= 255 else None


def erc20_symbol(result: Any) -> str | None:
    """ABI `string` (offset, length, bytes) or, as some older tokens answer, a bytes32."""
    data = _hex_bytes(result)
    if data is None or len(data) < 32:
        return None
    if len(data) == 32:
        return clean_symbol(data.rstrip(b"\0"))
    offset = int.from_bytes(data[:32], "big")
    if offset + 32 > len(data):
        return None
    length = int.from_bytes(data[offset:offset + 32], "big")
    start = offset + 32
    if start + min(length, SYMBOL_MAX_BYTES) > len(data):
        return None
    return clean_symbol(data[start:start + min(length, SYMBOL_MAX_BYTES)])


async def evm_token_info(rpc: JsonRpc, tokens: Sequence[str]) -> dict[str, TokenInfo]:
    """{token: its info} for ERC-20 `tokens` (lowercase addresses), TOKENS_PER_BATCH to a batch."""
    found: dict[str, TokenInfo] = {}
    for start in range(0, len(tokens), TOKENS_PER_BATCH):
        chunk = tokens[start:start + TOKENS_PER_BATCH]
        calls = [("eth_call", [{"to": token, "data": selector}, "latest"]) for token in chunk for selector in (DECIMALS, SYMBOL)]
        answers = await rpc.batch(calls)
        for index, token in enumerate(chunk):
            decimals, symbol = answers[2 * index], answers[2 * index + 1]
            found[token] = TokenInfo(
                decimals=None if isinstance(decimals, RpcError) else erc20_decimals(decimals),
                symbol=None if isinstance(symbol, RpcError) else erc20_symbol(symbol),
            )
    return found


def spl_mint_decimals(result: Any) -> int | None:
    """Decimals from a getAccountInfo (jsonParsed) answer for an SPL mint; None when it is not one."""
    try:
        parsed = result["value"]["data"]["parsed"]
        if parsed["type"] != "mint":
            return None
        decimals = parsed["info"]["decimals"]
    except (KeyError, TypeError):
        return None
    return decimals if isinstance(decimals, int) and not isinstance(decimals, bool) and 0 <= decimals <= 255 else None


def metadata_address(mint: str) -> str | None:
    """The Metaplex metadata account of `mint` (a PDA of the metadata program); None for text that is no address."""
    try:
        key = Pubkey.from_string(mint)
    except ValueError:
        return None
    return str(Pubkey.find_program_address([b"metadata", bytes(METADATA_PROGRAM), bytes(key)], METADATA_PROGRAM)[0])


def metaplex_symbol(result: Any, mint: str) -> str | None:
    """The symbol in a getAccountInfo (base64) answer for `mint`'s metadata account: owned by the
    metadata program, a Metadata account, of this mint; None otherwise. Borsh: key u8, update
    authority and mint (32 bytes each), then name and symbol as u32-length-prefixed strings."""
    try:
        value = result["value"]
        if value is None or value["owner"] != str(METADATA_PROGRAM):
            return None
        data = base64.b64decode(value["data"][0], validate=True)
    except (KeyError, TypeError, IndexError, ValueError):
        return None
    if len(data) < 69 or data[0] != _METADATA_V1 or data[33:65] != bytes(Pubkey.from_string(mint)):
        return None
    offset = 65
    for field in ("name", "symbol"):
        if offset + 4 > len(data):
            return None
        length = int.from_bytes(data[offset:offset + 4], "little")
        start, offset = offset + 4, offset + 4 + length
        if offset > len(data):
            return None
        if field == "symbol":
            return clean_symbol(data[start:start + min(length, SYMBOL_MAX_BYTES)].rstrip(b"\0"))
    return None


async def spl_token_info(rpc: JsonRpc, mints: Sequence[str]) -> dict[str, TokenInfo]:
    """{mint: its info} for SPL `mints`: each mint account (decimals) and metadata account
    (symbol) read with getAccountInfo, TOKENS_PER_BATCH mints to a batch."""
    found: dict[str, TokenInfo] = {}
    for start in range(0, len(mints), TOKENS_PER_BATCH):
        chunk = mints[start:start + TOKENS_PER_BATCH]
        metadata = [metadata_address(mint) for mint in chunk]
        calls = [("getAccountInfo", [mint, {"encoding": "jsonParsed", "commitment": "confirmed"}]) for mint in chunk]
        calls += [("getAccountInfo", [address, {"encoding": "base64", "commitment": "confirmed"}]) for address in metadata if address]
        answers = await rpc.batch(calls)
        symbols = iter(answers[len(chunk):])
        for mint, answer, address in zip(chunk, answers[:len(chunk)], metadata, strict=True):
            symbol_answer = next(symbols) if address else None
            found[mint] = TokenInfo(
                decimals=None if isinstance(answer, RpcError) else spl_mint_decimals(answer),
                symbol=None if symbol_answer is None or isinstance(symbol_answer, RpcError) else metaplex_symbol(symbol_answer, mint),
            )
    return found


async def read_token_info(chain: object, tokens: Sequence[str]) -> dict[str, TokenInfo]:
    """{token: its info} on `chain` (an EvmChain or SolanaChain; other chains have none to read).
    Raises ConnectionError (an OSError) when the node does not answer."""
    if not tokens:
        return {}
    if isinstance(chain, EvmChain):
        return await evm_token_info(chain.rpc, tokens)
    if isinstance(chain, SolanaChain):
        return await spl_token_info(chain.json_rpc, tokens)
    return {}
