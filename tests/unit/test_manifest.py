import pytest

from orchestrator.manifest import ManifestError, parse_manifest
from orchestrator.settings_values import SettingError, resolve

GOOD = """
name = "DCA"
walletType = "ethereum"
allowedExecutionModes = ["manual", "auto"]
runtimeIntervalMinutes = 15
version = "1.2.3"

[startingAsset]
network = "ethereum:137"
address = "0x2791Bca1f2de4661ED88A30C99A7a9449Aa84174"
minimumAmount = "100000000"

[settings.slippage]
type = "percentage"
default = 0.5

[settings.target]
type = "address"
required = true
"""


def test_good_manifest():
    m = parse_manifest(GOOD)
    assert m.default_execution_mode == "manual"
    assert m.startingAsset.minimumAmount == "100000000"


def test_legacy_keys_are_mapped():
    m = parse_manifest('name = "Old"\nallowedWalletTypes = ["ethereum"]\ndefaultSleepIntervalMinutes = 5\nshortDescription = "x"\n')
    assert (m.walletType, m.runtimeIntervalMinutes, m.tagline) == ("ethereum", 5, "x")


def test_top_level_key_after_table_names_the_fix():
    text = 'name = "A"\nwalletType = "ethereum"\n[startingAsset]\nnetwork = "ethereum:1"\naddress = "0x0"\nversion = "1.0.0"\n'
    with pytest.raises(ManifestError, match="'version' is inside \\[startingAsset\\].*move"):
        parse_manifest(text)


@pytest.mark.parametrize(
    "text, fragment",
    [
        ('walletType = "ethereum"', "'name' is required"),
        ('name = "A"\nwalletType = "bitcoin"', "walletType"),
        ('name = "A"\nwalletType = "ethereum"\nversion = "one"', "semver"),
        ('name = "A"\nwalletType = "ethereum"\ncolour = "red"', "'colour' is not a circuit.toml key"),
        ('name = "A"\nwalletType = "ethereum"\n[startingAsset]\nnetwork = "ethereum:1"\naddress = "0x0"\nminimumAmount = 1.5', "integer string"),
        ('name = = "A"', "not valid TOML"),
    ],
)
def test_bad_manifests_say_what_to_fix(text, fragment):
    with pytest.raises(ManifestError, match=fragment):
        parse_manifest(text)


def test_settings_resolution_and_typing():
    m = parse_manifest(GOOD)
    resolved = resolve(m, {"target": "0x000000000000000000000000000000000000dEaD", "slippage": "1.5"})
    assert resolved == {"slippage": 1.5, "target": "0x000000000000000000000000000000000000dEaD"}
    with pytest.raises(SettingError, match="required"):
        resolve(m, {})
    with pytest.raises(SettingError, match="percentage"):
        resolve(m, {"target": "0x000000000000000000000000000000000000dEaD", "slippage": "150"})
    with pytest.raises(SettingError, match="unknown settings"):
        resolve(m, {"target": "0x000000000000000000000000000000000000dEaD", "nope": "1"})


def test_agent_may_ask_for_tighter_sandbox_limits_never_looser():
    from sandbox_runner.backend import SandboxLimits

    platform = SandboxLimits(memory_mb=256, cpus=0.5, pids=64, deadline_seconds=120)
    m = parse_manifest('name = "A"\nwalletType = "ethereum"\n[sandbox]\nmemoryMb = 128\ncpus = 2.0\ntimeoutSeconds = 600\n')
    limits = platform.at_most(memory_mb=m.sandbox.memoryMb, cpus=m.sandbox.cpus, pids=m.sandbox.pids, deadline_seconds=m.sandbox.timeoutSeconds)
    assert (limits.memory_mb, limits.cpus, limits.pids, limits.deadline_seconds) == (128, 0.5, 64, 120)
    with pytest.raises(ManifestError, match="memoryMb"):
        parse_manifest('name = "A"\nwalletType = "ethereum"\n[sandbox]\nmemoryMb = 1\n')
