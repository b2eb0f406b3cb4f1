"""The orchestrator will not serve its frontend API to other machines without a token and
TLS, and the resume credential is its own secret."""

from __future__ import annotations

import subprocess

import pytest
from pydantic import ValidationError

from devtools.devstack import CORRAL_COMMAND
from orchestrator.config import OrchestratorConfig, listens_on_loopback


@pytest.mark.parametrize("listen", ["127.0.0.1:50051", "127.8.0.1:1", "[::1]:50051", "localhost:50051", "unix:/run/corral/api.sock"])
def test_loopback_addresses_need_no_guards(listen):
    assert listens_on_loopback(listen)
    OrchestratorConfig(listen=listen)


@pytest.mark.parametrize("listen", ["0.0.0.0:50051", "[::]:50051", "10.0.0.5:50051", "orchestrator.example:443", "localhost.example:1"])
@pytest.mark.parametrize("guards", [{}, {"api_token_file": "token"}, {"tls_cert_file": "c.pem", "tls_key_file": "k.pem"}])
def test_reachable_addresses_without_token_and_tls_are_refused(listen, guards, tmp_path):
    assert not listens_on_loopback(listen)
    with pytest.raises(ValidationError) as refused:
        OrchestratorConfig(listen=listen, **{k: tmp_path / v for k, v in guards.items()})
    message = str(refused.value)
    assert "reachable from other machines" in message and "api_keys = true" in message and "tls_cert_file" in message


@pytest.mark.parametrize("listen", ["0.0.0.0:50051", "[::]:50051"])
def test_api_keys_without_tls_are_refused_off_this_machine_too(listen):
    with pytest.raises(ValidationError, match="reachable from other machines"):
        OrchestratorConfig(listen=listen, api_keys=True)
    with pytest.raises(ValidationError, match="reachable from other machines"):
        OrchestratorConfig(browser={"listen": listen, "allowed_origins": ["https://console.example"]}, api_keys=True)


def test_reachable_address_with_token_or_keys_and_tls_is_accepted(tmp_path):
    tls = {"tls_cert_file": tmp_path / "c", "tls_key_file": tmp_path / "k"}
    OrchestratorConfig(listen="0.0.0.0:50051", api_token_file=tmp_path / "t", **tls)
    OrchestratorConfig(listen="0.0.0.0:50051", api_keys=True, **tls)


def test_api_keys_replace_the_single_token(tmp_path):
    with pytest.raises(ValidationError, match="API keys replace the single token"):
        OrchestratorConfig(api_keys=True, api_token_file=tmp_path / "t")


def test_an_empty_token_file_does_not_turn_the_guard_off(tmp_path):
    (tmp_path / "token").write_text("\n")
    with pytest.raises(ValueError, match="api_token_file .* is empty"):
        OrchestratorConfig(api_token_file=tmp_path / "token").api_token()


def test_the_resume_credential_must_differ_from_the_api_token(tmp_path):
    (tmp_path / "token").write_text("same-secret")
    (tmp_path / "resume").write_text("same-secret\n")
    with pytest.raises(ValidationError, match="own file"):
        OrchestratorConfig(api_token_file=tmp_path / "token", resume_token_file=tmp_path / "token")
    with pytest.raises(ValueError, match="different secret"):
        OrchestratorConfig(api_token_file=tmp_path / "token", resume_token_file=tmp_path / "resume").resume_token()


@pytest.mark.parametrize(("config", "says"), [
    ('listen = "0.0.0.0:50051"\n', "reachable from other machines"),
    ('api_token_file = "{empty}"\n', "is empty: write the token into it"),
])
def test_corral_serve_says_what_is_wrong_with_its_config_and_does_not_start(tmp_path, config, says):
    (tmp_path / "empty").write_text("")
    path = tmp_path / "orchestrator.toml"
    path.write_text(config.format(empty=tmp_path / "empty"))
    refused = subprocess.run([*CORRAL_COMMAND, "serve", "--config", str(path)], capture_output=True, text=True, timeout=60, cwd=tmp_path)
    assert refused.returncode == 2
    assert "error: orchestrator config:" in refused.stderr and says in refused.stderr and "Traceback" not in refused.stderr
