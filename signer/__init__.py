"""The signer: the only process that holds private keys.

It listens on a Unix socket, decides every request by the wallet owner's policy
(default deny), writes every decision to a hash-chained audit log, and needs no
network. Read this package alone to convince yourself of the signing boundary:

- `keystore`  encrypted keys at rest (Ethereum keystore v3: scrypt + AES-CTR + MAC)
- `policy`    per-wallet rules, owned by the wallet owner through the admin CLI
- `audit`     append-only, hash-chained JSON lines
- `evm`       turning an allowed request into a signed transaction (eth-account)
- `service`   the gRPC servicer tying the four together
- `peer`      the public socket: checks each connecting process's uid (SO_PEERCRED)
- `no_network` the signer's seccomp filter on itself: no socket but AF_UNIX
- `server`    the process: no network, the peer-checking socket, the gRPC server behind it
- `cli`       `corral signer ...` admin commands
"""
