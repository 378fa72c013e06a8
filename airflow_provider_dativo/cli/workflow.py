"""``dativo workflow plan|run DAG.yaml``: a DAG-of-workflows file outside Airflow.

``plan`` prints the execution order (seed 003's format) on stdout; ``run`` executes the tasks
in this process with the same params, payloads and retry delays as on Airflow, appends the
seeds' events to ``ORCH_EVENTS_PATH``, prints a summary and exits 0 (no task failed) or 2.
As for every ``dativo`` command, human text (progress, the jobs' JSON events, the summary) goes
to stderr; stdout carries only the plan, or with ``--json`` the summary as one JSON object.
"""

from __future__ import annotations

import argparse
import json
import os
import sys
from collections.abc import Callable, Sequence
from typing import TYPE_CHECKING

from airflow_provider_dativo.config.paths import app_root_from_env
from airflow_provider_dativo.outcomes import EXIT_FAILURE

if TYPE_CHECKING:  # the workflows package is imported by the commands that need it
    from airflow_provider_dativo.workflows.loader import LoadedWorkflow
    from airflow_provider_dativo.workflows.runner import RunSummary
    from airflow_provider_dativo.workflows.selection import Selection

RETRY_DELAY_ENV = "DATIVO_WORKFLOW_RETRY_DELAY"


def _names(values: Sequence[str]) -> list[str]:
    """``--only a,b --only c`` -> ``[a, b, c]``."""
    return [name.strip() for value in values for name in value.split(",") if name.strip()]


def add_workflow_parser(
    sub: argparse._SubParsersAction, add_app_root: Callable[[argparse.ArgumentParser], None]
) -> None:
    workflow = sub.add_parser("workflow", help="plan or run a DAG-of-workflows file in this process")
    commands = workflow.add_subparsers(dest="workflow_command", required=True)
    plan = commands.add_parser("plan", help="print the execution plan in order")
    run = commands.add_parser("run", help="run the tasks here, with retries (exit 0, or 2 if a task failed)")
    for parser in (plan, run):
        parser.add_argument("dag", help="DAG-of-workflows YAML")
        parser.add_argument(
            "--only",
            action="append",
            default=[],
            metavar="TASK[,TASK]",
            help="only these tasks and the tasks they depend on",
        )
        parser.add_argument(
            "--downstream",
            action="store_true",
            help="with --only: the tasks and what depends on them (instead of what they depend on)",
        )
        parser.add_argument(
            "--exclude-tags",
            action="append",
            default=[],
            metavar="TAG[,TAG]",
            help="skip tasks with these tags",
        )
        add_app_root(parser)
    run.add_argument("--dry-run", action="store_true", help="print the plan, run nothing")
    run.add_argument(
        "--continue-on-error",
        action="store_true",
        help="after a failure, run the tasks that do not depend on it (its dependants are skipped)",
    )
    run.add_argument(
        "--retry-delay",
        type=float,
        default=None,
        metavar="SECONDS",
        help=f"base delay before a first retry, for every task (default: {RETRY_DELAY_ENV}, "
        "else each task's retry_delay_seconds)",
    )
    run.add_argument(
        "--events",
        default=None,
        help="JSONL events file (default: ORCH_EVENTS_PATH, else logs/orchestrator_events.jsonl)",
    )
    run.add_argument("--run-id", default=None, help="id of this run (default: generated)")
    run.add_argument(
        "--json", action="store_true", help="also print the summary as one JSON object on stdout"
    )


def format_plan(workflow: LoadedWorkflow, selection: Selection, *, dry_run: bool = False) -> str:
    """Seed 003's plan: one numbered line per task in execution order; skipped ones say why."""
    lines = [
        f"{'DRY RUN: ' if dry_run else ''}DAG '{workflow.name}'",
        f"Tenant: {workflow.tenant_id}",
        f"Tasks: {len(workflow.order)}",
        "",
        "Execution Plan:",
    ]
    for number, task_id in enumerate(workflow.order, start=1):
        task = workflow.task(task_id)
        skip = selection.left_out.get(task_id)
        lines.append(
            f"  {number}. {'SKIP ' if skip else ''}{task_id} (workflow: {task.workflow_ref}, "
            f"depends_on: {', '.join(task.depends_on) or 'none'})" + (f" - {skip}" if skip else "")
        )
    return "\n".join(lines)


def format_summary(summary: RunSummary) -> str:
    """Seed 003's summary, plus skipped tasks and why each failed or was skipped."""
    lines = [
        "DAG EXECUTION FAILED" if summary.exit_code else "DAG EXECUTION COMPLETE",
        f"DAG: {summary.dag_name}",
        f"Run: {summary.run_id}",
        f"Tasks Total: {summary.total}",
        f"Tasks Succeeded: {summary.count('success')}",
        f"Tasks Failed: {summary.count('failed')}",
        f"Tasks Skipped: {summary.count('skipped')}",
        f"Duration: {summary.duration_seconds:.2f}s",
    ]
    for result in summary.results.values():
        if result.status == "failed":
            lines.append(f"  failed: {result.task_id} after {result.attempts} try(s): {result.error}")
        elif result.status == "skipped":
            lines.append(f"  skipped: {result.task_id}: {result.reason}")
    return "\n".join(lines)


def _retry_delay(value: float | None) -> float | None:
    if value is not None:
        return value
    raw = os.environ.get(RETRY_DELAY_ENV)
    return float(raw) if raw else None


def cmd_workflow(args: argparse.Namespace) -> int:
    from airflow_provider_dativo.workflows.loader import load_workflow_file
    from airflow_provider_dativo.workflows.runner import WorkflowRunner
    from airflow_provider_dativo.workflows.selection import select_tasks

    workflow = load_workflow_file(args.dag, app_root=app_root_from_env(args.app_root))
    try:
        selection = select_tasks(
            workflow,
            only=_names(args.only),
            downstream=args.downstream,
            exclude_tags=_names(args.exclude_tags),
        )
    except ValueError as exc:
        print(exc, file=sys.stderr)
        return EXIT_FAILURE
    if args.workflow_command == "plan" or args.dry_run:
        print(format_plan(workflow, selection, dry_run=args.workflow_command == "run"))
        return 0
    runner = WorkflowRunner(
        workflow,
        events_path=args.events,
        continue_on_error=args.continue_on_error,
        retry_delay=_retry_delay(args.retry_delay),
        run_id=args.run_id,
        progress=lambda line: print(line, file=sys.stderr, flush=True),
    )
    summary = runner.run(selection)
    print(format_summary(summary), file=sys.stderr)
    if args.json:
        print(json.dumps(summary.as_dict(), default=str))
    return summary.exit_code
