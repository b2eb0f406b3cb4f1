"""circuit.toml: parsed with tomli into pydantic models, with errors that name the fix.

Every error names the key, the offending value and what to write instead, e.g.

    circuit.toml: walletType = "tron" is not one of "ethereum" or "solana"; write walletType = "ethereum" or walletType = "solana"

Legacy keys are accepted and mapped to the current ones first (see `legacy`). This package re-exports
the public names, so `from orchestrator.agents.manifest import X` works for all of them.

- `parsing`    reading circuit.toml (or a directory's) into a `Manifest`, errors phrased as fixes
- `models`     the pydantic models (`Manifest`, `StartingAsset`, `Setting`, `SandboxRequest`)
- `checks`     the value checks the models share (strings, raw amounts, choices)
- `legacy`     older keys mapped to the current ones
- `addresses`  address checks per wallet type (native assets come from `corral.networks`)
- `choices`    the fixed sets of values keys accept
- `problems`   `ManifestError` and how a problem is written
"""

from orchestrator.agents.manifest.addresses import LEGACY_NATIVE_EVM, NATIVE_EVM, NATIVE_SOLANA, address_key, address_problem, native_asset
from orchestrator.agents.manifest.choices import (
    EXECUTION_MODES,
    LEGACY_SETTING_TYPES,
    REGIONS,
    SCHEDULES,
    SETTING_TYPES,
    WALLET_TYPES,
)
from orchestrator.agents.manifest.legacy import map_legacy_keys
from orchestrator.agents.manifest.models import (
    NAME_MAX,
    TAGLINE_MAX,
    BenchmarkCurrency,
    Manifest,
    SandboxRequest,
    Setting,
    StartingAsset,
)
from orchestrator.agents.manifest.parsing import load_manifest_dir, parse_manifest
from orchestrator.agents.manifest.problems import ManifestError

__all__ = [
    "EXECUTION_MODES",
    "LEGACY_NATIVE_EVM",
    "LEGACY_SETTING_TYPES",
    "NAME_MAX",
    "NATIVE_EVM",
    "NATIVE_SOLANA",
    "REGIONS",
    "SCHEDULES",
    "SETTING_TYPES",
    "TAGLINE_MAX",
    "WALLET_TYPES",
    "BenchmarkCurrency",
    "Manifest",
    "ManifestError",
    "SandboxRequest",
    "Setting",
    "StartingAsset",
    "address_key",
    "address_problem",
    "load_manifest_dir",
    "map_legacy_keys",
    "native_asset",
    "parse_manifest",
]
