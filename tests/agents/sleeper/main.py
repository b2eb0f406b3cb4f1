import time


def run(agent):
    agent.log("going to sleep")
    time.sleep(3600)
