"""What of an author's files goes into an agent image: filesToInclude (paths outside the
agent directory, copied as regular files only, never more than what is named) and
filesToExclude (Circuit's patterns)."""

from __future__ import annotations

import os

import pytest

from sandbox_runner.host.agent_files import AgentFilesError, agent_files


@pytest.fixture
def tree(tmp_path):
    agent = tmp_path / "repo" / "agents" / "bot"
    agent.mkdir(parents=True)
    (agent / "main.py").write_text("def run(agent): pass\n")
    (agent / "notebooks").mkdir()
    (agent / "notebooks" / "study.ipynb").write_text("{}")
    (agent / "data").mkdir()
    (agent / "data" / "prices.csv").write_text("1")
    (agent / "data" / "deep").mkdir()
    (agent / "data" / "deep" / "old.csv").write_text("0")
    lib = tmp_path / "repo" / "agents" / "lib"
    (lib / "sub").mkdir(parents=True)
    (lib / "__init__.py").write_text("")
    (lib / "sub" / "maths.py").write_text("X = 1\n")
    (tmp_path / "repo" / "agents" / "config.json").write_text("{}")
    (tmp_path / "repo" / "secret.key").write_text("the key")
    return agent


def paths(files):
    return [f.path for f in files]


def test_included_folders_and_files_land_under_their_own_name(tree):
    files = agent_files(tree, include=["../lib", "../config.json", "data"])
    assert paths(files) == ["config.json", "data/deep/old.csv", "data/prices.csv", "lib/__init__.py", "lib/sub/maths.py", "main.py",
                            "notebooks/study.ipynb"]
    # Nothing above or beside what was named: not the repository's key, not the agent's siblings.
    assert not any("secret" in p or p.startswith("bot/") for p in paths(files))


@pytest.mark.parametrize("pattern, gone", [
    ("notebooks/", {"notebooks/study.ipynb"}),
    ("notebooks/**", {"notebooks/study.ipynb"}),
    ("*.csv", {"data/prices.csv", "data/deep/old.csv"}),
    ("data/*.csv", {"data/prices.csv"}),
    ("data/**/*.csv", {"data/prices.csv", "data/deep/old.csv"}),
    ("deep", {"data/deep/old.csv"}),
    ("sub/", {"lib/sub/maths.py"}),
    ("./data/prices.csv", {"data/prices.csv"}),
])
def test_exclude_patterns(tree, pattern, gone):
    every = set(paths(agent_files(tree, include=["../lib"])))
    assert set(paths(agent_files(tree, include=["../lib"], exclude=[pattern]))) == every - gone


@pytest.mark.parametrize("entry, fragment", [
    ("/etc", "relative to the agent directory"),
    ("..", "holds it"),
    ("../..", "holds it"),
    (".", "holds it"),
    ("../missing", "does not exist"),
])
def test_include_refusals_name_the_entry(tree, entry, fragment):
    with pytest.raises(AgentFilesError, match=fragment) as refused:
        agent_files(tree, include=[entry])
    assert f"filesToInclude: {entry!r}" in str(refused.value)


def test_an_included_link_is_refused_not_followed(tree, tmp_path):
    (tree.parent / "linked").symlink_to(tmp_path / "repo")
    with pytest.raises(AgentFilesError, match="symbolic link"):
        agent_files(tree, include=["../linked"])
    (tree.parent / "lib" / "key.pem").symlink_to(tmp_path / "repo" / "secret.key")
    with pytest.raises(AgentFilesError, match="key.pem is a symbolic link") as refused:
        agent_files(tree, include=["../lib"])
    assert "the key" not in str(refused.value)
    (tree.parent / "lib" / "key.pem").unlink()
    os.link(tmp_path / "repo" / "secret.key", tree.parent / "lib" / "key.pem")
    with pytest.raises(AgentFilesError, match="hard link"):
        agent_files(tree, include=["../lib"])


def test_an_include_cannot_overwrite_an_agent_file(tree):
    (tree / "lib").mkdir()
    (tree / "lib" / "__init__.py").write_text("mine")
    with pytest.raises(AgentFilesError, match="lib/__init__.py"):
        agent_files(tree, include=["../lib"])


def test_main_py_cannot_be_excluded(tree):
    with pytest.raises(AgentFilesError, match="'\\*.py' excludes main.py"):
        agent_files(tree, exclude=["*.py"])


@pytest.mark.parametrize("pattern", ["../lib", "", "data/../.."])
def test_exclude_patterns_stay_inside(tree, pattern):
    with pytest.raises(AgentFilesError, match="filesToExclude"):
        agent_files(tree, exclude=[pattern])


def test_the_build_folder_name_is_reserved(tree):
    (tree / ".corral").mkdir()
    with pytest.raises(AgentFilesError, match=".corral is where the build puts"):
        agent_files(tree)


def test_size_is_bounded_before_reading(tree, monkeypatch):
    import sandbox_runner.host.agent_files as module

    monkeypatch.setattr(module, "MAX_TOTAL_BYTES", 10)
    (tree / "big.bin").write_bytes(b"x" * 11)
    with pytest.raises(AgentFilesError, match="more than 0 MiB|filesToExclude"):
        agent_files(tree)
