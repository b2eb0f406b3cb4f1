"""Session settings: session override > manifest default, typed by the manifest, required ones given."""

import pytest

from orchestrator.agents.manifest import parse_manifest
from orchestrator.agents.settings import SettingError, coerce, resolve

EVM_AGENT = parse_manifest("""
name = "DCA"
walletType = "ethereum"

[settings.label]
type = "text"
default = "ETH DCA"

[settings.compound]
type = "boolean"
default = true

[settings.risk]
type = "single_select"
options = ["low", "medium", "high"]
default = "medium"

[settings.orders]
type = "integer"
default = 3

[settings.usd]
type = "number"
default = 50

[settings.slippage]
type = "percentage"
default = 0.5

[settings.treasury]
type = "address"
required = true

[settings.note]
type = "text"

[settings.venues]
type = "multi_select"
options = ["uniswap", "curve"]
""")

SOLANA_AGENT = parse_manifest('name = "S"\nwalletType = "solana"\n[settings.payout]\ntype = "address"\n')

TREASURY = "0x000000000000000000000000000000000000dEaD"


def test_defaults_are_typed_and_optional_settings_without_one_are_left_out():
    assert resolve(EVM_AGENT, {"treasury": TREASURY}) == {
        "label": "ETH DCA", "compound": True, "risk": "medium", "orders": 3, "usd": 50.0, "slippage": 0.5, "treasury": TREASURY,
    }
    resolved = resolve(EVM_AGENT, {"treasury": TREASURY})
    assert type(resolved["orders"]) is int and type(resolved["usd"]) is float


def test_overrides_win_and_are_typed():
    overrides = {
        "treasury": TREASURY.lower(), "label": "", "compound": "FALSE", "risk": "high", "orders": "7.0", "usd": "1e3", "slippage": "100",
        "note": "hi", "venues": "uniswap, curve",
    }
    assert resolve(EVM_AGENT, overrides) == {
        "label": "", "compound": False, "risk": "high", "orders": 7, "usd": 1000.0, "slippage": 100.0, "treasury": TREASURY.lower(),
        "note": "hi", "venues": ["uniswap", "curve"],
    }
    assert resolve(EVM_AGENT, {"treasury": TREASURY, "venues": '["curve"]'})["venues"] == ["curve"]


def test_native_values_are_accepted_too():
    resolved = resolve(EVM_AGENT, {"treasury": TREASURY, "compound": False, "orders": 4, "usd": 2.5, "slippage": 1})
    assert (resolved["compound"], resolved["orders"], resolved["usd"], resolved["slippage"]) == (False, 4, 2.5, 1.0)


def test_solana_addresses():
    assert resolve(SOLANA_AGENT, {"payout": "So11111111111111111111111111111111111111112"}) == {
        "payout": "So11111111111111111111111111111111111111112"
    }
    assert resolve(SOLANA_AGENT, {}) == {}


# Each mistake and its exact message: the setting, the value given, and what to give instead.
MISTAKES = [
    ("required missing", EVM_AGENT, {},
     "setting 'treasury' is required and has no default; give it a value when starting the session, e.g. --setting treasury=<address>"),
    ("required blank", EVM_AGENT, {"treasury": "  "},
     "setting 'treasury' is required and has no default (given \"  \"); give it a value when starting the session, "
     "e.g. --setting treasury=<address>"),
    ("unknown", EVM_AGENT, {"treasury": TREASURY, "colour": "red"},
     "unknown settings ['colour'] (colour = \"red\"); this agent has ['compound', 'label', 'note', 'orders', 'risk', 'slippage', "
     "'treasury', 'usd', 'venues']: remove them or fix the name"),
    ("misspelt", SOLANA_AGENT, {"payuot": "x"},
     "unknown settings ['payuot'] (payuot = \"x\"); this agent has ['payout']: remove them or fix the name (did you mean 'payuot' → 'payout'?)"),
    ("boolean", EVM_AGENT, {"treasury": TREASURY, "compound": "yes"},
     "setting 'compound' = \"yes\" is not a boolean; give true or false"),
    ("integer fractional", EVM_AGENT, {"treasury": TREASURY, "orders": "2.5"},
     "setting 'orders' = \"2.5\" is not an integer; give a whole number, e.g. orders=3"),
    ("integer with underscore", EVM_AGENT, {"treasury": TREASURY, "orders": "1_000"},
     "setting 'orders' = \"1_000\" is not an integer; give a whole number, e.g. orders=3"),
    ("number with unit", EVM_AGENT, {"treasury": TREASURY, "usd": "$50"},
     "setting 'usd' = \"$50\" is not a number; give a number like usd=1.5 (digits only, no % sign or unit)"),
    ("number not finite", EVM_AGENT, {"treasury": TREASURY, "usd": "inf"},
     "setting 'usd' = \"inf\" is not a number; give a number like usd=1.5 (digits only, no % sign or unit)"),
    ("percentage with sign", EVM_AGENT, {"treasury": TREASURY, "slippage": "0.5%"},
     "setting 'slippage' = \"0.5%\" is not a number; give a percentage like slippage=0.5 (digits only, no % sign or unit)"),
    ("percentage over 100", EVM_AGENT, {"treasury": TREASURY, "slippage": "150"},
     "setting 'slippage' = \"150\" is a percentage outside 0–100; give a value from 0 to 100 (0.5 means 0.5%)"),
    ("percentage negative", EVM_AGENT, {"treasury": TREASURY, "slippage": "-1"},
     "setting 'slippage' = \"-1\" is a percentage outside 0–100; give a value from 0 to 100 (0.5 means 0.5%)"),
    ("single_select", EVM_AGENT, {"treasury": TREASURY, "risk": "hgih"},
     "setting 'risk' = \"hgih\" is not one of its options; give one of ['low', 'medium', 'high'] (did you mean 'high'?)"),
    ("multi_select", EVM_AGENT, {"treasury": TREASURY, "venues": "uniswap,balancer"},
     "setting 'venues' = \"uniswap,balancer\" has ['balancer'], which are not among its options; choose from ['uniswap', 'curve']"),
    ("address malformed", EVM_AGENT, {"treasury": "not-an-address"},
     "setting 'treasury' = \"not-an-address\" must be a ethereum address for this ethereum agent; it is not an EVM address; "
     "write 0x followed by 40 hex digits, e.g. \"0x000000000000000000000000000000000000dEaD\""),
    ("address bad checksum", EVM_AGENT, {"treasury": "0x000000000000000000000000000000000000DEad"},
     "setting 'treasury' = \"0x000000000000000000000000000000000000DEad\" must be a ethereum address for this ethereum agent; "
     "it is mixed-case but its EIP-55 checksum is wrong (a typo?); copy the address again, or write it all in lowercase to skip the checksum"),
    ("Solana address for an EVM agent", EVM_AGENT, {"treasury": "So11111111111111111111111111111111111111112"},
     "setting 'treasury' = \"So11111111111111111111111111111111111111112\" must be a ethereum address for this ethereum agent; "
     "it is a Solana address; an ethereum agent needs 0x followed by 40 hex digits, e.g. \"0x000000000000000000000000000000000000dEaD\""),
    ("EVM address for a Solana agent", SOLANA_AGENT, {"payout": TREASURY},
     "setting 'payout' = \"0x000000000000000000000000000000000000dEaD\" must be a solana address for this solana agent; it is an EVM "
     "address; a solana agent needs a base58 Solana address (32 bytes), e.g. \"11111111111111111111111111111111\""),
    ("Solana address too short", SOLANA_AGENT, {"payout": "1111"},
     "setting 'payout' = \"1111\" must be a solana address for this solana agent; it is not a Solana address; write a base58 "
     "public key (32–44 characters, 32 bytes), e.g. \"11111111111111111111111111111111\""),
]


@pytest.mark.parametrize("manifest, overrides, message", [m[1:] for m in MISTAKES], ids=[m[0] for m in MISTAKES])
def test_each_mistake_gets_the_exact_message(manifest, overrides, message):
    with pytest.raises(SettingError) as refused:
        resolve(manifest, overrides)
    assert str(refused.value) == message


def test_coerce_is_usable_on_its_own():
    setting = EVM_AGENT.settings["orders"]
    assert coerce("orders", setting, "12", "ethereum") == 12
    with pytest.raises(SettingError, match="'orders' = true is not an integer"):
        coerce("orders", setting, True, "ethereum")
