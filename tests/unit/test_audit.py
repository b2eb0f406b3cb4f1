import hashlib
import json

from signer.audit import MAX_FIELD_CHARS, AuditLog, audit_key, bounded, verify

KEY = audit_key("correct horse battery staple")


def verify_keyed(path, **kwargs):
    return verify(path, KEY, **kwargs)


def write_entries(path, n=4):
    log = AuditLog(path, KEY)
    for i in range(n):
        log.append({"action": "sign_evm_transaction", "decision": "deny" if i % 2 else "allow", "rule": "chain-allowlist", "n": i,
                    "wallet": "0xA" if i < 2 else "0xB"})


def test_chain_verifies_and_survives_reopening(tmp_path):
    path = tmp_path / "audit.jsonl"
    write_entries(path, 3)
    log = AuditLog(path, KEY)
    log.append({"action": "x", "decision": "allow"})  # a restarted signer continues the chain
    result = verify_keyed(path)
    assert result.ok and result.entries == 4 and result.head == log.head


def canonical(entry: dict) -> str:
    return json.dumps(entry, sort_keys=True, separators=(",", ":"))


def test_a_full_rehash_without_the_passphrase_is_found(tmp_path):
    """The attack on an unkeyed chain: delete one wallet's lines (resetting its spent caps
    after a restart) and re-chain the rest with SHA-256. Without the key, no MAC matches."""
    path = tmp_path / "audit.jsonl"
    write_entries(path, 4)
    kept = [json.loads(line) for line in path.read_text().splitlines() if json.loads(line)["wallet"] != "0xA"]
    prev, lines = "0" * 64, []
    for seq, entry in enumerate(kept, start=1):
        entry.pop("mac")
        entry.update(seq=seq, prev=prev)
        entry["mac"] = prev = hashlib.sha256(canonical(entry).encode()).hexdigest()
        lines.append(canonical(entry))
    path.write_text("\n".join(lines) + "\n")
    result = verify_keyed(path)
    assert not result.ok and result.bad_line == 1 and "MAC" in result.problem
    # And with another passphrase the original log does not verify either.
    write_entries(tmp_path / "other.jsonl", 2)
    assert not verify(tmp_path / "other.jsonl", audit_key("another passphrase")).ok


def test_a_log_cut_short_is_found_against_the_head_the_orchestrator_was_given(tmp_path):
    path = tmp_path / "audit.jsonl"
    write_entries(path, 4)
    head = verify_keyed(path).head
    lines = path.read_text().splitlines()
    path.write_text("\n".join(lines[:3]) + "\n")  # the last decision removed: still a valid chain
    assert verify_keyed(path).ok
    cut = verify_keyed(path, expect_head=head)
    assert not cut.ok and "does not hold the expected head" in cut.problem


def test_lines_from_before_the_key_are_still_verified_and_anchored(tmp_path):
    """A log started by an earlier signer (unkeyed SHA-256 chain) is continued with keyed
    lines; the first keyed line's `prev` anchors the old part, so it cannot change either."""
    path = tmp_path / "audit.jsonl"
    prev, lines = "0" * 64, []
    for seq in (1, 2):
        entry = {"seq": seq, "time": 0.0, "prev": prev, "action": "old", "decision": "allow"}
        entry["hash"] = prev = hashlib.sha256(canonical(entry).encode()).hexdigest()
        lines.append(canonical(entry))
    path.write_text("\n".join(lines) + "\n")
    AuditLog(path, KEY).append({"action": "new", "decision": "allow"})
    assert verify_keyed(path).ok and verify_keyed(path).entries == 3
    old = json.loads(lines[0])
    old["decision"] = "deny"
    old.pop("hash")
    old["hash"] = hashlib.sha256(canonical(old).encode()).hexdigest()
    second = json.loads(lines[1])
    second["prev"] = old["hash"]
    second.pop("hash")
    second["hash"] = hashlib.sha256(canonical(second).encode()).hexdigest()  # the old part re-chained
    rest = path.read_text().splitlines()[2:]
    path.write_text("\n".join([canonical(old), canonical(second), *rest]) + "\n")
    result = verify_keyed(path)
    assert not result.ok and result.bad_line == 3  # the keyed line still names the original hash


def test_long_fields_are_kept_as_their_hash():
    request = {"typed_data_json": "[" * 60_000, "wallet": "0xA", "nested": [{"data": "x" * (MAX_FIELD_CHARS + 1)}]}
    kept = bounded(request)
    assert kept["wallet"] == "0xA"
    assert kept["typed_data_json"] == {"sha256": hashlib.sha256(("[" * 60_000).encode()).hexdigest(), "chars": 60_000}
    assert kept["nested"][0]["data"]["chars"] == MAX_FIELD_CHARS + 1


def test_edited_line_is_found(tmp_path):
    path = tmp_path / "audit.jsonl"
    write_entries(path)
    lines = path.read_text().splitlines()
    entry = json.loads(lines[1])
    entry["decision"] = "allow" if entry["decision"] == "deny" else "deny"
    lines[1] = json.dumps(entry, sort_keys=True, separators=(",", ":"))
    path.write_text("\n".join(lines) + "\n")
    result = verify_keyed(path)
    assert not result.ok and result.bad_line == 2 and "edited" in result.problem


def test_removed_line_is_found(tmp_path):
    path = tmp_path / "audit.jsonl"
    write_entries(path)
    lines = path.read_text().splitlines()
    del lines[1]
    path.write_text("\n".join(lines) + "\n")
    result = verify_keyed(path)
    assert not result.ok and result.bad_line == 2


def test_reordered_lines_are_found(tmp_path):
    path = tmp_path / "audit.jsonl"
    write_entries(path)
    lines = path.read_text().splitlines()
    lines[1], lines[2] = lines[2], lines[1]
    path.write_text("\n".join(lines) + "\n")
    result = verify_keyed(path)
    assert not result.ok and result.bad_line == 2


def test_concurrent_commits_are_each_durable_before_they_return(tmp_path, monkeypatch):
    """Group commit: concurrent decisions share fsyncs, yet none returns before an fsync
    that covers its line, and the chain stays intact."""
    import asyncio
    import os

    path = tmp_path / "audit.jsonl"
    log = AuditLog(path, KEY)
    synced_bytes = [0]
    real_fsync = os.fsync

    def fsync(fd):
        size = os.fstat(fd).st_size  # everything written before this fsync started
        real_fsync(fd)
        synced_bytes[0] = max(synced_bytes[0], size)

    monkeypatch.setattr(os, "fsync", fsync)
    fsyncs_before = []

    async def one(i):
        entry = await log.commit({"action": "x", "decision": "allow", "n": i})
        end = sum(len(line) + 1 for line in path.read_bytes().splitlines()[: entry["seq"]])
        fsyncs_before.append(end <= synced_bytes[0])

    async def main():
        await asyncio.gather(*(one(i) for i in range(200)))

    asyncio.run(main())
    assert all(fsyncs_before) and len(fsyncs_before) == 200
    assert verify_keyed(path).ok and verify_keyed(path).entries == 200
