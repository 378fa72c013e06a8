"""``build_workflow_dag(path)``: a DAG-of-workflows file as an Airflow DAG."""

from __future__ import annotations

import os

from airflow.sdk import DAG

from airflow_provider_dativo.dag_factory.build import build_workflow_dag_from_args
from airflow_provider_dativo.dag_factory.workflow_args import standalone_dag_args
from airflow_provider_dativo.workflows.loader import load_workflow_file


def build_workflow_dag(path: str | os.PathLike[str], *, app_root: str | None = None) -> DAG:
    """The DAG of one workflow file: dag_id = ``name``, one task per task id, dependencies from
    ``depends_on``, per-task retries, every task in the tenant's pool. No schedule: to schedule
    it, name the file in a runner.yaml schedule's ``dag:``.

    Raises :class:`~airflow_provider_dativo.workflows.CycleDetectedError`,
    :class:`~airflow_provider_dativo.workflows.UnknownWorkflowError` or
    :class:`~airflow_provider_dativo.config.errors.DativoConfigError` for an invalid file.
    """
    return build_workflow_dag_from_args(standalone_dag_args(load_workflow_file(path, app_root=app_root)))
