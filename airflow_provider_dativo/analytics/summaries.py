"""Seed 003's summaries: task KPIs, recent DAG runs, schedules and the load per tenant.

Each takes the events of :func:`~airflow_provider_dativo.analytics.events.load_events` (seed
vocabulary) and returns plain dicts, so a dashboard, ``dativo report`` or a test reads them
alike. Windows are measured back from ``now`` (default: the current time, UTC).
"""

from __future__ import annotations

from collections import defaultdict
from collections.abc import Iterable
from datetime import datetime, timedelta, timezone
from typing import Any

from airflow_provider_dativo.analytics.events import parse_time

FINISHED_TASK = {"task_ok": "success", "task_fail": "failed"}


def _in_window(
    events: Iterable[dict[str, Any]], window_hours: float | None, now: datetime | None
) -> list[dict[str, Any]]:
    if window_hours is None:
        return list(events)
    since = (now or datetime.now(timezone.utc)) - timedelta(hours=window_hours)
    return [e for e in events if (moment := parse_time(e.get("timestamp"))) is not None and moment >= since]


def _mean(values: list[float]) -> float:
    return sum(values) / len(values) if values else 0.0


def _rate(failed: int, total: int) -> float:
    return failed / total if total else 0.0


def summarize_tasks(
    events: Iterable[dict[str, Any]], window_hours: float = 24, *, now: datetime | None = None
) -> dict[str, Any]:
    """Task KPIs of the last ``window_hours``: ``{"last_24h": {tasks_ok, tasks_failed,
    tasks_retried, avg_duration, error_rate}}`` (key named after the window, as in the seed).

    ``error_rate`` is failed / (ok + failed), 0.0 when nothing finished; ``avg_duration`` is the
    mean ``duration_seconds`` of the finished tasks that report one.
    """
    recent = _in_window(events, window_hours, now)
    finished = [e for e in recent if e.get("event") in FINISHED_TASK]
    ok = sum(1 for e in finished if e["event"] == "task_ok")
    failed = len(finished) - ok
    durations = [float(e["duration_seconds"]) for e in finished if e.get("duration_seconds") is not None]
    key = f"last_{window_hours:g}h"
    return {
        key: {
            "tasks_ok": ok,
            "tasks_failed": failed,
            "tasks_retried": sum(1 for e in recent if e.get("event") == "task_retry"),
            "avg_duration": _mean(durations),
            "error_rate": _rate(failed, len(finished)),
        }
    }


def _runs(events: Iterable[dict[str, Any]]) -> dict[tuple[Any, Any], dict[str, Any]]:
    """DAG runs keyed by (dag_name, run_id), in the order they started."""
    runs: dict[tuple[Any, Any], dict[str, Any]] = {}
    for event in events:
        kind = event.get("event")
        if kind not in ("dag_start", "dag_done", "task_ok", "task_fail"):
            continue
        key = (event.get("dag_name"), event.get("run_id"))
        run = runs.setdefault(
            key,
            {
                "dag_name": key[0],
                "run_id": key[1],
                "tenant_id": event.get("tenant_id"),
                "status": "running",
                "started_at": None,
                "finished_at": None,
                "duration": None,
                "tasks_ok": 0,
                "tasks_failed": 0,
                "rows_loaded": 0,
                "rows_rejected": 0,
            },
        )
        if kind == "dag_start":
            run["started_at"] = event.get("timestamp")
        elif kind == "dag_done":
            run["status"] = event.get("status") or ("failed" if event.get("tasks_failed") else "success")
            run["finished_at"] = event.get("timestamp")
        else:
            run["tasks_ok" if kind == "task_ok" else "tasks_failed"] += 1
            run["rows_loaded"] += int(event.get("rows_loaded") or 0)
            run["rows_rejected"] += int(event.get("rows_rejected") or 0)
    for run in runs.values():
        start, end = parse_time(run["started_at"]), parse_time(run["finished_at"])
        if start and end:
            run["duration"] = (end - start).total_seconds()
    return runs


def summarize_dags(events: Iterable[dict[str, Any]], limit: int = 15) -> list[dict[str, Any]]:
    """The last ``limit`` DAG runs, newest first: dag_name, run_id, tenant_id, status (running,
    success or failed), started_at, finished_at, duration (seconds), tasks_ok, tasks_failed,
    rows_loaded, rows_rejected."""
    runs = list(_runs(events).values())
    runs.reverse()
    return runs[:limit]


def summarize_schedules(events: Iterable[dict[str, Any]]) -> list[dict[str, Any]]:
    """Per schedule: schedule_id, last_run, status, enqueued, success, failed.

    Reads the seed's state-store events (``schedule_enqueued``, ``run_started``,
    ``run_finished`` with ``schedule_id``) and DAG runs alike: a DAG run counts for the schedule
    named like its DAG (a dativo schedule's name is its dag_id).
    """
    schedules: dict[str, dict[str, Any]] = {}

    def entry(schedule_id: str) -> dict[str, Any]:
        return schedules.setdefault(
            schedule_id,
            {
                "schedule_id": schedule_id,
                "last_run": None,
                "status": None,
                "enqueued": 0,
                "success": 0,
                "failed": 0,
            },
        )

    for event in events:
        kind = event.get("event")
        schedule_id = event.get("schedule_id") or event.get("dag_name")
        if not schedule_id:
            continue
        if kind in ("schedule_enqueued", "dag_start"):
            entry(schedule_id)["enqueued"] += 1
            if kind == "dag_start":
                entry(schedule_id)["last_run"] = event.get("timestamp")
        elif kind == "run_started":
            entry(schedule_id)["last_run"] = event.get("timestamp")
        elif kind in ("run_finished", "dag_done"):
            item = entry(schedule_id)
            status = "success" if event.get("status") == "success" else "failed"
            item["status"] = status
            item[status] += 1
            item["last_run"] = item["last_run"] or event.get("timestamp")
    return sorted(schedules.values(), key=lambda s: s["schedule_id"])


def per_tenant_load(
    events: Iterable[dict[str, Any]], window_hours: float = 24, *, now: datetime | None = None
) -> list[dict[str, Any]]:
    """Per tenant over the last ``window_hours``: tenant, runs, tasks, error_rate (failed tasks /
    finished tasks), avg_latency (mean task duration, seconds), rows_loaded, rows_rejected."""
    tenants: dict[str, dict[str, Any]] = defaultdict(
        lambda: {"runs": 0, "tasks": 0, "failed": 0, "durations": [], "rows_loaded": 0, "rows_rejected": 0}
    )
    for event in _in_window(events, window_hours, now):
        kind = event.get("event")
        tenant = event.get("tenant_id") or event.get("tenant") or "unknown"
        if kind == "dag_start":
            tenants[tenant]["runs"] += 1
        elif kind in FINISHED_TASK:
            load = tenants[tenant]
            load["tasks"] += 1
            load["failed"] += kind == "task_fail"
            if event.get("duration_seconds") is not None:
                load["durations"].append(float(event["duration_seconds"]))
            load["rows_loaded"] += int(event.get("rows_loaded") or 0)
            load["rows_rejected"] += int(event.get("rows_rejected") or 0)
    return [
        {
            "tenant": tenant,
            "runs": load["runs"],
            "tasks": load["tasks"],
            "error_rate": _rate(load["failed"], load["tasks"]),
            "avg_latency": _mean(load["durations"]),
            "rows_loaded": load["rows_loaded"],
            "rows_rejected": load["rows_rejected"],
        }
        for tenant, load in sorted(tenants.items())
    ]
