"""A paper fork that dies before it is ready: the refusal says where its output is, never what
it printed (an anvil that cannot reach its node prints the node's URL, often with a provider's
key in it, and the refusal goes back to an API caller); nothing is left running or counted."""

from __future__ import annotations

import asyncio

import pytest

from orchestrator.chains.evm import EvmChain
from orchestrator.chains.paper_forks import ForkError, PaperForks
from orchestrator.config import ChainConfig, PaperConfig

SECRET_URL = "http://127.0.0.1:9/v3/provider-key-0123456789"


def test_a_fork_that_dies_says_where_its_output_is_and_not_what_it_printed(tmp_path):
    dying = tmp_path / "anvil"
    dying.write_text('#!/bin/sh\necho "error: could not fork from $2"\nexit 3\n')
    dying.chmod(0o755)
    forks = PaperForks(PaperConfig(anvil_path=str(dying)), tmp_path / "forks")
    source = EvmChain("ethereum:1", ChainConfig(rpc_url=SECRET_URL))

    with pytest.raises(ForkError) as died:
        asyncio.run(forks.start(7, source, block=5))
    assert "exited (3)" in str(died.value) and "session-7.log" in str(died.value)
    assert "provider-key" not in str(died.value)
    assert "provider-key" in (tmp_path / "forks" / "session-7.log").read_text()  # the operator still has it
    assert forks.running() == []
