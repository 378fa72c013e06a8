"""What a workflow function may know about the task that calls it, on Airflow or the CLI."""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any, Literal, TextIO

from airflow_provider_dativo.config.paths import resolve_path


@dataclass(frozen=True)
class WorkflowContext:
    """Identity of one try of one task. Functions that take a second argument receive it.

    ``run_id`` is Airflow's run id or, on the CLI, the id of the ``dativo workflow run``; every
    try of a task shares it, which lets ``dativo_ingest`` commit a run at most once.
    """

    dag_id: str
    workflow_name: str
    tenant_id: str
    task_id: str
    run_id: str
    try_number: int
    base_dir: Path
    """Folder of the workflow file: relative paths in params are relative to it."""
    app_root: str | None = None
    orchestrator: Literal["airflow", "cli"] = "cli"
    event_stream: TextIO | None = None
    """Where ``dativo_ingest`` writes job events (the CLI's stderr); ``None`` logs them."""
    secrets_loader: Callable[..., Any] | None = None
    """How ``dativo_ingest`` loads a job's secrets: ``None`` reads the tenant's files; the Airflow
    operator passes the loader that adds Airflow connections
    (:func:`airflow_provider_dativo.hooks.dativo.airflow_secrets_loader`)."""
    tries: int = 1
    """Tries the task has in all (its retries + 1): ``dativo_ingest`` leaves a partial load to
    a retry while this try is not the last."""

    @property
    def job_run_id(self) -> str:
        """The run id a job records in its Iceberg commit, as the ingest operator builds it."""
        return f"{self.dag_id}/{self.run_id}/{self.task_id}"

    def resolve_path(self, raw: str) -> Path:
        """A path written in the workflow file: relative to it, ``/app/`` re-rooted."""
        return resolve_path(raw, self.base_dir, self.app_root)


@dataclass
class ParamsCheck:
    """What a params model may use when a workflow file is loaded (pydantic validation context):
    paths resolve like :meth:`WorkflowContext.resolve_path`, and files read are recorded in
    ``inputs`` so the parse cache knows to re-parse when they change."""

    base_dir: Path
    app_root: str | None
    tenant_id: str
    inputs: list[Path]
    config_files: list[Path] = field(default_factory=list)
    """The files this task's configuration comes from (a job file and its asset): part of the
    task's definition for ``dativo workflow run --changed``."""

    def resolve(self, raw: str) -> Path:
        return resolve_path(raw, self.base_dir, self.app_root)
