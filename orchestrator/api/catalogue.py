"""The agent catalogue: what an Agent message says about the agent beyond its manifest's
basics — its DESCRIPTION.md (summary, risks) and its settings schema as data, so a console
can draw the start form without parsing circuit.toml."""

from __future__ import annotations

import json
from typing import Any

from corral.v1 import orchestrator_pb2
from orchestrator.agents.description import parse_description
from orchestrator.agents.manifest import Manifest, Setting
from orchestrator.store import AgentRow

# Types whose values are bounded by the type itself (settings.coerce refuses values outside).
_TYPE_BOUNDS = {"percentage": ("0", "100")}


def _as_given(value: Any) -> str:
    """A default as a session would give it in StartSession.settings."""
    if isinstance(value, bool):
        return "true" if value else "false"
    if isinstance(value, list):
        return json.dumps(value)
    return str(value)


def setting_message(name: str, setting: Setting) -> orchestrator_pb2.AgentSetting:
    message = orchestrator_pb2.AgentSetting(
        name=name, type=setting.type, description=setting.description, required=setting.required and setting.default is None,
        options=setting.options or [],
    )
    if setting.default is not None:
        message.default_value = _as_given(setting.default)
    if setting.type in _TYPE_BOUNDS:
        message.minimum, message.maximum = _TYPE_BOUNDS[setting.type]
    return message


def catalogue_fields(row: AgentRow, manifest: Manifest) -> dict[str, Any]:
    """The Agent message's catalogue fields (description, summary, risks, settings)."""
    description = parse_description(row.description)
    return {
        "description": description.markdown, "summary": description.summary, "risks": description.risks,
        "settings": [setting_message(name, setting) for name, setting in manifest.settings.items()],
    }
