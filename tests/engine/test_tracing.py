"""Tracing: real OpenTelemetry spans when the SDK is configured, nothing when OTel is absent."""

from __future__ import annotations

import json
import subprocess
import sys
import textwrap
from collections.abc import Iterator
from pathlib import Path

import pytest
from opentelemetry import trace
from opentelemetry.sdk.trace import ReadableSpan, TracerProvider
from opentelemetry.sdk.trace.export import SimpleSpanProcessor
from opentelemetry.sdk.trace.export.in_memory_span_exporter import InMemorySpanExporter
from opentelemetry.trace import StatusCode

from airflow_provider_dativo.engine.tracing import (
    NULL_SPAN,
    trace_job_execution,
    trace_phase,
    tracing_available,
)
from tests.support.examples import REPO
from tests.support.workspace import Workspace

JOB_ATTRIBUTES = {"tenant_id": "acme", "job_name": "orders_job", "connector": "csv"}


@pytest.fixture(scope="module")
def exporter() -> Iterator[InMemorySpanExporter]:
    """An in-memory exporter on the process-wide SDK provider (OTel allows setting it once)."""
    provider = trace.get_tracer_provider()
    if not isinstance(provider, TracerProvider):
        provider = TracerProvider()
        trace.set_tracer_provider(provider)
    assert trace.get_tracer_provider() is provider, "another tracer provider is already installed"
    memory = InMemorySpanExporter()
    provider.add_span_processor(SimpleSpanProcessor(memory))
    yield memory
    memory.shutdown()  # later spans of this session are no longer kept


@pytest.fixture
def spans(exporter: InMemorySpanExporter) -> Iterator[InMemorySpanExporter]:
    exporter.clear()
    yield exporter
    exporter.clear()


def by_name(finished: tuple[ReadableSpan, ...]) -> dict[str, ReadableSpan]:
    names = [s.name for s in finished]
    assert len(names) == len(set(names)), names
    return {s.name: s for s in finished}


def test_opentelemetry_is_available_here() -> None:
    assert tracing_available() is True


def test_job_and_phase_spans_are_nested_and_carry_the_attributes(spans: InMemorySpanExporter) -> None:
    with trace_job_execution("orders_job", "acme", "csv"):
        with trace_phase("extract") as extract:
            extract.set_attribute("records", 3)
        with trace_phase("validate", records=3) as validate:
            validate.set_attributes({"records_valid": 2, "records_invalid": 1})
        with trace_phase("write", mode="append") as write:
            write.set_attribute("records", 2)

    found = by_name(spans.get_finished_spans())
    assert set(found) == {"dativo.job", "dativo.extract", "dativo.validate", "dativo.write"}
    job = found["dativo.job"]
    assert job.parent is None
    assert dict(job.attributes) == JOB_ATTRIBUTES
    for name in ("dativo.extract", "dativo.validate", "dativo.write"):
        phase = found[name]
        assert phase.parent is not None and phase.parent.span_id == job.context.span_id
        assert phase.context.trace_id == job.context.trace_id
        assert {k: phase.attributes[k] for k in JOB_ATTRIBUTES} == JOB_ATTRIBUTES
        assert phase.status.status_code is StatusCode.UNSET
    assert found["dativo.extract"].attributes["records"] == 3
    assert found["dativo.validate"].attributes["records"] == 3
    assert found["dativo.validate"].attributes["records_invalid"] == 1
    assert dict(found["dativo.write"].attributes) == {**JOB_ATTRIBUTES, "mode": "append", "records": 2}
    # phases run one after another, all inside the job span
    extract, validate, write = (found[f"dativo.{p}"] for p in ("extract", "validate", "write"))
    assert job.start_time <= extract.start_time <= extract.end_time <= validate.start_time
    assert validate.end_time <= write.start_time <= write.end_time <= job.end_time


def test_an_exception_is_recorded_with_an_error_status_and_still_raised(
    spans: InMemorySpanExporter,
) -> None:
    with pytest.raises(ValueError, match="no such column"), trace_job_execution("j", "acme", "csv"):
        with trace_phase("extract"):
            pass
        with trace_phase("validate"):
            raise ValueError("no such column")

    found = by_name(spans.get_finished_spans())
    assert found["dativo.extract"].status.status_code is StatusCode.UNSET
    for name in ("dativo.validate", "dativo.job"):
        span = found[name]
        assert span.status.status_code is StatusCode.ERROR
        assert span.status.description == "ValueError: no such column"
        (event,) = [e for e in span.events if e.name == "exception"]
        assert event.attributes["exception.type"] == "ValueError"
        assert event.attributes["exception.message"] == "no such column"


def test_record_failure_marks_a_failed_job_that_did_not_raise(spans: InMemorySpanExporter) -> None:
    with trace_job_execution("j", "acme", "csv") as job:
        job.set_attribute("exit_code", 2)
        job.record_failure("SourceError: no files match", "SourceError")

    (span,) = spans.get_finished_spans()
    assert span.status.status_code is StatusCode.ERROR
    assert span.status.description == "SourceError: no files match"
    assert span.attributes["error.type"] == "SourceError"
    assert span.attributes["exit_code"] == 2


def test_unknown_values_are_left_out_and_others_made_strings(spans: InMemorySpanExporter) -> None:
    with trace_job_execution("j", None, "csv") as job:
        job.set_attribute("snapshot_id", None)
        job.set_attributes({"table": Path("acme/orders"), "records": 0, "gift": False})

    (span,) = spans.get_finished_spans()
    assert dict(span.attributes) == {
        "job_name": "j",
        "connector": "csv",
        "table": "acme/orders",
        "records": 0,
        "gift": False,
    }


def test_job_attributes_do_not_leak_past_the_job_span(spans: InMemorySpanExporter) -> None:
    with trace_job_execution("j", "acme", "csv"):
        pass
    with trace_phase("extract", records=1):
        pass

    found = by_name(spans.get_finished_spans())
    assert found["dativo.extract"].parent is None
    assert dict(found["dativo.extract"].attributes) == {"records": 1}


def test_a_prefixed_phase_name_is_kept(spans: InMemorySpanExporter) -> None:
    with trace_phase("dativo.write"):
        pass
    assert [s.name for s in spans.get_finished_spans()] == ["dativo.write"]


def test_null_span_is_only_for_the_disabled_path(spans: InMemorySpanExporter) -> None:
    with trace_phase("extract") as span:
        assert span is not NULL_SPAN
    assert len(spans.get_finished_spans()) == 1


_BLOCK_OTEL = """
import importlib.abc, sys

class BlockOpenTelemetry(importlib.abc.MetaPathFinder):
    def find_spec(self, name, path=None, target=None):
        if name == "opentelemetry" or name.startswith("opentelemetry."):
            raise ModuleNotFoundError(f"No module named {name!r}", name=name)
        return None

sys.meta_path.insert(0, BlockOpenTelemetry())
for name in [m for m in sys.modules if m.split(".")[0] == "opentelemetry"]:
    del sys.modules[name]
"""


def run_without_opentelemetry(script: str) -> dict:
    """Run ``script`` in a fresh interpreter where ``import opentelemetry`` fails; it prints JSON."""
    code = _BLOCK_OTEL + textwrap.dedent(script)
    done = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True, cwd=REPO)
    assert done.returncode == 0, done.stderr[-3000:]
    assert done.stderr == "", done.stderr[-3000:]
    return json.loads(done.stdout.splitlines()[-1])


def test_without_opentelemetry_tracing_does_nothing_and_never_fails() -> None:
    report = run_without_opentelemetry(
        """
        import json, sys
        from airflow_provider_dativo.engine import tracing

        seen, raised = [], None
        try:
            with tracing.trace_job_execution("j", "acme", "csv") as job:
                job.set_attribute("exit_code", 2)
                job.set_attributes({"records": 1})
                job.record_failure("boom", "SourceError")
                with tracing.trace_phase("extract", records=1) as phase:
                    seen.append(phase is tracing.NULL_SPAN and job is tracing.NULL_SPAN)
                    raise KeyError("kept")
        except KeyError as exc:
            raised = repr(exc)
        print(json.dumps({
            "available": tracing.tracing_available(),
            "null_spans": seen,
            "raised": raised,
            "shared_context": tracing.trace_phase("a", x=1) is tracing.trace_phase("b"),
            "otel_imported": sorted(m for m in sys.modules if m.startswith("opentelemetry")),
        }))
        """
    )
    assert report == {
        "available": False,
        "null_spans": [True],
        "raised": "KeyError('kept')",
        "shared_context": True,
        "otel_imported": [],
    }


def test_without_opentelemetry_a_job_still_runs(ws: Workspace) -> None:
    ws.csv("orders.csv", "1,a@example.com,paid,10.5,2,0.25,true,2024-01-03,2024-01-02T03:04:05Z")
    job = ws.job(tenant_id="acme")
    report = run_without_opentelemetry(
        f"""
        import contextlib, io, json, sys
        from airflow_provider_dativo.cli.main import main

        out = io.StringIO()
        with contextlib.redirect_stdout(out):
            code = main(["run", "--config", {str(job.path)!r}, "--dativo-home", {str(ws.home)!r}])
        print(json.dumps({{
            "exit_code": code,
            "events": [json.loads(line)["event_type"] for line in out.getvalue().splitlines()],
            "otel_imported": sorted(m for m in sys.modules if m.startswith("opentelemetry")),
        }}))
        """
    )
    assert report["exit_code"] == 0
    assert report["events"][-1] == "job_finished"
    assert report["otel_imported"] == []
    assert [r["order_id"] for r in ws.rows()] == [1]
