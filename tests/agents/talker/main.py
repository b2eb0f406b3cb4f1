import sys


def fetch_price(agent):
    agent.log("fetching the price")
    print("stdout: the price source is down")
    print("stderr: retrying \x1b[31min red\x1b[0m", file=sys.stderr)
    raise LookupError("no price for ETH")


def run(agent):
    fetch_price(agent)
