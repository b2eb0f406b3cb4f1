"""The order in which pytest-xdist hands test modules to its workers (`scripts/test`).

With `--dist loadscope` each module runs whole on one worker, in the order pytest-randomly
made. Left at that, a platform-heavy module drawn last keeps one worker busy for minutes
after the others ran out of work. So a worker that asks for work gets the first module of
the heaviest tier still waiting (a folder's tests start real platforms, sandboxes and
chains, or do not), and, within a tier, the one pytest-randomly put first: the seed still
decides the order of modules within a tier and of tests within a module.
"""

from __future__ import annotations

from xdist.scheduler import LoadScopeScheduling

# Heaviest first: what a folder's modules typically start, per module. A folder not listed
# comes last.
TIERS = (
    "tests/isolation/",  # a platform per sandbox runtime, every escape probe at once
    "tests/e2e/",  # a platform per module, runs on an interval
    "tests/attacks/",  # a platform per package or module, a sandboxed attacker
    "tests/integration/",  # single processes: the signer, a sandbox backend, PostgreSQL
)


def tier(scope: str) -> int:
    return next((rank for rank, folder in enumerate(TIERS) if scope.startswith(folder)), len(TIERS))


class HeaviestFirstScheduling(LoadScopeScheduling):
    def _assign_work_unit(self, node) -> None:
        # min() keeps the first of equals: the random order within a tier.
        heaviest = min(self.workqueue, key=tier)
        self.workqueue.move_to_end(heaviest, last=False)
        super()._assign_work_unit(node)
