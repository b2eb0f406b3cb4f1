"""The order in which scripts/test's parallel workers get test modules: heaviest folder first,
pytest-randomly's order within a folder, each module whole on one worker."""

from __future__ import annotations

from types import SimpleNamespace

from tests.scheduling import HeaviestFirstScheduling

# In pytest-randomly's order: light modules drawn first, the isolation suite last.
COLLECTION = [
    "tests/unit/test_b.py::test_1", "tests/unit/test_b.py::test_2",
    "tests/integration/test_c.py::test_1",
    "tests/e2e/test_d.py::test_1", "tests/e2e/test_d.py::test_2", "tests/e2e/test_d.py::test_3",
    "tests/unit/test_a.py::test_1",
    "tests/e2e/test_e.py::test_1",
    "tests/isolation/test_isolation.py::test_1", "tests/isolation/test_isolation.py::test_2",
]


class Config:
    option = SimpleNamespace(loadscopereorder=False)

    def getvalue(self, name):
        return {"tx": ["2*popen"]}[name]


class Worker:
    def __init__(self, name: str, handed_out: list[tuple[str, str]]) -> None:
        self.gateway = SimpleNamespace(id=name)
        self.shutting_down = False
        self.handed_out = handed_out

    def send_runtest_some(self, indexes) -> None:
        modules = {COLLECTION[i].split("::")[0] for i in indexes}
        assert len(modules) == 1  # a module whole, never split
        self.handed_out.append((self.gateway.id, modules.pop()))

    def shutdown(self) -> None:
        self.shutting_down = True


def test_the_heaviest_folder_goes_first_and_equals_keep_the_random_order():
    handed_out: list[tuple[str, str]] = []
    scheduler = HeaviestFirstScheduling(Config())
    first, second = Worker("gw0", handed_out), Worker("gw1", handed_out)
    for worker in (first, second):
        scheduler.add_node(worker)
        scheduler.add_node_collection(worker, COLLECTION)
    scheduler.schedule()
    while scheduler.workqueue:  # the workers asking for more as they finish
        scheduler._assign_work_unit(second)

    assert handed_out[:2] == [("gw0", "tests/isolation/test_isolation.py"), ("gw1", "tests/e2e/test_d.py")]
    assert [module for _, module in handed_out[2:]] == [
        "tests/e2e/test_e.py",  # drawn after test_d
        "tests/integration/test_c.py",
        "tests/unit/test_b.py", "tests/unit/test_a.py",  # in the random order
    ]
