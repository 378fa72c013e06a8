"""What the Celery tests do through Airflow's REST API and read back from the lakehouse."""

from __future__ import annotations

import time
from collections.abc import Callable
from datetime import datetime, timedelta, timezone
from pathlib import Path
from typing import Any, TypeVar

import pyarrow.compute as pc

from tests.support.lakehouse import BUCKET, CATALOG, SCHEDULES, Deployment, Lakehouse
from tests.support.stack import AirflowStack, Api

TASK_ID = "ingest"
RUN_TIMEOUT = 420.0
T = TypeVar("T")

WORKERS = ("worker-a", "worker-b")
"""The hostnames of the two Celery workers of the end-to-end stack."""


def wait_until(check: Callable[[], T], timeout: float, what: str, every: float = 0.5) -> T:
    deadline = time.monotonic() + timeout
    while True:
        result = check()
        if result:
            return result
        assert time.monotonic() < deadline, f"{what}: not after {timeout:.0f}s"
        time.sleep(every)


def wait_for_dags(api: Api, dag_ids: list[str], timeout: float = 180.0) -> None:
    def parsed() -> bool:
        errors = api.get("/importErrors")["import_errors"]
        assert not errors, f"the DAG file did not import: {errors}"
        return set(dag_ids) <= {dag["dag_id"] for dag in api.get("/dags", limit=100)["dags"]}

    wait_until(parsed, timeout, f"DAGs {dag_ids} parsed", every=1)


def trigger(api: Api, dag_id: str) -> str:
    return api.post(f"/dags/{dag_id}/dagRuns", {"logical_date": None})["dag_run_id"]


def task_path(dag_id: str, run_id: str) -> str:
    return f"/dags/{dag_id}/dagRuns/{run_id}/taskInstances/{TASK_ID}"


def task(api: Api, dag_id: str, run_id: str) -> dict[str, Any]:
    return api.get(task_path(dag_id, run_id))


def tries(api: Api, dag_id: str, run_id: str) -> list[dict[str, Any]]:
    found = api.get(f"{task_path(dag_id, run_id)}/tries")["task_instances"]
    return sorted(found, key=lambda t: t["try_number"])


def wait_finished(api: Api, runs: dict[str, str], timeout: float = RUN_TIMEOUT) -> dict[str, str]:
    """Until every run is success or failed; returns their states."""

    def states() -> dict[str, str] | None:
        found = {d: api.get(f"/dags/{d}/dagRuns/{r}")["state"] for d, r in runs.items()}
        return found if all(s in ("success", "failed") for s in found.values()) else None

    return wait_until(states, timeout, f"runs {runs} finished", every=1)


def task_log(stack: AirflowStack, dag_id: str, run_id: str, try_number: int) -> str:
    """The task log of one try, from the folder of the worker that ran it (the workers keep
    their logs on their own disk)."""
    relative = (
        Path(f"dag_id={dag_id}") / f"run_id={run_id}" / f"task_id={TASK_ID}" / f"attempt={try_number}.log"
    )
    texts = []
    for worker in stack.workers.values():
        path = worker.logs / relative
        if path.exists():
            texts.append(path.read_text(errors="replace"))
    return "\n".join(texts)


def wait_for_load_start(stack: AirflowStack, api: Api, dag_id: str, run_id: str, try_number: int = 1) -> str:
    """Until try ``try_number`` runs on a worker and has opened its target table (the
    ``infra_validated`` event): the load is under way. Returns the worker's name."""

    def started() -> str | None:
        ti = task(api, dag_id, run_id)
        if ti["try_number"] != try_number or ti["state"] != "running":
            return None
        return ti["hostname"] if "infra_validated" in task_log(stack, dag_id, run_id, try_number) else None

    return wait_until(started, 300, f"{dag_id} try {try_number} loading", every=0.25)


def interval(ti: dict[str, Any]) -> tuple[datetime, datetime]:
    def parse(value: str) -> datetime:
        return datetime.fromisoformat(value.replace("Z", "+00:00")).astimezone(timezone.utc)

    return parse(ti["start_date"]), parse(ti["end_date"])


def open_table(lakehouse: Lakehouse, schedule: str):
    from pyiceberg.catalog import load_catalog

    tenant = SCHEDULES[schedule][0]
    return load_catalog(CATALOG, **lakehouse.catalog_properties()).load_table((tenant, schedule))


def assert_rows_exactly_once(lakehouse: Lakehouse, deployment: Deployment, schedule: str):
    """The table holds every expected record exactly once: same ids, no duplicate, and every
    column equal to what was generated, record by record (sorted by order_id)."""
    table = open_table(lakehouse, schedule)
    got = table.scan().to_arrow().sort_by("order_id")
    expected = deployment.expected(schedule)
    assert got.num_rows == expected.num_rows, f"{schedule}: {got.num_rows} rows, expected {expected.num_rows}"
    assert pc.count_distinct(got["order_id"]).as_py() == got.num_rows, f"{schedule}: duplicate order_ids"
    for field in expected.schema:
        column = got[field.name].combine_chunks().cast(field.type)
        assert column.equals(expected[field.name].combine_chunks()), (
            f"{schedule}: column {field.name} differs"
        )
    return table


def files_under(s3_server, table) -> set[str]:
    """Every object under the table's location, as ``bucket/key``."""
    location = table.location()
    prefix = location.split(f"s3://{BUCKET}/", 1)[1].rstrip("/") + "/"
    return {f"{BUCKET}/{key}" for key in s3_server.keys(BUCKET, prefix)}


def clean_orphans(table) -> int:
    """The orphan clean-up (``dativo maintain --remove-orphans``), with no age guard: no load
    of this table runs any more."""
    from airflow_provider_dativo.engine.iceberg.orphans import remove_orphan_files

    return remove_orphan_files(table, older_than=timedelta(0)).deleted


def referenced(table) -> set[str]:
    from airflow_provider_dativo.engine.iceberg.orphans import referenced_files

    return referenced_files(table)


def snapshot_count(table) -> int:
    table.refresh()
    return len(table.snapshots())
