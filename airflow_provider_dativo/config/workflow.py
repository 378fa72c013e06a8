"""The DAG-of-workflows file (seed 003): ``name``, ``tenant_id`` and ``tasks[]``.

The file model lives with the other config models; only the shape of the file is checked here.
Graph rules (duplicate ids, unknown upstream ids, cycles) and workflow references are checked by
:mod:`airflow_provider_dativo.workflows.loader`, which knows the registry, file and line.
"""

from __future__ import annotations

import datetime as dt
from typing import Annotated, Any

from pydantic import Field, field_validator, model_validator

from airflow_provider_dativo.config.base import StrictModel
from airflow_provider_dativo.config.job import TENANT_ID
from airflow_provider_dativo.config.limits import MAX_BACKOFF_MULTIPLIER, MAX_RETRIES, MAX_RETRY_DELAY_SECONDS
from airflow_provider_dativo.config.retry import RetryConfig
from airflow_provider_dativo.config.runner import DagId, TaskId
from airflow_provider_dativo.outcomes import EXIT_FAILURE, EXIT_PARTIAL

RETRYABLE_EXIT_CODES = [EXIT_PARTIAL, EXIT_FAILURE]
"""A failed workflow task counts as exit code 2. Exit code 1 only fails a task when a
``dativo_ingest`` run was partial with a try left and committed nothing so that the retry reads
the source again (the last try commits a partial load and succeeds)."""


def _json_value(value: Any, where: str) -> Any:
    """Params travel through XCom, the parse cache and exported DAG files, so they must be JSON.
    YAML dates (``start_date: 2025-10-01``) become ISO strings, as a user who wrote one expects."""
    if isinstance(value, (dt.date, dt.datetime)):
        return value.isoformat()
    if isinstance(value, dict):
        return {str(k): _json_value(v, f"{where}.{k}") for k, v in value.items()}
    if isinstance(value, list):
        return [_json_value(v, f"{where}[{i}]") for i, v in enumerate(value)]
    if value is None or isinstance(value, (str, int, float, bool)):
        return value
    raise ValueError(f"{where}: {type(value).__name__} values are not supported; use JSON types")


class WorkflowTask(StrictModel):
    """One task: a workflow called with ``params`` (plus its upstream results) and retried."""

    id: Annotated[TaskId, Field(description="Task id, unique in the file; becomes the Airflow task_id.")]
    workflow_ref: Annotated[
        str,
        Field(
            min_length=1,
            description="A registered name (e.g. dativo_ingest), an entry point of group "
            "dativo.workflows, or 'package.module:function'.",
        ),
    ]
    params: dict[str, Any] = Field(default_factory=dict, description="Keyword inputs of the workflow.")
    retries: Annotated[int, Field(ge=0, le=MAX_RETRIES, description="Retries after the first try.")] = 0
    depends_on: list[str] = Field(default_factory=list, description="Ids of tasks that must succeed first.")
    retry_delay_seconds: Annotated[
        float, Field(ge=0, le=MAX_RETRY_DELAY_SECONDS, description="Delay before the first retry.")
    ] = 5
    max_retry_delay_seconds: Annotated[
        float, Field(ge=0, le=MAX_RETRY_DELAY_SECONDS, description="Upper bound of any delay.")
    ] = 300
    backoff_multiplier: Annotated[
        float, Field(ge=1, le=MAX_BACKOFF_MULTIPLIER, description="Growth of the delay per retry.")
    ] = 2.0
    tags: list[str] = Field(
        default_factory=list, description="Labels for `dativo workflow run --exclude-tags`."
    )

    @field_validator("params")
    @classmethod
    def _json_params(cls, params: dict[str, Any]) -> dict[str, Any]:
        return _json_value(params, "params")

    @model_validator(mode="after")
    def _delays(self) -> WorkflowTask:
        if self.max_retry_delay_seconds < self.retry_delay_seconds:
            raise ValueError(
                f"max_retry_delay_seconds ({self.max_retry_delay_seconds:g}) is below "
                f"retry_delay_seconds ({self.retry_delay_seconds:g})"
            )
        return self

    def retry_config(self, delay_override: float | None = None) -> RetryConfig:
        """The exact backoff both runners apply: ``min(delay * multiplier^(n-1), max)``.

        ``delay_override`` replaces the base delay (the CLI's ``--retry-delay``), raising the cap
        when it would be below it.
        """
        delay = self.retry_delay_seconds if delay_override is None else delay_override
        return RetryConfig(
            max_retries=self.retries,
            initial_delay_seconds=delay,
            max_delay_seconds=max(self.max_retry_delay_seconds, delay),
            backoff_multiplier=self.backoff_multiplier,
            retryable_exit_codes=RETRYABLE_EXIT_CODES,
        )


class WorkflowFile(StrictModel):
    """A whole DAG-of-workflows file."""

    name: Annotated[DagId, Field(description="DAG name; the dag_id of build_workflow_dag().")]
    tenant_id: Annotated[str, Field(description="Owner: names the pool every task runs in.")]
    description: str | None = None
    workflow_modules: list[str] = Field(
        default_factory=list,
        description="Python files (relative to this file) or module names imported before the "
        "references are resolved, so their @register_workflow functions are known.",
    )
    tasks: Annotated[list[WorkflowTask], Field(min_length=1)]

    @field_validator("tenant_id")
    @classmethod
    def _tenant(cls, value: str) -> str:
        if not TENANT_ID.match(value):
            raise ValueError(f"{value!r} must be letters, digits, '_' or '-' (it names a pool)")
        return value
