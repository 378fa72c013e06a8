"""``iceberg_maintenance``: compact the small files of one Iceberg table (``compact: true``),
expire its old snapshots, keeping the last K, and delete the files nothing references any more.

Every dativo run adds a snapshot; without expiry a table's metadata grows forever. This
removes snapshots older than ``older_than_days`` except the ``retain_last`` newest ones and
every branch or tag head, through pyiceberg's ``table.maintenance.expire_snapshots()``. That
rewrites metadata only: pyiceberg does not delete the expired data files. So the files no
snapshot references any more (those of expired snapshots, and those a killed run left behind)
are then deleted when older than ``orphans_older_than_hours`` (:mod:`...engine.iceberg.orphans`).
Compaction (:mod:`...engine.iceberg.compaction`) is off unless asked for, so workflows written
before it existed keep doing exactly what they did.

The table is a job's target (``config``: a job file of the workflow's tenant, with its catalog)
or ``table`` (``[namespace.]name``, namespace defaulting to the tenant) in ``catalog``
(pyiceberg properties, default the embedded catalog).
"""

from __future__ import annotations

from typing import Annotated, Any

from pydantic import Field, ValidationInfo, field_validator, model_validator

from airflow_provider_dativo.config.base import StrictModel
from airflow_provider_dativo.config.job import CatalogSettings, TargetSettings
from airflow_provider_dativo.config.limits import (
    MAX_KEEP_LAST_SNAPSHOTS,
    MAX_SNAPSHOT_AGE_HOURS,
    MAX_TARGET_FILE_SIZE_MB,
    MIN_TARGET_FILE_SIZE_MB,
)
from airflow_provider_dativo.config.maintenance import DEFAULT_TARGET_FILE_SIZE_MB
from airflow_provider_dativo.workflows.builtins.jobs import check_job_param, load_tenant_job, own_params
from airflow_provider_dativo.workflows.context import ParamsCheck, WorkflowContext
from airflow_provider_dativo.workflows.errors import FatalWorkflowError
from airflow_provider_dativo.workflows.registry import register_workflow


class MaintenanceParams(StrictModel):
    """Params of ``iceberg_maintenance``: exactly one of ``config`` and ``table``."""

    config: str | None = Field(None, description="Job YAML whose target table is maintained.")
    table: str | None = Field(None, description="'[namespace.]table'; the namespace defaults to the tenant.")
    catalog: dict[str, Any] | None = Field(None, description="pyiceberg catalog properties (with 'table').")
    compact: bool = Field(False, description="Rewrite small files into files of target_file_size_mb first.")
    target_file_size_mb: Annotated[float, Field(ge=MIN_TARGET_FILE_SIZE_MB, le=MAX_TARGET_FILE_SIZE_MB)] = (
        DEFAULT_TARGET_FILE_SIZE_MB
    )
    older_than_days: Annotated[float, Field(ge=0, le=MAX_SNAPSHOT_AGE_HOURS / 24)] = 7
    retain_last: Annotated[
        int, Field(ge=1, le=MAX_KEEP_LAST_SNAPSHOTS, description="Newest snapshots always kept.")
    ] = 1
    orphans_older_than_hours: Annotated[
        float | None,
        Field(
            ge=0,
            le=MAX_SNAPSHOT_AGE_HOURS,
            description="Delete unreferenced files older than this; null keeps them. Keep it well "
            "above the longest load: a running load's files are unreferenced until it commits.",
        ),
    ] = 72
    dativo_home: str | None = None

    @field_validator("config")
    @classmethod
    def _job_file(cls, value: str | None, info: ValidationInfo) -> str | None:
        return check_job_param(value, info)

    @model_validator(mode="after")
    def _one_table(self, info: ValidationInfo) -> MaintenanceParams:
        if (self.config is None) == (self.table is None):
            raise ValueError("set exactly one of 'config' (a job file) or 'table'")
        if self.catalog is not None and self.table is None:
            raise ValueError("'catalog' goes with 'table'; a job file brings its own catalog")
        if isinstance(info.context, ParamsCheck):
            problem = self.namespace_problem(info.context.tenant_id)
            if problem:
                raise ValueError(problem)
        return self

    def table_id(self, tenant_id: str) -> tuple[str, str]:
        namespace, _, name = (self.table or "").rpartition(".")
        return namespace or tenant_id, name

    def namespace_problem(self, tenant_id: str) -> str | None:
        """Tenant isolation, as for jobs: a workflow maintains its own tenant's namespace only."""
        if self.table is None:
            return None
        namespace, _ = self.table_id(tenant_id)
        if namespace == tenant_id:
            return None
        return f"namespace {namespace!r} is outside tenant {tenant_id!r}"

    def target(self, context: WorkflowContext) -> tuple[TargetSettings, str]:
        """The table's settings (name, catalog) and namespace."""
        if self.config is not None:
            job = load_tenant_job(self.config, context)
            return job.config.target, job.namespace
        problem = self.namespace_problem(context.tenant_id)
        if problem:
            raise FatalWorkflowError(problem)
        namespace, name = self.table_id(context.tenant_id)
        catalog = CatalogSettings.model_validate(self.catalog) if self.catalog is not None else None
        return TargetSettings(table=name, namespace=namespace, catalog=catalog), namespace


@register_workflow("iceberg_maintenance", params_model=MaintenanceParams)
def iceberg_maintenance(params: dict[str, Any], context: WorkflowContext) -> dict[str, Any]:
    """Compact (when asked), expire old snapshots, remove orphans; return what changed."""
    from airflow_provider_dativo.engine.iceberg.catalog import open_catalog
    from airflow_provider_dativo.engine.iceberg.maintenance import MaintenanceSteps, maintain_table

    settings = own_params(MaintenanceParams, params)
    target, namespace = settings.target(context)
    result: dict[str, Any] = {
        "table": f"{namespace}.{target.table}",
        "older_than_days": settings.older_than_days,
        "retain_last": settings.retain_last,
    }
    steps = MaintenanceSteps(
        compact_target_file_size_mb=settings.target_file_size_mb if settings.compact else None,
        expire_older_than_hours=settings.older_than_days * 24,
        keep_last_snapshots=settings.retain_last,
        remove_orphans_older_than_hours=settings.orphans_older_than_hours,
    )
    catalog = open_catalog(target, settings.dativo_home)
    result.update(maintain_table(catalog, namespace, target.table, steps))
    return result
