"""A session's environment settings: what may be set, and the platform's own names refused."""

import grpc
import pytest

from orchestrator.errors import Refused
from orchestrator.sessions.environment import MAX_VARIABLES, checked_environment


def test_plain_settings_pass():
    assert checked_environment({"API_BASE": "https://api.example.com/v2", "_DEBUG": "1"}) == {
        "API_BASE": "https://api.example.com/v2", "_DEBUG": "1"}


@pytest.mark.parametrize(("environment", "named"), [
    ({"HTTPS_PROXY": "http://evil.test:8080"}, "HTTPS_PROXY: the platform sets it"),
    ({"REQUESTS_CA_BUNDLE": "/tmp/mine.pem"}, "REQUESTS_CA_BUNDLE: the platform sets it"),
    ({"PYTHONPATH": "/tmp"}, "PYTHONPATH: the platform sets it"),
    ({"LD_PRELOAD": "/tmp/x.so"}, "LD_PRELOAD: the platform sets it"),
    ({"CORRAL_TOKEN": "x"}, "CORRAL_TOKEN: the platform sets it"),
    ({"api_base": "x"}, "a name is upper-case letters"),
    ({"A-B": "x"}, "a name is upper-case letters"),
    ({"NOTE": "line\nbreak"}, "printable characters"),
    ({"NOTE": "x" * 1025}, "printable characters"),
    ({f"V{i}": "x" for i in range(MAX_VARIABLES + 1)}, f"at most {MAX_VARIABLES}"),
])
def test_what_the_platform_relies_on_cannot_be_set(environment, named):
    with pytest.raises(Refused) as refused:
        checked_environment(environment)
    assert refused.value.code == grpc.StatusCode.INVALID_ARGUMENT
    assert named in refused.value.message
