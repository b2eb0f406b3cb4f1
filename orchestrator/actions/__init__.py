"""What an agent asks for that moves value or signs, in auto and in manual mode.

- `gateway`        every acting call, run (auto) or stored as a suggestion (manual), one Action per kind
- `transactions`   validate, fill, sign (by the signer), broadcast, confirm; EVM and Solana
- `swaps`          quotes and swaps (Uniswap v2 on EVM)
- `venues`         Hyperliquid and Polymarket orders
- `messages`       EIP-191 / EIP-712 message signing
- `suggestions`    manual mode: the same requests stored for a person to approve
- `breakers`       per-session circuit breakers and the signer-refusal breaker
- `positions`      a session's positions from its allocation and its ledger
- `backtests`      a backtest's fork moved from block to block, its steps valued
- `signer_client`  the client side of the signer socket
"""
