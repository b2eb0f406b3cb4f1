"""Per-wallet signing policy, owned by the wallet owner. Default deny; deny beats allow.

The signer bounds what a request can make the wallet *lose*, not only its shape: before
signing it counts the request's worst-case outflow, checks it against every cap that
applies, and reserves it (see ledger.py). Every rule, by the name decisions and the audit
log give it:

Every request
- `halted`                  the owner's halt or the platform's kill switch is on
- `default-deny`            the wallet has no policy (or no section for this kind of request)
- `policy-invalid`          the wallet's policy file does not parse
- `paper-wallet`            making a paper session's throwaway wallet (CreatePaperWallet): its source is
                            a wallet of this signer with a readable policy, not a paper wallet, and the
                            signer holds fewer than 1,000 paper wallets; removing one (RemovePaperWallet):
                            only a wallet marked as a paper wallet

EVM transactions (evm.py, arguments.py, presets.py)
- `chain-allowlist`         its chain id is in `allowed_chain_ids`
- `fee-per-gas`             maxFeePerGas (or gasPrice) is within the chain's `max_fee_per_gas`
- `fee-cap`                 gas x fee per gas is within the chain's `max_fee_per_tx` (defaults apply)
- `nonce-window`            its nonce is at most the last nonce signed on that chain + `nonce_window`
- `native-value-cap`        its value is at most `max_native_value_per_tx`
- `recipient-allowlist`     a plain transfer (no calldata) goes to `allowed_recipients`, when set
- `approval-limit`          approve/increaseAllowance/decreaseAllowance: token and spender are listed
                            in `approvals`, and the spender's allowance *in total* stays within the bound
                            (counted as an upper bound: decreases the chain may never apply free nothing)
- `contract-allowlist`      any other call goes to a listed contract and function
- `contract-arguments`      the call's ABI-decoded arguments pass the function's rules (built-in ones
                            for ERC-20 transfers, WETH and the Uniswap-V2 router; `$wallet` recipients)
- `spend-cap`               value + worst-case fee, token transfers, allowances granted and uncovered
                            router draws stay within each rolling-window cap
- `session-budget`          a session spends only within the budget opened for it

Solana transactions (solana.py)
- `solana-program-allowlist`  every program it calls is in `allowed_programs`
- `solana-instruction`        nothing the signer never signs (assigning the wallet away, approvals, burns, ...)
- `solana-durable-nonce`      AdvanceNonceAccount only with `allow_durable_nonce`
- `solana-mint`               MintTo with the wallet as authority only with `allow_mint`
- `solana-lamport-cap`        lamports sent + rent for other owners' accounts within `max_lamports_per_tx`
- `recipient-allowlist`       lamports go only to `allowed_recipients`, when set
- `solana-token-transfer`     each SPL transfer names its mint (TransferChecked), within its per-tx cap
- `solana-token-recipient`    token transfers and created token accounts go to `token_recipients`, when set
- `solana-priority-fee`       its priority fee is at most `max_priority_fee_lamports`
- `spend-cap`                 lamports (with fees and rent) and SPL amounts within the rolling `spend_caps`

Messages (messages.py)
- `eip191-allowed`, `eip191-raw-hash`, `eip191-binary`, `eip191-prefix`
                              EIP-191 only with an `eip191` section; 32-byte and binary payloads only
                              when opted in; limited to `prefixes` when set
- `eip712-domain-allowlist`   an `eip712` rule names the domain's chain id and verifying contract
- `eip712-primary-type`       ... and the message's primary type
- `eip712-guarded-type`       venue types (Hyperliquid, Polymarket) and SafeMessage are never signed here
- `eip712-permit`             Permit / Permit2: spender listed, amount within `max_amount`, deadline
                              within `max_deadline_seconds`; counted as a spend of the token
- `eip712-safe-tx`            SafeTx: target listed, value within bounds, no delegatecall, no refund

Venues (venues.py)
- `hyperliquid-chain`, `hyperliquid-nonce`, `hyperliquid-expiry`, `hyperliquid-action-type`, `hyperliquid-asset`,
  `hyperliquid-size`, `hyperliquid-notional`, `hyperliquid-reduce-only`, `hyperliquid-leverage`
                              orders only (never sends or withdrawals), listed assets, per-asset
                              `max_size`, notional at max(limit, trigger, owner's reference price),
                              rolling `notional_caps`, a nonce near the signer's clock and an
                              expiry as near for orders, cancels and leverage changes
- `polymarket-exchange`, `polymarket-signer`, `polymarket-funder`, `polymarket-taker`,
  `polymarket-expiration`, `polymarket-token`, `polymarket-collateral`, `polymarket-shares`,
  `polymarket-price`, `polymarket-fee`
                              listed exchanges, the wallet as signer, any taker, an expiry within
                              `max_ttl_seconds`, collateral, shares and price bounds, rolling `value_caps`

Session budgets: `session-budget` (decide_session_budget) bounds what a session may be given.

Every rule reads the request's own bytes (calldata, instructions, typed data, actions),
decoded here; no description supplied by the caller is ever trusted.
"""

from signer.policy.decision import Decision, PolicyUnreadable
from signer.policy.document import PolicyStore, WalletPolicy
from signer.policy.evm import EvmTransaction, decide_evm_transaction, decide_session_budget
from signer.policy.ledger import Commitments, SpendLedger
from signer.policy.messages import decide_eip191, decide_eip712
from signer.policy.solana import SolanaPolicy, decide_solana_transaction
from signer.policy.venues import (
    HyperliquidPolicy,
    PolymarketPolicy,
    decide_hyperliquid_action,
    decide_polymarket_auth,
    decide_polymarket_order,
)

__all__ = [
    "Commitments",
    "Decision",
    "EvmTransaction",
    "HyperliquidPolicy",
    "PolicyStore",
    "PolicyUnreadable",
    "PolymarketPolicy",
    "SolanaPolicy",
    "SpendLedger",
    "WalletPolicy",
    "decide_eip191",
    "decide_eip712",
    "decide_evm_transaction",
    "decide_hyperliquid_action",
    "decide_polymarket_auth",
    "decide_polymarket_order",
    "decide_session_budget",
    "decide_solana_transaction",
]
