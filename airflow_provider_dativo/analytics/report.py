"""The summary ``dativo report`` prints, in the same shape as the Dativo view's API.

Field names follow ``GET /dativo/api/summary`` (CONTRACT.md), so a script can read either:
``tasks_ok``, ``tasks_failed``, ``avg_duration_seconds``, ``error_rate``, ``recent_runs``,
``schedules``, ``tenants``.
"""

from __future__ import annotations

from collections.abc import Iterable
from datetime import datetime
from typing import Any

from airflow_provider_dativo.analytics.summaries import (
    per_tenant_load,
    summarize_dags,
    summarize_schedules,
    summarize_tasks,
)

RECENT_RUNS = 15


def build_report(
    events: Iterable[dict[str, Any]], hours: float = 24, *, now: datetime | None = None
) -> dict[str, Any]:
    """KPIs, recent runs, schedules and tenants of the events (seed vocabulary)."""
    events = list(events)
    (kpis,) = summarize_tasks(events, window_hours=hours, now=now).values()
    return {
        "window_hours": hours,
        "tasks_ok": kpis["tasks_ok"],
        "tasks_failed": kpis["tasks_failed"],
        "avg_duration_seconds": kpis["avg_duration"],
        "error_rate": kpis["error_rate"],
        "recent_runs": [
            {
                "dag_id": run["dag_name"],
                "run_id": run["run_id"],
                "tenant": run["tenant_id"],
                "status": run["status"],
                "start_date": run["started_at"],
                "duration_seconds": run["duration"],
                "rows_loaded": run["rows_loaded"],
                "rows_rejected": run["rows_rejected"],
            }
            for run in summarize_dags(events, limit=RECENT_RUNS)
        ],
        "schedules": [
            {
                "schedule": item["schedule_id"],
                "last_run": item["last_run"],
                "status": item["status"],
                "runs": item["enqueued"],
                "success": item["success"],
                "failed": item["failed"],
            }
            for item in summarize_schedules(events)
        ],
        "tenants": [
            {
                "tenant": load["tenant"],
                "runs": load["runs"],
                "tasks": load["tasks"],
                "error_rate": load["error_rate"],
                "avg_latency_seconds": load["avg_latency"],
                "rows_loaded": load["rows_loaded"],
                "rows_rejected": load["rows_rejected"],
            }
            for load in per_tenant_load(events, window_hours=hours, now=now)
        ],
    }


def _table(headers: list[str], rows: list[list[Any]]) -> list[str]:
    cells = [[str(h) for h in headers], *[["-" if v is None else str(v) for v in row] for row in rows]]
    widths = [max(len(row[i]) for row in cells) for i in range(len(headers))]
    return ["  ".join(v.ljust(w) for v, w in zip(row, widths, strict=True)).rstrip() for row in cells]


def render_report(report: dict[str, Any]) -> str:
    """The report as text for a terminal."""
    lines = [
        f"dativo report, last {report['window_hours']:g} h",
        f"  tasks ok {report['tasks_ok']}   failed {report['tasks_failed']}   "
        f"avg duration {report['avg_duration_seconds']:.2f}s   error rate {report['error_rate'] * 100:.1f}%",
        "",
        "Tenants",
    ]
    lines += _table(
        ["tenant", "runs", "tasks", "error rate", "avg latency", "rows loaded", "rows rejected"],
        [
            [
                t["tenant"],
                t["runs"],
                t["tasks"],
                f"{t['error_rate'] * 100:.1f}%",
                f"{t['avg_latency_seconds']:.2f}s",
                t["rows_loaded"],
                t["rows_rejected"],
            ]
            for t in report["tenants"]
        ],
    )
    lines += ["", "Recent runs"]
    lines += _table(
        ["dag", "status", "start", "duration", "rows"],
        [
            [
                r["dag_id"],
                r["status"],
                r["start_date"],
                None if r["duration_seconds"] is None else f"{r['duration_seconds']:.1f}s",
                r["rows_loaded"],
            ]
            for r in report["recent_runs"]
        ],
    )
    lines += ["", "Schedules"]
    lines += _table(
        ["schedule", "last run", "status", "runs", "success", "failed"],
        [
            [s["schedule"], s["last_run"], s["status"], s["runs"], s["success"], s["failed"]]
            for s in report["schedules"]
        ],
    )
    return "\n".join(lines) + "\n"
