"""Agent settings: session overrides (strings from the API) typed by the manifest,
falling back to the manifest's defaults."""

from __future__ import annotations

import re
from typing import Any

from orchestrator.manifest import Manifest, Setting

_EVM_ADDRESS = re.compile(r"^0x[0-9a-fA-F]{40}$")
_SOLANA_ADDRESS = re.compile(r"^[1-9A-HJ-NP-Za-km-z]{32,44}$")


class SettingError(ValueError):
    pass


def coerce(name: str, setting: Setting, raw: str, wallet_type: str) -> Any:
    """Turns a string from the API into the setting's type, or says what to fix."""
    kind = setting.type
    if kind == "boolean":
        lowered = raw.strip().lower()
        if lowered not in ("true", "false"):
            raise SettingError(f"setting {name!r} is a boolean; give true or false, not {raw!r}")
        return lowered == "true"
    if kind == "integer":
        try:
            return int(raw)
        except ValueError:
            raise SettingError(f"setting {name!r} is an integer; {raw!r} is not a whole number") from None
    if kind in ("number", "percentage"):
        try:
            value = float(raw)
        except ValueError:
            raise SettingError(f"setting {name!r} is a {kind}; {raw!r} is not a number") from None
        if kind == "percentage" and not 0 <= value <= 100:
            raise SettingError(f"setting {name!r} is a percentage; {raw!r} is outside 0–100")
        return value
    if kind == "single_select" and setting.options and raw not in setting.options:
        raise SettingError(f"setting {name!r} must be one of {setting.options}; got {raw!r}")
    if kind == "address":
        pattern = _EVM_ADDRESS if wallet_type == "ethereum" else _SOLANA_ADDRESS
        if not pattern.match(raw):
            raise SettingError(f"setting {name!r} must be a {wallet_type} address; got {raw!r}")
    return raw


def resolve(manifest: Manifest, overrides: dict[str, str]) -> dict[str, Any]:
    """Resolved settings: session override > manifest default. Raises SettingError."""
    unknown = sorted(set(overrides) - set(manifest.settings))
    if unknown:
        raise SettingError(f"unknown settings {unknown}; this agent has {sorted(manifest.settings)}")
    resolved: dict[str, Any] = {}
    for name, setting in manifest.settings.items():
        if name in overrides:
            resolved[name] = coerce(name, setting, overrides[name], manifest.walletType)
        elif setting.default is not None:
            resolved[name] = setting.default
        elif setting.required:
            raise SettingError(f"setting {name!r} is required; give it with settings[{name!r}]")
    return resolved
