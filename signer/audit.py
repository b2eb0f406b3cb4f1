"""Append-only, hash-chained audit log: one JSON line per signing decision.

Each line carries `prev` (the hash of the line before it, or GENESIS for the first)
and `hash`, the SHA-256 of the line's canonical JSON without `hash`. Editing,
removing or reordering any line breaks the chain at that line, which `verify`
reports. The log holds full request payloads so a reviewer can replay a decision,
and never key material: callers pass only requests, decisions and public results.
"""

from __future__ import annotations

import asyncio
import hashlib
import json
import os
import time
from dataclasses import dataclass
from pathlib import Path
from typing import Any

GENESIS = "0" * 64


def _canonical(entry: dict[str, Any]) -> bytes:
    return json.dumps(entry, sort_keys=True, separators=(",", ":")).encode()


def _entry_hash(entry_without_hash: dict[str, Any]) -> str:
    return hashlib.sha256(_canonical(entry_without_hash)).hexdigest()


class AuditLog:
    def __init__(self, path: Path) -> None:
        self._path = path
        self._seq, self._last_hash = self._tail()
        self._fd = os.open(self._path, os.O_WRONLY | os.O_APPEND | os.O_CREAT, 0o600)
        self._synced_seq = self._seq  # the last line known to be on disk
        self._syncing: asyncio.Task | None = None

    def append(self, record: dict[str, Any]) -> dict[str, Any]:
        """Writes one decision and fsyncs it before returning."""
        entry = self._write(record)
        os.fsync(self._fd)
        self._synced_seq = max(self._synced_seq, entry["seq"])
        return entry

    async def commit(self, record: dict[str, Any]) -> dict[str, Any]:
        """Writes one decision and returns once it is on disk."""
        entry = self.write(record)
        await self.durable(entry)
        return entry

    def write(self, record: dict[str, Any]) -> dict[str, Any]:
        """Writes one decision (not yet fsynced) and returns its entry; synchronous, so a
        caller can write it in the same step as the decision it records."""
        return self._write(record)

    async def durable(self, entry: dict[str, Any]) -> None:
        """Returns once `entry` is on disk. Group commit: the fsync runs in a thread, and lines
        written while it runs share the next one, so a slow disk neither blocks the event loop
        nor costs one fsync per request (each line is still durable before its caller answers)."""
        while self._synced_seq < entry["seq"]:
            if self._syncing is None:
                self._syncing = asyncio.create_task(self._sync())
            await asyncio.shield(self._syncing)

    async def _sync(self) -> None:
        written = self._seq
        try:
            await asyncio.to_thread(os.fsync, self._fd)
            self._synced_seq = max(self._synced_seq, written)
        finally:
            self._syncing = None

    def _write(self, record: dict[str, Any]) -> dict[str, Any]:
        # Lines are written in call order (one os.write each, O_APPEND), so the chain on
        # disk is the chain in memory even while an fsync is in flight.
        entry = {"seq": self._seq + 1, "time": time.time(), "prev": self._last_hash, **record}
        entry["hash"] = _entry_hash(entry)
        os.write(self._fd, _canonical(entry) + b"\n")
        self._seq, self._last_hash = entry["seq"], entry["hash"]
        return entry

    def close(self) -> None:
        os.close(self._fd)

    def _tail(self) -> tuple[int, str]:
        if not self._path.exists():
            return 0, GENESIS
        last = None
        with self._path.open("rb") as f:
            for line in f:
                if line.strip():
                    last = line
        if last is None:
            return 0, GENESIS
        entry = json.loads(last)
        return entry["seq"], entry["hash"]


def read_entries(path: Path):
    """Yields the log's entries in order (for rebuilding state such as spend totals)."""
    if not path.exists():
        return
    with path.open("rb") as f:
        for line in f:
            if line.strip():
                yield json.loads(line)


@dataclass(frozen=True)
class VerifyResult:
    ok: bool
    entries: int
    # 1-based line number of the first broken line, and why.
    bad_line: int | None = None
    problem: str | None = None


def verify(path: Path) -> VerifyResult:
    prev = GENESIS
    count = 0
    with path.open("rb") as f:
        for number, line in enumerate(f, start=1):
            if not line.strip():
                return VerifyResult(False, count, number, "empty line")
            try:
                entry = json.loads(line)
            except json.JSONDecodeError as exc:
                return VerifyResult(False, count, number, f"not JSON: {exc}")
            claimed = entry.pop("hash", None)
            if entry.get("prev") != prev:
                return VerifyResult(False, count, number, "chain broken: `prev` does not match the previous line (line removed, inserted or reordered)")
            if entry.get("seq") != count + 1:
                return VerifyResult(False, count, number, f"sequence number {entry.get('seq')} where {count + 1} was expected")
            if claimed != _entry_hash(entry):
                return VerifyResult(False, count, number, "content does not match its hash (line edited)")
            prev = claimed
            count += 1
    return VerifyResult(True, count)
