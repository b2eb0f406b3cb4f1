"""Corral's shared kernel: what every side may import, and which imports none of them.

- `v1`            the wire: Python generated from `protos/corral/v1/*.proto`
                  (regenerate with `python -m devtools.protogen`; never edit by hand)
- `bounded_json`  JSON parsing with its size and depth bounded before any parsing
- `limits`        the wire's size limits, each written once
- `networks`      the `Network` value type ("ethereum:1", "solana", "hypercore:perp")
- `failpoints`    named crash points the crash-safety tests arm in a child process

The `corral` command lives in `corral_cli`, the development harness in `devtools`.
"""
