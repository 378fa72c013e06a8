"""Oneshot retries: ``run_with_retries`` applies a job's ``retry_config`` to real runs."""

from __future__ import annotations

import io
import json
from dataclasses import dataclass
from typing import Any

import yaml

from airflow_provider_dativo.config.loader import load_job
from airflow_provider_dativo.config.retry import RetryConfig
from airflow_provider_dativo.engine.events import EventEmitter
from airflow_provider_dativo.engine.metrics import METRIC_KEYS
from airflow_provider_dativo.engine.oneshot import run_with_retries
from tests.support.workspace import Workspace

GOOD = "1,a@example.com,paid,10.5,2,0.25,true,2024-01-03,2024-01-02T03:04:05Z"
BAD_STATUS = "2,b@example.com,lost,1,1,0.5,false,2024-01-03,2024-01-02T03:04:05Z"
RUN_ID = "oneshot-run-1"


@dataclass
class RetriedRun:
    result: Any
    events: list[dict[str, Any]]
    sleeps: list[float]

    @property
    def event_types(self) -> list[str]:
        return [e["event_type"] for e in self.events]

    def retry_events(self) -> list[dict[str, Any]]:
        return [e for e in self.events if e["event_type"] == "retry_attempt"]


def job_with_retries(ws: Workspace, retry_config: dict[str, Any] | None, **job_args: Any):
    """A job file written with ``retry_config`` and loaded as ``dativo run`` loads it."""
    ws.job(**{"tenant_id": "acme", **job_args})
    path = ws.root / "jobs" / "acme" / f"{job_args.get('name', 'job')}.yaml"
    doc = yaml.safe_load(path.read_text())
    if retry_config is not None:
        doc["retry_config"] = retry_config
    path.write_text(yaml.safe_dump(doc))
    return load_job(path)


def run(ws: Workspace, job, on_sleep=None) -> RetriedRun:
    """Run with retries, recording every sleep instead of waiting; ``on_sleep(n)`` runs at sleep n."""
    stream = io.StringIO()
    emitter = EventEmitter(job_name="orders_job", tenant_id=job.tenant_id, run_id=RUN_ID, stream=stream)
    sleeps: list[float] = []

    def sleep(seconds: float) -> None:
        sleeps.append(seconds)
        if on_sleep:
            on_sleep(len(sleeps))

    result = run_with_retries(
        job, job_name="orders_job", run_id=RUN_ID, emitter=emitter, dativo_home=str(ws.home), sleep=sleep
    )
    events = [json.loads(line) for line in stream.getvalue().splitlines()]
    return RetriedRun(result, events, sleeps)


RETRY_ON_2 = {
    "max_retries": 3,
    "initial_delay_seconds": 10,
    "max_delay_seconds": 60,
    "backoff_multiplier": 2.0,
    "retryable_exit_codes": [2],
}


def test_fails_twice_then_succeeds_when_the_file_arrives(ws: Workspace) -> None:
    job = job_with_retries(ws, RETRY_ON_2, path="../../data/orders_*.csv")

    def file_arrives_before_third_try(sleep_number: int) -> None:
        if sleep_number == 2:
            ws.csv("orders_2024.csv", GOOD)

    outcome = run(ws, job, on_sleep=file_arrives_before_third_try)

    assert outcome.result.exit_code == 0 and outcome.result.error is None
    assert outcome.result.metrics["status"] == "success"
    assert outcome.result.metrics["records_valid"] == 1
    assert outcome.result.metrics["retry_count"] == 2
    assert list(outcome.result.metrics)[: len(METRIC_KEYS)] == list(METRIC_KEYS)
    assert list(outcome.result.metrics)[-1] == "retry_count"
    assert outcome.sleeps == [10, 20]
    assert outcome.event_types == [
        "job_started",
        "metrics_complete",
        "job_error",
        "retry_attempt",
        "job_started",
        "metrics_complete",
        "job_error",
        "retry_attempt",
        "job_started",
        "infra_validated",
        "metrics_complete",
        "job_finished",
    ]
    assert {e["run_id"] for e in outcome.events} == {RUN_ID}
    assert [r["order_id"] for r in ws.rows()] == [1]
    snapshot = ws.table().current_snapshot()
    assert snapshot.summary["dativo.run-id"] == RUN_ID


def test_retry_attempt_events_carry_attempt_code_delay_reason_error(ws: Workspace) -> None:
    job = job_with_retries(ws, RETRY_ON_2, path="../../data/orders_*.csv")

    def file_arrives_before_third_try(sleep_number: int) -> None:
        if sleep_number == 2:
            ws.csv("orders_1.csv", GOOD)

    outcome = run(ws, job, on_sleep=file_arrives_before_third_try)

    first, second = outcome.retry_events()
    for number, event, delay in ((1, first, 10), (2, second, 20)):
        assert event["attempt"] == number
        assert event["exit_code"] == 2
        assert event["delay_seconds"] == delay
        assert event["max_retries"] == 3
        assert event["reason"] == "exit code 2 is retryable"
        assert event["error"].startswith("SourceError: no files match the source pattern")
        assert event["level"] == "WARNING"
        assert event["job_name"] == "orders_job" and event["tenant_id"] == "acme"
        assert f"retry {number} of 3 in {delay}s" in event["message"]


def test_delays_are_exactly_the_backoff_formula_capped_by_max(ws: Workspace) -> None:
    config = {**RETRY_ON_2, "max_retries": 5, "max_delay_seconds": 70}
    job = job_with_retries(ws, config, path="../../data/never_*.csv")

    outcome = run(ws, job)

    assert outcome.sleeps == [10, 20, 40, 70, 70]
    assert outcome.sleeps == [RetryConfig(**config).delay_before_retry(n) for n in range(1, 6)]
    assert [e["delay_seconds"] for e in outcome.retry_events()] == outcome.sleeps
    assert [e["attempt"] for e in outcome.retry_events()] == [1, 2, 3, 4, 5]
    assert outcome.event_types.count("job_started") == 6
    assert outcome.result.exit_code == 2
    assert outcome.result.metrics["retry_count"] == 5
    assert outcome.result.error.startswith("SourceError: no files match")


def test_fractional_multiplier_keeps_exact_delays(ws: Workspace) -> None:
    config = {**RETRY_ON_2, "initial_delay_seconds": 2, "backoff_multiplier": 1.5, "max_retries": 3}
    outcome = run(ws, job_with_retries(ws, config, path="../../data/never_*.csv"))
    assert outcome.sleeps == [2, 3, 4.5]


def test_exit_code_not_retryable_fails_after_one_try(ws: Workspace) -> None:
    job = job_with_retries(ws, {**RETRY_ON_2, "retryable_exit_codes": [1]}, path="../../data/none_*.csv")

    outcome = run(ws, job)

    assert outcome.result.exit_code == 2
    assert outcome.sleeps == []
    assert outcome.event_types == ["job_started", "metrics_complete", "job_error"]
    assert outcome.result.metrics["retry_count"] == 0


def test_an_error_no_retry_can_fix_fails_after_one_try(ws: Workspace) -> None:
    """An invalid asset (an enum value that is not a valid int) is a ConfigError: retrying the
    same file cannot help, whatever retry_config says."""
    ws.asset(fields=[{"name": "order_id", "type": "int", "enum": ["one"]}])
    ws.csv("orders.csv", "1", header="order_id")
    job = job_with_retries(ws, RETRY_ON_2)

    outcome = run(ws, job)

    assert outcome.result.exit_code == 2 and outcome.result.error_type == "ConfigError"
    assert outcome.result.retryable is False
    assert outcome.sleeps == [] and outcome.result.metrics["retry_count"] == 0
    assert "retry_attempt" not in outcome.event_types


def test_error_not_matching_the_patterns_fails_after_one_try(ws: Workspace) -> None:
    config = {**RETRY_ON_2, "retryable_error_patterns": ["ConnectionError", "cannot be reached"]}
    job = job_with_retries(ws, config, path="../../data/none_*.csv")

    outcome = run(ws, job)

    assert outcome.result.exit_code == 2
    assert "retry_attempt" not in outcome.event_types
    assert outcome.event_types.count("job_started") == 1
    assert outcome.sleeps == []


def test_error_matching_a_pattern_is_retried(ws: Workspace) -> None:
    config = {**RETRY_ON_2, "max_retries": 1, "retryable_error_patterns": ["ConnectionError", "no files"]}
    job = job_with_retries(ws, config, path="../../data/none_*.csv")

    outcome = run(ws, job)

    (event,) = outcome.retry_events()
    assert event["reason"] == "exit code 2 is retryable and the error matches 'no files'"
    assert outcome.sleeps == [10]
    assert outcome.result.metrics["retry_count"] == 1


def test_without_retry_config_the_job_runs_once(ws: Workspace) -> None:
    job = job_with_retries(ws, None, path="../../data/none_*.csv")
    assert job.retry_config is None

    outcome = run(ws, job)

    assert outcome.result.exit_code == 2
    assert outcome.sleeps == []
    assert outcome.event_types == ["job_started", "metrics_complete", "job_error"]
    assert outcome.result.metrics["retry_count"] == 0


def test_max_retries_zero_runs_once(ws: Workspace) -> None:
    job = job_with_retries(ws, {**RETRY_ON_2, "max_retries": 0}, path="../../data/none_*.csv")
    outcome = run(ws, job)
    assert outcome.event_types.count("job_started") == 1 and outcome.sleeps == []


def test_success_is_never_retried(ws: Workspace) -> None:
    ws.csv("orders.csv", GOOD)
    outcome = run(ws, job_with_retries(ws, RETRY_ON_2))
    assert outcome.result.exit_code == 0
    assert outcome.sleeps == [] and outcome.result.metrics["retry_count"] == 0


def test_partial_repaired_during_the_back_off_ends_with_every_row_once_and_nothing_quarantined(
    ws: Workspace,
) -> None:
    """Issue 16, tried case 2: a warn-mode run that dropped a record, with exit code 1 retryable.
    The first try commits nothing; the source is fixed during the back-off; the retry loads it."""
    ws.csv("orders.csv", GOOD, BAD_STATUS)
    config = {**RETRY_ON_2, "max_retries": 1, "retryable_exit_codes": [1, 2]}
    job = job_with_retries(ws, config, validation="warn")
    fixed = BAD_STATUS.replace(",lost,", ",paid,")

    outcome = run(ws, job, on_sleep=lambda n: ws.csv("orders.csv", GOOD, fixed))

    (event,) = outcome.retry_events()
    assert event["exit_code"] == 1 and "validation failed (warn)" in event["error"]
    assert "nothing committed" in event["error"]
    decisions = [e for e in outcome.events if e["event_type"] == "commit_decision"]
    assert [(d["commit"], d["try_number"], d["tries"]) for d in decisions] == [(False, 1, 2)]
    assert "try 1 of 2 is not the last" in decisions[0]["reason"]
    assert outcome.result.exit_code == 0 and outcome.result.metrics["status"] == "success"
    assert outcome.result.metrics["already_committed"] is False
    assert outcome.result.metrics["retry_count"] == 1
    assert [r["order_id"] for r in ws.rows()] == [1, 2]
    assert not ws.catalog().table_exists("acme.orders__rejected")
    assert len(ws.table().metadata.snapshots) == 1


def test_partial_that_stays_partial_commits_once_on_its_last_try(ws: Workspace) -> None:
    ws.csv("orders.csv", GOOD, BAD_STATUS)
    config = {**RETRY_ON_2, "max_retries": 2, "retryable_exit_codes": [1, 2]}
    job = job_with_retries(ws, config, validation="warn")

    outcome = run(ws, job)

    assert outcome.sleeps == [10.0, 20.0]
    decisions = [e for e in outcome.events if e["event_type"] == "commit_decision"]
    assert [(d["commit"], d["try_number"]) for d in decisions] == [(False, 1), (False, 2), (True, 3)]
    assert "try 3 of 3 is the last: it commits the partial load" in decisions[-1]["reason"]
    assert outcome.result.exit_code == 1 and outcome.result.metrics["status"] == "partial"
    assert outcome.result.metrics["already_committed"] is False
    assert [r["order_id"] for r in ws.rows()] == [1]
    assert [r["order_id"] for r in ws.rows("acme.orders__rejected")] == ["2"]
    assert len(ws.table().metadata.snapshots) == 1


def test_partial_kept_when_1_is_not_retryable(ws: Workspace) -> None:
    ws.csv("orders.csv", GOOD, BAD_STATUS)
    outcome = run(ws, job_with_retries(ws, RETRY_ON_2, validation="warn"))
    assert outcome.result.exit_code == 1
    assert outcome.result.metrics["status"] == "partial"
    assert outcome.sleeps == [] and "retry_attempt" not in outcome.event_types
