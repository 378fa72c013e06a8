"""DAG-of-workflows (seed 003): chained tasks with payload passing, on Airflow and on the CLI.

A workflow file names a DAG, its tenant, and tasks that each call a workflow function with
``params`` plus the results of every task they depend on (``<upstream_id>__<key>``).
:func:`build_workflow_dag` turns a file into an Airflow DAG; ``dativo workflow run`` runs it in
this process; a ``runner.yaml`` schedule with ``dag:`` schedules it. See ``docs/workflows.md``.

The names below are imported on first use: the DAG factory imports parts of this package at
every parse, and the CLI runner must work without importing Airflow.
"""

from __future__ import annotations

import importlib
from typing import TYPE_CHECKING, Any

if TYPE_CHECKING:
    from airflow_provider_dativo.workflows.context import WorkflowContext
    from airflow_provider_dativo.workflows.dag import build_workflow_dag
    from airflow_provider_dativo.workflows.errors import (
        CycleDetectedError,
        FatalWorkflowError,
        UnknownWorkflowError,
    )
    from airflow_provider_dativo.workflows.loader import LoadedWorkflow, load_workflow_file
    from airflow_provider_dativo.workflows.registry import ENTRY_POINT_GROUP, register_workflow

_EXPORTS = {
    "ENTRY_POINT_GROUP": "registry",
    "CycleDetectedError": "errors",
    "FatalWorkflowError": "errors",
    "LoadedWorkflow": "loader",
    "UnknownWorkflowError": "errors",
    "WorkflowContext": "context",
    "build_workflow_dag": "dag",
    "load_workflow_file": "loader",
    "register_workflow": "registry",
}
__all__ = [
    "ENTRY_POINT_GROUP",
    "CycleDetectedError",
    "FatalWorkflowError",
    "LoadedWorkflow",
    "UnknownWorkflowError",
    "WorkflowContext",
    "build_workflow_dag",
    "load_workflow_file",
    "register_workflow",
]


def __getattr__(name: str) -> Any:
    module = _EXPORTS.get(name)
    if module is None:
        raise AttributeError(f"module {__name__!r} has no attribute {name!r}")
    return getattr(importlib.import_module(f"{__name__}.{module}"), name)
