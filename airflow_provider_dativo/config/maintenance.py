"""``target.maintenance`` of a job file: when and how the job's table is maintained.

With this block the DAG factory emits a ``<schedule>__maintenance`` DAG next to the job's own
(:mod:`airflow_provider_dativo.dag_factory.maintenance_args`), which compacts, expires and
cleans the table on ``cron`` in the tenant's pool. ``dativo maintain`` reads the same settings.
"""

from __future__ import annotations

from typing import Annotated

from pydantic import AfterValidator, Field

from airflow_provider_dativo.config.base import StrictModel
from airflow_provider_dativo.config.limits import (
    MAX_KEEP_LAST_SNAPSHOTS,
    MAX_SNAPSHOT_AGE_HOURS,
    MAX_TARGET_FILE_SIZE_MB,
    MIN_TARGET_FILE_SIZE_MB,
)
from airflow_provider_dativo.config.runner import check_cron

MAINTENANCE_SUFFIX = "__maintenance"
"""The DAG factory names a schedule's maintenance DAG ``<schedule>__maintenance``."""
DEFAULT_TARGET_FILE_SIZE_MB = 128
DEFAULT_EXPIRE_HOURS = 168
DEFAULT_KEEP_LAST = 10
DEFAULT_ORPHAN_HOURS = 72


class MaintenanceSettings(StrictModel):
    """Table maintenance of a job's target table (every setting has a default but ``cron``)."""

    cron: Annotated[
        str,
        AfterValidator(check_cron),
        Field(description="When maintenance runs (5 fields or @daily...), in the schedule's timezone."),
    ]
    compact: bool = Field(True, description="Rewrite small files into files of target_file_size_mb.")
    target_file_size_mb: Annotated[
        float,
        Field(
            ge=MIN_TARGET_FILE_SIZE_MB,
            le=MAX_TARGET_FILE_SIZE_MB,
            description="Size compaction aims at; files below 75% of it are rewritten.",
        ),
    ] = DEFAULT_TARGET_FILE_SIZE_MB
    expire_snapshots_older_than_hours: Annotated[
        float | None,
        Field(ge=0, le=MAX_SNAPSHOT_AGE_HOURS, description="Expire older snapshots; null never expires."),
    ] = DEFAULT_EXPIRE_HOURS
    keep_last_snapshots: Annotated[
        int, Field(ge=1, le=MAX_KEEP_LAST_SNAPSHOTS, description="Newest snapshots always kept.")
    ] = DEFAULT_KEEP_LAST
    remove_orphans_older_than_hours: Annotated[
        float | None,
        Field(
            ge=0,
            le=MAX_SNAPSHOT_AGE_HOURS,
            description="Delete unreferenced files older than this; null never does. Keep it well above "
            "the longest load: a running load's files are unreferenced until it commits.",
        ),
    ] = DEFAULT_ORPHAN_HOURS
