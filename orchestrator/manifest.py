"""circuit.toml: parsed with tomli into pydantic models, with errors that name the fix.

Every error names the key, the offending value and what to write instead, e.g.

    circuit.toml: walletType = "tron" is not one of "ethereum" or "solana"; write walletType = "ethereum" or walletType = "solana"

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

import difflib
import json
import math
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
LEGACY_NATIVE_EVM = "0x0000000000000000000000000000000000000000"

NAME_MAX = 32
TAGLINE_MAX = 32
WALLET_TYPES = ("ethereum", "solana")
EXECUTION_MODES = ("auto", "manual")
SCHEDULES = ("rolling", "fixed")
REGIONS = ("us-east-1", "eu-central-1")
SETTING_TYPES = ("text", "boolean", "single_select", "integer", "number", "percentage", "address")
LEGACY_SETTING_TYPES = ("multi_select",)  # older docs ("advanced settings"); a list of options

# semver.org's own pattern: no leading zeros, optional -prerelease and +build.
_SEMVER = re.compile(
    r"^(0|[1-9]\d*)\.(0|[1-9]\d*)\.(0|[1-9]\d*)"
    r"(?:-((?:0|[1-9]\d*|\d*[a-zA-Z-][0-9a-zA-Z-]*)(?:\.(?:0|[1-9]\d*|\d*[a-zA-Z-][0-9a-zA-Z-]*))*))?"
    r"(?:\+([0-9a-zA-Z-]+(?:\.[0-9a-zA-Z-]+)*))?$"
)
_EVM_NETWORK = re.compile(r"^ethereum:([1-9]\d*)$")
_HYPERCORE_NETWORK = re.compile(r"^hypercore:[a-z0-9-]+$")
_EVM_ADDRESS = re.compile(r"^0x[0-9a-fA-F]{40}$")
_BASE58 = "123456789ABCDEFGHJKLMNPQRSTUVWXYZabcdefghijkmnopqrstuvwxyz"
_BARE_KEY = re.compile(r"^[A-Za-z0-9_-]+$")
_KNOWN_CHAINS = {
    "ethereum": 1, "mainnet": 1, "eth": 1, "evm": 1, "polygon": 137, "matic": 137, "arbitrum": 42161, "optimism": 10,
    "base": 8453, "avalanche": 43114, "avax": 43114, "bsc": 56,
}

_TOP_LEVEL_KEYS = {
    "name", "tagline", "category", "imageUrl", "walletType", "allowedExecutionModes", "runtimeIntervalMinutes",
    "schedule", "version", "filesToInclude", "filesToExclude", "deploymentRegionOverride", "description",
    "defaultSleepIntervalMinutes", "allowedWalletTypes", "shortDescription", "devRunExecutionMode", "slug",
}
_TABLES = ("startingAsset", "settings", "sandbox", "benchmarkCurrency", "requiredAssets")
_EXAMPLES = {
    "name": 'name = "My Agent"',
    "walletType": 'walletType = "ethereum"',
    "startingAsset.network": 'network = "ethereum:1"',
    "startingAsset.address": f'address = "{NATIVE_EVM}"',
    "benchmarkCurrency.network": 'network = "fiat:usd"',
}


class ManifestError(ValueError):
    """A circuit.toml problem, phrased as what to fix."""


_UNSET: Any = object()


class _Problem(ValueError):
    """One mistake. `key` is relative to where pydantic found it unless `absolute`; `value` defaults to
    the input pydantic reports. `text` says what is wrong and what to write instead."""

    def __init__(self, text: str, key: tuple = (), value: Any = _UNSET, absolute: bool = False) -> None:
        super().__init__(text)
        self.text, self.key, self.value, self.absolute = text, tuple(key), value, absolute


class _Problems(ValueError):
    def __init__(self, problems: list[_Problem]) -> None:
        super().__init__("; ".join(p.text for p in problems))
        self.problems = problems


# --------------------------------------------------------------------------- rendering


def _toml(value: Any, limit: int = 80) -> str:
    """A value as it would be written in circuit.toml (shortened when long)."""
    if isinstance(value, bool):
        text = "true" if value else "false"
    elif isinstance(value, str):
        text = json.dumps(value, ensure_ascii=False)
    elif isinstance(value, (int, float)):
        text = repr(value)
    elif isinstance(value, list):
        text = "[" + ", ".join(_toml(v, limit) for v in value) + "]"
    elif isinstance(value, dict):
        text = "{ " + ", ".join(f"{_key_part(k)} = {_toml(v, limit)}" for k, v in value.items()) + " }" if value else "{}"
    elif hasattr(value, "isoformat"):
        text = value.isoformat()
    else:
        text = repr(value)
    return text if len(text) <= limit else text[: limit - 1] + "…"


def _key_part(part: Any) -> str:
    part = str(part)
    return part if _BARE_KEY.match(part) else json.dumps(part)


def _path(parts: tuple, origins: dict[str, str] | None = None) -> str:
    out = ""
    for i, part in enumerate(parts):
        if isinstance(part, int):
            out += f"[{part}]"
            continue
        if i == 0 and origins and part in origins:
            part = origins[part]
        out += ("." if out else "") + _key_part(part)
    return out


def _kinds(value: Any) -> str:
    if isinstance(value, bool):
        return "a boolean"
    if isinstance(value, int):
        return "an integer"
    if isinstance(value, float):
        return "a number"
    if isinstance(value, str):
        return "a string"
    if isinstance(value, list):
        return "an array"
    if isinstance(value, dict):
        return "a table"
    return type(value).__name__


def _one_of(values: tuple | list) -> str:
    quoted = [json.dumps(v) for v in values]
    return quoted[0] if len(quoted) == 1 else ", ".join(quoted[:-1]) + " or " + quoted[-1]


def _did_you_mean(word: str, choices) -> str:
    close = difflib.get_close_matches(str(word), list(choices), n=1, cutoff=0.6)
    if not close:
        lowered = {c.lower(): c for c in choices}
        if str(word).lower() in lowered:
            close = [lowered[str(word).lower()]]
    return f" (did you mean {close[0]!r}?)" if close else ""


# --------------------------------------------------------------------------- shared value checks


def _string(value: Any, example: str) -> str:
    if not isinstance(value, str):
        raise _Problem(f"must be a string, not {_kinds(value)}; put it in double quotes, e.g. {example}")
    return value


def _choice(value: Any, key: str, choices: tuple[str, ...], hint: str = "") -> str:
    if isinstance(value, str) and value in choices:
        return value
    if not isinstance(value, str):
        raise _Problem(f"must be a string, not {_kinds(value)}; write {key} = {json.dumps(choices[0])} (in double quotes)")
    options = " or ".join(f"{key} = {json.dumps(c)}" for c in choices)
    raise _Problem(f"is not one of {_one_of(choices)}; write {options}{hint}{_did_you_mean(value, choices)}")


def _base58_length(text: str) -> int | None:
    """How many bytes a base58 string decodes to; None when it is not base58 (or far too long for a key)."""
    if len(text) > 64:
        return None
    number = 0
    for ch in text:
        digit = _BASE58.find(ch)
        if digit < 0:
            return None
        number = number * 58 + digit
    return len(text) - len(text.lstrip("1")) + (number.bit_length() + 7) // 8


def address_problem(address: Any, wallet_type: str) -> str | None:
    """Why `address` is not an address of `wallet_type`'s chains, with the fix; None when it is."""
    if not isinstance(address, str):
        return f"must be a string, not {_kinds(address)}; put the address in double quotes"
    if wallet_type == "ethereum":
        if _EVM_ADDRESS.match(address):
            body = address[2:]
            if body != body.lower() and body != body.upper():
                from eth_utils import is_checksum_address

                if not is_checksum_address(address):
                    return (
                        "is mixed-case but its EIP-55 checksum is wrong (a typo?); copy the address again, "
                        "or write it all in lowercase to skip the checksum"
                    )
            return None
        if _base58_length(address) == 32:
            return "is a Solana address; an ethereum agent needs 0x followed by 40 hex digits, e.g. \"0x000000000000000000000000000000000000dEaD\""
        return "is not an EVM address; write 0x followed by 40 hex digits, e.g. \"0x000000000000000000000000000000000000dEaD\""
    if wallet_type == "solana":
        if 32 <= len(address) <= 44 and _base58_length(address) == 32:
            return None
        if _EVM_ADDRESS.match(address):
            return f"is an EVM address; a solana agent needs a base58 Solana address (32 bytes), e.g. \"{NATIVE_SOLANA}\""
        return f"is not a Solana address; write a base58 public key (32–44 characters, 32 bytes), e.g. \"{NATIVE_SOLANA}\""
    return f"cannot be checked: walletType {wallet_type!r} is not {_one_of(WALLET_TYPES)}"


def _raw_amount(value: Any, key: str) -> str:
    """Raw smallest-unit amounts: TOML integers or integer strings, never decimals."""
    if isinstance(value, bool) or not isinstance(value, (int, str, float)):
        raise _Problem(f"must be an integer string in the asset's smallest unit, not {_kinds(value)}; write e.g. {key} = \"1000000\"")
    text = str(value).strip() if isinstance(value, str) else repr(value)
    if isinstance(value, int) or re.fullmatch(r"[0-9]+", text):
        number = int(text)
        if number < 0:
            raise _Problem(f"must not be negative; write a whole number of the asset's smallest unit, e.g. {key} = \"1000000\"")
        return str(number)
    if re.fullmatch(r"-[0-9]+", text):
        raise _Problem(f"must not be negative; write a whole number of the asset's smallest unit, e.g. {key} = \"1000000\"")
    if re.fullmatch(r"-?([0-9]+\.[0-9]*|\.[0-9]+)", text):
        raise _Problem(
            f"must be an integer string in the asset's smallest unit (wei, lamports, 6-decimal USDC units …), not a decimal; "
            f"multiply by 10^decimals, e.g. 1.5 USDC is {key} = \"1500000\""
        )
    raise _Problem(f"must be an integer string in the asset's smallest unit, digits only; write e.g. {key} = \"1000000\"")


# --------------------------------------------------------------------------- models


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
        if v == "solana" or _EVM_NETWORK.match(v) or _HYPERCORE_NETWORK.match(v):
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
        if network.startswith("ethereum:"):
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
        elif network == "solana":
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


def _default_problem(kind: str, default: Any, options: list[str] | None) -> str | None:
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


class BenchmarkCurrency(BaseModel):
    """Legacy `[benchmarkCurrency]` (older docs): accepted and kept, not used."""

    model_config = ConfigDict(extra="forbid", strict=True)

    network: str
    address: str = ""


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
            if self.walletType == "ethereum" and asset.network == "solana":
                problems.append(_Problem(
                    'is a Solana network, but walletType = "ethereum"; an ethereum agent\'s starting asset is on an '
                    '"ethereum:<chainId>" network (e.g. "ethereum:1"): fix network, or write walletType = "solana"',
                    ("startingAsset", "network"), asset.network,
                ))
            elif self.walletType == "solana" and asset.network != "solana":
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


# --------------------------------------------------------------------------- legacy keys

_LEGACY_TARGETS = {
    "defaultSleepIntervalMinutes": "runtimeIntervalMinutes",
    "shortDescription": "tagline",
    "allowedWalletTypes": "walletType",
    "requiredAssets": "startingAsset",
    "devRunExecutionMode": "allowedExecutionModes",
}


def map_legacy_keys(data: dict) -> tuple[dict, dict[str, str], list[_Problem]]:
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
                matching = "solana" if network == "solana" else "ethereum" if network.startswith(("ethereum:", "hypercore:")) else None
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


# --------------------------------------------------------------------------- parsing


def parse_manifest(text: str, source: str = "circuit.toml") -> Manifest:
    try:
        data = tomli.loads(text)
    except tomli.TOMLDecodeError as exc:
        raise ManifestError(_describe_toml_error(exc, text, source)) from None
    _check_misplaced_top_level_keys(data, source)
    mapped, origins, problems = map_legacy_keys(data)
    lines = [_line(source, p, (), _UNSET, origins) for p in problems]
    # A legacy key that could not be mapped has been reported; do not also say its current key is missing.
    unmapped = {_LEGACY_TARGETS[p.key[0]] for p in problems if p.key and p.key[0] in _LEGACY_TARGETS}
    try:
        manifest = Manifest.model_validate(mapped)
    except ValidationError as exc:
        lines += _describe(exc, source, origins, skip_missing=unmapped)
    if lines:
        raise ManifestError("\n".join(lines))
    return manifest


def _describe_toml_error(exc: tomli.TOMLDecodeError, text: str, source: str) -> str:
    msg = getattr(exc, "msg", str(exc))
    lineno = getattr(exc, "lineno", None)
    lines = text.splitlines()
    where = ""
    if lineno and 0 < lineno <= len(lines):
        where = f" at line {lineno}: {lines[lineno - 1].strip()!r}"
    if msg == "Invalid value":
        fix = 'write a valid value: strings go in double quotes (name = "My Agent"), booleans are true/false, arrays [..]'
    elif msg.startswith("Cannot overwrite") or msg.startswith("Cannot declare"):
        fix = "a key or [table] appears twice; keep one of them"
    elif msg.startswith("Expected '=' after a key"):
        fix = 'write it as key = value, e.g. name = "My Agent"'
    elif msg.startswith("Expected newline or end of document"):
        fix = 'one key = value per line; quote strings that contain dots or spaces, e.g. version = "1.0.0"'
    elif msg.startswith("Unterminated string") or msg.startswith("Unclosed"):
        fix = "close the string or array on that line"
    else:
        fix = "fix the syntax on that line"
    return f"{source}: not valid TOML{where}: {msg}; {fix}"


def _check_misplaced_top_level_keys(data: dict, source: str) -> None:
    """The classic TOML mistake: a top-level key written after a [table] header lands in that table."""
    lines: list[str] = []

    def check(table: str, path: tuple, body: dict, allowed: set[str]) -> None:
        for key, value in body.items():
            if key in _TOP_LEVEL_KEYS and key not in allowed:
                lines.append(
                    f"{source}: key {key!r} is inside [{table}] because it comes after that header, so TOML reads it as "
                    f"{_path(path + (key,))} = {_toml(value)}; move the line `{key} = {_toml(value)}` above the first [table] header"
                )

    for table_name in ("startingAsset", "sandbox", "benchmarkCurrency"):
        table = data.get(table_name)
        if isinstance(table, dict):
            check(table_name, (table_name,), table, set())
    assets = data.get("requiredAssets")
    if isinstance(assets, list):
        for i, asset in enumerate(assets):
            if isinstance(asset, dict):
                check("[requiredAssets]", ("requiredAssets", i), asset, set())
    settings = data.get("settings")
    if isinstance(settings, dict):
        plain = {k: v for k, v in settings.items() if not isinstance(v, dict)}
        check("settings", ("settings",), {k: v for k, v in plain.items() if k in _TOP_LEVEL_KEYS}, set())
        for key, value in plain.items():
            if key not in _TOP_LEVEL_KEYS:
                lines.append(
                    f"{source}: settings.{_key_part(key)} = {_toml(value)} is not a table, but each setting is its own table; write it as "
                    f"[settings.{_key_part(key)}] with type = \"...\" and default = {_toml(value)} on the lines below"
                )
        for setting_name, setting in settings.items():
            if isinstance(setting, dict):
                check(f"settings.{_key_part(setting_name)}", ("settings", setting_name), setting, set(Setting.model_fields))
    elif "settings" in data:
        lines.append(
            f"{source}: settings = {_toml(settings)} is not a table; settings are tables, one per setting: "
            "write [settings.<name>] with type = \"...\" below it"
        )
    if lines:
        raise ManifestError("\n".join(lines))


_TABLE_KEYS = {
    (): "circuit.toml",
    ("startingAsset",): "[startingAsset]",
    ("sandbox",): "[sandbox]",
    ("benchmarkCurrency",): "[benchmarkCurrency]",
}


def _table_fields(loc: tuple) -> tuple[str, list[str]]:
    """The table an unknown key sits in (for the message) and the keys that table takes."""
    parent = loc[:-1]
    if len(parent) == 2 and parent[0] == "settings":
        return f"[settings.{_key_part(parent[1])}]", list(Setting.model_fields)
    model = {(): Manifest, ("startingAsset",): StartingAsset, ("sandbox",): SandboxRequest, ("benchmarkCurrency",): BenchmarkCurrency}.get(
        parent
    )
    if model is None:
        return _path(parent), []
    fields = [f for f in model.model_fields if f not in ("description", "slug", "benchmarkCurrency", "devRunAmount")]
    if model is Manifest:
        fields = [f for f in fields if f not in _TABLES]
    return _TABLE_KEYS.get(parent, _path(parent)), fields


def _line(source: str, problem: _Problem, loc: tuple, input_value: Any, origins: dict[str, str]) -> str:
    path = problem.key if problem.absolute else tuple(loc) + problem.key
    value = problem.value if problem.value is not _UNSET else input_value
    key = _path(path, origins)
    if value is _UNSET:
        return f"{source}: {key} {problem.text}"
    return f"{source}: {key} = {_toml(value)} {problem.text}"


def _describe(exc: ValidationError, source: str, origins: dict[str, str] | None = None, skip_missing: set[str] = frozenset()) -> list[str]:
    origins = origins or {}
    lines: list[str] = []
    for err in exc.errors():
        loc = tuple(err["loc"])
        if err["type"] == "missing" and loc and loc[0] in skip_missing:
            continue
        value = err.get("input")
        error = (err.get("ctx") or {}).get("error")
        if isinstance(error, _Problems):
            lines += [_line(source, p, loc, _UNSET, origins) for p in error.problems]
            continue
        if isinstance(error, _Problem):
            lines.append(_line(source, error, loc, value, origins))
            continue
        key = _path(loc, origins) or "(top level)"
        kind, ctx = err["type"], err.get("ctx") or {}
        if kind == "missing":
            example = _EXAMPLES.get(".".join(str(p) for p in loc), f"{_key_part(loc[-1])} = ...")
            if loc[0] == "settings" and loc[-1] == "type":
                example = f'type = "text" (or {_one_of(SETTING_TYPES[1:])})'
            if len(loc) == 1:
                where = "above the first [table] header"
            elif origins.get(loc[0]) == "requiredAssets":
                where = "under [[requiredAssets]]"
            else:
                where = f"under [{_path(loc[:-1])}]"
            lines.append(f"{source}: key {key!r} is required; add it {where}, e.g. {example}")
        elif kind == "extra_forbidden":
            table, fields = _table_fields(loc)
            if origins.get(loc[0]) == "requiredAssets":
                table = "[[requiredAssets]]"
            hint = _did_you_mean(loc[-1], fields + (list(_TOP_LEVEL_KEYS) if len(loc) == 1 else []))
            if len(loc) == 1:
                lines.append(f"{source}: key {key!r} is not a circuit.toml key ({_key_part(loc[-1])} = {_toml(value)}); "
                             f"remove it or check its spelling{hint}")
            else:
                lines.append(f"{source}: key {key!r} is not a {table} key ({_key_part(loc[-1])} = {_toml(value)}); "
                             f"remove it or use one of {', '.join(fields)}{hint}")
        elif kind in ("model_type", "dict_type", "model_attributes_type"):
            lines.append(f"{source}: {key} = {_toml(value)} must be a table, not {_kinds(value)}; write it as a [{key}] section")
        elif kind in ("int_type", "int_parsing", "int_from_float"):
            lines.append(f"{source}: {key} = {_toml(value)} must be a whole number, not {_kinds(value)}; write it without quotes, e.g. "
                         f"{_key_part(loc[-1])} = 128")
        elif kind in ("float_type", "float_parsing"):
            lines.append(f"{source}: {key} = {_toml(value)} must be a number, not {_kinds(value)}; write it without quotes, e.g. "
                         f"{_key_part(loc[-1])} = 0.5")
        elif kind in ("string_type",):
            lines.append(f"{source}: {key} = {_toml(value)} must be a string, not {_kinds(value)}; put it in double quotes")
        elif kind == "greater_than_equal":
            lines.append(f"{source}: {key} = {_toml(value)} must be at least {ctx.get('ge')}; raise it to {ctx.get('ge')} or more, "
                         "or remove the key")
        elif kind == "greater_than":
            lines.append(f"{source}: {key} = {_toml(value)} must be greater than {ctx.get('gt')}; raise it, or remove the key")
        elif kind == "literal_error":
            lines.append(f"{source}: {key} = {_toml(value)} must be {ctx.get('expected')}; write one of those")
        else:
            lines.append(f"{source}: {key} = {_toml(value)} {err['msg']}; change it to a valid value")
    return lines


def load_manifest_dir(agent_dir: Path) -> tuple[Manifest, str]:
    """Reads and validates an agent directory's circuit.toml; DESCRIPTION.md and main.py must exist.
    Every problem found is reported at once."""
    path = agent_dir / "circuit.toml"
    if not path.exists():
        if (agent_dir / ".circuit.toml").exists():
            raise ManifestError(f"{agent_dir}: found .circuit.toml, the older name of circuit.toml; rename it to circuit.toml")
        raise ManifestError(f"{agent_dir}: no circuit.toml; create one (`corral new NAME` scaffolds it)")
    text = path.read_text()
    problems: list[str] = []
    manifest: Manifest | None = None
    try:
        manifest = parse_manifest(text, str(path))
    except ManifestError as exc:
        problems.append(str(exc))
    description = agent_dir / "DESCRIPTION.md"
    if not description.exists():
        legacy = manifest is not None and manifest.description
        problems.append(
            f"{agent_dir}: DESCRIPTION.md is required; add it beside circuit.toml with the sections "
            "## Summary, ## What it is, ## How it works, ## Strategy and ## Risks"
            + (" (move the text of circuit.toml's older `description` key there)" if legacy else "")
        )
    elif not description.read_text().strip():
        problems.append(f"{agent_dir}: DESCRIPTION.md is empty; write at least a ## Summary of what the agent does")
    if not (agent_dir / "main.py").exists():
        problems.append(f"{agent_dir}: main.py is required; add it with a run(agent) function (and optionally unwind)")
    if problems:
        raise ManifestError("\n".join(problems))
    assert manifest is not None
    return manifest, text
