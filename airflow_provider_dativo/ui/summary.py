"""``GET /dativo/api/summary``: the numbers of the Dativo view, from Airflow's metadata.

Counts the DAG runs due within the last ``hours`` of the DAGs tagged ``dativo`` that the user
may read: task outcomes, error rate and durations, rows from each ingest task's metrics (its
XCom), per tenant (the ``tenant:<id>`` tag) and per Iceberg table (the ingest task's outlet
asset) with its freshness. docs/observability.md defines every number.
"""

from __future__ import annotations

from collections import defaultdict
from datetime import datetime, timedelta, timezone
from typing import TYPE_CHECKING, Any
from urllib.parse import quote

from airflow_provider_dativo.ui import metadata

if TYPE_CHECKING:
    from sqlalchemy.orm import Session

RECENT_RUNS = 15
OK, FAILED = "success", "failed"


def _iso(moment: datetime | None) -> str | None:
    if moment is None:
        return None
    if moment.utcoffset():
        moment = moment.astimezone(timezone.utc)
    return moment.isoformat().replace("+00:00", "Z")


def _seconds(start: datetime | None, end: datetime | None) -> float | None:
    return round((end - start).total_seconds(), 3) if start and end else None


def dag_url(dag_id: str) -> str:
    """Airflow 3's own page of a DAG (relative to the UI's root)."""
    return f"/dags/{quote(dag_id, safe='')}"


def run_url(dag_id: str, run_id: str) -> str:
    return f"{dag_url(dag_id)}/runs/{quote(run_id, safe='')}"


def table_name(uri: str) -> str:
    """``iceberg://<catalog>/<namespace>/<table>`` -> ``<namespace>.<table>``."""
    parts = uri.removeprefix("iceberg://").split("/")
    return ".".join(parts[1:]) if len(parts) > 2 else uri


class _Tally:
    """Counters of one group (everything, a tenant, a day, a DAG)."""

    def __init__(self) -> None:
        self.runs = self.ok = self.failed = self.rows_loaded = self.rows_rejected = 0
        self.runs_ok = self.runs_failed = 0
        self.duration_sum = 0.0
        self.duration_count = 0

    def add_runs(self, group: metadata.Group) -> None:
        self.runs += group.count
        self.runs_ok += group.count if group.state == OK else 0
        self.runs_failed += group.count if group.state == FAILED else 0
        self.rows_loaded += group.rows_loaded
        self.rows_rejected += group.rows_rejected

    def add_tasks(self, group: metadata.Group) -> None:
        self.ok += group.count if group.state == OK else 0
        self.failed += group.count if group.state == FAILED else 0
        self.duration_sum += group.duration_sum
        self.duration_count += group.duration_count

    @property
    def error_rate(self) -> float:
        finished = self.ok + self.failed
        return round(self.failed / finished, 4) if finished else 0.0

    @property
    def avg_duration(self) -> float:
        return round(self.duration_sum / self.duration_count, 3) if self.duration_count else 0.0


def build_summary(
    session: Session, readable: set[str], *, hours: float, now: datetime | None = None
) -> dict[str, Any]:
    """The whole summary for a user who may read ``readable`` dag_ids."""
    now = now or datetime.now(timezone.utc)
    since = now - timedelta(hours=hours)
    dags = {d: info for d, info in metadata.dativo_dags(session).items() if d in readable}

    total, tenants, days = _Tally(), defaultdict(_Tally), defaultdict(_Tally)
    per_dag: dict[str, _Tally] = defaultdict(_Tally)
    runs = [run for run in metadata.window_runs(session, since) if run.dag_id in dags]
    for group in metadata.run_groups(session, runs):
        if group.dag_id in dags:
            tenant = dags[group.dag_id].tenant or "-"
            for tally in (total, tenants[tenant], days[(group.day, tenant)], per_dag[group.dag_id]):
                tally.add_runs(group)
    for group in metadata.task_groups(session, since):
        if group.dag_id in dags:
            tenant = dags[group.dag_id].tenant or "-"
            for tally in (total, tenants[tenant], days[(group.day, tenant)]):
                tally.add_tasks(group)

    recent = metadata.newest_first(runs, RECENT_RUNS)
    last = metadata.last_runs(session, dags, runs)
    return {
        "window_hours": hours,
        "generated_at": _iso(now),
        "tasks_ok": total.ok,
        "tasks_failed": total.failed,
        "avg_duration_seconds": total.avg_duration,
        "error_rate": total.error_rate,
        "runs": total.runs,
        "rows_loaded": total.rows_loaded,
        "rows_rejected": total.rows_rejected,
        "recent_runs": _recent_runs(recent, dags, metadata.run_metrics(session, (r.id for r in recent))),
        "schedules": _schedules(dags, per_dag, last),
        "tenants": [
            {
                "tenant": tenant,
                "runs": tally.runs,
                "tasks": tally.ok + tally.failed,
                "error_rate": tally.error_rate,
                "avg_latency_seconds": tally.avg_duration,
                "rows_loaded": tally.rows_loaded,
                "rows_rejected": tally.rows_rejected,
            }
            for tenant, tally in sorted(tenants.items())
        ],
        "tables": _tables(session, dags, per_dag, last, since, now),
        "daily": [
            {
                "day": day,
                "tenant": tenant,
                "rows_loaded": tally.rows_loaded,
                "tasks_ok": tally.ok,
                "tasks_failed": tally.failed,
            }
            for (day, tenant), tally in sorted(days.items())
        ],
    }


def _recent_runs(
    runs: list[metadata.RunRow], dags: dict[str, metadata.DagInfo], metrics: dict[int, dict[str, Any]]
) -> list[dict[str, Any]]:
    return [
        {
            "dag_id": run.dag_id,
            "run_id": run.run_id,
            "tenant": dags[run.dag_id].tenant,
            "status": run.state,
            "run_after": _iso(run.run_after),
            "start_date": _iso(run.start_date),
            "end_date": _iso(run.end_date),
            "duration_seconds": _seconds(run.start_date, run.end_date),
            "rows_loaded": metrics.get(run.id, {}).get("records_valid"),
            "rows_rejected": metrics.get(run.id, {}).get("records_invalid"),
            "url": run_url(run.dag_id, run.run_id),
        }
        for run in runs
    ]


def _schedules(
    dags: dict[str, metadata.DagInfo], per_dag: dict[str, _Tally], last: dict[str, metadata.RunRow]
) -> list[dict[str, Any]]:
    out = []
    for dag_id, info in sorted(dags.items()):
        tally, run = per_dag.get(dag_id) or _Tally(), last.get(dag_id)
        out.append(
            {
                "dag_id": dag_id,
                "tenant": info.tenant,
                "paused": info.paused,
                "last_run_at": _iso(run.run_after) if run else None,
                "last_status": run.state if run else None,
                "next_run_at": None if info.paused else _iso(info.next_run_at),
                "runs": tally.runs,
                "success": tally.runs_ok,
                "failed": tally.runs_failed,
                "url": dag_url(dag_id),
            }
        )
    return out


def _tables(
    session: Session,
    dags: dict[str, metadata.DagInfo],
    per_dag: dict[str, _Tally],
    last: dict[str, metadata.RunRow],
    since: datetime,
    now: datetime,
) -> list[dict[str, Any]]:
    tables = {
        uri: [(d, a) for d, a in writers if d in dags]
        for uri, writers in metadata.table_assets(session).items()
    }
    tables = {uri: writers for uri, writers in tables.items() if writers}
    events = metadata.last_asset_events(
        session, (a for writers in tables.values() for _, a in writers), since
    )
    promises = metadata.freshness_promises(session)
    promised = {d for writers in tables.values() for d, _ in writers if d in promises}
    late_runs = metadata.missed_deadlines(session, (last[d].id for d in promised if d in last), now)
    out = []
    for uri, writers in sorted(tables.items(), key=lambda item: table_name(item[0])):
        dag_ids = sorted({d for d, _ in writers})
        snapshots = [events[a] for _, a in writers if a in events]
        minutes = [promises[d] for d in dag_ids if d in promises]
        out.append(
            {
                "table": table_name(uri),
                "asset_uri": uri,
                "dag_ids": dag_ids,
                "tenant": dags[dag_ids[0]].tenant,
                "last_snapshot_at": _iso(max(snapshots)) if snapshots else None,
                "rows_added": sum(per_dag[d].rows_loaded for d in dag_ids if d in per_dag),
                "freshness_minutes": min(minutes) if minutes else None,
                "late": any(d in last and last[d].id in late_runs for d in dag_ids),
            }
        )
    return out
