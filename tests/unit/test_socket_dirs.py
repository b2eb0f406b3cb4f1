"""Removing a sandbox's socket directory as root, when its owner (the orchestrator) filled
it: links are removed, never followed; a FIFO does not block the remover; deep nesting
gives up with a line instead of exhausting it."""

from __future__ import annotations

import os

from sandbox_runner.host.socket_dirs import MAX_DEPTH, remove_tree


def test_links_fifos_and_nesting_cannot_turn_the_remover(tmp_path, caplog):
    outside = tmp_path / "outside"
    outside.mkdir()
    (outside / "keep.txt").write_text("precious")
    tree = tmp_path / "sbx-0123456789abcdef"
    (tree / "a" / "b").mkdir(parents=True)
    (tree / "runtime.sock").write_text("")
    os.mkfifo(tree / "a" / "pipe")  # opening it for reading would block forever
    (tree / "a" / "b" / "to-outside").symlink_to(outside)
    (tree / "to-file").symlink_to(outside / "keep.txt")
    remove_tree(tree)
    assert not tree.exists()
    assert (outside / "keep.txt").read_text() == "precious"


def test_a_tree_nested_past_the_bound_is_left_with_a_line(tmp_path, caplog):
    tree = tmp_path / "sbx-0123456789abcdef"
    deep = tree.joinpath(*["d"] * (MAX_DEPTH + 3))
    deep.mkdir(parents=True)
    remove_tree(tree)
    assert tree.exists() and "nests deeper" in caplog.text
    remove_tree(tmp_path / "absent")  # nothing there: nothing to do
