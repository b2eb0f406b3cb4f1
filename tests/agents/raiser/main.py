from agent_sdk import Agent, AgentContext


def run(agent: AgentContext) -> None:
    agent.log("about to fail")
    raise ValueError("the strategy found no price")


agent = Agent(run_function=run)

if __name__ == "__main__":
    agent.run()
