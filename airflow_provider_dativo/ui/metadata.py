"""The queries behind the Dativo view, on Airflow's metadata database (any dialect Airflow runs on).

Each returns plain tuples or dicts for :mod:`airflow_provider_dativo.ui.summary` to combine.
Window queries select DAG runs through ``dag_run.run_after`` (indexed), reach task instances
and XComs through their run and aggregate in the database (by DAG, day and state), so the cost
follows the window, not the history, and what crosses the wire is one row per group.
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
MAINTENANCE_TAG = "dativo:maintenance"
"""The tag of a ``<schedule>__maintenance`` DAG (``dag_factory.maintenance_args.TAG_MAINTENANCE``):
it loads nothing, so the view leaves it out of the ingestion figures."""
INGEST_TASK_ID = "ingest"
"""The ingest DAG's only task (``dag_factory.args.INGEST_TASK_ID``); its XCom holds the job's metrics."""
FRESHNESS_ALERT = "dativo_freshness"
"""The name of the deadline alert a ``freshness_minutes`` schedule gets (``freshness.deadline``)."""
ID_CHUNK = 5000
"""Run ids per ``IN (...)`` list (sqlite allows 32766 parameters)."""
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
    day: str | None = None


@dataclass
class Group:
    """Aggregates of one (dag_id, day, state): runs, or finished task instances."""

    dag_id: str
    day: str
    state: str | None
    count: int
    rows_loaded: int = 0
    rows_rejected: int = 0
    duration_sum: float = 0.0
    duration_count: int = 0


def dativo_dags(session: Session) -> dict[str, DagInfo]:
    """Every active ingestion DAG (tagged ``dativo``, not ``dativo:maintenance``), with its tenant
    (``tenant:<id>`` tag) and next run."""
    from airflow.models.dag import DagModel, DagTag

    tagged = session.execute(
        select(DagTag.dag_id, DagTag.name).where(
            DagTag.name.in_((DATIVO_TAG, MAINTENANCE_TAG)) | DagTag.name.startswith(TENANT_TAG_PREFIX)
        )
    ).all()
    maintenance = {dag_id for dag_id, name in tagged if name == MAINTENANCE_TAG}
    dativo = {dag_id for dag_id, name in tagged if name == DATIVO_TAG} - maintenance
    tenants = {
        dag_id: name[len(TENANT_TAG_PREFIX) :]
        for dag_id, name in tagged
        if name.startswith(TENANT_TAG_PREFIX)
    }
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


def _metric(name: str):
    """One integer field of the ingest task's XCom (a JSON object, as the Task SDK stores it)."""
    from airflow.models.xcom import XComModel

    return XComModel.value[name].as_integer()


def _day(column):
    return func.date(column)


def window_runs(session: Session, since: datetime) -> list[RunRow]:
    """The DAG runs due since ``since`` (``run_after`` index), with their day (UTC)."""
    from airflow.models.dagrun import DagRun

    rows = session.execute(
        select(*_run_columns(), _day(DagRun.run_after)).where(DagRun.run_after >= since)
    ).all()
    return [RunRow(*row[:-1], day=str(row[-1])) for row in rows]


def run_groups(session: Session, runs: list[RunRow]) -> list[Group]:
    """The runs by (dag_id, day, state), with the rows their ingest task loaded: their ingest
    XComs are read by primary key (``dag_run_id``), an index lookup whatever the planner knows
    about the tables' sizes."""
    rows: dict[int, tuple[int, int]] = {}
    ids = [run.id for run in runs]
    for start in range(0, len(ids), ID_CHUNK):
        rows.update(
            (run_id, (int(ok or 0), int(bad or 0)))
            for run_id, ok, bad in session.execute(
                select(_xcom_model().dag_run_id, _metric("records_valid"), _metric("records_invalid")).where(
                    *_ingest_xcom(ids[start : start + ID_CHUNK])
                )
            )
        )
    groups: dict[tuple[str, str, str | None], Group] = {}
    for run in runs:
        key = (run.dag_id, run.day or "", run.state)
        group = groups.get(key)
        if group is None:
            group = groups[key] = Group(*key, 0)
        ok, bad = rows.get(run.id, (0, 0))
        group.count += 1
        group.rows_loaded += ok
        group.rows_rejected += bad
    return list(groups.values())


def _xcom_model():
    from airflow.models.xcom import XComModel

    return XComModel


def _ingest_xcom(run_ids: list[int]) -> tuple:
    """The conditions selecting the ingest task's ``return_value`` of the given runs."""
    model = _xcom_model()
    return (
        model.dag_run_id.in_(run_ids),
        model.task_id == INGEST_TASK_ID,
        model.key == "return_value",
        model.map_index == -1,
    )


def task_groups(session: Session, since: datetime) -> list[Group]:
    """Finished (success or failed) task instances of the runs due since ``since``, by (dag_id,
    day of the run, state), with the sum and count of their durations."""
    from airflow.models.dagrun import DagRun
    from airflow.models.taskinstance import TaskInstance

    day = _day(DagRun.run_after)
    rows = session.execute(
        select(
            TaskInstance.dag_id,
            day,
            TaskInstance.state,
            func.count(),
            func.coalesce(func.sum(TaskInstance.duration), 0.0),
            func.count(TaskInstance.duration),
        )
        .join(DagRun, (DagRun.dag_id == TaskInstance.dag_id) & (DagRun.run_id == TaskInstance.run_id))
        .where(DagRun.run_after >= since, TaskInstance.state.in_(("success", "failed")))
        .group_by(TaskInstance.dag_id, day, TaskInstance.state)
    ).all()
    return [
        Group(d, str(k), s, n, duration_sum=float(total or 0), duration_count=int(c or 0))
        for d, k, s, n, total, c in rows
    ]


_RUN_COLUMNS = ("id", "dag_id", "run_id", "state", "run_after", "start_date", "end_date")


def _run_columns():
    from airflow.models.dagrun import DagRun

    return [getattr(DagRun, name) for name in _RUN_COLUMNS]


def newest_first(runs: list[RunRow], limit: int) -> list[RunRow]:
    """The latest ``limit`` of ``runs`` by ``run_after``."""
    return sorted(runs, key=lambda r: (r.run_after, r.id), reverse=True)[:limit]


def run_metrics(session: Session, run_ids: Iterable[int]) -> dict[int, dict[str, Any]]:
    """The metrics the ingest task of each given run returned, by ``dag_run.id``."""
    from airflow.models.xcom import XComModel

    ids = sorted(set(run_ids))
    if not ids:
        return {}
    rows = session.execute(select(XComModel.dag_run_id, XComModel.value).where(*_ingest_xcom(ids))).all()
    return {run_id: _decode(value) for run_id, value in rows}


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


def last_runs(session: Session, dag_ids: Iterable[str], runs: list[RunRow]) -> dict[str, RunRow]:
    """The latest run (by ``run_after``) of each DAG, whenever it was: among ``runs`` (the
    window's) first, then, for the DAGs with none there, in their whole history."""
    from airflow.models.dagrun import DagRun

    wanted = set(dag_ids)
    found: dict[str, RunRow] = {}
    for run in runs:
        best = found.get(run.dag_id)
        if run.dag_id in wanted and (best is None or (run.run_after, run.id) > (best.run_after, best.id)):
            found[run.dag_id] = run
    missing = sorted(wanted - set(found))
    for start in range(0, len(missing), ID_CHUNK):
        chunk = missing[start : start + ID_CHUNK]
        newest = (
            select(DagRun.dag_id, func.max(DagRun.run_after).label("run_after"))
            .where(DagRun.dag_id.in_(chunk))
            .group_by(DagRun.dag_id)
            .subquery()
        )
        rows = session.execute(
            select(*_run_columns())
            .join(newest, (newest.c.dag_id == DagRun.dag_id) & (newest.c.run_after == DagRun.run_after))
            .where(DagRun.dag_id.in_(chunk))
        ).all()
        found.update({row[1]: RunRow(*row) for row in rows})
    return found


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


def last_asset_events(session: Session, asset_ids: Iterable[int], since: datetime) -> dict[int, datetime]:
    """When each asset last received an event (an ingest run that committed), by asset id: looked
    up among the events since ``since`` first (an index range), then in the whole history."""
    from airflow.models.asset import AssetEvent

    wanted = sorted(set(asset_ids))

    def newest(ids: list[int], *where) -> dict[int, datetime]:
        if not ids:
            return {}
        rows = session.execute(
            select(AssetEvent.asset_id, func.max(AssetEvent.timestamp))
            .where(AssetEvent.asset_id.in_(ids), *where)
            .group_by(AssetEvent.asset_id)
        ).all()
        return dict(rows)

    found = newest(wanted, AssetEvent.timestamp >= since)
    missing = [a for a in wanted if a not in found]
    found.update(newest(missing))
    return found


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

    latest = dict(
        session.execute(
            select(SerializedDagModel.dag_id, func.max(SerializedDagModel.created_at)).group_by(
                SerializedDagModel.dag_id
            )
        ).all()
    )
    rows = session.execute(
        select(SerializedDagModel.dag_id, SerializedDagModel.created_at, DeadlineAlert.callback_def)
        .join(DeadlineAlert, DeadlineAlert.serialized_dag_id == SerializedDagModel.id)
        .where(DeadlineAlert.name == FRESHNESS_ALERT)
    ).all()
    promises = {}
    for dag_id, created_at, callback_def in rows:
        minutes = _callback_kwargs(callback_def).get("freshness_minutes")
        if created_at == latest.get(dag_id) and isinstance(minutes, int):
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
