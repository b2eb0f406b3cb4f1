"""Where the signer keeps its files. Everything lives under one home directory."""

from __future__ import annotations

from pathlib import Path

from pydantic import BaseModel, ConfigDict


class SignerPaths(BaseModel):
    """The signer's on-disk layout, derived from its home directory."""

    model_config = ConfigDict(frozen=True)

    home: Path
    # Where the public socket lives when clients other than the signer's user connect: a
    # directory of its own, shared with the clients' group, apart from the 0700 home.
    socket_dir: Path | None = None

    @property
    def keystore_dir(self) -> Path:
        return self.home / "keystore"

    @property
    def policy_dir(self) -> Path:
        return self.home / "policies"

    @property
    def audit_log(self) -> Path:
        return self.home / "audit.jsonl"

    @property
    def checkpoint_dir(self) -> Path:
        """The spend ledger's checkpoints (signer/checkpoint.py)."""
        return self.home / "checkpoints"

    @property
    def socket_path(self) -> Path:
        return (self.socket_dir or self.home) / "signer.sock"

    @property
    def halt_file(self) -> Path:
        """Present while the wallet owner has halted the signer (`corral signer halt`): every
        request is refused."""
        return self.home / "HALTED"

    @property
    def platform_halt_file(self) -> Path:
        """Present while the platform's kill switch has halted signing (the HaltSigning RPC):
        every request is refused; ResumeSigning removes it, never the owner's."""
        return self.home / "HALTED.platform"

    def ensure(self) -> None:
        """Creates the directories, readable by the signer's user only."""
        for directory in (self.home, self.keystore_dir, self.policy_dir, self.checkpoint_dir):
            directory.mkdir(parents=True, exist_ok=True)
            directory.chmod(0o700)
