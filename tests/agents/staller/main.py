import time


def run(agent):
    agent.log("waiting for the market to open")
    agent.memory.set("phase", "waiting")
    print("sleeping until the market opens")
    time.sleep(3600)
