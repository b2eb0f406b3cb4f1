"""`map_legacy_keys`: older circuit.toml keys mapped onto the current ones before validation.

Both the current keys and the legacy ones Circuit agents still carry are accepted; the legacy
ones are mapped to the current ones before validation:

| legacy                                   | current                                              |
|------------------------------------------|------------------------------------------------------|
| defaultSleepIntervalMinutes              | runtimeIntervalMinutes                               |
| shortDescription                         | tagline                                              |
| allowedWalletTypes = [...]               | walletType (the one entry; of several, the one that  |
|                                          | matches the starting asset's network, else the first)|
| [[requiredAssets]] (one entry)           | [startingAsset] (devRunAmount kept beside it)        |
| devRunExecutionMode                      | moved to the front of allowedExecutionModes (the     |
|                                          | first entry is the default mode)                     |
| description = "..."                      | kept as `description`; DESCRIPTION.md is required    |
| slug, [benchmarkCurrency]                | accepted and kept; not used                          |
| native EVM address 0x000…000             | 0xeeee…eeee (EIP-7528)                               |

A legacy key next to its current one must agree with it; otherwise the error says which to drop.
"""

from __future__ import annotations

import json

from corral.networks import parse_or_none
from orchestrator.agents.manifest.choices import EXECUTION_MODES, WALLET_TYPES
from orchestrator.agents.manifest.problems import _did_you_mean, _one_of, _Problem, _toml

_LEGACY_TARGETS = {
    "defaultSleepIntervalMinutes": "runtimeIntervalMinutes",
    "shortDescription": "tagline",
    "allowedWalletTypes": "walletType",
    "requiredAssets": "startingAsset",
    "devRunExecutionMode": "allowedExecutionModes",
}


# Complex by design: one branch per legacy key Circuit's older docs used; each is independent.
def map_legacy_keys(data: dict) -> tuple[dict, dict[str, str], list[_Problem]]:  # noqa: C901
    """Maps legacy keys onto current ones. Returns (mapped data, {current key: legacy key it came from}, problems)."""
    data = dict(data)
    origins: dict[str, str] = {}
    problems: list[_Problem] = []

    def rename(old: str, new: str) -> None:
        if old not in data:
            return
        value = data.pop(old)
        if new in data and data[new] != value:
            problems.append(_Problem(
                f"disagrees with {new} = {_toml(data[new])}; {old} is the older name of {new}: remove {old}",
                (old,), value, absolute=True,
            ))
        elif new not in data:
            data[new] = value
            origins[new] = old

    rename("defaultSleepIntervalMinutes", "runtimeIntervalMinutes")
    rename("shortDescription", "tagline")

    if "requiredAssets" in data:
        assets = data.pop("requiredAssets")
        if not isinstance(assets, list) or not all(isinstance(a, dict) for a in assets):
            problems.append(_Problem(
                "must be an array of tables; write one [[requiredAssets]] table (or, better, a [startingAsset] table)",
                ("requiredAssets",), assets, absolute=True,
            ))
        elif len(assets) > 1:
            networks = ", ".join(_toml(a.get("network")) for a in assets)
            problems.append(_Problem(
                f"has {len(assets)} [[requiredAssets]] tables (networks {networks}); only a single starting asset is supported: "
                "keep one, or replace them with one [startingAsset] table",
                ("requiredAssets",), absolute=True,
            ))
        elif "startingAsset" in data and assets:
            problems.append(_Problem(
                f"(network = {_toml(assets[0].get('network'))}) is the older form of [startingAsset], and both are given; "
                "remove the [[requiredAssets]] table",
                ("requiredAssets",), absolute=True,
            ))
        elif assets:
            data["startingAsset"] = dict(assets[0])
            origins["startingAsset"] = "requiredAssets"

    if "allowedWalletTypes" in data:
        types = data.pop("allowedWalletTypes")
        listed = [types] if isinstance(types, str) else types
        if not isinstance(listed, list) or not listed or not all(isinstance(t, str) for t in listed):
            problems.append(_Problem(
                'must be a non-empty array of wallet types; write walletType = "ethereum" (or "solana") instead',
                ("allowedWalletTypes",), types, absolute=True,
            ))
        elif any(t not in WALLET_TYPES for t in listed):
            bad = next(t for t in listed if t not in WALLET_TYPES)
            problems.append(_Problem(
                f'has {json.dumps(bad)}, which is not {_one_of(WALLET_TYPES)}; write walletType = "ethereum" or walletType = "solana" '
                f"instead{_did_you_mean(bad, WALLET_TYPES)}",
                ("allowedWalletTypes",), types, absolute=True,
            ))
        elif "walletType" in data:
            if data["walletType"] not in listed:
                problems.append(_Problem(
                    f"does not include walletType = {_toml(data['walletType'])}; allowedWalletTypes is the older form of "
                    "walletType: remove allowedWalletTypes",
                    ("allowedWalletTypes",), types, absolute=True,
                ))
        else:
            chosen = listed[0]
            asset = data.get("startingAsset")
            network = asset.get("network") if isinstance(asset, dict) else None
            if isinstance(network, str):
                parsed = parse_or_none(network)
                matching = None if parsed is None else "solana" if parsed.is_solana else "ethereum"
                if matching in listed:
                    chosen = matching
            data["walletType"] = chosen
            origins["walletType"] = "allowedWalletTypes"

    if "devRunExecutionMode" in data:
        mode = data.pop("devRunExecutionMode")
        modes = data.get("allowedExecutionModes")
        if mode not in EXECUTION_MODES:
            problems.append(_Problem(
                f'is not "auto" or "manual"; write devRunExecutionMode = "auto" or "manual", or remove it (it is the older way to '
                f"pick the default mode: the first entry of allowedExecutionModes){_did_you_mean(mode, EXECUTION_MODES)}",
                ("devRunExecutionMode",), mode, absolute=True,
            ))
        elif modes is None:
            data["allowedExecutionModes"] = [mode]
            origins["allowedExecutionModes"] = "devRunExecutionMode"
        elif isinstance(modes, list):
            if mode not in modes:
                problems.append(_Problem(
                    f"is not in allowedExecutionModes = {_toml(modes)}; add {json.dumps(mode)} to allowedExecutionModes "
                    "or remove devRunExecutionMode",
                    ("devRunExecutionMode",), mode, absolute=True,
                ))
            else:
                data["allowedExecutionModes"] = [mode] + [m for m in modes if m != mode]
    return data, origins, problems
