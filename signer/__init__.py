"""The signer: the only process that holds private keys.

It listens on a Unix socket, decides every request by the wallet owner's policy
(default deny), writes every decision to a hash-chained audit log, and needs no
network. Read this package alone to convince yourself of the signing boundary:

- `keystore`    encrypted keys at rest (Ethereum keystore v3: scrypt + AES-CTR + MAC), Ethereum and Solana
- `wipe`        overwriting key bytes once used
- `policy`      per-wallet rules, owned by the wallet owner through the admin CLI
- `audit`       append-only JSON lines in a chain keyed with the passphrase
- `halt`        the owner's halt and the platform's kill switch, on disk
- `evm`         turning an allowed request into a signed transaction or message (eth-account)
- `solana`      decoding a Solana transaction's effects and signing it (solders)
- `hyperliquid` Hyperliquid actions: what they do, and their EIP-712 signatures
- `polymarket`  Polymarket CLOB orders: what they commit, and their signatures
- `service`     the gRPC servicer: every request decided, audited, then signed
- `peer`        the public socket: checks each connecting process's uid (SO_PEERCRED)
- `no_network`  the signer's seccomp filter on itself: no socket but AF_UNIX
- `privileges`  dropping root for the signer's own user, and private files
- `config`      where the signer's files are
- `server`      the process: no network, the peer-checking socket, the gRPC server behind it
- `cli`         `corral signer ...` admin commands
"""
