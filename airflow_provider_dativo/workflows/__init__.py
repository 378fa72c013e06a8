"""DAG-of-workflows (seed 003): chained tasks with payload passing, on Airflow and on the CLI.

A workflow file names a DAG, its tenant, and tasks that each call a workflow function with
``params`` plus the results of every task they depend on (``<upstream_id>__<key>``).
:func:`build_workflow_dag` turns a file into an Airflow DAG; ``dativo workflow run`` runs it in
this process; a ``runner.yaml`` schedule with ``dag:`` schedules it. See ``docs/workflows.md``.

The names below are imported on first use: the DAG factory imports parts of this package at
every parse, and the CLI runner must work without importing Airflow. ``build_workflow_dag``
lives with the other DAG builders (:mod:`airflow_provider_dativo.dag_factory.workflow_dag`);
it is offered here because a user looks for it next to ``register_workflow``.
"""

from __future__ import annotations

import importlib
from typing import TYPE_CHECKING, Any

if TYPE_CHECKING:
    from airflow_provider_dativo.dag_factory.workflow_dag import build_workflow_dag
    from airflow_provider_dativo.workflows.context import WorkflowContext
    from airflow_provider_dativo.workflows.errors import (
        CycleDetectedError,
        FatalWorkflowError,
        UnknownWorkflowError,
    )
    from airflow_provider_dativo.workflows.loader import LoadedWorkflow, load_workflow_file
    from airflow_provider_dativo.workflows.registry import ENTRY_POINT_GROUP, register_workflow

_EXPORTS = {
    "ENTRY_POINT_GROUP": f"{__name__}.registry",
    "CycleDetectedError": f"{__name__}.errors",
    "FatalWorkflowError": f"{__name__}.errors",
    "LoadedWorkflow": f"{__name__}.loader",
    "UnknownWorkflowError": f"{__name__}.errors",
    "WorkflowContext": f"{__name__}.context",
    "build_workflow_dag": "airflow_provider_dativo.dag_factory.workflow_dag",
    "load_workflow_file": f"{__name__}.loader",
    "register_workflow": f"{__name__}.registry",
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
    return getattr(importlib.import_module(module), name)
