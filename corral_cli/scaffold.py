"""`corral new NAME`: a new agent directory that builds and runs as it is."""

from __future__ import annotations

import re
import shlex
from pathlib import Path

CIRCUIT_TOML = """\
name = "{name}"
tagline = "What it does, in a few words"
walletType = "ethereum"
allowedExecutionModes = ["auto", "manual"]
runtimeIntervalMinutes = 60
schedule = "rolling"
version = "0.0.1"
# Top-level keys must come before the first [table] header.

[startingAsset]
network = "ethereum:31337"
address = "0xeeeeeeeeeeeeeeeeeeeeeeeeeeeeeeeeeeeeeeee"
minimumAmount = "1000000000000000"

[settings.note]
description = "An example setting; read it as agent.settings['note']"
type = "text"
default = "hello"

[settings.fetch_price]
description = "Fetch ETH's price from DefiLlama each run (needs the platform to permit coins.llama.fi)"
type = "boolean"
default = false

# Corral: the hosts main.py fetches from (HTTPS on 443 unless "host:port" or "http://host").
# Nothing else is reachable; users see these hosts before they start a session.
[network]
allow = ["coins.llama.fi"]

# Optional, Corral only: ask for tighter sandbox limits than the platform's.
# [sandbox]
# memoryMb = 128
# timeoutSeconds = 30
"""

MAIN_PY = '''\
"""{name}: called by the platform every runtimeIntervalMinutes."""

import json
import urllib.request

import humanize  # declared in pyproject.toml; `corral build` installs it into the image
from agent_sdk import AgentContext

PRICE_URL = "https://coins.llama.fi/prices/current/coingecko:ethereum"  # its host is in circuit.toml [network]


def eth_price() -> float:
    with urllib.request.urlopen(PRICE_URL, timeout=10) as reply:
        return json.loads(reply.read())["coins"]["coingecko:ethereum"]["price"]


def run(agent: AgentContext) -> None:
    agent.log(f"{{agent.settings['note']}} from session {{agent.sessionId}}")
    if agent.settings.get("fetch_price"):
        agent.log(f"ETH is {{eth_price():,.2f}} USD")
    for position in agent.currentPositions:
        agent.log(f"holding {{humanize.intcomma(position.currentQty)}} of {{position.assetAddress}} on {{position.network}}")


def unwind(agent: AgentContext, positions) -> None:
    agent.log(f"unwinding {{len(positions)}} positions")
'''

# Circuit's Python agents declare their packages here; `corral build` pins them (with hashes)
# for the sandbox's Python and installs them into the image: the sandbox has no package index.
PYPROJECT_TOML = """\
[project]
name = "{project}"
version = "0.0.1"
requires-python = ">=3.12"
dependencies = [
    "humanize>=4",
]
"""

DESCRIPTION_MD = """\
# {name}

## Summary
One paragraph for the people who will start sessions of this agent.

## What it is

## How it works

## Strategy

## Risks

## Changelog
- 0.0.1: first version
"""


def create_agent_directory(target: Path) -> Path:
    """Writes main.py, circuit.toml, DESCRIPTION.md and pyproject.toml into a new directory `target`."""
    name = target.name.strip()
    if not name or len(name) > 32 or not re.fullmatch(r"[A-Za-z0-9][A-Za-z0-9 _.-]*", name):
        raise ValueError(f"agent name {name!r} must be 1–32 letters, digits, spaces, '-', '_' or '.'")
    if target.exists():
        raise FileExistsError(f"{target} already exists; pick a new directory")
    target.mkdir(parents=True)
    (target / "circuit.toml").write_text(CIRCUIT_TOML.format(name=name))
    (target / "main.py").write_text(MAIN_PY.format(name=name))
    (target / "DESCRIPTION.md").write_text(DESCRIPTION_MD.format(name=name))
    project = re.sub(r"[^a-z0-9]+", "-", name.lower()).strip("-") or "agent"
    (target / "pyproject.toml").write_text(PYPROJECT_TOML.format(project=project))
    return target


def next_steps(path: Path) -> str:
    """What to type next, each command quoted so that it pastes into a POSIX shell whatever
    the directory is called ("My Agent", a parent with quotes or `$`)."""
    where = str(path)
    if where.startswith("-"):
        where = f"./{where}"  # not an option to the next command
    quoted = shlex.quote(where)
    return (f"created {where}/ with main.py, circuit.toml, DESCRIPTION.md and pyproject.toml; next:\n"
            f"  corral dev run {quoted}    # run it once on a throwaway local platform\n"
            f"  corral build {quoted}      # its image, to register on a platform")
