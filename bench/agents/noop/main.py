def run(agent):
    agent.log("entered")
