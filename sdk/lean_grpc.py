"""`grpc` for the SDK, imported without running asyncio: `from sdk.lean_grpc import grpc`.

grpcio's extension imports `asyncio`, and the `grpc` package imports its asyncio API
(`grpc.aio`), on every import; the SDK's calls are synchronous and use neither. In a cold
sandbox that was 11% of the CPU spent before `run()` (about 25 ms, twice that in wall time
under the sandbox's CPU quota). So both are imported lazily: the modules exist
and are run on the first read of one of their attributes (or the next `import asyncio`
statement), by the agent's own asyncio code or the egress forwarder, with the same result as
an eager import; a process that never uses them never pays for them.

One thing reads asyncio without needing it: every `logging` record asks for the current
asyncio task (`taskName`) when asyncio is in `sys.modules`, which would run the lazy module on
the agent's first `agent.log`. Until asyncio has really run there is no task to name, so
records skip the question (`logging.logAsyncioTasks`) until then.

Only where lazy modules load safely from several threads (Python 3.13, the sandbox's; before,
two threads could both run the module), and only when the process has not imported them yet
(the orchestrator, a test): otherwise this is a plain `import grpc`.
"""

from __future__ import annotations

import importlib.machinery
import importlib.util
import logging
import sys
from collections.abc import Callable, Sequence
from types import ModuleType
from typing import TYPE_CHECKING

# Lazy modules take a lock on first use from 3.13 on (CPython gh-114763).
THREAD_SAFE_LAZY_MODULES = sys.version_info >= (3, 13)
DEFERRED = frozenset({"asyncio", "grpc.aio"})

__all__ = ["grpc"]


class _ThenRun:
    """`loader`, followed by `then()` once it has run the module (the lazy loader runs it on first use)."""

    def __init__(self, loader: importlib.machinery.SourceFileLoader, then: Callable[[], None]) -> None:
        self.loader, self.then = loader, then

    def create_module(self, spec: importlib.machinery.ModuleSpec) -> ModuleType | None:
        return self.loader.create_module(spec)

    def exec_module(self, module: ModuleType) -> None:
        # The module's own loader from now on (resources, sources, reloading), not this wrapper.
        module.__spec__.loader = module.__loader__ = self.loader  # type: ignore[union-attr]  # a module being loaded has a spec
        self.loader.exec_module(module)
        self.then()


class _DeferredModules:
    """A meta path finder that gives `names` lazy loaders; asked only while grpc is imported."""

    def __init__(self, names: frozenset[str], when_run: dict[str, Callable[[], None]]) -> None:
        self.names, self.when_run = names, when_run

    def find_spec(self, name: str, path: Sequence[str] | None, target: ModuleType | None = None, /) -> importlib.machinery.ModuleSpec | None:
        if name not in self.names:
            return None
        spec = importlib.machinery.PathFinder.find_spec(name, path)
        if spec is not None and spec.loader is not None:
            loader = spec.loader
            if name in self.when_run:
                # A loader in all but name: deriving from importlib.abc.Loader would import importlib.abc.
                loader = _ThenRun(loader, self.when_run[name])  # type: ignore[arg-type,assignment]  # a path finder's loaders are file loaders
            spec.loader = importlib.util.LazyLoader(loader)
        return spec


def _import_grpc() -> ModuleType:
    if "grpc" in sys.modules or not THREAD_SAFE_LAZY_MODULES or DEFERRED & sys.modules.keys():
        import grpc

        return grpc
    asked_for_tasks = getattr(logging, "logAsyncioTasks", True)

    def asyncio_has_run() -> None:
        _name_asyncio_tasks_in_log_records(asked_for_tasks)

    finder = _DeferredModules(DEFERRED, {"asyncio": asyncio_has_run})
    sys.meta_path.insert(0, finder)
    try:
        import grpc
    finally:
        sys.meta_path.remove(finder)
    if type(sys.modules.get("asyncio")) is not ModuleType:  # still lazy: nothing has used it yet
        _name_asyncio_tasks_in_log_records(False)
    return grpc


def _name_asyncio_tasks_in_log_records(on: bool) -> None:
    logging.logAsyncioTasks = on  # type: ignore[attr-defined]  # since 3.12 (mypy checks as 3.11); set on 3.13 only


if TYPE_CHECKING:
    import grpc
else:
    grpc = _import_grpc()
