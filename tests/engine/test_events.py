"""Event lines are single JSON objects with the standard keys, in the documented order."""

from __future__ import annotations

import io
import json
import logging
from datetime import datetime

import pytest

from airflow_provider_dativo.engine.events import EventEmitter

STANDARD_KEYS = ["timestamp", "level", "event_type", "job_name", "tenant_id", "run_id", "message"]


def test_emit_writes_one_json_line_to_stream() -> None:
    stream = io.StringIO()
    emitter = EventEmitter(job_name="j", tenant_id="acme", run_id="r", stream=stream)
    event = emitter.emit("job_started", message="hi", extra=1)
    lines = stream.getvalue().splitlines()
    assert len(lines) == 1
    parsed = json.loads(lines[0])
    assert parsed == event
    assert list(parsed)[:7] == STANDARD_KEYS
    assert parsed["extra"] == 1 and parsed["level"] == "INFO" and parsed["run_id"] == "r"
    assert datetime.fromisoformat(parsed["timestamp"].replace("Z", "+00:00")).utcoffset().total_seconds() == 0


def test_emit_logs_through_logger_without_stream(caplog: pytest.LogCaptureFixture) -> None:
    emitter = EventEmitter(job_name="j", tenant_id=None)
    with caplog.at_level(logging.INFO, logger="dativo.events"):
        emitter.emit("job_error", level="ERROR", message="boom", error="x")
    [record] = [r for r in caplog.records if r.name == "dativo.events"]
    assert record.levelno == logging.ERROR
    assert json.loads(record.getMessage())["event_type"] == "job_error"


def test_success_event_order_and_shape(ws) -> None:
    ws.csv("orders.csv", "1,a@b.io,paid,1.00,1,0.5,true,2024-01-02,2024-01-02T00:00:00Z")
    run = ws.run(ws.job(), run_id="run-42")
    assert run.result.exit_code == 0
    assert run.event_types == [
        "job_started",
        "tenant_inferred",
        "infra_validated",
        "metrics_complete",
        "job_finished",
    ]
    for event in run.events:
        assert list(event)[:7] == STANDARD_KEYS
        assert event["run_id"] == "run-42" and event["tenant_id"] == "acme"
    by_type = {e["event_type"]: e for e in run.events}
    assert by_type["tenant_inferred"]["source"] == "path"
    assert by_type["infra_validated"]["table"] == "acme.orders"
    assert by_type["infra_validated"]["catalog"] == "dativo"
    assert by_type["job_finished"]["exit_code"] == 0 and by_type["job_finished"]["status"] == "success"
    metrics_event = {k: v for k, v in by_type["metrics_complete"].items() if k in run.result.metrics}
    assert metrics_event == run.result.metrics


def test_failure_events_end_with_job_error(ws) -> None:
    run = ws.run(ws.job(tenant_id="acme", path="../../data/none.csv"))
    assert run.event_types == ["job_started", "metrics_complete", "job_error"]
    error = run.events[-1]
    assert error["level"] == "ERROR" and error["exit_code"] == 2
    assert error["error"] == run.result.error and error["error_type"] == "SourceError"
    assert run.events[1]["status"] == "failure"
