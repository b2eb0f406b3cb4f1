"""Append-only, keyed hash chain: one JSON line per signing decision.

Each line carries `prev` (the MAC of the line before it, or GENESIS for the first) and `mac`,
an HMAC-SHA256 of the line's canonical JSON without `mac`, keyed from the owner's passphrase
(`audit_key`). Editing, removing or reordering a line breaks the chain at that line, and
without the passphrase nobody can write a chain that verifies: a full re-hash of an edited
log, or one wallet's lines deleted and the rest re-chained, is found. What a chain alone
cannot show is a log cut short at its end; for that the signer hands its head (sequence
number and MAC) to the orchestrator with every answer, and `verify` checks an expected head.

The signer verifies the whole log before it serves (its spend caps are rebuilt from it),
writes a `signer_start` line saying whether the previous run ended cleanly (requests in
flight at a crash were never decided), and a `signer_stop` line when it stops.

Lines written before logs were keyed (with an unkeyed `hash` instead of `mac`) are still
verified as their own chain; the first keyed line's `prev` is their last hash, so they can
no longer be changed either. The log never holds key material, and fields longer than
`MAX_FIELD_CHARS` (a request's calldata, typed data) are kept as their SHA-256 and length.
"""

from __future__ import annotations

import asyncio
import hashlib
import hmac
import json
import os
import time
from collections import Counter
from collections.abc import Iterator
from dataclasses import dataclass
from pathlib import Path
from typing import Any

GENESIS = "0" * 64
MAX_FIELD_CHARS = 4096
_KEY_SALT = b"corral signer audit log v1"
START, STOP = "signer_start", "signer_stop"


def audit_key(passphrase: str) -> bytes:
    """The audit log's MAC key, derived from the keystore passphrase (the owner's secret)."""
    return hashlib.pbkdf2_hmac("sha256", passphrase.encode(), _KEY_SALT, 100_000)


def _canonical(entry: dict[str, Any]) -> bytes:
    return json.dumps(entry, sort_keys=True, separators=(",", ":")).encode()


def _mac(key: bytes, entry_without_mac: dict[str, Any]) -> str:
    return hmac.new(key, _canonical(entry_without_mac), hashlib.sha256).hexdigest()


def _legacy_hash(entry_without_hash: dict[str, Any]) -> str:
    return hashlib.sha256(_canonical(entry_without_hash)).hexdigest()


def _link(entry: dict[str, Any]) -> str:
    return entry.get("mac") or entry.get("hash") or ""


def bounded(value: Any) -> Any:
    """`value` with every string longer than MAX_FIELD_CHARS replaced by its SHA-256 and
    length: what a reviewer needs to match a request, without storing megabytes of it."""
    if isinstance(value, dict):
        return {k: bounded(v) for k, v in value.items()}
    if isinstance(value, list):
        return [bounded(v) for v in value]
    if isinstance(value, str) and len(value) > MAX_FIELD_CHARS:
        return {"sha256": hashlib.sha256(value.encode()).hexdigest(), "chars": len(value)}
    return value


@dataclass(frozen=True)
class Position:
    """Where a line is in the log: its sequence number and MAC, and the bytes it spans."""

    seq: int
    mac: str
    start: int  # offset of the line's first byte
    end: int  # offset just past its newline


class AuditLog:
    def __init__(self, path: Path, key: bytes) -> None:
        self._path = path
        self._key = key
        self._seq, self._last_link, self._last_action, self._last_start = self._tail()
        self._fd = os.open(self._path, os.O_WRONLY | os.O_APPEND | os.O_CREAT, 0o600)
        self._end = os.fstat(self._fd).st_size
        self._synced_seq = self._seq  # the last line known to be on disk
        self._syncing: asyncio.Task[None] | None = None
        # Decision lines written by this process, by (action, decision, rule): what the
        # orchestrator's metrics report for the signer (GetDecisionCounts).
        self.decisions: Counter[tuple[str, str, str]] = Counter()

    @property
    def head(self) -> tuple[int, str]:
        """(sequence number, MAC) of the last line written."""
        return self._seq, self._last_link

    @property
    def position(self) -> Position:
        """The last line written, with its place in the file (what a checkpoint is bound to)."""
        return Position(self._seq, self._last_link, self._last_start, self._end)

    @property
    def ended_cleanly(self) -> bool:
        """Whether the log is empty or its last line is a `signer_stop`."""
        return self._seq == 0 or self._last_action == STOP

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
        entry = {"seq": self._seq + 1, "time": time.time(), "prev": self._last_link, **record}
        entry["mac"] = _mac(self._key, entry)
        line = _canonical(entry) + b"\n"
        written = os.write(self._fd, line)
        if written != len(line):  # a full disk: the line is cut, and the log will not verify past it
            raise OSError(f"the audit log took {written} of a {len(line)}-byte line")
        self._last_start, self._end = self._end, self._end + written
        self._seq, self._last_link, self._last_action = entry["seq"], entry["mac"], entry.get("action")
        if "decision" in record:
            self.decisions[(str(record.get("action", "")), str(record["decision"]), str(record.get("rule", "")))] += 1
        return entry

    def close(self) -> None:
        os.close(self._fd)

    def _tail(self) -> tuple[int, str, str | None, int]:
        """(seq, MAC, action, start offset) of the last line, read from the end of the file
        (start-up no longer reads the whole log for it)."""
        if not self._path.exists():
            return 0, GENESIS, None, 0
        with self._path.open("rb") as f:
            size = f.seek(0, os.SEEK_END)
            chunk, start = b"", size
            while start > 0:
                step = min(start, 1 << 16)
                start -= step
                f.seek(start)
                chunk = f.read(step) + chunk
                body = chunk.rstrip(b"\n")
                cut = body.rfind(b"\n")
                if cut >= 0 or start == 0:
                    line_start = start + cut + 1
                    last = body[cut + 1:]
                    break
            else:
                return 0, GENESIS, None, 0
        if not last.strip():
            return 0, GENESIS, None, 0
        entry = json.loads(last)
        return entry["seq"], _link(entry), entry.get("action"), line_start


def read_entries(path: Path, offset: int = 0) -> Iterator[dict[str, Any]]:
    """Yields the log's entries in order, from byte `offset` (for rebuilding state such as
    spend totals)."""
    if not path.exists():
        return
    with path.open("rb") as f:
        f.seek(offset)
        for line in f:
            if line.strip():
                yield json.loads(line)


def read_line_at(path: Path, start: int, end: int) -> dict[str, Any] | None:
    """The entry spanning bytes [start, end) if a whole line is there, else None."""
    if not path.exists() or start < 0 or end <= start or end > path.stat().st_size:
        return None
    with path.open("rb") as f:
        f.seek(max(start - 1, 0))
        before = f.read(1) if start else b"\n"
        line = f.read(end - start)
    if before != b"\n" or not line.endswith(b"\n"):
        return None
    try:
        entry = json.loads(line)
    except ValueError:
        return None
    return entry if isinstance(entry, dict) else None


@dataclass(frozen=True)
class VerifyResult:
    ok: bool
    entries: int
    # 1-based line number of the first broken line, and why.
    bad_line: int | None = None
    problem: str | None = None
    # (sequence number, MAC) of the last line.
    head: tuple[int, str] | None = None


def _authenticate(entry: dict[str, Any], key: bytes, keyed: bool) -> tuple[str, str | None]:
    """(the line's MAC or legacy hash, what is wrong with it or None)."""
    if "mac" in entry:
        claimed = entry["mac"]
        without = {k: v for k, v in entry.items() if k != "mac"}
        if not isinstance(claimed, str) or not hmac.compare_digest(claimed, _mac(key, without)):
            return "", "content does not match its MAC (line edited, or written without the owner's passphrase)"
        return claimed, None
    if keyed or "hash" not in entry:
        return "", "a line without a MAC after keyed lines"
    claimed = entry["hash"]
    if claimed != _legacy_hash({k: v for k, v in entry.items() if k != "hash"}):
        return "", "content does not match its hash (line edited)"
    return claimed, None


def verify(path: Path, key: bytes, expect_head: tuple[int, str] | None = None, after: Position | None = None,
           stop_at: int | None = None) -> VerifyResult:
    """Checks every line's MAC (or, before the first keyed line, its unkeyed hash) and the
    chain; with `expect_head`, also that the log still holds that (seq, MAC). With `after`,
    only the lines after that one, chained from its MAC (a verified checkpoint's line); with
    `stop_at`, only up to that sequence number (the lines a writer is not appending to)."""
    prev, count, keyed, found_expected = GENESIS, 0, False, expect_head is None
    if after is not None:
        prev, count, keyed = after.mac, after.seq, True
    if path.exists():
        with path.open("rb") as f:
            if after is not None:
                f.seek(after.end)
            for number, line in enumerate(f, start=count + 1):
                if not line.strip():
                    return VerifyResult(False, count, number, "empty line")
                try:
                    entry = json.loads(line)
                except json.JSONDecodeError as exc:
                    return VerifyResult(False, count, number, f"not JSON: {exc}")
                if entry.get("prev") != prev:
                    return VerifyResult(False, count, number, "chain broken: `prev` does not match the previous line "
                                                              "(line removed, inserted or reordered)")
                if entry.get("seq") != count + 1:
                    return VerifyResult(False, count, number, f"sequence number {entry.get('seq')} where {count + 1} was expected")
                claimed, problem = _authenticate(entry, key, keyed)
                if problem is not None:
                    return VerifyResult(False, count, number, problem)
                keyed = keyed or "mac" in entry
                prev, count = claimed, count + 1
                if expect_head is not None and (count, claimed) == expect_head:
                    found_expected = True
                if stop_at is not None and count >= stop_at:
                    break
    head = (count, prev) if count else None
    if not found_expected:
        assert expect_head is not None  # found_expected starts True without one
        return VerifyResult(False, count, None, f"the log does not hold the expected head {expect_head[0]}:{expect_head[1]} "
                                                "(cut short, or replaced)", head)
    return VerifyResult(True, count, head=head)


def parse_head(text: str) -> tuple[int, str]:
    """"SEQ:MAC" as the orchestrator shows it."""
    seq, _, mac = text.partition(":")
    if not seq.isascii() or not seq.isdigit() or len(mac) != 64:
        raise ValueError(f"{text!r} is not a head: give SEQ:MAC as `corral status` shows it")
    return int(seq), mac
