"""The arguments of a workflow DAG and its operators, as plain data.

Like :mod:`.args` for ingest DAGs: the DAG factory builds from
these, the parse cache stores them as JSON, and ``dativo export`` writes them into a static DAG
file, so all three produce the same serialized DAG.
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import TYPE_CHECKING, Any

from airflow_provider_dativo.dag_factory.args import (
    TimetableArgs,
    disabled_note,
    retry_task_args,
    schedule_dag_settings,
    schedule_timetable,
    schedule_timing,
)

if TYPE_CHECKING:  # not imported at parse time: a cached parse never loads a workflow file
    from airflow_provider_dativo.config.workflow import WorkflowTask
    from airflow_provider_dativo.plan.runner import WorkflowScheduleSpec
    from airflow_provider_dativo.workflows.loader import LoadedWorkflow


@dataclass(frozen=True)
class WorkflowTaskArgs:
    """One ``DativoWorkflowOperator``: its keyword arguments, retry policy and direct upstream."""

    task: dict[str, Any]
    retry_config: dict[str, Any] | None
    upstream: list[str]


@dataclass(frozen=True)
class WorkflowDagArgs:
    """Everything needed to build one workflow DAG."""

    dag: dict[str, Any]
    timetable: TimetableArgs | None
    tasks: list[WorkflowTaskArgs]


def workflow_tags(workflow: LoadedWorkflow) -> list[str]:
    return ["dativo", f"tenant:{workflow.tenant_id}", f"workflow:{workflow.name}"]


def task_args(workflow: LoadedWorkflow, task: WorkflowTask) -> WorkflowTaskArgs:
    """The operator of one task: the tenant's pool, the task's retries with exact backoff."""
    kwargs: dict[str, Any] = {
        "task_id": task.id,
        "workflow_ref": task.workflow_ref,
        "workflow_params": task.params,
        "payload_from": workflow.payload_from[task.id],
        "workflow_file": str(workflow.path),
        "workflow_name": workflow.name,
        "tenant_id": workflow.tenant_id,
        "workflow_modules": workflow.modules,
        "app_root": workflow.app_root,
        "pool": workflow.pool,
    }
    retry = task.retry_config() if task.retries else None
    kwargs.update(retry_task_args(retry))
    return WorkflowTaskArgs(
        task=kwargs,
        retry_config=retry.model_dump(mode="json") if retry else None,
        upstream=list(task.depends_on),
    )


def _doc_md(workflow: LoadedWorkflow, heading: str, schedule_line: str) -> str:
    rows = "".join(
        f"| `{t.id}` | `{t.workflow_ref}` | {', '.join(t.depends_on) or '-'} | {t.retries} |\n"
        for t in (workflow.task(task_id) for task_id in workflow.order)
    )
    description = f"\n{workflow.spec.description}\n" if workflow.spec.description else ""
    return (
        f"**{heading}**\n{description}\n* workflow file: `{workflow.path}`\n"
        f"* tenant: `{workflow.tenant_id}` (pool `{workflow.pool}`)\n{schedule_line}\n"
        "| task | workflow | depends on | retries |\n|---|---|---|---|\n" + rows
    )


def standalone_dag_args(workflow: LoadedWorkflow) -> WorkflowDagArgs:
    """``build_workflow_dag(path)``: dag_id = the file's ``name``, no schedule (trigger it)."""
    dag = {
        "dag_id": workflow.name,
        "description": f"dativo workflow {workflow.name} for tenant {workflow.tenant_id}",
        "catchup": False,
        "tags": workflow_tags(workflow),
        "doc_md": _doc_md(workflow, f"dativo workflow `{workflow.name}`", "* schedule: none (trigger it)\n"),
    }
    return WorkflowDagArgs(dag, None, [task_args(workflow, workflow.task(t)) for t in workflow.order])


def schedule_dag_args(spec: WorkflowScheduleSpec) -> WorkflowDagArgs:
    """A runner schedule with ``dag:``: dag_id = the schedule's name, with every schedule feature."""
    schedule, workflow = spec.schedule, spec.workflow
    timing = schedule_timing(schedule)
    tags = [*workflow_tags(workflow), f"job:{schedule.name}", *schedule.tag_strings()]
    dag = schedule_dag_settings(
        schedule,
        description=f"dativo workflow {workflow.name} ({workflow.path.name}) for tenant "
        f"{workflow.tenant_id}, {timing}",
        tags=tags,
        doc_md=_doc_md(
            workflow, f"dativo schedule `{schedule.name}`", f"* schedule: {timing}{disabled_note(schedule)}\n"
        ),
    )
    tasks = [task_args(workflow, workflow.task(t)) for t in workflow.order]
    return WorkflowDagArgs(dag, schedule_timetable(schedule), tasks)
