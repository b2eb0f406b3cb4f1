"""The entrypoint calls unwind with whichever signature the agent's era uses."""

from __future__ import annotations

from sandbox_runner.inside.entrypoint import call_unwind
from sdk.envelopes import CurrentPosition
from sdk.portfolio import SessionPortfolio

POSITIONS = [CurrentPosition(network="ethereum:1", assetAddress="0x" + "ee" * 20, currentQty="5")]
AGENT = object()


def test_each_era_gets_what_it_declares():
    got = {}

    def v1(agent, positions):
        got["v1"] = (agent, positions)

    def v210(agent, portfolio: SessionPortfolio):
        got["v2.10"] = portfolio

    def positions_only(positions):
        got["positions"] = positions

    def agent_only(agent):
        got["agent"] = agent

    for unwind in (v1, v210, positions_only, agent_only):
        call_unwind(unwind, AGENT, POSITIONS)
    assert got["v1"] == (AGENT, POSITIONS)
    assert isinstance(got["v2.10"], SessionPortfolio) and got["v2.10"].balances[0].amountRaw == "5"
    assert got["positions"] == POSITIONS and got["agent"] is AGENT
