"""Per-wallet signing policy: default deny, and the first rule, a chain allowlist.

Policies are JSON files written by the wallet owner through `corral signer policy set`;
nothing on the signer's socket can change them. A wallet without a policy file can
sign nothing.
"""

from __future__ import annotations

import json
import os
from dataclasses import dataclass
from pathlib import Path

from pydantic import BaseModel, ConfigDict, Field


class WalletPolicy(BaseModel):
    model_config = ConfigDict(extra="forbid")

    allowed_chain_ids: list[int] = Field(default_factory=list, description="EVM chain ids this wallet may sign for")


@dataclass(frozen=True)
class Decision:
    allowed: bool
    # Which rule decided, e.g. "default-deny" or "chain-allowlist".
    rule: str
    reason: str


class PolicyStore:
    def __init__(self, directory: Path) -> None:
        self._directory = directory

    def get(self, address: str) -> WalletPolicy | None:
        path = self._path(address)
        if not path.exists():
            return None
        return WalletPolicy.model_validate_json(path.read_text())

    def set(self, address: str, policy: WalletPolicy) -> None:
        path = self._path(address)
        tmp = path.with_suffix(".tmp")
        fd = os.open(tmp, os.O_WRONLY | os.O_CREAT | os.O_TRUNC, 0o600)
        with os.fdopen(fd, "w") as f:
            f.write(policy.model_dump_json(indent=2))
        os.replace(tmp, path)

    def _path(self, address: str) -> Path:
        return self._directory / f"{address.lower()}.json"


def decide_evm_transaction(policy: WalletPolicy | None, chain_id: int) -> Decision:
    if policy is None:
        return Decision(False, "default-deny", "the wallet has no policy; set one with `corral signer policy set`")
    if chain_id not in policy.allowed_chain_ids:
        return Decision(
            False,
            "chain-allowlist",
            f"chain id {chain_id} is not in the wallet's allowed chains {policy.allowed_chain_ids}",
        )
    return Decision(True, "chain-allowlist", f"chain id {chain_id} is allowed")


def policy_from_json(text: str) -> WalletPolicy:
    return WalletPolicy.model_validate(json.loads(text))
