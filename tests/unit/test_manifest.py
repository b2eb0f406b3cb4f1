import pytest

from orchestrator.agents.manifest import NATIVE_EVM, NATIVE_SOLANA, Manifest, ManifestError, load_manifest_dir, parse_manifest
from orchestrator.agents.settings import SettingError, resolve

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

# Circuit's current docs example ("DCA Strategy Agent"), every setting type.
CURRENT_DOCS = """
name = "DCA Strategy Agent"
tagline = "Dollar-cost average into tokens"
category = "quant"
imageUrl = "https://cdn.circuit.org/agents/default"
walletType = "ethereum"
allowedExecutionModes = ["auto", "manual"]
runtimeIntervalMinutes = 60
schedule = "fixed"
version = "0.0.1"
filesToInclude = ["../shared"]
filesToExclude = ["notebooks/"]
deploymentRegionOverride = "eu-central-1"

[startingAsset]
network = "ethereum:1"
address = "0xA0b86991c6218b36c1d19D4a2e9Eb0cE3606eB48" # USDC
minimumAmount = "100000000" # 100 USDC (6 decimals)

[settings.strategy_name]
description = "User-facing label for the strategy"
type = "text"
default = "ETH DCA"
required = false

[settings.auto_compound]
type = "boolean"
default = true

[settings.risk_level]
type = "single_select"
default = "medium"
options = ["low", "medium", "high"]

[settings.max_orders_per_day]
type = "integer"
default = 3

[settings.buy_amount_usd]
type = "number"
default = 50.0

[settings.slippage_tolerance]
description = "Max slippage per swap"
type = "percentage"
default = 0.5

[settings.treasury]
type = "address"
default = "0x1234567890abcdef1234567890abcdef12345678"

[settings.api_key]
type = "text"
required = true
"""

# Circuit's older docs example (".circuit.toml", v1.x), verbatim.
LEGACY_DOCS = """
name = "My Agent"
slug = "my-agent"
description = "Agent description"
shortDescription = ""
defaultSleepIntervalMinutes = 15
allowedWalletTypes = ["ethereum", "solana"]
allowedExecutionModes = [ "manual"] # Accepts ["manual", "auto"]
devRunExecutionMode = "manual"
filesToInclude = []
filesToExclude = []

[benchmarkCurrency]
network = "fiat:usd"
address = ""

[[requiredAssets]]
network = "ethereum:1"
address = "0x0000000000000000000000000000000000000000"
minimumAmount = "10000000000000000"
devRunAmount = "10000000000000000"
"""

SOLANA = """
name = "SOL Stacker"
tagline = "Stacks SOL"
walletType = "solana"
allowedExecutionModes = ["manual"]
runtimeIntervalMinutes = 1440
version = "2.0.0-beta.1+build.7"

[startingAsset]
network = "solana"
address = "11111111111111111111111111111111"
minimumAmount = 1000000000

[settings.payout]
type = "address"
default = "So11111111111111111111111111111111111111112"
"""


def test_good_manifest():
    m = parse_manifest(GOOD)
    assert m.default_execution_mode == "manual"
    assert m.startingAsset.minimumAmount == "100000000"


def test_current_docs_manifest():
    m = parse_manifest(CURRENT_DOCS)
    assert (m.walletType, m.schedule, m.deploymentRegionOverride, m.default_execution_mode) == ("ethereum", "fixed", "eu-central-1", "auto")
    assert {name: s.type for name, s in m.settings.items()} == {
        "strategy_name": "text", "auto_compound": "boolean", "risk_level": "single_select", "max_orders_per_day": "integer",
        "buy_amount_usd": "number", "slippage_tolerance": "percentage", "treasury": "address", "api_key": "text",
    }
    assert m.settings["api_key"].required and m.settings["api_key"].default is None


def test_legacy_docs_manifest_is_mapped():
    m = parse_manifest(LEGACY_DOCS)
    assert (m.name, m.tagline, m.runtimeIntervalMinutes) == ("My Agent", "", 15)
    # allowedWalletTypes lists both; the starting asset is on an EVM chain, so the agent is an ethereum one.
    assert m.walletType == "ethereum"
    assert m.allowedExecutionModes == ["manual"] and m.default_execution_mode == "manual"
    # [[requiredAssets]] → [startingAsset]; the older native address 0x000…000 → 0xeeee…eeee.
    assert m.startingAsset.model_dump() == {
        "network": "ethereum:1", "address": NATIVE_EVM, "minimumAmount": "10000000000000000", "devRunAmount": "10000000000000000",
    }
    assert (m.slug, m.description, m.benchmarkCurrency.network) == ("my-agent", "Agent description", "fiat:usd")


def test_solana_manifest():
    m = parse_manifest(SOLANA)
    assert (m.walletType, m.startingAsset.address, m.startingAsset.minimumAmount) == ("solana", NATIVE_SOLANA, "1000000000")


def test_legacy_keys_are_mapped():
    m = parse_manifest('name = "Old"\nallowedWalletTypes = ["ethereum"]\ndefaultSleepIntervalMinutes = 5\nshortDescription = "x"\n')
    assert (m.walletType, m.runtimeIntervalMinutes, m.tagline) == ("ethereum", 5, "x")


@pytest.mark.parametrize(
    "text, expected",
    [
        # Several wallet types: the one the starting asset's network needs, else the first.
        ('allowedWalletTypes = ["ethereum", "solana"]\n[[requiredAssets]]\nnetwork = "solana"\naddress = "11111111111111111111111111111111"',
         ("solana", ["auto"])),
        ('allowedWalletTypes = ["solana", "ethereum"]', ("solana", ["auto"])),
        ('allowedWalletTypes = "solana"', ("solana", ["auto"])),
        # devRunExecutionMode is the default mode: it moves to the front of allowedExecutionModes.
        ('walletType = "ethereum"\nallowedExecutionModes = ["auto", "manual"]\ndevRunExecutionMode = "manual"', ("ethereum", ["manual", "auto"])),
        ('walletType = "ethereum"\ndevRunExecutionMode = "manual"', ("ethereum", ["manual"])),
        # A legacy key that agrees with its current one is fine.
        ('walletType = "solana"\nallowedWalletTypes = ["solana"]\nruntimeIntervalMinutes = 5\ndefaultSleepIntervalMinutes = 5', ("solana", ["auto"])),
    ],
)
def test_legacy_mapping_rules(text, expected):
    m = parse_manifest('name = "Old"\n' + text)
    assert (m.walletType, m.allowedExecutionModes) == expected


def test_manifest_model_maps_legacy_keys_too():
    m = Manifest.model_validate({"name": "Old", "allowedWalletTypes": ["solana"], "shortDescription": "s", "devRunExecutionMode": "manual"})
    assert (m.walletType, m.tagline, m.allowedExecutionModes) == ("solana", "s", ["manual"])


def test_values_are_normalised():
    m = parse_manifest(
        'name = "A"\nwalletType = "ethereum"\nruntimeIntervalMinutes = 30.0\n'
        '[startingAsset]\nnetwork = "ethereum:1"\naddress = "0x0000000000000000000000000000000000000000"\nminimumAmount = 5\n'
        '[settings.n]\ntype = "integer"\ndefault = 3.0\n'
    )
    assert (m.runtimeIntervalMinutes, m.startingAsset.address, m.startingAsset.minimumAmount) == (30, NATIVE_EVM, "5")
    assert m.settings["n"].default == 3 and isinstance(m.settings["n"].default, int)


def test_top_level_key_after_table_names_the_fix():
    text = 'name = "A"\nwalletType = "ethereum"\n[startingAsset]\nnetwork = "ethereum:1"\naddress = "0x0"\nversion = "1.0.0"\n'
    with pytest.raises(ManifestError, match="'version' is inside \\[startingAsset\\].*move"):
        parse_manifest(text)


H = 'name = "A"\nwalletType = "ethereum"\n'
ASSET = '[startingAsset]\nnetwork = "ethereum:1"\naddress = "0xeeeeeeeeeeeeeeeeeeeeeeeeeeeeeeeeeeeeeeee"\n'
SOL = 'name = "A"\nwalletType = "solana"\n'


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


# Each mistake and the exact message it gets: the key, the value as written, and what to write instead.
MISTAKES = [
    # --- required keys, unknown keys
    ("name missing", 'walletType = "ethereum"',
     'key \'name\' is required; add it above the first [table] header, e.g. name = "My Agent"'),
    ("walletType missing", 'name = "A"',
     'key \'walletType\' is required; add it above the first [table] header, e.g. walletType = "ethereum"'),
    ("unknown key", H + 'colour = "red"',
     'key \'colour\' is not a circuit.toml key (colour = "red"); remove it or check its spelling'),
    ("misspelt key", H + "runtimeIntervalMinute = 5",
     "key 'runtimeIntervalMinute' is not a circuit.toml key (runtimeIntervalMinute = 5); remove it or check its spelling "
     "(did you mean 'runtimeIntervalMinutes'?)"),
    # --- name, tagline
    ("name too long", 'name = "An Extremely Long Agent Name For DCA"\nwalletType = "ethereum"',
     'name = "An Extremely Long Agent Name For DCA" is 36 characters; the limit is 32: shorten it, e.g. '
     'name = "An Extremely Long Agent Name For" (choose carefully: the name is the agent\'s identity, and renaming it later '
     "makes a new agent)"),
    ("name empty", 'name = " "\nwalletType = "ethereum"',
     'name = " " must not be empty; give the agent a name of at most 32 characters, e.g. name = "My Agent"'),
    ("name not a string", 'name = 7\nwalletType = "ethereum"',
     'name = 7 must be a string, not an integer; put it in double quotes, e.g. name = "My Agent"'),
    ("tagline too long", H + 'tagline = "Buys the dip, every single day, forever"',
     'tagline = "Buys the dip, every single day, forever" is 39 characters; the limit is 32: shorten it, e.g. to '
     '"Buys the dip, every single day,"'),
    # --- walletType
    ("walletType unknown", 'name = "A"\nwalletType = "tron"',
     'walletType = "tron" is not one of "ethereum" or "solana"; write walletType = "ethereum" or walletType = "solana"'),
    ("walletType capitalised", 'name = "A"\nwalletType = "Solana"',
     'walletType = "Solana" is not one of "ethereum" or "solana"; write walletType = "ethereum" or walletType = "solana" '
     "(did you mean 'solana'?)"),
    ("walletType is a chain", 'name = "A"\nwalletType = "base"',
     'walletType = "base" is not one of "ethereum" or "solana"; write walletType = "ethereum" or walletType = "solana" '
     '(EVM chains: Ethereum, Polygon, Arbitrum, Base … are all "ethereum")'),
    ("walletType as array", 'name = "A"\nwalletType = ["ethereum"]',
     'walletType = ["ethereum"] must be one string, not an array; write walletType = "ethereum"'),
    # --- allowedExecutionModes
    ("modes as string", H + 'allowedExecutionModes = "manual"',
     'allowedExecutionModes = "manual" must be an array, not a string; write allowedExecutionModes = ["manual"]'),
    ("modes empty", H + "allowedExecutionModes = []",
     'allowedExecutionModes = [] is empty; list at least one mode, the default first: allowedExecutionModes = ["auto"] or ["manual", "auto"]'),
    ("mode unknown", H + 'allowedExecutionModes = ["auto", "dry-run"]',
     'allowedExecutionModes = ["auto", "dry-run"] has "dry-run", which is not a mode; each entry is "auto" or "manual" '
     '(the first is the default), e.g. allowedExecutionModes = ["auto", "manual"]'),
    ("mode twice", H + 'allowedExecutionModes = ["manual", "auto", "manual"]',
     'allowedExecutionModes = ["manual", "auto", "manual"] lists "manual" more than once; remove the duplicate'),
    # --- runtimeIntervalMinutes, schedule, region, imageUrl
    ("interval quoted", H + 'runtimeIntervalMinutes = "15"',
     'runtimeIntervalMinutes = "15" is a string; write the number without quotes: runtimeIntervalMinutes = 15'),
    ("interval zero", H + "runtimeIntervalMinutes = 0",
     "runtimeIntervalMinutes = 0 must be at least 1 minute; write e.g. runtimeIntervalMinutes = 60"),
    ("interval fractional", H + "runtimeIntervalMinutes = 0.5",
     "runtimeIntervalMinutes = 0.5 must be a whole number of minutes; write e.g. runtimeIntervalMinutes = 60"),
    ("schedule unknown", H + 'schedule = "hourly"',
     'schedule = "hourly" is not one of "rolling" or "fixed"; write schedule = "rolling" or schedule = "fixed" '
     "(rolling: the interval counts from the end of the previous run; fixed: clock-aligned)"),
    ("region unknown", H + 'deploymentRegionOverride = "us-west-2"',
     'deploymentRegionOverride = "us-west-2" is not one of "us-east-1" or "eu-central-1"; write deploymentRegionOverride = '
     '"us-east-1" or deploymentRegionOverride = "eu-central-1", or remove the key for the default (us-east-1) (did you mean \'us-east-1\'?)'),
    ("imageUrl not a URL", H + 'imageUrl = "icon.png"',
     'imageUrl = "icon.png" is not an http(s) URL; write e.g. imageUrl = "https://cdn.circuit.org/agents/default", or remove the key'),
    ("files as string", H + 'filesToInclude = "../shared"',
     'filesToInclude = "../shared" must be an array of paths, not a string; write ["../shared"]'),
    # --- version (semver)
    ("version words", H + 'version = "first"',
     'version = "first" is not semver; write MAJOR.MINOR.PATCH, e.g. version = "1.0.0" (optionally "1.0.0-beta.1")'),
    ("version two parts", H + 'version = "1.2"',
     'version = "1.2" is not semver; give all three parts MAJOR.MINOR.PATCH: version = "1.2.0"'),
    ("version with v", H + 'version = "v1.2.3"',
     'version = "v1.2.3" is not semver; drop the "v": version = "1.2.3"'),
    ("version leading zero", H + 'version = "1.02.3"',
     'version = "1.02.3" is not semver; drop the leading zeros: version = "1.2.3"'),
    ("version unquoted number", H + "version = 1.5",
     'version = 1.5 is a number; version is a semver string: write version = "1.5.0" (in double quotes)'),
    # --- startingAsset
    ("network without chain id", H + ASSET.replace('"ethereum:1"', '"ethereum"'),
     'startingAsset.network = "ethereum" is not a network id; EVM networks are "ethereum:<chainId>"; write network = "ethereum:1"'),
    ("network by chain name", H + ASSET.replace('"ethereum:1"', '"arbitrum"'),
     'startingAsset.network = "arbitrum" is not a network id; EVM networks are "ethereum:<chainId>"; write network = "ethereum:42161"'),
    ("network chain id in hex", H + ASSET.replace('"ethereum:1"', '"ethereum:0x2105"'),
     'startingAsset.network = "ethereum:0x2105" is not a network id; write the chain id in decimal: network = "ethereum:8453"'),
    ("network solana cluster", SOL + '[startingAsset]\nnetwork = "solana:mainnet"\naddress = "11111111111111111111111111111111"',
     'startingAsset.network = "solana:mainnet" is not a network id; write network = "solana"'),
    ("network unknown", H + ASSET.replace('"ethereum:1"', '"bitcoin"'),
     'startingAsset.network = "bitcoin" is not a network id; write network = "ethereum:<chainId>" for an EVM chain '
     '(e.g. "ethereum:1", "ethereum:137") or network = "solana"'),
    ("network missing", H + '[startingAsset]\naddress = "0xeeeeeeeeeeeeeeeeeeeeeeeeeeeeeeeeeeeeeeee"',
     'key \'startingAsset.network\' is required; add it under [startingAsset], e.g. network = "ethereum:1"'),
    ("asset unknown key", H + ASSET + 'amount = "5"',
     'key \'startingAsset.amount\' is not a [startingAsset] key (amount = "5"); remove it or use one of network, address, minimumAmount'),
    ("solana native on EVM", H + ASSET.replace("0xeeeeeeeeeeeeeeeeeeeeeeeeeeeeeeeeeeeeeeee", NATIVE_SOLANA),
     'startingAsset.address = "11111111111111111111111111111111" is Solana\'s native-token address, but network = "ethereum:1" '
     'is an EVM chain; for its native token write address = "0xeeeeeeeeeeeeeeeeeeeeeeeeeeeeeeeeeeeeeeee"'),
    ("EVM native on solana", SOL + '[startingAsset]\nnetwork = "solana"\naddress = "0xeeeeeeeeeeeeeeeeeeeeeeeeeeeeeeeeeeeeeeee"',
     'startingAsset.address = "0xeeeeeeeeeeeeeeeeeeeeeeeeeeeeeeeeeeeeeeee" is the EVM native-token address, but network = "solana"; '
     'for native SOL write address = "11111111111111111111111111111111"'),
    ("short EVM address", H + ASSET.replace("0xeeeeeeeeeeeeeeeeeeeeeeeeeeeeeeeeeeeeeeee", "0xA0b8"),
     'startingAsset.address = "0xA0b8" is not an EVM address; write 0x followed by 40 hex digits, e.g. '
     '"0x000000000000000000000000000000000000dEaD"; for the native token write "0xeeeeeeeeeeeeeeeeeeeeeeeeeeeeeeeeeeeeeeee"'),
    ("bad EIP-55 checksum", H + ASSET.replace("0xeeeeeeeeeeeeeeeeeeeeeeeeeeeeeeeeeeeeeeee", "0xA0b86991c6218b36c1d19D4a2e9Eb0cE3606eb48"),
     'startingAsset.address = "0xA0b86991c6218b36c1d19D4a2e9Eb0cE3606eb48" is mixed-case but its EIP-55 checksum is wrong '
     "(a typo?); copy the address again, or write it all in lowercase to skip the checksum; for the native token write "
     '"0xeeeeeeeeeeeeeeeeeeeeeeeeeeeeeeeeeeeeeeee"'),
    ("bad Solana address", SOL + '[startingAsset]\nnetwork = "solana"\naddress = "So1anaIsNotBase58"',
     'startingAsset.address = "So1anaIsNotBase58" is not a Solana address; write a base58 public key (32–44 characters, 32 bytes), '
     'e.g. "11111111111111111111111111111111"; for native SOL write "11111111111111111111111111111111"'),
    ("empty address", H + ASSET.replace('"0xeeeeeeeeeeeeeeeeeeeeeeeeeeeeeeeeeeeeeeee"', '""'),
     'startingAsset.address = "" must not be empty; write the token\'s address, or the native token\'s: '
     '"0xeeeeeeeeeeeeeeeeeeeeeeeeeeeeeeeeeeeeeeee" (EVM) or "11111111111111111111111111111111" (Solana)'),
    ("decimal minimumAmount", H + ASSET + 'minimumAmount = "0.1"',
     'startingAsset.minimumAmount = "0.1" must be an integer string in the asset\'s smallest unit (wei, lamports, 6-decimal USDC '
     'units …), not a decimal; multiply by 10^decimals, e.g. 1.5 USDC is minimumAmount = "1500000"'),
    ("minimumAmount not digits", H + ASSET + 'minimumAmount = "100 USDC"',
     'startingAsset.minimumAmount = "100 USDC" must be an integer string in the asset\'s smallest unit, digits only; '
     'write e.g. minimumAmount = "1000000"'),
    ("negative minimumAmount", H + ASSET + "minimumAmount = -1",
     'startingAsset.minimumAmount = -1 must not be negative; write a whole number of the asset\'s smallest unit, e.g. minimumAmount = "1000000"'),
    ("solana asset, ethereum wallet", H + '[startingAsset]\nnetwork = "solana"\naddress = "11111111111111111111111111111111"',
     'startingAsset.network = "solana" is a Solana network, but walletType = "ethereum"; an ethereum agent\'s starting asset is '
     'on an "ethereum:<chainId>" network (e.g. "ethereum:1"): fix network, or write walletType = "solana"'),
    ("EVM asset, solana wallet", SOL + ASSET,
     'startingAsset.network = "ethereum:1" is not Solana, but walletType = "solana"; a solana agent\'s starting asset is on '
     'network = "solana": fix network (and address, e.g. "11111111111111111111111111111111" for native SOL), or write walletType = "ethereum"'),
    ("startingAsset not a table", H + 'startingAsset = "ETH"',
     'startingAsset = "ETH" must be a table, not a string; write it as a [startingAsset] section'),
    # --- settings
    ("setting type missing", H + '[settings.risk]\ndefault = "low"',
     'key \'settings.risk.type\' is required; add it under [settings.risk], e.g. type = "text" (or "boolean", "single_select", '
     '"integer", "number", "percentage" or "address")'),
    ("setting type unknown", H + '[settings.risk]\ntype = "string"',
     'settings.risk.type = "string" is not a setting type; write type = one of "text", "boolean", "single_select", "integer", '
     '"number", "percentage" or "address" (did you mean "text"?)'),
    ("setting unknown key", H + '[settings.risk]\ntype = "text"\nlabel = "Risk"',
     'key \'settings.risk.label\' is not a [settings.risk] key (label = "Risk"); remove it or use one of type, description, default, required, options'),
    ("single_select default not an option", H + '[settings.risk]\ntype = "single_select"\noptions = ["low", "medium", "high"]\ndefault = "hgh"',
     'settings.risk.default = "hgh" is not one of its options ["low", "medium", "high"]; write default = one of them, '
     'or add "hgh" to options (did you mean \'high\'?)'),
    ("single_select without options", H + '[settings.risk]\ntype = "single_select"\ndefault = "low"',
     'settings.risk.type = "single_select" needs its choices; add options = ["low", "medium", "high"] (your own values) to this setting'),
    ("options on a text setting", H + '[settings.risk]\ntype = "text"\noptions = ["low", "high"]',
     'settings.risk.options = ["low", "high"] is only for single_select settings, and this one is type = "text"; remove options '
     'or write type = "single_select"'),
    ("duplicate options", H + '[settings.risk]\ntype = "single_select"\noptions = ["low", "low"]',
     'settings.risk.options = ["low", "low"] lists "low" more than once; remove the duplicate'),
    ("options not strings", H + '[settings.risk]\ntype = "single_select"\noptions = [1, 2]',
     'settings.risk.options = [1, 2] must all be strings; quote them, e.g. options = ["1", "2"]'),
    ("required with a default", H + '[settings.key]\ntype = "text"\nrequired = true\ndefault = "abc"',
     'settings.key.default = "abc" contradicts required = true: a required setting has no default (the user must give it); '
     "remove default, or write required = false to keep it"),
    ("required quoted", H + '[settings.key]\ntype = "text"\nrequired = "true"',
     'settings.key.required = "true" must be true or false, without quotes; write required = true or required = false'),
    ("percentage over 100", H + '[settings.slip]\ntype = "percentage"\ndefault = 150',
     "settings.slip.default = 150 is outside 0–100; a percentage setting takes 0 to 100 (0.5 means 0.5%): write e.g. default = 0.5"),
    ("percentage quoted", H + '[settings.slip]\ntype = "percentage"\ndefault = "0.5"',
     'settings.slip.default = "0.5" is not a number; write it without quotes: default = 0.5'),
    ("number not a number", H + '[settings.usd]\ntype = "number"\ndefault = "fifty"',
     'settings.usd.default = "fifty" is not a number; write e.g. default = 0.5'),
    ("integer fractional", H + '[settings.n]\ntype = "integer"\ndefault = 2.5',
     "settings.n.default = 2.5 is not a whole number, and an integer setting's default must be one; write e.g. default = 3"),
    ("boolean quoted", H + '[settings.on]\ntype = "boolean"\ndefault = "true"',
     'settings.on.default = "true" is not a boolean; write default = true or default = false, without quotes'),
    ("text default not a string", H + '[settings.label]\ntype = "text"\ndefault = 5',
     'settings.label.default = 5 is an integer, but a text setting\'s default is a string; put it in double quotes: default = "5"'),
    ("address default, ethereum", H + '[settings.treasury]\ntype = "address"\ndefault = "0x1234"',
     'settings.treasury.default = "0x1234" must be an ethereum address (walletType = "ethereum"), but it is not an EVM address; '
     'write 0x followed by 40 hex digits, e.g. "0x000000000000000000000000000000000000dEaD"'),
    ("address default, solana", SOL + '[settings.treasury]\ntype = "address"\ndefault = "0x000000000000000000000000000000000000dEaD"',
     'settings.treasury.default = "0x000000000000000000000000000000000000dEaD" must be a solana address (walletType = "solana"), '
     'but it is an EVM address; a solana agent needs a base58 Solana address (32 bytes), e.g. "11111111111111111111111111111111"'),
    ("Solana address default, ethereum", H + '[settings.treasury]\ntype = "address"\ndefault = "So11111111111111111111111111111111111111112"',
     'settings.treasury.default = "So11111111111111111111111111111111111111112" must be an ethereum address (walletType = "ethereum"), '
     'but it is a Solana address; an ethereum agent needs 0x followed by 40 hex digits, e.g. "0x000000000000000000000000000000000000dEaD"'),
    ("setting written as a plain key", H + "[settings]\nslippage = 0.5",
     'settings.slippage = 0.5 is not a table, but each setting is its own table; write it as [settings.slippage] with '
     'type = "..." and default = 0.5 on the lines below'),
    # --- legacy keys
    ("legacy interval disagrees", H + "runtimeIntervalMinutes = 60\ndefaultSleepIntervalMinutes = 15",
     "defaultSleepIntervalMinutes = 15 disagrees with runtimeIntervalMinutes = 60; defaultSleepIntervalMinutes is the older name "
     "of runtimeIntervalMinutes: remove defaultSleepIntervalMinutes"),
    ("legacy tagline disagrees", H + 'tagline = "New"\nshortDescription = "Old"',
     'shortDescription = "Old" disagrees with tagline = "New"; shortDescription is the older name of tagline: remove shortDescription'),
    ("legacy shortDescription too long", 'name = "A"\nallowedWalletTypes = ["ethereum"]\nshortDescription = "A much longer description than fits"',
     'shortDescription = "A much longer description than fits" is 35 characters; the limit is 32: shorten it, e.g. to '
     '"A much longer description than f"'),
    ("legacy wallet type unknown", 'name = "A"\nallowedWalletTypes = ["evm"]',
     'allowedWalletTypes = ["evm"] has "evm", which is not "ethereum" or "solana"; write walletType = "ethereum" or '
     'walletType = "solana" instead'),
    ("legacy wallet types empty", 'name = "A"\nallowedWalletTypes = []',
     'allowedWalletTypes = [] must be a non-empty array of wallet types; write walletType = "ethereum" (or "solana") instead'),
    ("legacy wallet types disagree", H + 'allowedWalletTypes = ["solana"]',
     'allowedWalletTypes = ["solana"] does not include walletType = "ethereum"; allowedWalletTypes is the older form of '
     "walletType: remove allowedWalletTypes"),
    ("legacy dev mode not allowed", H + 'allowedExecutionModes = ["auto"]\ndevRunExecutionMode = "manual"',
     'devRunExecutionMode = "manual" is not in allowedExecutionModes = ["auto"]; add "manual" to allowedExecutionModes or '
     "remove devRunExecutionMode"),
    ("legacy dev mode unknown", H + 'devRunExecutionMode = "live"',
     'devRunExecutionMode = "live" is not "auto" or "manual"; write devRunExecutionMode = "auto" or "manual", or remove it '
     "(it is the older way to pick the default mode: the first entry of allowedExecutionModes)"),
    ("legacy two required assets", H + ('[[requiredAssets]]\nnetwork = "ethereum:1"\naddress = "0x0000000000000000000000000000000000000000"\n' * 2),
     'requiredAssets has 2 [[requiredAssets]] tables (networks "ethereum:1", "ethereum:1"); only a single starting asset is '
     "supported: keep one, or replace them with one [startingAsset] table"),
    ("legacy and current asset", H + ASSET + '[[requiredAssets]]\nnetwork = "ethereum:1"\naddress = "0x0000000000000000000000000000000000000000"',
     'requiredAssets (network = "ethereum:1") is the older form of [startingAsset], and both are given; remove the '
     "[[requiredAssets]] table"),
    ("legacy asset, decimal amount", H + '[[requiredAssets]]\nnetwork = "ethereum:1"\naddress = "0x0000000000000000000000000000000000000000"\nminimumAmount = "0.01"',
     'requiredAssets.minimumAmount = "0.01" must be an integer string in the asset\'s smallest unit (wei, lamports, 6-decimal USDC '
     'units …), not a decimal; multiply by 10^decimals, e.g. 1.5 USDC is minimumAmount = "1500000"'),
    ("legacy asset, network missing", H + '[[requiredAssets]]\naddress = "0x0000000000000000000000000000000000000000"',
     'key \'requiredAssets.network\' is required; add it under [[requiredAssets]], e.g. network = "ethereum:1"'),
    ("legacy devRunAmount below minimum", H + '[[requiredAssets]]\nnetwork = "ethereum:1"\naddress = "0x0000000000000000000000000000000000000000"\n'
     'minimumAmount = "100"\ndevRunAmount = "10"',
     'requiredAssets.devRunAmount = "10" is below minimumAmount = "100"; a dev-run allocation must be at least the minimum: '
     "raise devRunAmount or lower minimumAmount"),
    # --- the Corral [sandbox] extension
    ("sandbox memory too low", H + "[sandbox]\nmemoryMb = 1",
     "sandbox.memoryMb = 1 must be at least 32; raise it to 32 or more, or remove the key"),
    ("sandbox cpus quoted", H + '[sandbox]\ncpus = "2"',
     'sandbox.cpus = "2" must be a number, not a string; write it without quotes, e.g. cpus = 0.5'),
    # --- TOML syntax
    ("unquoted string", 'name = My Agent\nwalletType = "ethereum"',
     "not valid TOML at line 1: 'name = My Agent': Invalid value; write a valid value: strings go in double quotes "
     '(name = "My Agent"), booleans are true/false, arrays [..]'),
    ("duplicate key", H + 'name = "B"',
     "not valid TOML at line 3: 'name = \"B\"': Cannot overwrite a value; a key or [table] appears twice; keep one of them"),
    ("unquoted version", H + "version = 1.0.0",
     "not valid TOML at line 3: 'version = 1.0.0': Expected newline or end of document after a statement; one key = value per "
     'line; quote strings that contain dots or spaces, e.g. version = "1.0.0"'),
]


@pytest.mark.parametrize("text, message", [(t, m) for _, t, m in MISTAKES], ids=[i for i, _, _ in MISTAKES])
def test_each_mistake_gets_the_exact_message(text, message):
    with pytest.raises(ManifestError) as refused:
        parse_manifest(text)
    assert str(refused.value) == f"circuit.toml: {message}"


# The classic TOML mistake: a top-level key written after a [table] header belongs to that table.
MISPLACED = [
    ("after [startingAsset]", 'name = "A"\n' + ASSET + 'walletType = "ethereum"',
     "key 'walletType' is inside [startingAsset] because it comes after that header, so TOML reads it as "
     'startingAsset.walletType = "ethereum"; move the line `walletType = "ethereum"` above the first [table] header'),
    ("after [settings.x]", H + '[settings.note]\ntype = "text"\nversion = "0.0.2"',
     "key 'version' is inside [settings.note] because it comes after that header, so TOML reads it as "
     'settings.note.version = "0.0.2"; move the line `version = "0.0.2"` above the first [table] header'),
    ("after [settings]", H + '[settings]\nschedule = "fixed"',
     "key 'schedule' is inside [settings] because it comes after that header, so TOML reads it as "
     'settings.schedule = "fixed"; move the line `schedule = "fixed"` above the first [table] header'),
    ("after [[requiredAssets]]", 'name = "A"\nallowedWalletTypes = ["ethereum"]\n[[requiredAssets]]\nnetwork = "ethereum:1"\n'
     'address = "0x0000000000000000000000000000000000000000"\nfilesToInclude = ["../shared"]',
     "key 'filesToInclude' is inside [[requiredAssets]] because it comes after that header, so TOML reads it as "
     'requiredAssets[0].filesToInclude = ["../shared"]; move the line `filesToInclude = ["../shared"]` above the first [table] header'),
    ("after [benchmarkCurrency]", H + '[benchmarkCurrency]\nnetwork = "fiat:usd"\nfilesToExclude = ["notebooks/"]',
     "key 'filesToExclude' is inside [benchmarkCurrency] because it comes after that header, so TOML reads it as "
     'benchmarkCurrency.filesToExclude = ["notebooks/"]; move the line `filesToExclude = ["notebooks/"]` above the first [table] header'),
    ("after [sandbox]", H + "[sandbox]\nmemoryMb = 128\nruntimeIntervalMinutes = 5",
     "key 'runtimeIntervalMinutes' is inside [sandbox] because it comes after that header, so TOML reads it as "
     "sandbox.runtimeIntervalMinutes = 5; move the line `runtimeIntervalMinutes = 5` above the first [table] header"),
]


@pytest.mark.parametrize("text, message", [(t, m) for _, t, m in MISPLACED], ids=[i for i, _, _ in MISPLACED])
def test_top_level_key_after_a_table_header(text, message):
    with pytest.raises(ManifestError) as refused:
        parse_manifest(text)
    assert str(refused.value) == f"circuit.toml: {message}"


def test_a_description_inside_a_setting_is_the_settings_own():
    m = parse_manifest(H + '[settings.note]\ntype = "text"\ndescription = "Shown to the user"')
    assert m.settings["note"].description == "Shown to the user"


def test_every_misplaced_key_is_reported_at_once_before_anything_else():
    text = 'name = "A"\n[startingAsset]\nnetwork = "ethereum:1"\naddress = "0x0"\nwalletType = "ethereum"\nversion = "1.0.0"\n'
    lines = str(pytest.raises(ManifestError, parse_manifest, text).value).splitlines()
    assert [line.split(" because")[0] for line in lines] == [
        "circuit.toml: key 'walletType' is inside [startingAsset]",
        "circuit.toml: key 'version' is inside [startingAsset]",
    ]


def test_every_mistake_is_reported_at_once():
    text = 'name = "A"\nwalletType = "tron"\nversion = "1"\nschedule = "cron"\nallowedWalletTypes = ["x"]\n'
    lines = str(pytest.raises(ManifestError, parse_manifest, text, "agent/circuit.toml").value).splitlines()
    assert [line.split(" = ")[0] for line in lines] == [
        "agent/circuit.toml: allowedWalletTypes", "agent/circuit.toml: walletType", "agent/circuit.toml: schedule",
        "agent/circuit.toml: version",
    ]


def test_an_unmapped_legacy_key_is_not_also_reported_missing():
    text = 'name = "A"\nallowedWalletTypes = ["bitcoin"]'
    assert "walletType' is required" not in str(pytest.raises(ManifestError, parse_manifest, text).value)


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
    from sandbox_runner.host.backend import SandboxLimits

    platform = SandboxLimits(memory_mb=256, cpus=0.5, pids=64, deadline_seconds=120)
    m = parse_manifest('name = "A"\nwalletType = "ethereum"\n[sandbox]\nmemoryMb = 128\ncpus = 2.0\ntimeoutSeconds = 600\n')
    limits = platform.at_most(memory_mb=m.sandbox.memoryMb, cpus=m.sandbox.cpus, pids=m.sandbox.pids, deadline_seconds=m.sandbox.timeoutSeconds)
    assert (limits.memory_mb, limits.cpus, limits.pids, limits.deadline_seconds) == (128, 0.5, 64, 120)
    with pytest.raises(ManifestError, match="memoryMb"):
        parse_manifest('name = "A"\nwalletType = "ethereum"\n[sandbox]\nmemoryMb = 1\n')


# --- agent directories


def _agent_dir(tmp_path, manifest=CURRENT_DOCS, description="## Summary\nBuys ETH every hour.\n", main="def run(agent):\n    pass\n"):
    d = tmp_path / "agent"
    d.mkdir()
    if manifest is not None:
        (d / "circuit.toml").write_text(manifest)
    if description is not None:
        (d / "DESCRIPTION.md").write_text(description)
    if main is not None:
        (d / "main.py").write_text(main)
    return d


def test_agent_directory_loads(tmp_path):
    manifest, text = load_manifest_dir(_agent_dir(tmp_path))
    assert manifest.name == "DCA Strategy Agent" and text == CURRENT_DOCS


@pytest.mark.parametrize(
    "kwargs, message",
    [
        ({"manifest": None}, "{d}: no circuit.toml; create one (`corral new NAME` scaffolds it)"),
        ({"description": None},
         "{d}: DESCRIPTION.md is required; add it beside circuit.toml with the sections ## Summary, ## What it is, ## How it works, "
         "## Strategy and ## Risks"),
        ({"description": None, "manifest": LEGACY_DOCS},
         "{d}: DESCRIPTION.md is required; add it beside circuit.toml with the sections ## Summary, ## What it is, ## How it works, "
         "## Strategy and ## Risks (move the text of circuit.toml's older `description` key there)"),
        ({"description": "\n  \n"}, "{d}: DESCRIPTION.md is empty; write at least a ## Summary of what the agent does"),
        ({"main": None}, "{d}: main.py is required; add it with a run(agent) function (and optionally unwind)"),
        ({"main": None, "manifest": 'name = "A"\nwalletType = "tron"\n'},
         '{d}/circuit.toml: walletType = "tron" is not one of "ethereum" or "solana"; write walletType = "ethereum" or walletType = "solana"\n'
         "{d}: main.py is required; add it with a run(agent) function (and optionally unwind)"),
    ],
)
def test_agent_directory_problems(tmp_path, kwargs, message):
    d = _agent_dir(tmp_path, **kwargs)
    with pytest.raises(ManifestError) as refused:
        load_manifest_dir(d)
    assert str(refused.value) == message.format(d=d)


def test_the_older_manifest_file_name_is_named(tmp_path):
    d = _agent_dir(tmp_path, manifest=None)
    (d / ".circuit.toml").write_text(LEGACY_DOCS)
    with pytest.raises(ManifestError) as refused:
        load_manifest_dir(d)
    assert str(refused.value) == f"{d}: found .circuit.toml, the older name of circuit.toml; rename it to circuit.toml"
