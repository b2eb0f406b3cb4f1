"""The fixed sets of values circuit.toml keys accept."""

WALLET_TYPES = ("ethereum", "solana")
EXECUTION_MODES = ("auto", "manual")
SCHEDULES = ("rolling", "fixed")
REGIONS = ("us-east-1", "eu-central-1")
SETTING_TYPES = ("text", "boolean", "single_select", "integer", "number", "percentage", "address")
LEGACY_SETTING_TYPES = ("multi_select",)  # older docs ("advanced settings"); a list of options
