import json

from signer.audit import AuditLog, verify


def write_entries(path, n=4):
    log = AuditLog(path)
    for i in range(n):
        log.append({"action": "sign_evm_transaction", "decision": "deny" if i % 2 else "allow", "rule": "chain-allowlist", "n": i})


def test_chain_verifies_and_survives_reopening(tmp_path):
    path = tmp_path / "audit.jsonl"
    write_entries(path, 3)
    AuditLog(path).append({"action": "x", "decision": "allow"})  # a restarted signer continues the chain
    result = verify(path)
    assert result.ok and result.entries == 4


def test_edited_line_is_found(tmp_path):
    path = tmp_path / "audit.jsonl"
    write_entries(path)
    lines = path.read_text().splitlines()
    entry = json.loads(lines[1])
    entry["decision"] = "allow" if entry["decision"] == "deny" else "deny"
    lines[1] = json.dumps(entry, sort_keys=True, separators=(",", ":"))
    path.write_text("\n".join(lines) + "\n")
    result = verify(path)
    assert not result.ok and result.bad_line == 2 and "edited" in result.problem


def test_removed_line_is_found(tmp_path):
    path = tmp_path / "audit.jsonl"
    write_entries(path)
    lines = path.read_text().splitlines()
    del lines[1]
    path.write_text("\n".join(lines) + "\n")
    result = verify(path)
    assert not result.ok and result.bad_line == 2


def test_reordered_lines_are_found(tmp_path):
    path = tmp_path / "audit.jsonl"
    write_entries(path)
    lines = path.read_text().splitlines()
    lines[1], lines[2] = lines[2], lines[1]
    path.write_text("\n".join(lines) + "\n")
    result = verify(path)
    assert not result.ok and result.bad_line == 2


def test_concurrent_commits_are_each_durable_before_they_return(tmp_path, monkeypatch):
    """Group commit: concurrent decisions share fsyncs, yet none returns before an fsync
    that covers its line, and the chain stays intact."""
    import asyncio
    import os

    path = tmp_path / "audit.jsonl"
    log = AuditLog(path)
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
    assert verify(path).ok and verify(path).entries == 200
