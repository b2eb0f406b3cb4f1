"""Swaps (`agent.swap`, alias `swidge`): quotes from engines, executed step by step.

`service.Swaps` is what the runtime API calls (`model` holds the request and quote types); engines (`uniswap_v2`, ...) only quote:
each returns the steps (transactions) that carry out its quote, and the service sends
them through the ordinary sign-and-send path, so the signer's policy decides each one.
"""
