"""``dativo_ingest``: run one dativo job as a workflow task and return its metrics.

The job runs through the same engine entry point as ``DativoIngestOperator`` and ``dativo
run`` (:func:`airflow_provider_dativo.engine.run.run_job`), once per task try: the task's
``retries`` decide retries, not the job's ``retry_config``. Exit code 0 returns the metrics.
Exit code 1 (partial) returns them too (``status: partial``) when this try committed the
partial load; a try that is not the last commits nothing and fails the task with exit code 1,
so the retry reads the source again (:mod:`airflow_provider_dativo.engine.partial_retry`).
Exit code 2 fails the task, at once when no retry can help (an invalid job or asset, a
connector without engine, unreadable secrets).
"""

from __future__ import annotations

from typing import Annotated, Any

from pydantic import Field, ValidationInfo, field_validator

from airflow_provider_dativo.config.base import StrictModel
from airflow_provider_dativo.exceptions import DativoJobError
from airflow_provider_dativo.outcomes import EXIT_FAILURE
from airflow_provider_dativo.workflows.builtins.jobs import check_job_param, load_tenant_job, own_params
from airflow_provider_dativo.workflows.context import WorkflowContext
from airflow_provider_dativo.workflows.errors import FatalWorkflowError
from airflow_provider_dativo.workflows.registry import register_workflow


class IngestParams(StrictModel):
    """Params of ``dativo_ingest``."""

    config: Annotated[str, Field(min_length=1, description="Job YAML, relative to the workflow file.")]
    job_name: str | None = Field(None, description="Name in events and metrics (default <dag_id>.<task_id>).")
    dativo_home: str | None = Field(None, description="Embedded catalog home (default DATIVO_HOME).")

    @field_validator("config")
    @classmethod
    def _job_file(cls, value: str, info: ValidationInfo) -> str:
        return check_job_param(value, info) or value


@register_workflow("dativo_ingest", params_model=IngestParams)
def dativo_ingest(params: dict[str, Any], context: WorkflowContext) -> dict[str, Any]:
    """Run the job of ``params['config']``; return its ``metrics_complete`` metrics."""
    from airflow_provider_dativo.engine.events import EventEmitter
    from airflow_provider_dativo.engine.partial_retry import PartialRetry
    from airflow_provider_dativo.engine.run import run_job

    settings = own_params(IngestParams, params)
    job = load_tenant_job(settings.config, context)
    job_name = settings.job_name or f"{context.dag_id}.{context.task_id}"
    emitter = EventEmitter(
        job_name=job_name, tenant_id=job.tenant_id, run_id=context.job_run_id, stream=context.event_stream
    )
    result = run_job(
        job,
        job_name=job_name,
        run_id=context.job_run_id,
        emitter=emitter,
        dativo_home=settings.dativo_home,
        secrets_loader=context.secrets_loader,
        partial_retry=PartialRetry(context.try_number, context.tries, _task_retries),
    )
    metrics = emitter.redactor.redact(result.metrics)
    if result.exit_code < EXIT_FAILURE and not result.deferred:
        return metrics
    error = emitter.redact_text(result.error or f"dativo job {job_name} failed")
    if not result.retryable:
        raise FatalWorkflowError(f"dativo job {job_name} cannot succeed on retry: {error}")
    raise DativoJobError(error, exit_code=result.exit_code, metrics=metrics)


def _task_retries(error_text: str) -> tuple[bool, str]:
    """A workflow task retries any failure while tries remain."""
    return True, "the task retries a partial run"
