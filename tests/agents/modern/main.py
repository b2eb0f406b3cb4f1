"""Written as a Circuit author would for Python >= 3.12: each construct below is a
SyntaxError or AttributeError on 3.11."""

import itertools
import sys
from pathlib import Path

from agent_sdk import AgentContext
from shared_lib.stats import mean

type Pair[T] = tuple[T, T]  # PEP 695 type alias


class Window[T]:  # PEP 695 generic class
    def __init__(self, items: list[T]) -> None:
        self.items = items

    def pairs(self) -> list[Pair[T]]:
        return list(itertools.batched(self.items, 2, strict=True))  # 3.12 (strict: 3.13)


def first[T](items: list[T]) -> T:  # PEP 695 generic function
    return items[0]


def run(agent: AgentContext) -> None:
    window = Window([1, 2, 3, 4])
    prices = {"eth": 3000}
    # PEP 701: the same quotes inside a replacement field.
    agent.log(f"pairs {window.pairs()} first {first(window.items)} mean {mean(window.items)} price {f"{prices["eth"]:,}"}")
    agent.log(f"python {sys.version_info.major}.{sys.version_info.minor}")
    agent.log(f"excluded present: {sorted(p.name for p in Path('.').iterdir() if p.name in {'notes', 'plan.draft'})}")


def unwind(agent: AgentContext, positions: list) -> None:
    agent.log("nothing to unwind")
