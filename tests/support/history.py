"""DAGs and run history in Airflow's metadata database, for the Dativo view's tests and benchmark.

The DAGs are the factory's own, synced with Airflow's DAG-processor code
(``update_dag_parsing_results_in_db``), so tags, assets and deadline alerts are what Airflow
writes. Runs, task instances, the ingest task's XCom and the asset events are inserted in bulk
into Airflow's tables, shaped as a finished ingest run leaves them (the XCom value as Airflow's
Task SDK stores a returned dict: a JSON object).
"""

from __future__ import annotations

import json
import textwrap
from collections.abc import Iterable, Sequence
from dataclasses import dataclass, field
from datetime import datetime, timedelta
from pathlib import Path
from typing import Any

from sqlalchemy import insert, select

BUNDLE = "dags-folder"


@dataclass
class Run:
    """One finished (or running) ingest DAG run."""

    dag_id: str
    run_after: datetime
    state: str
    duration: float = 10.0
    rows: int = 0
    rejected: int = 0
    table: str | None = None
    extra_metrics: dict[str, Any] = field(default_factory=dict)

    @property
    def run_id(self) -> str:
        return f"scheduled__{self.run_after.isoformat()}"


def write_runner(root: Path, schedules: Sequence[dict[str, Any]]) -> Path:
    """A runner with one CSV job per schedule (``{"name", "tenant", "table", ...schedule keys}``;
    an optional ``"maintenance"`` is the job's ``target.maintenance``)."""
    (root / "assets").mkdir(parents=True, exist_ok=True)
    (root / "assets" / "orders.yaml").write_text(
        "name: orders\nfields:\n  - {name: order_id, type: long, required: true}\n"
    )
    lines = ["runner:", "  orchestrator:", "    type: airflow", "    schedules:"]
    for schedule in schedules:
        tenant, table = schedule["tenant"], schedule["table"]
        maintenance = (
            f", maintenance: {json.dumps(schedule['maintenance'])}" if "maintenance" in schedule else ""
        )
        job = root / "jobs" / tenant / f"{schedule['name']}.yaml"
        job.parent.mkdir(parents=True, exist_ok=True)
        job.write_text(
            textwrap.dedent(
                f"""\
                tenant_id: {tenant}
                source_connector: csv
                source: {{path: ../../data/{tenant}/{table}.csv}}
                target: {{table: {table}{maintenance}}}
                asset: orders
                """
            )
        )
        lines.append(f"      - name: {schedule['name']}")
        lines.append(f"        config: jobs/{tenant}/{schedule['name']}.yaml")
        for key, value in schedule.items():
            if key not in ("name", "tenant", "table", "maintenance"):
                lines.append(f"        {key}: {json.dumps(value)}")
    runner = root / "runner.yaml"
    runner.write_text("\n".join(lines) + "\n")
    return runner


def sync_dags(dags: Iterable[Any], session) -> None:
    """Write DAGs to the metadata database as Airflow's DAG processor does."""
    from airflow.dag_processing.bundles.manager import DagBundlesManager
    from airflow.dag_processing.collection import update_dag_parsing_results_in_db
    from airflow.serialization.serialized_objects import LazyDeserializedDAG

    DagBundlesManager().sync_bundles_to_db(session=session)
    session.commit()
    update_dag_parsing_results_in_db(
        BUNDLE, None, [LazyDeserializedDAG.from_dag(d) for d in dags], {}, None, set(), session=session
    )
    session.commit()


def outlet_assets(session) -> dict[str, int]:
    """The asset id each ingest DAG writes (its ``iceberg://`` outlet), by dag_id."""
    from airflow.models.asset import TaskOutletAssetReference

    rows = session.execute(select(TaskOutletAssetReference.dag_id, TaskOutletAssetReference.asset_id)).all()
    return dict(rows)


def insert_runs(session, runs: Sequence[Run], *, chunk: int = 5000) -> dict[tuple[str, str], int]:
    """Insert the runs with their task instance, XCom and (when successful) asset event."""
    from airflow.models.asset import AssetEvent
    from airflow.models.dagrun import DagRun
    from airflow.models.taskinstance import TaskInstance
    from airflow.models.xcom import XComModel

    assets = outlet_assets(session)
    runs = sorted(runs, key=lambda r: r.run_after)  # Airflow creates runs in time order: ids follow
    ids: dict[tuple[str, str], int] = {}
    for start in range(0, len(runs), chunk):
        part = runs[start : start + chunk]
        session.execute(
            insert(DagRun.__table__),
            [
                {
                    "dag_id": r.dag_id,
                    "run_id": r.run_id,
                    "run_type": "scheduled",
                    "state": r.state,
                    "run_after": r.run_after,
                    "logical_date": r.run_after,
                    "queued_at": r.run_after,
                    "start_date": r.run_after,
                    "end_date": None if r.state == "running" else r.run_after + timedelta(seconds=r.duration),
                    "clear_number": 0,
                    "log_template_id": None,
                }
                for r in part
            ],
        )
        keys = {(r.dag_id, r.run_id) for r in part}
        found = session.execute(
            select(DagRun.id, DagRun.dag_id, DagRun.run_id).where(
                DagRun.run_after >= min(r.run_after for r in part)
            )
        ).all()
        ids.update({(d, rid): i for i, d, rid in found if (d, rid) in keys})
        finished = [r for r in part if r.state != "running"]
        session.execute(
            insert(TaskInstance.__table__),
            [
                {
                    "dag_id": r.dag_id,
                    "run_id": r.run_id,
                    "task_id": "ingest",
                    "map_index": -1,
                    "try_number": 1,
                    "state": r.state,
                    "start_date": r.run_after,
                    "end_date": None if r.state == "running" else r.run_after + timedelta(seconds=r.duration),
                    "duration": None if r.state == "running" else r.duration,
                    "pool": "default_pool",
                    "pool_slots": 1,
                    "queue": "default",
                    "priority_weight": 1,
                    "operator": "DativoIngestOperator",
                    "max_tries": 0,
                    "hostname": "",
                    "unixname": "airflow",
                    "executor_config": {},
                }
                for r in part
            ],
        )
        session.execute(
            insert(XComModel.__table__),
            [
                {
                    "dag_run_id": ids[(r.dag_id, r.run_id)],
                    "task_id": "ingest",
                    "map_index": -1,
                    "key": "return_value",
                    "dag_id": r.dag_id,
                    "run_id": r.run_id,
                    "value": _metrics(r),  # a JSON object, as the Task SDK stores a returned dict
                    "timestamp": r.run_after + timedelta(seconds=r.duration),
                }
                for r in finished
            ],
        )
        successes = [r for r in finished if r.state == "success" and r.dag_id in assets]
        if successes:
            session.execute(
                insert(AssetEvent.__table__),
                [
                    {
                        "asset_id": assets[r.dag_id],
                        "timestamp": r.run_after + timedelta(seconds=r.duration),
                        "source_dag_id": r.dag_id,
                        "source_task_id": "ingest",
                        "source_run_id": r.run_id,
                        "source_map_index": -1,
                        "extra": {},
                    }
                    for r in successes
                ],
            )
    session.commit()
    return ids


def _metrics(run: Run) -> dict[str, Any]:
    """The ingest task's XCom: the metrics dict of the contract (plus the engine's extra keys)."""
    return {
        "job_name": run.dag_id,
        "tenant_id": None,
        "status": "success" if run.state == "success" else "failure",
        "execution_time_seconds": run.duration,
        "records_extracted": run.rows + run.rejected,
        "records_valid": run.rows,
        "records_invalid": run.rejected,
        "files_written": 1 if run.rows else 0,
        "total_bytes": run.rows * 120,
        "records_per_second": round(run.rows / run.duration, 1) if run.duration else 0.0,
        "table": run.table,
        **run.extra_metrics,
    }
