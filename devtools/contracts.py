"""Solidity contracts for development chains (`contracts/*.sol`): compiled with solc-js
(npm `solc`, installed by scripts/setup into .tools/solc; it runs offline) and cached by
the sources' content hash, then deployed with web3.py."""

from __future__ import annotations

import hashlib
import json
import subprocess
from pathlib import Path

from web3 import Web3

REPO_ROOT = Path(__file__).resolve().parent.parent
SOURCES = REPO_ROOT / "contracts"
SOLC_MODULES = REPO_ROOT / ".tools" / "solc" / "node_modules"
CACHE = REPO_ROOT / ".cache" / "contracts"

_COMPILE = """
const solc = require(process.argv[1] + "/solc");
const sources = JSON.parse(require("fs").readFileSync(0, "utf8"));
const input = {language: "Solidity", sources, settings: {optimizer: {enabled: true, runs: 200},
  outputSelection: {"*": {"*": ["abi", "evm.bytecode.object"]}}}};
const out = JSON.parse(solc.compile(JSON.stringify(input)));
const errors = (out.errors || []).filter((e) => e.severity === "error");
if (errors.length) { console.error(errors.map((e) => e.formattedMessage).join("\\n")); process.exit(1); }
const artifacts = {};
for (const file of Object.keys(out.contracts))
  for (const [name, c] of Object.entries(out.contracts[file])) artifacts[name] = {abi: c.abi, bytecode: "0x" + c.evm.bytecode.object};
process.stdout.write(JSON.stringify(artifacts));
"""


def artifacts() -> dict[str, dict]:
    """{contract name: {"abi", "bytecode"}} for every contract in contracts/."""
    sources = {p.name: {"content": p.read_text()} for p in sorted(SOURCES.glob("*.sol"))}
    digest = hashlib.sha256(json.dumps(sources, sort_keys=True).encode()).hexdigest()[:16]
    cached = CACHE / f"{digest}.json"
    if cached.exists():
        return json.loads(cached.read_text())
    done = subprocess.run(["node", "-e", _COMPILE, str(SOLC_MODULES)], input=json.dumps(sources), capture_output=True, text=True)
    if done.returncode != 0:
        raise RuntimeError(f"solc failed (is .tools/solc installed? run scripts/setup):\n{done.stderr}")
    CACHE.mkdir(parents=True, exist_ok=True)
    cached.write_text(done.stdout)
    return json.loads(done.stdout)


def deploy(web3: Web3, name: str, *args, sender: str | None = None) -> str:
    """Deploys contract `name` from `sender` (default: the node's first unlocked account)."""
    artifact = artifacts()[name]
    contract = web3.eth.contract(abi=artifact["abi"], bytecode=artifact["bytecode"])
    tx_hash = contract.constructor(*args).transact({"from": sender or web3.eth.accounts[0]})
    receipt = web3.eth.wait_for_transaction_receipt(tx_hash, timeout=30)
    return receipt.contractAddress


def at(web3: Web3, name: str, address: str):
    return web3.eth.contract(address=Web3.to_checksum_address(address), abi=artifacts()[name]["abi"])
