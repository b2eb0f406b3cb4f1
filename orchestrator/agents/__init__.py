"""Agents as registered: `registry` (images and their manifests), `manifest` (circuit.toml
parsing and validation), `settings` (typed session settings), `images` (building agent
images from directories)."""
