"""Trading venues reached over their HTTP APIs. The orchestrator reads from them and posts
what the signer signed; it never holds a key.

- `http`         a small JSON client: timeouts, and venue failures as clear refusals
- `hyperliquid`  Hyperliquid's info and exchange endpoints (perps and spot)
- `hypercore`    a Hyperliquid account read as a session's starting-asset "chain"
- `polymarket`   Polymarket's CLOB (orders), data API (positions) and Conditional Tokens (redemptions)
- `service`      the configured venues, and each acting call by its kind (what the gateway runs)
"""
