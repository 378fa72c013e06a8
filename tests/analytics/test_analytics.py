"""Seed 003's analytics over real events: `dativo workflow run` and `dativo run` write them here."""

from __future__ import annotations

import json
from datetime import datetime, timedelta, timezone
from pathlib import Path

import pytest

from airflow_provider_dativo.analytics import (
    load_events,
    per_tenant_load,
    summarize_dags,
    summarize_schedules,
    summarize_tasks,
)
from airflow_provider_dativo.cli.main import main
from tests.support.cli import dativo
from tests.support.examples import EXAMPLES
from tests.support.workflow_files import task, write_workflow

ORDERS_JOB = EXAMPLES / "jobs" / "acme" / "orders_csv_to_iceberg.yaml"
EVENTS_JOB = EXAMPLES / "jobs" / "globex" / "events_jsonl_to_iceberg.yaml"


@pytest.fixture(scope="module")
def event_files(tmp_path_factory: pytest.TempPathFactory) -> dict[str, Path]:
    """One successful and one failing workflow run, a full and a partial `dativo run`."""
    root = tmp_path_factory.mktemp("analytics")
    orch = root / "orchestrator_events.jsonl"
    good = write_workflow(root / "good.yaml", "good_chain", [task("a"), task("b", "echo", "a")])
    bad = write_workflow(root / "bad.yaml", "bad_chain", [task("a"), task("z", "boom", "a")])
    for path in (good, bad):
        main(["workflow", "run", str(path), "--events", str(orch)])
    jobs = root / "jobs.jsonl"
    env = {"DATIVO_APP_ROOT": str(EXAMPLES), "DATIVO_HOME": str(root / "home")}
    lines = []
    for job in (ORDERS_JOB, EVENTS_JOB):
        result = dativo("run", "--config", str(job), "--no-retries", env=env)
        assert result.returncode in (0, 1), result.stderr[-2000:]
        lines.append(result.stdout)
    jobs.write_text("".join(lines) + "not json: a stray line of other output\n")
    return {"orch": orch, "jobs": jobs}


def test_load_events_reads_both_producers_in_the_seed_vocabulary(event_files) -> None:
    events = load_events([event_files["orch"], event_files["jobs"]])
    kinds = [e["event"] for e in events]
    assert kinds.count("dag_start") == 4  # two workflow runs, two job runs
    assert kinds.count("dag_done") == 4
    jobs = [e for e in events if e.get("source") == "dativo run" and e["event"] == "task_ok"]
    assert sorted((e["dag_name"], e["rows_loaded"], e["rows_rejected"]) for e in jobs) == [
        ("events_jsonl_to_iceberg", 38, 2),
        ("orders_csv_to_iceberg", 50, 0),
    ]
    timestamps = [e["timestamp"] for e in events]
    assert timestamps == sorted(timestamps)
    assert load_events(event_files["orch"], limit=3) == load_events(event_files["orch"], limit=None)[-3:]
    assert load_events(event_files["orch"].with_name("missing.jsonl")) == []


def test_summaries_count_what_ran(event_files) -> None:
    events = load_events([event_files["orch"], event_files["jobs"]])
    stats = summarize_tasks(events, window_hours=24)["last_24h"]
    # good_chain: a, b ok; bad_chain: a ok, z failed; two jobs ok (a partial job still succeeds)
    assert (stats["tasks_ok"], stats["tasks_failed"]) == (5, 1)
    assert stats["error_rate"] == pytest.approx(1 / 6)
    assert stats["avg_duration"] > 0

    runs = summarize_dags(events, limit=10)
    assert {r["dag_name"]: r["status"] for r in runs} == {
        "good_chain": "success",
        "bad_chain": "failed",
        "orders_csv_to_iceberg": "success",
        "events_jsonl_to_iceberg": "success",
    }
    assert runs[0]["dag_name"] == "events_jsonl_to_iceberg"  # newest first
    assert summarize_dags(events, limit=1) == runs[:1]
    bad = next(r for r in runs if r["dag_name"] == "bad_chain")
    assert (bad["tasks_ok"], bad["tasks_failed"]) == (1, 1) and bad["duration"] >= 0

    schedules = {s["schedule_id"]: s for s in summarize_schedules(events)}
    assert (schedules["bad_chain"]["status"], schedules["bad_chain"]["failed"]) == ("failed", 1)
    assert (schedules["good_chain"]["enqueued"], schedules["good_chain"]["success"]) == (1, 1)

    tenants = {t["tenant"]: t for t in per_tenant_load(events, window_hours=24)}
    assert tenants["acme"]["runs"] == 3 and tenants["acme"]["tasks"] == 5
    assert tenants["acme"]["error_rate"] == pytest.approx(1 / 5)
    assert (tenants["acme"]["rows_loaded"], tenants["globex"]["rows_loaded"]) == (50, 38)
    assert tenants["globex"]["rows_rejected"] == 2


def test_windows_leave_out_older_events(event_files) -> None:
    events = load_events(event_files["orch"])
    later = datetime.now(timezone.utc) + timedelta(hours=3)
    assert summarize_tasks(events, window_hours=2, now=later)["last_2h"]["tasks_ok"] == 0
    assert per_tenant_load(events, window_hours=2, now=later) == []
    assert summarize_tasks(events, window_hours=4, now=later)["last_4h"]["tasks_ok"] == 3


def test_the_seed_state_store_events_count_per_schedule() -> None:
    events = [
        {"timestamp": "2025-10-03T10:00:00", "event": "schedule_enqueued", "schedule_id": "daily"},
        {"timestamp": "2025-10-03T10:00:01", "event": "run_started", "schedule_id": "daily"},
        {
            "timestamp": "2025-10-03T10:00:09",
            "event": "run_finished",
            "schedule_id": "daily",
            "status": "failed",
        },
        {"timestamp": "2025-10-03T11:00:00", "event": "schedule_enqueued", "schedule_id": "daily"},
    ]
    assert summarize_schedules(events) == [
        {
            "schedule_id": "daily",
            "last_run": "2025-10-03T10:00:01",
            "status": "failed",
            "enqueued": 2,
            "success": 0,
            "failed": 1,
        }
    ]


def test_dativo_report_prints_the_same_numbers(event_files) -> None:
    args = ["report", "--events", str(event_files["orch"]), "--events", str(event_files["jobs"])]
    as_json = dativo(*args, "--json")
    assert as_json.returncode == 0, as_json.stderr
    report = json.loads(as_json.stdout.splitlines()[-1])
    assert (report["tasks_ok"], report["tasks_failed"]) == (5, 1)
    assert {t["tenant"]: t["rows_loaded"] for t in report["tenants"]} == {"acme": 50, "globex": 38}
    assert {"dag_id", "status", "start_date", "duration_seconds", "rows_loaded"} <= set(
        report["recent_runs"][0]
    )
    text = dativo(*args, "--hours", "12")
    assert text.returncode == 0
    assert "error rate 16.7%" in text.stdout and "last 12 h" in text.stdout
    assert "bad_chain" in text.stdout and "globex" in text.stdout


def test_dativo_report_defaults_to_orch_events_path(event_files) -> None:
    result = dativo("report", "--json", env={"ORCH_EVENTS_PATH": str(event_files["orch"])})
    assert json.loads(result.stdout)["tasks_failed"] == 1
    missing = dativo("report", "--json", env={"ORCH_EVENTS_PATH": "/nonexistent/events.jsonl"})
    assert missing.returncode == 0 and json.loads(missing.stdout)["tasks_ok"] == 0
    assert "no event file" in missing.stderr
