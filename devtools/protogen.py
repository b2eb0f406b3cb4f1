"""Generate the Python gRPC code in `corral/v1/` from `protos/corral/v1/*.proto`, and the
Connect service for the frontend API (`orchestrator_connect.py`, served to browsers by
orchestrator/app/browser_server.py) with `protoc-gen-connectrpc`.

The protos are the single source of truth for the wire; the generated modules are
committed so that a clone works without a build step, and `tests/unit/test_protos_fresh.py`
fails when they drift from the protos. Run `python -m devtools.protogen` after editing a proto.
"""

from __future__ import annotations

import importlib.resources
import shutil
import sys
import tempfile
from pathlib import Path

from grpc_tools import protoc

REPO_ROOT = Path(__file__).resolve().parent.parent
PROTO_ROOT = REPO_ROOT / "protos"
GENERATED_PACKAGE = REPO_ROOT / "corral" / "v1"
# Only the frontend API is served over Connect; the others stay native gRPC on Unix sockets.
CONNECT_PROTOS = ["corral/v1/orchestrator.proto"]
# The plugin is the `protoc-gen-connectrpc` package's script, beside this interpreter.
CONNECT_PLUGIN = Path(sys.executable).parent / "protoc-gen-connectrpc"


def proto_files() -> list[Path]:
    return sorted((PROTO_ROOT / "corral" / "v1").glob("*.proto"))


def generate(out_root: Path) -> Path:
    """Writes `corral/v1/*_pb2*.py(i)` under `out_root`; returns the package dir."""
    well_known = importlib.resources.files("grpc_tools") / "_proto"
    files = [str(p.relative_to(PROTO_ROOT)) for p in proto_files()]
    args = [
        "grpc_tools.protoc",
        f"-I{PROTO_ROOT}",
        f"-I{well_known}",
        f"--python_out={out_root}",
        f"--pyi_out={out_root}",
        f"--grpc_python_out={out_root}",
        *files,
    ]
    # google.protobuf messages (the ones the gRPC code uses), asyncio server and client only.
    connect = [
        "grpc_tools.protoc", f"-I{PROTO_ROOT}", f"-I{well_known}", f"--plugin=protoc-gen-connectrpc={CONNECT_PLUGIN}",
        f"--connectrpc_out={out_root}", "--connectrpc_opt=protobuf=google,io=async", *CONNECT_PROTOS,
    ]
    for command in (args, connect):
        if protoc.main(command) != 0:
            raise RuntimeError("protoc failed; see its message above")
    package = out_root / "corral" / "v1"
    (package / "__init__.py").write_text('"""Generated from protos/corral/v1 by `python -m devtools.protogen`. Do not edit."""\n')
    return package


def main() -> int:
    with tempfile.TemporaryDirectory() as tmp:
        package = generate(Path(tmp))
        if GENERATED_PACKAGE.exists():
            shutil.rmtree(GENERATED_PACKAGE)
        shutil.copytree(package, GENERATED_PACKAGE)
    print(f"generated {len(list(GENERATED_PACKAGE.glob('*.py')))} modules in {GENERATED_PACKAGE.relative_to(REPO_ROOT)}")
    return 0


if __name__ == "__main__":
    sys.exit(main())
