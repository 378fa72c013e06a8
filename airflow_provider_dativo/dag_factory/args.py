"""The arguments of the Airflow objects an ingest schedule becomes, as plain data.

Also the settings every schedule shares (dag_id, tags, timetable, retries), which
:mod:`.workflow_args` uses for ``dag:`` schedules. The factory builds DAGs from these
arguments, the parse cache stores them and ``dativo export`` writes them into static DAG files,
so all three produce the same serialized DAG by construction.
"""

from __future__ import annotations

import os
from dataclasses import dataclass
from datetime import timedelta
from typing import TYPE_CHECKING, Any

if TYPE_CHECKING:  # a cached parse builds DAGs without loading any YAML or config model
    from airflow_provider_dativo.config.retry import RetryConfig
    from airflow_provider_dativo.config.runner import Schedule
    from airflow_provider_dativo.plan.runner import ScheduleSpec

INGEST_TASK_ID = "ingest"
TAG_DISABLED = "dativo:disabled"


@dataclass(frozen=True)
class TimetableArgs:
    """``cron`` -> CronTriggerTimetable(cron, timezone); ``interval`` -> DeltaTriggerTimetable(delta)."""

    cron: str | None
    interval_seconds: int | None
    timezone: str


@dataclass(frozen=True)
class IngestDagArgs:
    """Everything needed to build one ingest DAG."""

    dag: dict[str, Any]
    timetable: TimetableArgs | None
    task: dict[str, Any]
    asset_uri: str
    retry_config: dict[str, Any] | None
    freshness: dict[str, Any] | None = None
    """The freshness promise of the schedule (see ``freshness.deadline.freshness_arguments``)."""


def schedule_timing(schedule: Schedule) -> str:
    """How often a schedule runs, in words, for DAG descriptions and docs."""
    if schedule.cron:
        return f"cron '{schedule.cron}' ({schedule.timezone})"
    return f"every {schedule.interval_seconds}s"


def disabled_note(schedule: Schedule) -> str:
    return "" if schedule.enabled else " - disabled (enabled: false)"


def schedule_timetable(schedule: Schedule) -> TimetableArgs | None:
    """The timetable of an enabled schedule; a disabled one has none (``schedule=None``)."""
    if not schedule.enabled:
        return None
    return TimetableArgs(schedule.cron, schedule.interval_seconds, schedule.timezone)


def schedule_dag_settings(
    schedule: Schedule, *, description: str, tags: list[str], doc_md: str
) -> dict[str, Any]:
    """The DAG arguments every schedule shares, ingest or workflow."""
    if not schedule.enabled:
        tags = [*tags, TAG_DISABLED]
    return {
        "dag_id": schedule.name,
        "description": description,
        "catchup": False,
        "max_active_runs": schedule.max_concurrent_runs,
        "is_paused_upon_creation": not schedule.enabled,
        "tags": tags,
        "doc_md": doc_md,
    }


def retry_task_args(retry: RetryConfig | None) -> dict[str, Any]:
    """Airflow's retry arguments from a retry config; none means ``retries=0``."""
    if retry is None:
        return {"retries": 0}
    return {
        "retries": retry.max_retries,
        "retry_delay": timedelta(seconds=retry.initial_delay_seconds),
        "retry_exponential_backoff": float(retry.backoff_multiplier),
        "max_retry_delay": timedelta(seconds=retry.max_delay_seconds),
    }


def ingest_dag_args(spec: ScheduleSpec, *, app_root: str | None) -> IngestDagArgs:
    """Map one healthy schedule to DAG, timetable, operator and retry arguments."""
    schedule, job = spec.schedule, spec.job
    tags = [
        "dativo",
        f"tenant:{job.tenant_id}",
        f"job:{schedule.name}",
        f"connector:{job.config.source_connector}",
        *schedule.tag_strings(),
    ]
    timing = schedule_timing(schedule)
    dag = schedule_dag_settings(
        schedule,
        description=f"dativo job {job.path.name} for tenant {job.tenant_id}, {timing}",
        tags=tags,
        doc_md=(
            f"**dativo schedule** `{schedule.name}`\n\n"
            f"* job file: `{job.path}`\n* tenant: `{job.tenant_id}` (pool `{spec.pool}`)\n"
            f"* source: `{job.config.source_connector}` -> Iceberg `{job.asset_uri}`\n"
            f"* schedule: {timing}{disabled_note(schedule)}\n"
        ),
    )
    timetable = schedule_timetable(schedule)
    retry = job.retry_config
    task: dict[str, Any] = {
        "task_id": INGEST_TASK_ID,
        "config_path": str(job.path),
        "app_root": app_root,
        "job_name": schedule.name,
        "pool": spec.pool,
        **retry_task_args(retry),
    }
    if spec.grants_from is not None:  # the operator re-reads the tenant's granted roots from it
        task["runner_config"] = os.path.abspath(spec.grants_from)
    return IngestDagArgs(
        dag=dag,
        timetable=timetable,
        task=task,
        asset_uri=job.asset_uri,
        retry_config=retry.model_dump(mode="json") if retry else None,
        freshness=freshness_promise(spec),
    )


def freshness_promise(spec: ScheduleSpec) -> dict[str, Any] | None:
    """What the deadline alert of a schedule with ``freshness_minutes`` needs, as plain data."""
    schedule, job = spec.schedule, spec.job
    if not schedule.freshness_minutes:
        return None
    from airflow_provider_dativo.freshness.deadline import freshness_arguments

    return freshness_arguments(
        schedule=schedule.name,
        tenant=job.tenant_id,
        table=f"{job.namespace}.{job.config.target.table}",
        minutes=schedule.freshness_minutes,
        notifier=schedule.freshness_notifier,
    )
