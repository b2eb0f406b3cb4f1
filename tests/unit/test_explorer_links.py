"""Explorer link templates ([chains.*] and [solana] explorer_tx_url): a template that could
not be filled, or that is not an http(s) link, is refused at start-up with the fix, never at
the first ListTransactions."""

from __future__ import annotations

import pytest
from pydantic import ValidationError

from orchestrator.config import ChainConfig, SolanaConfig, explorer_link


@pytest.mark.parametrize("config", [ChainConfig, SolanaConfig])
def test_a_template_with_the_hash_is_taken(config):
    assert config(rpc_url="http://node", explorer_tx_url="https://etherscan.io/tx/{tx_hash}").explorer_tx_url == "https://etherscan.io/tx/{tx_hash}"


@pytest.mark.parametrize("config", [ChainConfig, SolanaConfig])
@pytest.mark.parametrize("template", [
    "https://explorer.example/{network}/tx/{tx_hash}",  # a field nothing fills
    "https://explorer.example/tx/{0}",
    "https://explorer.example/tx/",  # no hash
    "javascript:alert(1)//{tx_hash}",  # not a web link
    "https://explorer.example/tx/{tx_hash",
    "https://explorer.example/tx/{{tx_hash}}",  # an escaped brace: no hash would be put in
    "https://explorer.example/{tx_hash}/{tx_hash:>999999999}",  # a format spec (a gigabyte per link)
    "https://explorer.example/{tx_hash.__class__}",
    "https://{tx_hash}.example/",  # the hash is not the host
])
def test_a_template_that_cannot_make_a_link_is_refused_naming_the_fix(config, template):
    with pytest.raises(ValidationError) as refused:
        config(rpc_url="http://node", explorer_tx_url=template)
    assert "explorer_tx_url" in str(refused.value) and "{tx_hash}" in str(refused.value)


def test_a_link_puts_the_hash_in_quoted():
    assert explorer_link("https://x.example/tx/{tx_hash}?cluster=devnet", "0xab") == "https://x.example/tx/0xab?cluster=devnet"
    assert explorer_link("https://x.example/tx/{tx_hash}", "a/b?c#d") == "https://x.example/tx/a%2Fb%3Fc%23d"
