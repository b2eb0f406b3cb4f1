"""JSON log lines carry the ids bound where they were written, and only there; a collector URL
with credentials in it is refused (they belong in OTEL_EXPORTER_OTLP_HEADERS, not in a config
file that is printed in errors)."""

from __future__ import annotations

import json
import logging

import pytest
from pydantic import ValidationError

from orchestrator.config import TelemetryConfig
from orchestrator.tracing import JsonLogFormatter, log_fields, tag_request


def formatted(message: str, exc_info=None) -> dict:
    record = logging.LogRecord("corral.test", logging.WARNING, __file__, 1, message, (), exc_info)
    return json.loads(JsonLogFormatter().format(record))


def test_json_lines_carry_the_ids_bound_around_them_and_no_others():
    assert set(formatted("plain")) == {"time", "level", "logger", "message"}
    with log_fields(session_id=7, execution_id=9):
        tag_request("req-1")
        inner = formatted('a "quoted" ünicode line\nwith a newline')
    after = formatted("after")
    assert inner["session_id"] == 7 and inner["execution_id"] == 9 and inner["request_id"] == "req-1"
    assert inner["message"] == 'a "quoted" ünicode line\nwith a newline' and inner["level"] == "warning"
    assert "session_id" not in after and "request_id" not in after


def test_a_failure_s_traceback_is_one_field_of_its_line():
    try:
        raise RuntimeError("boom")
    except RuntimeError:
        import sys

        line = formatted("failed", sys.exc_info())
    assert line["message"] == "failed" and "RuntimeError: boom" in line["exception"]


@pytest.mark.parametrize("endpoint", ["ftp://collector:4318", "http://user:secret@collector:4318", "collector:4318",
                                      "http://collector:4318/?token=x"])
def test_a_collector_url_must_be_plain_http_or_https(endpoint):
    with pytest.raises(ValidationError, match="collector's base URL"):
        TelemetryConfig(otlp_endpoint=endpoint)


def test_telemetry_is_off_and_logs_are_text_by_default():
    config = TelemetryConfig()
    assert (config.otlp_endpoint, config.metrics_listen, config.log_format) == (None, None, "text")
