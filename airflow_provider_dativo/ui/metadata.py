"""The queries behind the Dativo view, on Airflow's metadata database (any dialect Airflow runs on).

Each returns plain tuples or dicts for :mod:`airflow_provider_dativo.ui.summary` to combine.
Window queries select DAG runs through ``dag_run.run_after`` (indexed) and reach task
instances and XComs through their run, so the cost follows the window, not the history.
Nothing is filtered by user here: the caller passes the DAGs a user may read and
:mod:`.summary` drops the rest.
"""

from __future__ import annotations

import json
from collections.abc import Iterable
from dataclasses import dataclass
from datetime import datetime
from typing import TYPE_CHECKING, Any

from sqlalchemy import func, select

if TYPE_CHECKING:
    from sqlalchemy.orm import Session

DATIVO_TAG = "dativo"
TENANT_TAG_PREFIX = "tenant:"
INGEST_TASK_ID = "ingest"
"""The ingest DAG's only task (``dag_spec.INGEST_TASK_ID``); its XCom holds the job's metrics."""
FRESHNESS_ALERT = "dativo_freshness"
"""The name of the deadline alert a ``freshness_minutes`` schedule gets (``freshness.deadline``)."""
METRIC_FIELDS = ("records_valid", "records_invalid", "table", "status")
"""The only XCom fields the view reads: counts and the table name, never free text."""


@dataclass
class DagInfo:
    dag_id: str
    tenant: str | None
    paused: bool
    next_run_at: datetime | None


@dataclass
class RunRow:
    id: int
    dag_id: str
    run_id: str
    state: str | None
    run_after: datetime | None
    start_date: datetime | None
    end_date: datetime | None


@dataclass
class TaskRow:
    dag_id: str
    run_id: str
    task_id: str
    state: str | None
    duration: float | None


def dativo_dags(session: Session) -> dict[str, DagInfo]:
    """Every active DAG tagged ``dativo``, with its tenant (``tenant:<id>`` tag) and next run."""
    from airflow.models.dag import DagModel, DagTag

    tagged = session.execute(
        select(DagTag.dag_id, DagTag.name).where(
            (DagTag.name == DATIVO_TAG) | DagTag.name.startswith(TENANT_TAG_PREFIX)
        )
    ).all()
    dativo = {dag_id for dag_id, name in tagged if name == DATIVO_TAG}
    tenants = {dag_id: name[len(TENANT_TAG_PREFIX) :] for dag_id, name in tagged if name != DATIVO_TAG}
    rows = session.execute(
        select(DagModel.dag_id, DagModel.is_paused, DagModel.next_dagrun_create_after).where(
            DagModel.is_stale.is_(False)
        )
    ).all()
    return {
        dag_id: DagInfo(dag_id, tenants.get(dag_id), bool(paused), next_run)
        for dag_id, paused, next_run in rows
        if dag_id in dativo
    }


def runs_since(session: Session, since: datetime) -> list[RunRow]:
    from airflow.models.dagrun import DagRun

    rows = session.execute(
        select(
            DagRun.id,
            DagRun.dag_id,
            DagRun.run_id,
            DagRun.state,
            DagRun.run_after,
            DagRun.start_date,
            DagRun.end_date,
        ).where(DagRun.run_after >= since)
    ).all()
    return [RunRow(*row) for row in rows]


def tasks_since(session: Session, since: datetime) -> list[TaskRow]:
    from airflow.models.dagrun import DagRun
    from airflow.models.taskinstance import TaskInstance

    rows = session.execute(
        select(
            TaskInstance.dag_id,
            TaskInstance.run_id,
            TaskInstance.task_id,
            TaskInstance.state,
            TaskInstance.duration,
        )
        .join(DagRun, (DagRun.dag_id == TaskInstance.dag_id) & (DagRun.run_id == TaskInstance.run_id))
        .where(DagRun.run_after >= since)
    ).all()
    return [TaskRow(*row) for row in rows]


def _decode(value: Any) -> dict[str, Any]:
    """An XCom value as stored (JSON, or JSON text inside JSON) -> the metric fields, else ``{}``."""
    if isinstance(value, (str, bytes)):
        try:
            value = json.loads(value)
        except ValueError:
            return {}
    if not isinstance(value, dict):
        return {}
    return {key: value.get(key) for key in METRIC_FIELDS}


def ingest_metrics_since(session: Session, since: datetime) -> dict[int, dict[str, Any]]:
    """The metrics the ingest task of each run in the window returned, by ``dag_run.id``."""
    from airflow.models.dagrun import DagRun
    from airflow.models.xcom import XComModel

    rows = session.execute(
        select(XComModel.dag_run_id, XComModel.value)
        .join(DagRun, DagRun.id == XComModel.dag_run_id)
        .where(
            DagRun.run_after >= since,
            XComModel.task_id == INGEST_TASK_ID,
            XComModel.key == "return_value",
            XComModel.map_index == -1,
        )
    ).all()
    return {run_id: _decode(value) for run_id, value in rows}


def last_runs(session: Session, dag_ids: Iterable[str]) -> dict[str, RunRow]:
    """The latest run (by ``run_after``) of each DAG, whenever it was."""
    from airflow.models.dagrun import DagRun

    wanted = set(dag_ids)
    latest = (
        select(DagRun.dag_id, func.max(DagRun.run_after).label("run_after"))
        .group_by(DagRun.dag_id)
        .subquery()
    )
    rows = session.execute(
        select(
            DagRun.id,
            DagRun.dag_id,
            DagRun.run_id,
            DagRun.state,
            DagRun.run_after,
            DagRun.start_date,
            DagRun.end_date,
        ).join(latest, (latest.c.dag_id == DagRun.dag_id) & (latest.c.run_after == DagRun.run_after))
    ).all()
    return {row[1]: RunRow(*row) for row in rows if row[1] in wanted}


def table_assets(session: Session) -> dict[str, list[tuple[str, str]]]:
    """Per ``iceberg://`` asset URI: the (dag_id, asset id) pairs of the ingest tasks writing it."""
    from airflow.models.asset import AssetModel, TaskOutletAssetReference

    rows = session.execute(
        select(AssetModel.uri, AssetModel.id, TaskOutletAssetReference.dag_id)
        .join(TaskOutletAssetReference, TaskOutletAssetReference.asset_id == AssetModel.id)
        .where(AssetModel.uri.startswith("iceberg://"), TaskOutletAssetReference.task_id == INGEST_TASK_ID)
    ).all()
    tables: dict[str, list[tuple[str, str]]] = {}
    for uri, asset_id, dag_id in rows:
        tables.setdefault(uri, []).append((dag_id, asset_id))
    return tables


def last_asset_events(session: Session, asset_ids: Iterable[int]) -> dict[int, datetime]:
    """When each asset last received an event (an ingest run that committed), by asset id."""
    from airflow.models.asset import AssetEvent

    ids = sorted(set(asset_ids))
    if not ids:
        return {}
    rows = session.execute(
        select(AssetEvent.asset_id, func.max(AssetEvent.timestamp))
        .where(AssetEvent.asset_id.in_(ids))
        .group_by(AssetEvent.asset_id)
    ).all()
    return dict(rows)


def _callback_kwargs(callback_def: Any) -> dict[str, Any]:
    """The ``kwargs`` of a serialized deadline callback, wherever the serializer nested them."""
    if isinstance(callback_def, dict):
        if isinstance(callback_def.get("kwargs"), dict):
            return callback_def["kwargs"]
        for value in callback_def.values():
            found = _callback_kwargs(value)
            if found:
                return found
    return {}


def freshness_promises(session: Session) -> dict[str, int]:
    """``freshness_minutes`` of each DAG whose latest serialized version has a freshness alert."""
    from airflow.models.deadline_alert import DeadlineAlert
    from airflow.models.serialized_dag import SerializedDagModel

    latest = (
        select(SerializedDagModel.dag_id, func.max(SerializedDagModel.created_at).label("created_at"))
        .group_by(SerializedDagModel.dag_id)
        .subquery()
    )
    rows = session.execute(
        select(SerializedDagModel.dag_id, DeadlineAlert.callback_def)
        .join(DeadlineAlert, DeadlineAlert.serialized_dag_id == SerializedDagModel.id)
        .join(
            latest,
            (latest.c.dag_id == SerializedDagModel.dag_id)
            & (latest.c.created_at == SerializedDagModel.created_at),
        )
        .where(DeadlineAlert.name == FRESHNESS_ALERT)
    ).all()
    promises = {}
    for dag_id, callback_def in rows:
        minutes = _callback_kwargs(callback_def).get("freshness_minutes")
        if isinstance(minutes, int):
            promises[dag_id] = minutes
    return promises


def missed_deadlines(session: Session, run_ids: Iterable[int], now: datetime) -> set[int]:
    """The runs (``dag_run.id``) among ``run_ids`` whose deadline was missed or has passed."""
    from airflow.models.deadline import Deadline

    ids = sorted(set(run_ids))
    if not ids:
        return set()
    rows = session.execute(
        select(Deadline.dagrun_id).where(
            Deadline.dagrun_id.in_(ids), Deadline.missed.is_(True) | (Deadline.deadline_time < now)
        )
    ).all()
    return {row[0] for row in rows}
