"""The agent catalogue a console draws from: DESCRIPTION.md (its summary and risks) and the
settings schema as data, on every Agent message; what is read from an image is bounded."""

from __future__ import annotations

import grpc

from corral.limits import DESCRIPTION_MAX_BYTES
from corral.v1 import orchestrator_pb2 as pb
from sandbox_runner.host.backend import ENTRYPOINT, ImageInfo
from sandbox_runner.host.images import CONTRACT_LABEL, DESCRIPTION_LABEL, ENTRYPOINT_CONTRACT, MANIFEST_LABEL
from tests.integration.api_in_process import serving

MANIFEST = """
name = "Grid"
walletType = "ethereum"
allowedExecutionModes = ["auto"]
runtimeIntervalMinutes = 5
version = "1.2.3"

[startingAsset]
network = "ethereum:31337"
address = "0xeeeeeeeeeeeeeeeeeeeeeeeeeeeeeeeeeeeeeeee"
minimumAmount = "1000"

[settings.spread]
type = "percentage"
description = "Distance between grid lines"
default = 0.5

[settings.side]
type = "single_select"
options = ["buy", "sell"]
default = "buy"

[settings.dry_run]
type = "boolean"
default = false

[settings.target]
type = "address"
required = true
"""

DESCRIPTION = """# Grid

## Summary
Buys low, sells high on a grid.

## How it works
Lines.

## Risks
A trend \x1b[31mthrough\x1b[0m the grid leaves it holding the falling asset.
"""


class Images:
    def __init__(self, labels: dict[str, str]) -> None:
        self.labels = labels

    def inspect_image(self, image: str) -> ImageInfo:
        return ImageInfo(image_id=f"sha256:{image}", labels=self.labels, entrypoint=list(ENTRYPOINT))


def _labels(description: str | None) -> dict[str, str]:
    labels = {CONTRACT_LABEL: ENTRYPOINT_CONTRACT, MANIFEST_LABEL: MANIFEST}
    if description is not None:
        labels[DESCRIPTION_LABEL] = description
    return labels


def test_an_agent_shows_its_description_risks_and_settings_schema(tmp_path):
    with serving(tmp_path) as api:
        api.servicer._backend = Images(_labels(DESCRIPTION))
        code, details, registered = api.call("RegisterAgent", pb.RegisterAgentRequest(image="grid:1"))
        assert code == grpc.StatusCode.OK, details
        code, _, listed = api.call("ListAgents", pb.ListAgentsRequest())
        agent = next(a for a in listed.agents if a.name == "Grid")
        assert agent == registered.agent
        assert agent.summary == "Buys low, sells high on a grid."
        # The author's text, without its terminal escapes.
        assert agent.risks == "A trend [31mthrough[0m the grid leaves it holding the falling asset."
        assert "\x1b" not in agent.description and agent.description.startswith("# Grid\n\n## Summary")
        settings = {s.name: s for s in agent.settings}
        assert list(settings) == ["spread", "side", "dry_run", "target"]
        assert settings["spread"].type == "percentage" and settings["spread"].default_value == "0.5"
        assert (settings["spread"].minimum, settings["spread"].maximum) == ("0", "100")
        assert settings["spread"].description == "Distance between grid lines"
        assert list(settings["side"].options) == ["buy", "sell"] and settings["side"].default_value == "buy"
        assert settings["dry_run"].default_value == "false" and not settings["dry_run"].HasField("minimum")
        assert settings["target"].required and not settings["target"].HasField("default_value")


def test_an_image_without_a_description_label_is_listed_without_one(tmp_path):
    with serving(tmp_path) as api:
        api.servicer._backend = Images(_labels(None))
        code, details, registered = api.call("RegisterAgent", pb.RegisterAgentRequest(image="old:1"))
        assert code == grpc.StatusCode.OK, details
        assert registered.agent.description == "" and registered.agent.risks == ""
        assert len(registered.agent.settings) == 4


def test_an_oversized_description_is_refused_and_nothing_registered(tmp_path):
    with serving(tmp_path) as api:
        api.servicer._backend = Images(_labels("x" * (DESCRIPTION_MAX_BYTES + 1)))
        before = api.dump()
        code, details, _ = api.call("RegisterAgent", pb.RegisterAgentRequest(image="big:1"))
        assert code == grpc.StatusCode.INVALID_ARGUMENT
        assert "DESCRIPTION.md" in details and "65,536" in details and "shorten it" in details
        assert api.dump() == before
