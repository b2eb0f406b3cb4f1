"""Field checks the models share: strings, one-of choices and raw smallest-unit amounts, raising _Problem."""

from __future__ import annotations

import json
import re
from typing import Any

from orchestrator.agents.manifest.problems import _did_you_mean, _kinds, _one_of, _Problem


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
