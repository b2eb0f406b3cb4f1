"""The committed generated code must match the protos (run `python -m devtools.protogen`)."""

import filecmp
from pathlib import Path

from devtools import protogen


def test_generated_code_matches_protos(tmp_path: Path):
    fresh = protogen.generate(tmp_path)
    committed = protogen.GENERATED_PACKAGE
    fresh_files = sorted(p.name for p in fresh.iterdir() if p.is_file())
    committed_files = sorted(p.name for p in committed.iterdir() if p.is_file() and p.suffix in (".py", ".pyi"))
    assert fresh_files == committed_files, "generated files differ: run `python -m devtools.protogen`"
    stale = [name for name in fresh_files if not filecmp.cmp(fresh / name, committed / name, shallow=False)]
    assert not stale, f"stale generated code {stale}: run `python -m devtools.protogen`"


def test_enums_follow_the_style_guide():
    from corral.v1 import common_pb2, orchestrator_pb2, runtime_pb2, signer_pb2

    for module in (common_pb2, orchestrator_pb2, runtime_pb2, signer_pb2):
        for enum in module.DESCRIPTOR.enum_types_by_name.values():
            assert enum.values[0].number == 0 and enum.values[0].name.endswith("_UNSPECIFIED"), enum.full_name
        assert module.DESCRIPTOR.package == "corral.v1"
