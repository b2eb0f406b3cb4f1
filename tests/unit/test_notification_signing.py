"""Webhook signatures as receivers check them (docs/api.md "Verifying a delivery"), and the
operator's [notifications] settings refused when they cannot work."""

from __future__ import annotations

import hashlib
import hmac

import pytest
from pydantic import ValidationError

from orchestrator.config import OrchestratorConfig, config_problem
from orchestrator.notifications import signing

BODY = b'{"id":"dlv_1","type":"suggestion.created"}'


def test_the_signature_is_hmac_sha256_over_the_timestamp_and_the_body():
    secret = signing.new_secret()
    header = signing.signature(secret, BODY, timestamp=1_700_000_000)
    expected = hmac.new(secret.encode(), b"1700000000." + BODY, hashlib.sha256).hexdigest()
    assert header == f"t=1700000000,v1={expected}"
    assert signing.verify(secret, header, BODY, now=1_700_000_100)


@pytest.mark.parametrize(("header_secret", "now", "body"), [
    ("other", 1_700_000_000, BODY),  # another subscription's secret
    (None, 1_700_000_000 + 301, BODY),  # too old: a replay
    (None, 1_700_000_000, BODY + b" "),  # a changed body
])
def test_a_wrong_secret_an_old_timestamp_or_a_changed_body_does_not_verify(header_secret, now, body):
    secret = signing.new_secret()
    header = signing.signature(header_secret or secret, BODY, timestamp=1_700_000_000)
    assert not signing.verify(secret, header, body, now=now)


def test_a_malformed_header_does_not_verify():
    assert not signing.verify("s", "v1=abc", BODY) and not signing.verify("s", "t=x,v1=abc", BODY) and not signing.verify("s", "", BODY)


def test_a_lease_shorter_than_a_send_is_refused_naming_both_settings():
    with pytest.raises(ValidationError) as refused:
        OrchestratorConfig.model_validate({"notifications": {"timeout_seconds": 30, "lease_seconds": 20}})
    assert "lease_seconds (20.0) must exceed timeout_seconds (30.0)" in config_problem(refused.value)
