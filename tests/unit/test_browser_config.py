"""`[browser]`: off unless set, exact origins only (no wildcard), and the same rule as the
gRPC port for an address other machines can reach."""

from __future__ import annotations

import pytest
from pydantic import ValidationError

from orchestrator.config import OrchestratorConfig, config_problem


def test_the_browser_port_is_off_unless_set():
    assert OrchestratorConfig().browser.listen is None


def test_exact_origins_are_accepted():
    config = OrchestratorConfig.model_validate({"browser": {"listen": "127.0.0.1:8080", "allowed_origins": [
        "https://console.example.com", "http://127.0.0.1:5173", "http://[::1]:3000"]}})
    assert config.browser.allowed_origins[0] == "https://console.example.com"


@pytest.mark.parametrize(("origin", "says"), [
    ("*", "wildcard"),
    ("https://*.example.com", "wildcard"),
    ("https://console.example.com/", "no path"),
    ("https://console.example.com/app", "no path"),
    ("console.example.com", "scheme://host"),
    ("ftp://console.example.com", "scheme://host"),
    ("https://user@console.example.com", "scheme://host"),
    ("https://Console.Example.com", "write 'https://console.example.com'"),
    ("https://console.example.com:443", "write 'https://console.example.com'"),
    ("http://console.example.com:99999", "not an origin"),
])
def test_anything_but_an_exact_origin_is_refused_naming_the_field(origin, says):
    with pytest.raises(ValidationError) as refused:
        OrchestratorConfig.model_validate({"browser": {"listen": "127.0.0.1:8080", "allowed_origins": [origin]}})
    problem = config_problem(refused.value)
    assert problem.startswith("browser.allowed_origins") and says in problem, problem


@pytest.mark.parametrize("listen", ["8080", "127.0.0.1", "127.0.0.1:http", "127.0.0.1:0", ":8080", "127.0.0.1:70000"])
def test_a_listen_address_must_be_host_and_port(listen):
    with pytest.raises(ValidationError, match="is not host:port"):
        OrchestratorConfig.model_validate({"browser": {"listen": listen}})


def test_origins_without_a_port_to_serve_them_are_a_mistake():
    with pytest.raises(ValidationError, match="set listen"):
        OrchestratorConfig.model_validate({"browser": {"allowed_origins": ["https://console.example.com"]}})


def test_a_browser_port_other_machines_reach_needs_the_token_and_tls(tmp_path):
    with pytest.raises(ValidationError, match="browser.listen = '0.0.0.0:8080' is reachable from other machines"):
        OrchestratorConfig.model_validate({"browser": {"listen": "0.0.0.0:8080"}})
    OrchestratorConfig.model_validate({"browser": {"listen": "0.0.0.0:8080"}, "api_token_file": str(tmp_path / "t"),
                                       "tls_cert_file": str(tmp_path / "c"), "tls_key_file": str(tmp_path / "k")})
