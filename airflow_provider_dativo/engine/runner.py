"""Run one ingestion job end to end and report it: events, metrics and an exit code.

``run_job`` is the single entry point shared by the ``dativo`` CLI and the Airflow operator.
It never raises for a failing job: callers map :class:`JobResult` to their own conventions
(a process exit code, an Airflow task failure), and the events describe what happened.
Exit codes: 0 success, 1 partial (warn mode dropped invalid records), 2 failure.
"""

from __future__ import annotations

import time
from dataclasses import dataclass
from typing import Any

from airflow_provider_dativo.config.errors import DativoConfigError
from airflow_provider_dativo.config.loader import ResolvedJob, load_asset
from airflow_provider_dativo.engine.errors import ConfigError, JobFailed, ValidationFailed
from airflow_provider_dativo.engine.events import EventEmitter
from airflow_provider_dativo.engine.iceberg_writer import (
    JOB_NAME_PROPERTY,
    RUN_ID_PROPERTY,
    check_merge_keys,
    open_catalog,
    prepare_table,
    write,
)
from airflow_provider_dativo.engine.metrics import RunMetrics
from airflow_provider_dativo.engine.schema import iceberg_schema
from airflow_provider_dativo.engine.sources.base import get_source
from airflow_provider_dativo.engine.validation import validate

EXIT_SUCCESS = 0
EXIT_PARTIAL = 1
EXIT_FAILURE = 2


@dataclass
class JobResult:
    """Outcome of a run: exit code, the metrics dict and, unless it fully succeeded, why."""

    exit_code: int
    metrics: dict[str, Any]
    error: str | None
    error_type: str | None = None


@dataclass
class _Outcome:
    exit_code: int
    status: str
    error: str | None = None
    error_type: str | None = None


def run_job(
    job: ResolvedJob,
    *,
    job_name: str,
    run_id: str | None = None,
    emitter: EventEmitter | None = None,
    dativo_home: str | None = None,
) -> JobResult:
    """Read, validate and write ``job``; every failure becomes exit code 2 and a ``job_error`` event."""
    started = time.monotonic()
    emitter = emitter or EventEmitter(job_name=job_name, tenant_id=job.tenant_id, run_id=run_id)
    target = job.config.target
    table_id = f"{job.namespace}.{target.table}"
    metrics = RunMetrics(job_name=job_name, tenant_id=job.tenant_id)
    metrics.extra.update({"invalid_by_rule": {}, "table": table_id, "snapshot_id": None})

    emitter.emit(
        "job_started",
        message=f"job {job_name} started: {job.config.source_connector} -> {table_id} ({target.mode})",
        job_file=str(job.path),
        source_connector=job.config.source_connector,
        table=table_id,
        mode=target.mode,
        validation_mode=job.config.validation.mode,
    )
    if job.tenant_inferred:
        emitter.emit(
            "tenant_inferred",
            message=f"tenant {job.tenant_id!r} inferred from the job file path",
            tenant_id=job.tenant_id,
            source="path",
        )

    try:
        outcome = _execute(job, job_name, run_id, emitter, metrics, dativo_home)
    except JobFailed as exc:
        outcome = _Outcome(EXIT_FAILURE, "failure", exc.report(), exc.error_type)
    except Exception as exc:
        outcome = _Outcome(EXIT_FAILURE, "failure", f"{type(exc).__name__}: {exc}", type(exc).__name__)

    metrics.status = outcome.status
    values = metrics.as_dict(time.monotonic() - started)
    emitter.emit(
        "metrics_complete",
        message=(
            f"{values['records_extracted']} records read, {values['records_valid']} valid, "
            f"{values['records_invalid']} invalid; {values['files_written']} files written"
        ),
        **values,
    )
    if outcome.exit_code == EXIT_FAILURE:
        emitter.emit(
            "job_error",
            level="ERROR",
            message=outcome.error or "job failed",
            exit_code=outcome.exit_code,
            error=outcome.error,
            error_type=outcome.error_type,
        )
    else:
        emitter.emit(
            "job_finished",
            level="WARNING" if outcome.exit_code == EXIT_PARTIAL else "INFO",
            message=outcome.error or f"job {job_name} finished",
            exit_code=outcome.exit_code,
            status=outcome.status,
        )
    return JobResult(
        exit_code=outcome.exit_code, metrics=values, error=outcome.error, error_type=outcome.error_type
    )


def _execute(
    job: ResolvedJob,
    job_name: str,
    run_id: str | None,
    emitter: EventEmitter,
    metrics: RunMetrics,
    dativo_home: str | None,
) -> _Outcome:
    """The run itself. Validation happens before the catalog is touched, so a strict failure
    leaves no trace in the catalog."""
    config = job.config
    target = config.target
    try:
        asset = load_asset(job)
    except DativoConfigError as exc:
        raise ConfigError(f"asset {job.config.asset!r} cannot be used:\n{exc}") from None
    raw = get_source(job, asset).read()
    metrics.records_extracted = raw.num_rows

    report = validate(raw, asset)
    metrics.records_valid = report.valid
    metrics.records_invalid = report.invalid
    metrics.extra["invalid_by_rule"] = dict(report.invalid_by_rule)
    problem = None
    if report.invalid:
        mode = config.validation.mode
        dropped = " and dropped" if mode == "warn" else ""
        problem = (
            f"validation failed ({mode}): {report.invalid} of {report.total} records invalid{dropped}: "
            f"{report.summary()}"
        )
        if mode == "strict":
            raise ValidationFailed(problem)
    data = report.valid_table()
    if target.mode == "merge":
        check_merge_keys(data, target.merge_keys)

    catalog = open_catalog(target, dativo_home)
    table = prepare_table(catalog, job.namespace, target.table, iceberg_schema(asset))
    emitter.emit(
        "infra_validated",
        message=f"catalog {target.catalog_name!r} reachable; table {job.namespace}.{target.table} ready",
        catalog=target.catalog_name,
        table=f"{job.namespace}.{target.table}",
    )

    result = write(
        table,
        data,
        mode=target.mode,
        merge_keys=target.merge_keys,
        snapshot_properties={RUN_ID_PROPERTY: run_id or "", JOB_NAME_PROPERTY: job_name},
    )
    metrics.files_written = result.files_written
    metrics.total_bytes = result.total_bytes
    metrics.extra["snapshot_id"] = result.snapshot_id
    if problem:
        return _Outcome(EXIT_PARTIAL, "partial", problem, ValidationFailed.error_type)
    return _Outcome(EXIT_SUCCESS, "success")
