"""circuit.toml: parsed with tomli into pydantic models, with errors that name the fix.

Both the current keys and the legacy ones Circuit agents still carry
(defaultSleepIntervalMinutes, allowedWalletTypes, shortDescription, [[requiredAssets]])
are accepted; legacy keys are mapped to the current ones.
"""

from __future__ import annotations

import re
from pathlib import Path
from typing import Any, Literal

import tomli
from pydantic import (
    BaseModel,
    ConfigDict,
    Field,
    ValidationError,
    field_validator,
    model_validator,
)

NATIVE_EVM = "0xeeeeeeeeeeeeeeeeeeeeeeeeeeeeeeeeeeeeeeee"
NATIVE_SOLANA = "11111111111111111111111111111111"
_SEMVER = re.compile(r"^\d+\.\d+\.\d+(?:-[0-9A-Za-z.-]+)?(?:\+[0-9A-Za-z.-]+)?$")
_TOP_LEVEL_KEYS = {
    "name", "tagline", "category", "imageUrl", "walletType", "allowedExecutionModes", "runtimeIntervalMinutes",
    "schedule", "version", "filesToInclude", "filesToExclude", "deploymentRegionOverride", "description",
    "defaultSleepIntervalMinutes", "allowedWalletTypes", "shortDescription", "devRunExecutionMode",
}


class ManifestError(ValueError):
    """A circuit.toml problem, phrased as what to fix."""


class StartingAsset(BaseModel):
    model_config = ConfigDict(extra="forbid")

    network: str
    address: str
    minimumAmount: str = "0"

    @field_validator("network")
    @classmethod
    def _network(cls, v: str) -> str:
        if v == "solana" or re.fullmatch(r"ethereum:[1-9]\d*", v) or re.fullmatch(r"hypercore:[a-z0-9-]+", v):
            return v
        raise ValueError(f"network {v!r} must be 'ethereum:<chainId>', 'solana' or 'hypercore:perp|spot'")

    @field_validator("minimumAmount", mode="before")
    @classmethod
    def _amount(cls, v: Any) -> str:
        text = str(v)
        if isinstance(v, float) or not text.isdigit():
            raise ValueError(f"minimumAmount {v!r} must be an integer string in the asset's smallest unit, e.g. \"1000000\"")
        return text


class Setting(BaseModel):
    model_config = ConfigDict(extra="forbid")

    type: Literal["text", "boolean", "single_select", "multi_select", "integer", "number", "percentage", "address"]
    description: str = ""
    default: Any = None
    required: bool = False
    options: list[str] | None = None


class SandboxRequest(BaseModel):
    """Corral extension: an agent may ask for tighter limits than the platform's, never looser."""

    model_config = ConfigDict(extra="forbid")

    memoryMb: int | None = Field(default=None, ge=32)
    cpus: float | None = Field(default=None, gt=0)
    pids: int | None = Field(default=None, ge=8)
    timeoutSeconds: float | None = Field(default=None, gt=0)


class Manifest(BaseModel):
    model_config = ConfigDict(extra="forbid")

    name: str = Field(min_length=1, max_length=32)
    tagline: str = Field(default="", max_length=32)
    category: str | None = None
    imageUrl: str | None = None
    walletType: Literal["ethereum", "solana"]
    allowedExecutionModes: list[Literal["auto", "manual"]] = Field(default_factory=lambda: ["auto"], min_length=1)
    runtimeIntervalMinutes: int = Field(default=60, ge=1)
    schedule: Literal["rolling", "fixed"] = "rolling"
    version: str = "0.0.1"
    filesToInclude: list[str] = Field(default_factory=list)
    filesToExclude: list[str] = Field(default_factory=list)
    deploymentRegionOverride: str | None = None
    startingAsset: StartingAsset | None = None
    settings: dict[str, Setting] = Field(default_factory=dict)
    sandbox: SandboxRequest = Field(default_factory=SandboxRequest)

    @field_validator("version")
    @classmethod
    def _semver(cls, v: str) -> str:
        if not _SEMVER.match(v):
            raise ValueError(f"version {v!r} must be semver, e.g. \"1.0.0\"")
        return v

    @model_validator(mode="before")
    @classmethod
    def _legacy_keys(cls, data: Any) -> Any:
        if not isinstance(data, dict):
            return data
        data = dict(data)
        if "defaultSleepIntervalMinutes" in data:
            data.setdefault("runtimeIntervalMinutes", data.pop("defaultSleepIntervalMinutes"))
        if "allowedWalletTypes" in data:
            types = data.pop("allowedWalletTypes")
            data.setdefault("walletType", types[0] if isinstance(types, list) and types else types)
        if "shortDescription" in data:
            data.setdefault("tagline", data.pop("shortDescription"))
        if "requiredAssets" in data:
            assets = data.pop("requiredAssets")
            if isinstance(assets, list) and assets:
                first = {k: v for k, v in assets[0].items() if k in ("network", "address", "minimumAmount")}
                data.setdefault("startingAsset", first)
        data.pop("devRunExecutionMode", None)
        data.pop("description", None)
        data.pop("devRunAmount", None)
        return data

    @property
    def default_execution_mode(self) -> str:
        return self.allowedExecutionModes[0]


def parse_manifest(text: str, source: str = "circuit.toml") -> Manifest:
    try:
        data = tomli.loads(text)
    except tomli.TOMLDecodeError as exc:
        raise ManifestError(f"{source}: not valid TOML: {exc}") from None
    _check_misplaced_top_level_keys(data, source)
    try:
        return Manifest.model_validate(data)
    except ValidationError as exc:
        raise ManifestError(_describe(exc, data, source)) from None


def _check_misplaced_top_level_keys(data: dict, source: str) -> None:
    """The classic TOML mistake: a top-level key written after a [table] header lands in that table."""
    for table_name in ("startingAsset", "sandbox"):
        table = data.get(table_name)
        if isinstance(table, dict):
            for key in table:
                if key in _TOP_LEVEL_KEYS:
                    raise ManifestError(
                        f"{source}: key {key!r} is inside [{table_name}] because it comes after that header; "
                        f"move `{key} = ...` above the first [table] header"
                    )
    for setting_name, setting in (data.get("settings") or {}).items():
        if isinstance(setting, dict):
            for key in setting:
                if key in _TOP_LEVEL_KEYS and key not in Setting.model_fields:
                    raise ManifestError(
                        f"{source}: key {key!r} is inside [settings.{setting_name}] because it comes after that header; "
                        f"move `{key} = ...` above the first [table] header"
                    )


def _describe(exc: ValidationError, data: dict, source: str) -> str:
    lines = []
    for err in exc.errors():
        loc = ".".join(str(p) for p in err["loc"]) or "(top level)"
        value = err.get("input")
        if err["type"] == "missing":
            lines.append(f"{source}: key {loc!r} is required; add it")
        elif err["type"] == "extra_forbidden":
            lines.append(f"{source}: key {loc!r} is not a circuit.toml key; remove it or check its spelling")
        else:
            lines.append(f"{source}: key {loc!r} = {value!r}: {err['msg']}")
    return "\n".join(lines)


def load_manifest_dir(agent_dir: Path) -> tuple[Manifest, str]:
    """Reads and validates an agent directory's circuit.toml; DESCRIPTION.md and main.py must exist."""
    path = agent_dir / "circuit.toml"
    if not path.exists():
        raise ManifestError(f"{agent_dir}: no circuit.toml; create one (`corral new NAME` scaffolds it)")
    for required in ("DESCRIPTION.md", "main.py"):
        if not (agent_dir / required).exists():
            raise ManifestError(f"{agent_dir}: {required} is required; add it")
    text = path.read_text()
    return parse_manifest(text, str(path)), text
