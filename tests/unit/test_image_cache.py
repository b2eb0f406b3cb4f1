"""The shared image cache is written by whoever builds first: two builds of the same input
(two orchestrators, parallel test workers) finishing together must both succeed."""

from __future__ import annotations

import pytest

from sandbox_runner.host.images import _publish


def test_a_build_that_loses_the_race_keeps_the_winners_copy(tmp_path):
    target = tmp_path / "corral-agent-x-0123456789abcdef"
    target.mkdir()
    (target / "image.json").write_text("winner")
    staging = tmp_path / "corral-agent-x-0123456789abcdef.tmp1"
    staging.mkdir()
    (staging / "image.json").write_text("loser")

    _publish(staging, target)

    assert (target / "image.json").read_text() == "winner"
    assert not staging.exists()


def test_a_build_with_no_competitor_is_moved_into_place(tmp_path):
    target = tmp_path / "base-0123456789abcdef"
    staging = tmp_path / "base-0123456789abcdef.tmp1"
    staging.mkdir()
    (staging / "lib").write_text("built")

    _publish(staging, target)

    assert (target / "lib").read_text() == "built"
    assert not staging.exists()


def test_any_other_failure_to_publish_is_raised(tmp_path):
    staging = tmp_path / "staging"
    staging.mkdir()
    with pytest.raises(FileNotFoundError):
        _publish(staging, tmp_path / "no-such-parent" / "target")
    assert staging.is_dir()  # left for the caller's clean-up, which reports the build as failed
