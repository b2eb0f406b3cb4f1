"""An SPL mint's decimals read from its mint account, on the LiteSVM devchain; an account that
is not a mint, or none at all, gives no decimals (never a guess)."""

from __future__ import annotations

import asyncio
import signal
import subprocess
import sys

import pytest
from solana.rpc.async_api import AsyncClient
from solders.account import Account
from solders.keypair import Keypair
from solders.message import Message
from solders.pubkey import Pubkey
from solders.system_program import ID as SYSTEM_PROGRAM_ID
from solders.system_program import CreateAccountParams, create_account
from solders.transaction import Transaction
from spl.token.constants import TOKEN_PROGRAM_ID
from spl.token.instructions import initialize_mint2
from spl.token.models import InitializeMint2Params

from devtools.solana_devchain import MINT_LEN, DevChainServer
from orchestrator.chains.solana import SolanaChain
from orchestrator.chains.token_info import METADATA_PROGRAM, TokenInfo, metadata_address, read_token_info
from orchestrator.config import SolanaConfig


@pytest.fixture(scope="module")
def devchain_url():
    process = subprocess.Popen([sys.executable, "-m", "devtools.solana_devchain", "--port", "0"],
                               stdout=subprocess.PIPE, stderr=subprocess.PIPE, text=True)
    try:
        yield process.stdout.readline().removeprefix("solana devchain listening on ").strip()
    finally:
        process.send_signal(signal.SIGTERM)
        process.wait(timeout=30)


async def _mint(url: str, decimals: int) -> tuple[str, str]:
    """A new mint of `decimals` and its payer (a plain system account)."""
    async with AsyncClient(url) as client:
        payer, mint = Keypair(), Keypair()
        await client.request_airdrop(payer.pubkey(), 10**9)
        rent = (await client.get_minimum_balance_for_rent_exemption(MINT_LEN)).value
        setup = [
            create_account(CreateAccountParams(from_pubkey=payer.pubkey(), to_pubkey=mint.pubkey(), lamports=rent, space=MINT_LEN,
                                               owner=TOKEN_PROGRAM_ID)),
            initialize_mint2(InitializeMint2Params(decimals=decimals, program_id=TOKEN_PROGRAM_ID, mint=mint.pubkey(),
                                                   mint_authority=payer.pubkey())),
        ]
        blockhash = (await client.get_latest_blockhash()).value.blockhash
        await client.send_transaction(Transaction([payer, mint], Message(setup, payer.pubkey()), blockhash))
        return str(mint.pubkey()), str(payer.pubkey())


def test_spl_decimals_come_from_the_mint_account(devchain_url):
    async def scenario():
        mint, payer = await _mint(devchain_url, 4)
        chain = SolanaChain(SolanaConfig(rpc_url=devchain_url))
        try:
            nobody = str(Keypair().pubkey())
            return mint, payer, nobody, await read_token_info(chain, [mint, payer, nobody])
        finally:
            await chain.close()

    mint, payer, nobody, infos = asyncio.run(scenario())
    assert infos == {mint: TokenInfo(decimals=4, symbol=None), payer: TokenInfo(None, None), nobody: TokenInfo(None, None)}


def _metadata(mint: str, name: bytes, symbol: bytes, of_mint: str | None = None) -> bytes:
    """A Metaplex Metadata account's data as mpl-token-metadata writes it (strings padded with NULs)."""
    def string(text: bytes, width: int) -> bytes:
        padded = text.ljust(width, b"\0")
        return len(padded).to_bytes(4, "little") + padded
    return (bytes([4]) + bytes(32) + bytes(Pubkey.from_string(of_mint or mint)) + string(name, 32) + string(symbol, 10)
            + string(b"https://example.com/t.json", 200) + (0).to_bytes(2, "little") + b"\0")


def test_an_spl_symbol_comes_from_the_mints_metaplex_metadata_and_nowhere_else():
    """The symbol is read from the metadata program's account for the mint, cleaned as an ERC-20
    symbol is; an account at that address not owned by the program, or describing another
    mint, gives none."""
    with DevChainServer() as devchain:
        async def scenario():
            named, plain, spoofed, other = [(await _mint(devchain.url, 6))[0] for _ in range(4)]
            with devchain.chain.locked() as svm:
                for mint, data, owner in ((named, _metadata(named, b"USD Coin", "USDC\u202e".encode()), METADATA_PROGRAM),
                                          (spoofed, _metadata(spoofed, b"Fake", b"FAKE"), SYSTEM_PROGRAM_ID),
                                          (other, _metadata(other, b"Other", b"OTHR", of_mint=named), METADATA_PROGRAM)):
                    svm.set_account(Pubkey.from_string(metadata_address(mint)), Account(10**7, data, owner))
            chain = SolanaChain(SolanaConfig(rpc_url=devchain.url))
            try:
                return (named, plain, spoofed, other), await read_token_info(chain, [named, plain, spoofed, other])
            finally:
                await chain.close()

        (named, plain, spoofed, other), infos = asyncio.run(scenario())
    assert infos[named] == TokenInfo(decimals=6, symbol="USDC")  # the bidi override dropped
    assert infos[plain] == infos[spoofed] == infos[other] == TokenInfo(decimals=6, symbol=None)
