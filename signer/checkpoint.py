"""Ledger checkpoints: start-up replays only the audit lines written after the newest one.

A checkpoint is the spend ledger's whole state (see `SpendLedger.snapshot`) bound to one
audit line, the last one it includes: that line's sequence number, MAC and byte span. The
file is `MAGIC <hex MAC>\\n<JSON body>`, the MAC an HMAC-SHA256 of the body's raw bytes under
a key derived from the audit key (so from the owner's passphrase), checked *before* the body
is parsed, with the file's size bounded before it is read.

On start-up the newest checkpoint is used only if its MAC verifies, the log still holds its
line at the same place with the same sequence number and MAC, and it was kept for a horizon
at least as long as the current policies need; otherwise the next older one is tried, and
with none a full replay is done. Each refusal is said in the signer's log. Someone who can
write the signer's home can delete or swap checkpoints, which costs a full replay or an
older (still authentic) one, but cannot forge or edit one without the passphrase: a
checkpoint whose MAC verifies is state the signer itself computed from the log up to a line
that is still there.
"""

from __future__ import annotations

import hashlib
import hmac
import json
import logging
import os
from pathlib import Path
from typing import Any

from signer.audit import Position, read_entries, read_line_at
from signer.policy.ledger import Commitments, SpendLedger
from signer.privileges import write_private_file

log = logging.getLogger("corral.signer")

MAGIC = b"corral-ledger-checkpoint-v1"
MAX_CHECKPOINT_BYTES = 512 * 1024 * 1024
KEEP = 2  # the newest two: one may be bound to a line a crash cut off
_PREFIX, _SUFFIX = "ledger-", ".ckpt"


def checkpoint_key(audit_key: bytes) -> bytes:
    """A key of its own for checkpoints, so no audit line's MAC is ever a checkpoint's."""
    return hmac.new(audit_key, b"corral signer ledger checkpoint v1", hashlib.sha256).digest()


def replay_line(ledger: SpendLedger, entry: dict[str, Any]) -> None:
    """One audit line's effect on the ledger (only `allow` lines have one)."""
    if entry.get("decision") != "allow":
        return
    if entry.get("action") == "open_session_budget" and entry.get("opened"):
        request = entry["request"]
        asset = entry.get("asset", request["asset"])  # recorded normalised beside the request
        ledger.open_budget(entry["wallet"], int(request["session_id"]), int(request["chain_id"]), asset, int(request["amount"]))
    session_id = int(entry.get("request", {}).get("context", {}).get("session_id", 0))
    ledger.replay(entry["wallet"], Commitments.from_audit(entry), entry["time"], session_id)


def replay(ledger: SpendLedger, audit_path: Path, after: Position | None = None) -> int:
    """Replays the log's lines after `after` (all of them without) into `ledger`; returns
    how many were read."""
    count = 0
    for entry in read_entries(audit_path, after.end if after is not None else 0):
        replay_line(ledger, entry)
        count += 1
    return count


class Checkpoints:
    def __init__(self, directory: Path, audit_key: bytes) -> None:
        self._directory = directory
        self._key = checkpoint_key(audit_key)

    def encode(self, ledger: SpendLedger, at: Position, now: float) -> bytes:
        """The checkpoint of the ledger as of audit line `at` (synchronous: taken in the same
        step as nothing else changes the ledger, so it is exactly the lines up to `at`)."""
        body = json.dumps({"seq": at.seq, "mac": at.mac, "start": at.start, "end": at.end, "time": now, "state": ledger.snapshot(now)},
                          sort_keys=True, separators=(",", ":")).encode()
        return MAGIC + b" " + hmac.new(self._key, body, hashlib.sha256).hexdigest().encode() + b"\n" + body

    def store(self, seq: int, checkpoint: bytes) -> Path:
        """Writes an encoded checkpoint durably (its audit line must be durable first), and
        drops all but the newest KEEP."""
        self._directory.mkdir(mode=0o700, exist_ok=True)
        path = self._directory / f"{_PREFIX}{seq:012d}{_SUFFIX}"
        write_private_file(path, checkpoint, overwrite=True)
        for old in self._files()[KEEP:]:
            old.unlink(missing_ok=True)
        return path

    def write(self, ledger: SpendLedger, at: Position, now: float) -> Path:
        return self.store(at.seq, self.encode(ledger, at, now))

    def newest_usable(self, audit_path: Path, min_horizon: float) -> tuple[SpendLedger, Position] | None:
        """The ledger and line of the newest checkpoint that verifies and matches the log (see
        the module's docstring); each one passed over is logged with the reason."""
        for path in self._files():
            found = self._usable(path, audit_path, min_horizon)
            if found is not None:
                log.info("spend ledger restored from checkpoint %s (audit line %d)", path.name, found[1].seq)
                return found
        return None

    def _files(self) -> list[Path]:
        """Newest first."""
        if not self._directory.is_dir():
            return []
        return sorted((p for p in self._directory.iterdir() if p.name.startswith(_PREFIX) and p.name.endswith(_SUFFIX)), reverse=True)

    def _usable(self, path: Path, audit_path: Path, min_horizon: float) -> tuple[SpendLedger, Position] | None:
        def ignored(why: str) -> tuple[SpendLedger, Position] | None:
            log.warning("ledger checkpoint %s ignored: %s", path.name, why)
            return None

        try:
            if path.stat().st_size > MAX_CHECKPOINT_BYTES:
                return ignored(f"larger than {MAX_CHECKPOINT_BYTES} bytes")
            raw = path.read_bytes()
        except OSError as exc:
            return ignored(f"unreadable ({exc.strerror})")
        header, _, body = raw.partition(b"\n")
        magic, _, claimed = header.partition(b" ")
        if magic != MAGIC:
            return ignored("not a checkpoint of this version")
        if not hmac.compare_digest(claimed, hmac.new(self._key, body, hashlib.sha256).hexdigest().encode()):
            return ignored("its MAC does not verify (edited, or written without the owner's passphrase)")
        try:
            content = json.loads(body)
            position = Position(int(content["seq"]), str(content["mac"]), int(content["start"]), int(content["end"]))
            line = read_line_at(audit_path, position.start, position.end)
            if line is None or line.get("seq") != position.seq or line.get("mac") != position.mac:
                return ignored(f"the audit log no longer holds its line {position.seq} where it was (log replaced, cut or rewritten)")
            ledger = SpendLedger.restore(content["state"], min_horizon)
            taken_at = float(content["time"])
        except (ValueError, KeyError, TypeError) as exc:  # a MAC'd body is ours: this is a version mismatch
            return ignored(f"its content does not load ({exc})")
        if ledger.complete_since > taken_at - min_horizon:
            return ignored(f"it holds spends back to {taken_at - ledger.complete_since:.0f}s before it was taken; the policies now "
                           f"need {min_horizon:.0f}s (a longer window): the whole log is replayed instead")
        return ledger, position


def remove_all(directory: Path) -> None:
    """For tests and the owner: forget every checkpoint (the next start replays the whole log)."""
    for path in directory.glob(f"{_PREFIX}*{_SUFFIX}"):
        os.unlink(path)
