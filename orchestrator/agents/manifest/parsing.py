"""From circuit.toml text (or an agent directory) to a Manifest, or a ManifestError listing every problem with its fix."""

from __future__ import annotations

from pathlib import Path
from typing import Any

import tomli
from pydantic import ValidationError

from orchestrator.agents.manifest.addresses import NATIVE_EVM
from orchestrator.agents.manifest.choices import SETTING_TYPES
from orchestrator.agents.manifest.legacy import _LEGACY_TARGETS, map_legacy_keys
from orchestrator.agents.manifest.models import (
    BenchmarkCurrency,
    DependencyRequest,
    Manifest,
    NetworkRequest,
    SandboxRequest,
    Setting,
    StartingAsset,
)
from orchestrator.agents.manifest.problems import (
    _UNSET,
    ManifestError,
    _did_you_mean,
    _key_part,
    _kinds,
    _one_of,
    _path,
    _Problem,
    _Problems,
    _toml,
)

_TOP_LEVEL_KEYS = {
    "name", "tagline", "category", "imageUrl", "walletType", "allowedExecutionModes", "runtimeIntervalMinutes",
    "schedule", "version", "filesToInclude", "filesToExclude", "deploymentRegionOverride", "description",
    "defaultSleepIntervalMinutes", "allowedWalletTypes", "shortDescription", "devRunExecutionMode", "slug",
}
_TABLES = ("startingAsset", "settings", "sandbox", "network", "dependencies", "benchmarkCurrency", "requiredAssets")
_EXAMPLES = {
    "name": 'name = "My Agent"',
    "walletType": 'walletType = "ethereum"',
    "startingAsset.network": 'network = "ethereum:1"',
    "startingAsset.address": f'address = "{NATIVE_EVM}"',
    "benchmarkCurrency.network": 'network = "fiat:usd"',
}


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


# Complex by design: one hint per misplaced key; each is independent.
def _check_misplaced_top_level_keys(data: dict, source: str) -> None:  # noqa: C901
    """The classic TOML mistake: a top-level key written after a [table] header lands in that table."""
    lines: list[str] = []

    def check(table: str, path: tuple, body: dict, allowed: set[str]) -> None:
        for key, value in body.items():
            if key in _TOP_LEVEL_KEYS and key not in allowed:
                lines.append(
                    f"{source}: key {key!r} is inside [{table}] because it comes after that header, so TOML reads it as "
                    f"{_path(path + (key,))} = {_toml(value)}; move the line `{key} = {_toml(value)}` above the first [table] header"
                )

    for table_name in ("startingAsset", "sandbox", "network", "dependencies", "benchmarkCurrency"):
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
    ("network",): "[network]",
    ("dependencies",): "[dependencies]",
    ("benchmarkCurrency",): "[benchmarkCurrency]",
}


def _table_fields(loc: tuple) -> tuple[str, list[str]]:
    """The table an unknown key sits in (for the message) and the keys that table takes."""
    parent = loc[:-1]
    if len(parent) == 2 and parent[0] == "settings":
        return f"[settings.{_key_part(parent[1])}]", list(Setting.model_fields)
    model = {(): Manifest, ("startingAsset",): StartingAsset, ("sandbox",): SandboxRequest, ("network",): NetworkRequest,
             ("dependencies",): DependencyRequest, ("benchmarkCurrency",): BenchmarkCurrency}.get(parent)
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


# Complex by design: one phrasing per pydantic error type.
def _describe(exc: ValidationError, source: str, origins: dict[str, str] | None = None, skip_missing: set[str] = frozenset()) -> list[str]:  # noqa: C901
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
