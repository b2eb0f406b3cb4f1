import time


def run(agent):
    # Taken inside the sandbox: its clock is the host's (one kernel; gVisor follows the host's).
    entered = time.time()
    agent.memory.get("first-call")
    returned = time.time()
    agent.log(f"entered={entered:.6f} first_call_returned={returned:.6f}")
