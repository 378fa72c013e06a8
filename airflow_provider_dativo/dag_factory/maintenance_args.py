"""The arguments of a ``<schedule>__maintenance`` DAG, as plain data.

A schedule whose job file has ``target.maintenance`` gets a second DAG that maintains the
job's table (:class:`~airflow_provider_dativo.operators.maintenance.DativoMaintenanceOperator`):
on the block's ``cron``, in the schedule's timezone, one run at a time, never catching up, in
the tenant's pool, so maintenance and the tenant's loads share the pool's slots (a pool of one
slot runs them one after the other). The factory, the parse cache and ``dativo export`` all
build it from these arguments.
"""

from __future__ import annotations

import os
from dataclasses import dataclass
from datetime import timedelta
from typing import TYPE_CHECKING, Any

from airflow_provider_dativo.config.maintenance import MAINTENANCE_SUFFIX
from airflow_provider_dativo.dag_factory.args import TAG_DISABLED, TimetableArgs

if TYPE_CHECKING:
    from airflow_provider_dativo.plan.runner import ScheduleSpec

MAINTENANCE_TASK_ID = "maintain"
TAG_MAINTENANCE = "dativo:maintenance"
MAINTENANCE_RETRIES = 1
"""One retry, five minutes later: a compaction that lost every commit attempt to busy loads."""
MAINTENANCE_RETRY_DELAY = timedelta(minutes=5)


@dataclass(frozen=True)
class MaintenanceDagArgs:
    """Everything needed to build one maintenance DAG."""

    dag: dict[str, Any]
    timetable: TimetableArgs | None
    task: dict[str, Any]


def maintenance_dag_id(schedule_name: str) -> str:
    return f"{schedule_name}{MAINTENANCE_SUFFIX}"


def maintenance_dag_args(spec: ScheduleSpec, *, app_root: str | None) -> MaintenanceDagArgs | None:
    """The maintenance DAG of a healthy schedule; ``None`` when its job has no ``target.maintenance``."""
    schedule, job = spec.schedule, spec.job
    settings = job.config.target.maintenance
    if settings is None:
        return None
    dag_id = maintenance_dag_id(schedule.name)
    table = f"{job.namespace}.{job.config.target.table}"
    tags = ["dativo", TAG_MAINTENANCE, f"tenant:{job.tenant_id}", f"job:{schedule.name}"]
    if not schedule.enabled:
        tags.append(TAG_DISABLED)
    steps = ", ".join(
        step
        for step, on in (
            (f"compact to {settings.target_file_size_mb:g} MB files", settings.compact),
            (
                f"expire snapshots older than {settings.expire_snapshots_older_than_hours:g} h "
                f"(keeping the last {settings.keep_last_snapshots})",
                settings.expire_snapshots_older_than_hours is not None,
            ),
            (
                f"remove orphan files older than {settings.remove_orphans_older_than_hours or 0:g} h",
                settings.remove_orphans_older_than_hours is not None,
            ),
        )
        if on
    )
    dag = {
        "dag_id": dag_id,
        "description": f"dativo maintenance of {table} (tenant {job.tenant_id}), cron '{settings.cron}' "
        f"({schedule.timezone})",
        "catchup": False,
        "max_active_runs": 1,
        "is_paused_upon_creation": not schedule.enabled,
        "tags": tags,
        "doc_md": (
            f"**dativo table maintenance** of schedule `{schedule.name}`\n\n"
            f"* job file: `{job.path}`\n* table: `{table}`\n"
            f"* tenant: `{job.tenant_id}` (pool `{spec.pool}`, shared with its loads)\n"
            f"* steps: {steps or 'none'}\n"
        ),
    }
    task: dict[str, Any] = {
        "task_id": MAINTENANCE_TASK_ID,
        "config_path": str(job.path),
        "app_root": app_root,
        "pool": spec.pool,
        "retries": MAINTENANCE_RETRIES,
        "retry_delay": MAINTENANCE_RETRY_DELAY,
    }
    if spec.grants_from is not None:
        task["runner_config"] = os.path.abspath(spec.grants_from)
    timetable = TimetableArgs(settings.cron, None, schedule.timezone) if schedule.enabled else None
    return MaintenanceDagArgs(dag=dag, timetable=timetable, task=task)
