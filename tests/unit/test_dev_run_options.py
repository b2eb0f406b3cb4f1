"""`corral dev run`'s options: bad numbers are refused by name, and the run deadline is the
platform's own default unless asked otherwise."""

from __future__ import annotations

import pytest

from corral_cli.dev_run import PLATFORM_DEADLINE_SECONDS, _deadline_line
from corral_cli.main import main
from orchestrator.config import SandboxConfig


@pytest.mark.parametrize(("option", "value"), [("--timeout", "0"), ("--timeout", "-5"), ("--timeout", "nan"), ("--timeout", "inf"),
                                               ("--deadline", "soon"), ("--runs", "1.5"), ("--runs", "0")])
def test_a_bad_number_is_refused_naming_the_option(option, value, capsys):
    with pytest.raises(SystemExit) as exited:
        main(["dev", "run", "some-agent", option, value])
    assert exited.value.code == 2
    assert f"argument {option}: {value!r} is not a" in capsys.readouterr().err


def test_the_deadline_is_the_platforms_default_and_says_so():
    assert PLATFORM_DEADLINE_SECONDS == SandboxConfig().deadline_seconds
    assert _deadline_line(PLATFORM_DEADLINE_SECONDS, None).startswith(f"each run may take up to {SandboxConfig().deadline_seconds:g}s (the platform's default")
    assert "(--deadline;" in _deadline_line(30, None)
    assert "this agent asks for 10s ([sandbox] timeoutSeconds), which applies" in _deadline_line(PLATFORM_DEADLINE_SECONDS, 10)
    assert "asks" not in _deadline_line(30, 60)  # an agent can only ask for less
