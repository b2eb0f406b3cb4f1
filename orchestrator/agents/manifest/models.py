"""The pydantic models of circuit.toml: StartingAsset, Setting, SandboxRequest, DependencyRequest, BenchmarkCurrency and Manifest."""

from __future__ import annotations

import json
import math
import re
from typing import Any, Literal

from pydantic import (
    BaseModel,
    ConfigDict,
    Field,
    field_validator,
    model_validator,
)

from corral.hosts import HostRule, HostRuleError, parse_rules
from corral.networks import Network, NetworkKind, is_solana, parse_or_none
from orchestrator.agents.manifest.addresses import (
    _KNOWN_CHAINS,
    LEGACY_NATIVE_EVM,
    NATIVE_EVM,
    NATIVE_SOLANA,
    address_problem,
)
from orchestrator.agents.manifest.checks import _choice, _raw_amount, _string
from orchestrator.agents.manifest.choices import (
    EXECUTION_MODES,
    LEGACY_SETTING_TYPES,
    REGIONS,
    SCHEDULES,
    SETTING_TYPES,
    WALLET_TYPES,
)
from orchestrator.agents.manifest.legacy import map_legacy_keys
from orchestrator.agents.manifest.problems import _did_you_mean, _kinds, _one_of, _Problem, _Problems, _toml

NAME_MAX = 32
TAGLINE_MAX = 32

# semver.org's own pattern: no leading zeros, optional -prerelease and +build.
_SEMVER = re.compile(
    r"^(0|[1-9]\d*)\.(0|[1-9]\d*)\.(0|[1-9]\d*)"
    r"(?:-((?:0|[1-9]\d*|\d*[a-zA-Z-][0-9a-zA-Z-]*)(?:\.(?:0|[1-9]\d*|\d*[a-zA-Z-][0-9a-zA-Z-]*))*))?"
    r"(?:\+([0-9a-zA-Z-]+(?:\.[0-9a-zA-Z-]+)*))?$"
)


class StartingAsset(BaseModel):
    """The token a user must hold to start a session, at least `minimumAmount` raw units of it."""

    model_config = ConfigDict(extra="forbid")

    network: str
    address: str
    minimumAmount: str = "0"
    devRunAmount: str | None = None  # legacy ([[requiredAssets]]): the allocation the old CLI used for dev runs

    @field_validator("network", mode="before")
    @classmethod
    def _network(cls, v: Any) -> str:
        v = _string(v, 'network = "ethereum:1"')
        if parse_or_none(v) is not None:
            return v
        lowered = v.strip().lower()
        if lowered.startswith("solana"):
            hint = 'write network = "solana"'
        elif lowered.startswith("ethereum:0x"):
            try:
                hint = f'write the chain id in decimal: network = "ethereum:{int(lowered.split(":", 1)[1], 16)}"'
            except ValueError:
                hint = 'write network = "ethereum:<chainId>", e.g. "ethereum:1"'
        elif lowered in _KNOWN_CHAINS or lowered.split(":")[0] in set(_KNOWN_CHAINS) - {"ethereum"}:
            chain = _KNOWN_CHAINS.get(lowered, _KNOWN_CHAINS.get(lowered.split(":")[0]))
            hint = f'EVM networks are "ethereum:<chainId>"; write network = "ethereum:{chain}"'
        else:
            hint = 'write network = "ethereum:<chainId>" for an EVM chain (e.g. "ethereum:1", "ethereum:137") or network = "solana"'
        raise _Problem(f"is not a network id; {hint}")

    @field_validator("address", mode="before")
    @classmethod
    def _address(cls, v: Any) -> str:
        v = _string(v, f'address = "{NATIVE_EVM}"')
        if not v.strip():
            raise _Problem(f'must not be empty; write the token\'s address, or the native token\'s: "{NATIVE_EVM}" (EVM) or "{NATIVE_SOLANA}" (Solana)')
        if v.lower() == LEGACY_NATIVE_EVM:
            return NATIVE_EVM  # older docs' native-token address, mapped to EIP-7528's
        return v

    @field_validator("minimumAmount", mode="before")
    @classmethod
    def _amount(cls, v: Any) -> str:
        return _raw_amount(v, "minimumAmount")

    @field_validator("devRunAmount", mode="before")
    @classmethod
    def _dev_amount(cls, v: Any) -> str | None:
        return None if v is None else _raw_amount(v, "devRunAmount")

    @model_validator(mode="after")
    def _address_matches_network(self) -> StartingAsset:
        network, address = self.network, self.address
        kind = Network.parse(network).kind
        if kind is NetworkKind.EVM:
            if address == NATIVE_SOLANA:
                raise _Problem(
                    f"is Solana's native-token address, but network = {json.dumps(network)} is an EVM chain; "
                    f"for its native token write address = \"{NATIVE_EVM}\"",
                    key=("address",), value=address,
                )
            problem = address_problem(address, "ethereum")
            if problem:
                raise _Problem(
                    f"{problem.replace('an ethereum agent needs', f'network {network} needs')}; "
                    f"for the native token write \"{NATIVE_EVM}\"",
                    key=("address",), value=address,
                )
        elif kind is NetworkKind.SOLANA:
            if address.lower() == NATIVE_EVM:
                raise _Problem(
                    f"is the EVM native-token address, but network = \"solana\"; for native SOL write address = \"{NATIVE_SOLANA}\"",
                    key=("address",), value=address,
                )
            problem = address_problem(address, "solana")
            if problem:
                raise _Problem(f"{problem}; for native SOL write \"{NATIVE_SOLANA}\"", key=("address",), value=address)
        if self.devRunAmount is not None and int(self.devRunAmount) < int(self.minimumAmount):
            raise _Problem(
                f"is below minimumAmount = {json.dumps(self.minimumAmount)}; a dev-run allocation must be at least the minimum: "
                f"raise devRunAmount or lower minimumAmount",
                key=("devRunAmount",), value=self.devRunAmount,
            )
        return self


class Setting(BaseModel):
    """One `[settings.<name>]` table."""

    model_config = ConfigDict(extra="forbid")

    type: Literal["text", "boolean", "single_select", "multi_select", "integer", "number", "percentage", "address"]
    description: str = ""
    default: Any = None
    required: bool = False
    options: list[str] | None = None

    @field_validator("type", mode="before")
    @classmethod
    def _type(cls, v: Any) -> str:
        if isinstance(v, str) and v in SETTING_TYPES + LEGACY_SETTING_TYPES:
            return v
        if not isinstance(v, str):
            raise _Problem(f'must be a string, not {_kinds(v)}; write type = "text" (or another setting type) in double quotes')
        synonyms = {
            "string": "text", "str": "text", "bool": "boolean", "int": "integer", "float": "number", "decimal": "number",
            "percent": "percentage", "select": "single_select", "enum": "single_select", "dropdown": "single_select",
            "wallet": "address",
        }
        hint = f' (did you mean "{synonyms[v.lower()]}"?)' if v.lower() in synonyms else _did_you_mean(v, SETTING_TYPES)
        raise _Problem(f"is not a setting type; write type = one of {_one_of(SETTING_TYPES)}{hint}")

    @field_validator("description", mode="before")
    @classmethod
    def _description(cls, v: Any) -> str:
        return _string(v, 'description = "What this setting changes"')

    @field_validator("required", mode="before")
    @classmethod
    def _required(cls, v: Any) -> bool:
        if not isinstance(v, bool):
            raise _Problem("must be true or false, without quotes; write required = true or required = false")
        return v

    @field_validator("options", mode="before")
    @classmethod
    def _options(cls, v: Any) -> list[str] | None:
        if v is None:
            return v
        if not isinstance(v, list):
            raise _Problem(f'must be an array of strings, not {_kinds(v)}; write e.g. options = ["low", "medium", "high"]')
        bad = [o for o in v if not isinstance(o, str)]
        if bad:
            raise _Problem(f"must all be strings; quote them, e.g. options = {_toml([str(o) if not isinstance(o, bool) else _toml(o) for o in v])}")
        dupes = sorted({o for o in v if v.count(o) > 1})
        if dupes:
            raise _Problem(f"lists {_one_of(dupes)} more than once; remove the duplicate")
        if any(not o.strip() for o in v):
            raise _Problem('has an empty option; remove it or give it text, e.g. options = ["low", "high"]')
        return v

    @model_validator(mode="after")
    def _consistent(self) -> Setting:
        problems: list[_Problem] = []
        kind, default = self.type, self.default
        selects = ("single_select", "multi_select")
        if kind in selects and not self.options:
            problems.append(_Problem(
                'needs its choices; add options = ["low", "medium", "high"] (your own values) to this setting', ("type",), kind
            ))
        if kind not in selects and self.options is not None:
            problems.append(_Problem(
                f'is only for single_select settings, and this one is type = "{kind}"; remove options or write type = "single_select"',
                ("options",), self.options,
            ))
        if self.required and default is not None:
            problems.append(_Problem(
                "contradicts required = true: a required setting has no default (the user must give it); "
                "remove default, or write required = false to keep it",
                ("default",), default,
            ))
        elif default is not None:
            problem = _default_problem(kind, default, self.options)
            if problem:
                problems.append(_Problem(problem, ("default",), default))
            elif kind == "integer" and isinstance(default, float):
                self.default = int(default)
        if problems:
            raise _Problems(problems)
        return self


# Complex by design: one message per kind of wrong default; each is independent.
def _default_problem(kind: str, default: Any, options: list[str] | None) -> str | None:  # noqa: C901
    """Why a TOML default does not fit its setting type (address defaults are checked against walletType later)."""
    number = isinstance(default, (int, float)) and not isinstance(default, bool)
    unquote = ""
    if isinstance(default, str) and re.fullmatch(r"[+-]?\d+(\.\d+)?", default.strip()):
        unquote = f"; write it without quotes: default = {default.strip()}"
    if kind in ("text", "address"):
        if not isinstance(default, str):
            return f'is {_kinds(default)}, but a {kind} setting\'s default is a string; put it in double quotes: default = "{_toml(default)}"'
    elif kind == "boolean":
        if not isinstance(default, bool):
            return "is not a boolean; write default = true or default = false, without quotes"
    elif kind == "integer":
        if not number or (isinstance(default, float) and not (math.isfinite(default) and default.is_integer())):
            return f"is not a whole number, and an integer setting's default must be one{unquote or '; write e.g. default = 3'}"
    elif kind in ("number", "percentage"):
        if not number or not math.isfinite(default):
            return f"is not a number{unquote or '; write e.g. default = 0.5'}"
        if kind == "percentage" and not 0 <= default <= 100:
            return "is outside 0–100; a percentage setting takes 0 to 100 (0.5 means 0.5%): write e.g. default = 0.5"
    elif kind == "single_select":
        if not isinstance(default, str):
            return f"is {_kinds(default)}; a single_select default is one of its options, in double quotes"
        if options and default not in options:
            return (
                f"is not one of its options {_toml(options)}; write default = one of them, "
                f"or add {json.dumps(default)} to options{_did_you_mean(default, options)}"
            )
    elif kind == "multi_select":
        if not isinstance(default, list) or not all(isinstance(d, str) for d in default):
            return 'is not an array of options; write e.g. default = ["low"]'
        stray = [d for d in default if options and d not in options]
        if stray:
            return f"has {_one_of(stray)}, which options {_toml(options)} do not list; remove it from default or add it to options"
    return None


class SandboxRequest(BaseModel):
    """Corral extension: an agent may ask for tighter limits than the platform's, never looser."""

    model_config = ConfigDict(extra="forbid", strict=True)

    memoryMb: int | None = Field(default=None, ge=32)
    cpus: float | None = Field(default=None, gt=0)
    pids: int | None = Field(default=None, ge=8)
    timeoutSeconds: float | None = Field(default=None, gt=0)


class DependencyRequest(BaseModel):
    """Corral extension: how the agent's declared dependencies (pyproject.toml or
    requirements.txt) may be built. By default only wheels are taken: a source distribution
    runs its own code on the build host, so each one must be named here."""

    model_config = ConfigDict(extra="forbid", strict=True)

    allowSdists: list[str] = Field(default_factory=list, max_length=50)

    @field_validator("allowSdists")
    @classmethod
    def _names(cls, v: list[str]) -> list[str]:
        for name in v:
            if not re.fullmatch(r"[A-Za-z0-9]([A-Za-z0-9._-]{0,98}[A-Za-z0-9])?", name):
                raise _Problem(f"{name!r} is not a package name; list the distributions allowed to build from source, "
                               'e.g. allowSdists = ["some-package"]')
        return v


class BenchmarkCurrency(BaseModel):
    """Legacy `[benchmarkCurrency]` (older docs): accepted and kept, not used."""

    model_config = ConfigDict(extra="forbid", strict=True)

    network: str
    address: str = ""


class NetworkRequest(BaseModel):
    """Corral extension, `[network]`: the hosts the agent's code fetches from (HTTPS on 443
    unless a rule says `host:port` or `http://host`). Nothing else is reachable; the operator's
    `egress.allow_hosts` is the ceiling, and a session's user sees these hosts when starting it."""

    model_config = ConfigDict(extra="forbid", strict=True)

    allow: list[str] = Field(default_factory=list)

    @field_validator("allow", mode="before")
    @classmethod
    def _allow(cls, v: Any) -> list[str]:
        if not isinstance(v, list) or not all(isinstance(item, str) for item in v):
            raise _Problem('must be a list of host names, e.g. allow = ["api.llama.fi", "*.coingecko.com"]')
        try:
            rules = parse_rules(v, "allow")
        except HostRuleError as exc:
            raise _Problem(str(exc).removeprefix("allow: ")) from None
        return [str(rule) for rule in rules]

    @property
    def rules(self) -> tuple[HostRule, ...]:
        return tuple(HostRule.parse(text) for text in self.allow)


class Manifest(BaseModel):
    model_config = ConfigDict(extra="forbid")

    name: str = Field(min_length=1, max_length=NAME_MAX)
    tagline: str = Field(default="", max_length=TAGLINE_MAX)
    category: str | None = None
    imageUrl: str | None = None
    walletType: Literal["ethereum", "solana"]
    allowedExecutionModes: list[Literal["auto", "manual"]] = Field(default_factory=lambda: ["auto"], min_length=1)
    runtimeIntervalMinutes: int = Field(default=60, ge=1)
    schedule: Literal["rolling", "fixed"] = "rolling"
    version: str = "0.0.1"
    filesToInclude: list[str] = Field(default_factory=list)
    filesToExclude: list[str] = Field(default_factory=list)
    deploymentRegionOverride: Literal["us-east-1", "eu-central-1"] | None = None
    startingAsset: StartingAsset | None = None
    settings: dict[str, Setting] = Field(default_factory=dict)
    sandbox: SandboxRequest = Field(default_factory=SandboxRequest)
    network: NetworkRequest = Field(default_factory=NetworkRequest)
    dependencies: DependencyRequest = Field(default_factory=DependencyRequest)
    # Legacy, kept for reference only: the text now lives in DESCRIPTION.md; slug and the benchmark are unused.
    description: str | None = None
    slug: str | None = None
    benchmarkCurrency: BenchmarkCurrency | None = None

    @model_validator(mode="before")
    @classmethod
    def _legacy_keys(cls, data: Any) -> Any:
        if not isinstance(data, dict):
            return data
        mapped, _origins, problems = map_legacy_keys(data)
        if problems:
            raise _Problems(problems)
        return mapped

    @field_validator("name", mode="before")
    @classmethod
    def _name(cls, v: Any) -> str:
        v = _string(v, 'name = "My Agent"')
        if not v.strip():
            raise _Problem('must not be empty; give the agent a name of at most 32 characters, e.g. name = "My Agent"')
        if len(v) > NAME_MAX:
            raise _Problem(
                f"is {len(v)} characters; the limit is {NAME_MAX}: shorten it, e.g. name = {json.dumps(v[:NAME_MAX].rstrip())} "
                "(choose carefully: the name is the agent's identity, and renaming it later makes a new agent)"
            )
        return v

    @field_validator("tagline", mode="before")
    @classmethod
    def _tagline(cls, v: Any) -> str:
        v = _string(v, 'tagline = "Dollar-cost average"')
        if len(v) > TAGLINE_MAX:
            raise _Problem(f"is {len(v)} characters; the limit is {TAGLINE_MAX}: shorten it, e.g. to {json.dumps(v[:TAGLINE_MAX].rstrip())}")
        return v

    @field_validator("category", "slug", "description", mode="before")
    @classmethod
    def _text(cls, v: Any) -> str | None:
        return None if v is None else _string(v, '"..."')

    @field_validator("imageUrl", mode="before")
    @classmethod
    def _image_url(cls, v: Any) -> str | None:
        if v is None:
            return v
        v = _string(v, 'imageUrl = "https://cdn.circuit.org/agents/default"')
        if not re.match(r"^https?://\S+$", v):
            raise _Problem('is not an http(s) URL; write e.g. imageUrl = "https://cdn.circuit.org/agents/default", or remove the key')
        return v

    @field_validator("walletType", mode="before")
    @classmethod
    def _wallet_type(cls, v: Any) -> str:
        hint = ' (EVM chains: Ethereum, Polygon, Arbitrum, Base … are all "ethereum")' if isinstance(v, str) and v.lower() in (
            set(_KNOWN_CHAINS) - {"ethereum"}) else ""
        if isinstance(v, list):
            raise _Problem(f'must be one string, not an array; write walletType = {json.dumps(str(v[0]) if v else "ethereum")}')
        return _choice(v, "walletType", WALLET_TYPES, hint)

    @field_validator("allowedExecutionModes", mode="before")
    @classmethod
    def _modes(cls, v: Any) -> list[str]:
        if isinstance(v, str):
            raise _Problem(f"must be an array, not a string; write allowedExecutionModes = [{json.dumps(v)}]")
        if not isinstance(v, list):
            raise _Problem(f'must be an array, not {_kinds(v)}; write e.g. allowedExecutionModes = ["auto", "manual"]')
        if not v:
            raise _Problem('is empty; list at least one mode, the default first: allowedExecutionModes = ["auto"] or ["manual", "auto"]')
        bad = [m for m in v if m not in EXECUTION_MODES]
        if bad:
            raise _Problem(
                f'has {_toml(bad[0])}, which is not a mode; each entry is "auto" or "manual" '
                f'(the first is the default), e.g. allowedExecutionModes = ["auto", "manual"]{_did_you_mean(bad[0], EXECUTION_MODES)}'
            )
        dupes = sorted({m for m in v if v.count(m) > 1})
        if dupes:
            raise _Problem(f"lists {_one_of(dupes)} more than once; remove the duplicate")
        return v

    @field_validator("runtimeIntervalMinutes", mode="before")
    @classmethod
    def _interval(cls, v: Any) -> int:
        if isinstance(v, float) and math.isfinite(v) and v.is_integer():
            v = int(v)
        if isinstance(v, str) and re.fullmatch(r"\s*\d+\s*", v):
            raise _Problem(f"is a string; write the number without quotes: runtimeIntervalMinutes = {v.strip()}")
        if isinstance(v, bool) or not isinstance(v, int):
            raise _Problem("must be a whole number of minutes; write e.g. runtimeIntervalMinutes = 60")
        if v < 1:
            raise _Problem("must be at least 1 minute; write e.g. runtimeIntervalMinutes = 60")
        return v

    @field_validator("schedule", mode="before")
    @classmethod
    def _schedule(cls, v: Any) -> str:
        return _choice(v, "schedule", SCHEDULES, " (rolling: the interval counts from the end of the previous run; fixed: clock-aligned)")

    @field_validator("version", mode="before")
    @classmethod
    def _semver(cls, v: Any) -> str:
        if isinstance(v, (int, float)) and not isinstance(v, bool):
            parts = (str(v).split(".") + ["0", "0"])[:3]
            raise _Problem(f'is a number; version is a semver string: write version = "{".".join(parts)}" (in double quotes)')
        v = _string(v, 'version = "1.0.0"')
        if _SEMVER.match(v):
            return v
        stripped = v.strip()
        if stripped != v and _SEMVER.match(stripped):
            hint = f'remove the spaces: version = "{stripped}"'
        elif re.fullmatch(r"[vV]\d+\.\d+\.\d+.*", stripped) and _SEMVER.match(stripped[1:]):
            hint = f'drop the "v": version = "{stripped[1:]}"'
        elif re.fullmatch(r"\d+(\.\d+)?", stripped):
            parts = (stripped.split(".") + ["0", "0"])[:3]
            hint = f'give all three parts MAJOR.MINOR.PATCH: version = "{".".join(str(int(p)) for p in parts)}"'
        elif re.fullmatch(r"\d+\.\d+\.\d+", stripped):
            hint = f'drop the leading zeros: version = "{".".join(str(int(p)) for p in stripped.split("."))}"'
        else:
            hint = 'write MAJOR.MINOR.PATCH, e.g. version = "1.0.0" (optionally "1.0.0-beta.1")'
        raise _Problem(f"is not semver; {hint}")

    @field_validator("filesToInclude", "filesToExclude", mode="before")
    @classmethod
    def _paths(cls, v: Any) -> list[str]:
        if isinstance(v, str):
            raise _Problem(f"must be an array of paths, not a string; write [{json.dumps(v)}]")
        if not isinstance(v, list) or not all(isinstance(p, str) for p in v):
            raise _Problem('must be an array of path strings; write e.g. ["../shared"]')
        return v

    @field_validator("deploymentRegionOverride", mode="before")
    @classmethod
    def _region(cls, v: Any) -> str | None:
        return None if v is None else _choice(v, "deploymentRegionOverride", REGIONS, ", or remove the key for the default (us-east-1)")

    @model_validator(mode="after")
    def _cross_checks(self) -> Manifest:
        problems: list[_Problem] = []
        asset = self.startingAsset
        if asset is not None:
            if self.walletType == NetworkKind.EVM and is_solana(asset.network):
                problems.append(_Problem(
                    'is a Solana network, but walletType = "ethereum"; an ethereum agent\'s starting asset is on an '
                    '"ethereum:<chainId>" network (e.g. "ethereum:1"): fix network, or write walletType = "solana"',
                    ("startingAsset", "network"), asset.network,
                ))
            elif self.walletType == NetworkKind.SOLANA and not is_solana(asset.network):
                problems.append(_Problem(
                    f'is not Solana, but walletType = "solana"; a solana agent\'s starting asset is on network = "solana": '
                    f'fix network (and address, e.g. "{NATIVE_SOLANA}" for native SOL), or write walletType = "ethereum"',
                    ("startingAsset", "network"), asset.network,
                ))
        for name, setting in self.settings.items():
            if setting.type == "address" and setting.default is not None:
                problem = address_problem(setting.default, self.walletType)
                if problem:
                    problems.append(_Problem(
                        f"must be {'an' if self.walletType == 'ethereum' else 'a'} {self.walletType} address "
                        f"(walletType = \"{self.walletType}\"), but it {problem}",
                        ("settings", name, "default"), setting.default,
                    ))
        if problems:
            raise _Problems(problems)
        return self

    @property
    def default_execution_mode(self) -> str:
        return self.allowedExecutionModes[0]
