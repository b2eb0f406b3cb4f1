"""Agent settings: session overrides (strings from the API) typed by the manifest,
falling back to the manifest's defaults.

resolved value = session override > manifest default; each value has its setting's type
(text/address/single_select → str, boolean → bool, integer → int, number/percentage → float,
legacy multi_select → list[str]); a required setting must be given. Every error names the
setting, the value given and what to give instead.
"""

from __future__ import annotations

import difflib
import json
import math
from decimal import Decimal, InvalidOperation
from typing import Any

from corral import bounded_json
from corral.limits import shortened
from orchestrator.agents.manifest import Manifest, Setting, address_problem


class SettingError(ValueError):
    """`key`: the one setting the message is about, when it is about one."""

    def __init__(self, message: str, key: str | None = None) -> None:
        super().__init__(message)
        self.key = key


def _shown(raw: Any) -> str:
    """A value as an error quotes it: at most its first 80 characters (a setting may hold 4 KiB)."""
    shown = json.dumps(raw, ensure_ascii=False) if isinstance(raw, (str, bool, int, float, list)) or raw is None else repr(raw)
    return shortened(shown, 80)


def _decimal(raw: Any) -> Decimal | None:
    """A finite number from an override ("1.5", 1.5, 2); None when it is not one (booleans are not numbers)."""
    if isinstance(raw, bool):
        return None
    if isinstance(raw, (int, float)):
        return Decimal(repr(raw)) if math.isfinite(raw) else None
    if not isinstance(raw, str):
        return None
    if "_" in raw:  # Decimal would read "1_000"; a user typing that meant something else
        return None
    try:
        value = Decimal(raw.strip())
    except InvalidOperation:
        return None
    return value if value.is_finite() else None


def coerce(name: str, setting: Setting, raw: Any, wallet_type: str) -> Any:
    """Turns a value from the API (normally a string) into the setting's type, or says what to fix."""
    kind = setting.type
    given = f"setting {name!r} = {_shown(raw)}"
    if kind == "boolean":
        if isinstance(raw, bool):
            return raw
        lowered = raw.strip().lower() if isinstance(raw, str) else None
        if lowered not in ("true", "false"):
            raise SettingError(f"{given} is not a boolean; give true or false")
        return lowered == "true"
    if kind == "integer":
        value = _decimal(raw)
        if value is None or value != value.to_integral_value():
            raise SettingError(f"{given} is not an integer; give a whole number, e.g. {name}=3")
        return int(value)
    if kind in ("number", "percentage"):
        value = _decimal(raw)
        if value is None:
            example = "0.5" if kind == "percentage" else "1.5"
            raise SettingError(f"{given} is not a number; give a {kind} like {name}={example} (digits only, no % sign or unit)")
        if kind == "percentage" and not 0 <= value <= 100:
            raise SettingError(f"{given} is a percentage outside 0–100; give a value from 0 to 100 (0.5 means 0.5%)")
        return float(value)
    if kind == "multi_select":
        return _multi_select(name, setting, raw, given)
    if not isinstance(raw, str):
        raise SettingError(f"{given} is not text; give the value as a string")
    if kind == "single_select" and setting.options and raw not in setting.options:
        close = difflib.get_close_matches(raw, setting.options, n=1)
        hint = f" (did you mean {close[0]!r}?)" if close else ""
        raise SettingError(f"{given} is not one of its options; give one of {setting.options}{hint}")
    if kind == "address":
        problem = address_problem(raw, wallet_type)
        if problem:
            # "must be a <walletType> address" is the phrase clients match on.
            raise SettingError(f"{given} must be a {wallet_type} address for this {wallet_type} agent; it {problem}")
    return raw


def _multi_select(name: str, setting: Setting, raw: Any, given: str) -> list[str]:
    """Legacy multi_select: a JSON array of options, or the options separated by commas."""
    if isinstance(raw, list):
        chosen = raw
    elif isinstance(raw, str) and raw.strip().startswith("["):
        try:
            chosen = bounded_json.loads(raw, max_bytes=64 * 1024, max_depth=2)
        except ValueError:  # not JSON, or not a flat list
            chosen = None
    elif isinstance(raw, str):
        chosen = [part.strip() for part in raw.split(",") if part.strip()]
    else:
        chosen = None
    if not isinstance(chosen, list) or not all(isinstance(c, str) for c in chosen):
        raise SettingError(f'{given} is not a list of options; give them separated by commas, e.g. {name}=a,b, or as a JSON array ["a", "b"]')
    stray = [c for c in chosen if setting.options and c not in setting.options]
    if stray:
        raise SettingError(f"{given} has {stray}, which are not among its options; choose from {setting.options}")
    return chosen


def resolve(manifest: Manifest, overrides: dict[str, Any]) -> dict[str, Any]:
    """Resolved settings: session override > manifest default. Raises SettingError.

    A setting with neither an override nor a default is left out (an optional one) or refused (a required one)."""
    unknown = sorted(set(overrides) - set(manifest.settings))
    if unknown:
        hints = []
        for key in unknown:
            close = difflib.get_close_matches(key, list(manifest.settings), n=1)
            if close:
                hints.append(f"{key!r} → {close[0]!r}")
        given = ", ".join(f"{key} = {_shown(overrides[key])}" for key in unknown)
        has = sorted(manifest.settings) or "no settings"
        raise SettingError(
            f"unknown settings {unknown} ({given}); this agent has {has}: remove them or fix the name"
            + (f" (did you mean {'; '.join(hints)}?)" if hints else ""), key=unknown[0] if len(unknown) == 1 else None,
        )
    resolved: dict[str, Any] = {}
    for name, setting in manifest.settings.items():
        value = overrides.get(name)
        blank = value is None or (isinstance(value, str) and not value.strip())
        if name in overrides and not (blank and setting.required):
            try:
                resolved[name] = coerce(name, setting, value, manifest.walletType)
            except SettingError as exc:
                raise SettingError(str(exc), key=name) from None
        elif setting.default is not None:
            resolved[name] = coerce(name, setting, setting.default, manifest.walletType)
        elif setting.required:
            shown = f" (given {_shown(value)})" if name in overrides else ""
            raise SettingError(
                f"setting {name!r} is required and has no default{shown}; give it a value when starting the session, "
                f"e.g. --setting {name}=<{setting.type}>", key=name,
            )
    return resolved
