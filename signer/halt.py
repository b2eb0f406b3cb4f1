"""The two halts, either of which refuses every request:

- the wallet owner's (`corral signer halt` on the signer's own files), which only the owner
  lifts (`corral signer resume`, which lifts both);
- the platform's kill switch (`corral halt`, through the orchestrator's HaltSigning call),
  which the orchestrator may lift (ResumeSigning) but which can never lift the owner's.

Halting is a file in the signer's home, so it holds across restarts and every request
sees it at once.
"""

from __future__ import annotations

from signer.config import SignerPaths
from signer.privileges import write_private_file


class Halts:
    def __init__(self, paths: SignerPaths) -> None:
        self._owner = paths.halt_file
        self._platform = paths.platform_halt_file

    @property
    def halted(self) -> bool:
        return self._owner.exists() or self._platform.exists()

    @property
    def halted_by_owner(self) -> bool:
        return self._owner.exists()

    def halt_for_platform(self, reason: str) -> None:
        write_private_file(self._platform, (reason or "halted by the platform's kill switch").encode() + b"\n", overwrite=True)

    def resume_for_platform(self) -> None:
        self._platform.unlink(missing_ok=True)

    def halt_for_owner(self, reason: str = "halted by the wallet owner") -> None:
        """The owner's halt; the signer sets it itself when its audit log does not verify."""
        if not self._owner.exists():
            write_private_file(self._owner, reason.encode() + b"\n", overwrite=True)

    def resume_for_owner(self) -> None:
        """The owner lifts every halt, theirs and the platform's."""
        self._owner.unlink(missing_ok=True)
        self._platform.unlink(missing_ok=True)
