"""``dativo workflow plan|run DAG.yaml``: a DAG-of-workflows file outside Airflow.

``plan`` prints the execution order (seed 003's format) on stdout; ``run`` executes the tasks
in this process with the same params, payloads and retry delays as on Airflow, appends the
seeds' events to ``ORCH_EVENTS_PATH``, prints a summary and exits 0 (no task failed) or 2.
As for every ``dativo`` command, human text (progress, the jobs' JSON events, the summary) goes
to stderr; stdout carries only the plan, or with ``--json`` the summary as one JSON object.

``run`` keeps the workflow's state file (seed 004): ``--full`` (the default) runs every task
and records it, ``--changed`` and ``--resume`` run only what is not done and mark the rest
``cached``. One run per state file at a time; a second one is refused.
"""

from __future__ import annotations

import argparse
import json
import sys
from collections.abc import Callable, Sequence
from typing import TYPE_CHECKING

from airflow_provider_dativo import settings
from airflow_provider_dativo.outcomes import EXIT_FAILURE

if TYPE_CHECKING:  # the workflows package is imported by the commands that need it
    from pathlib import Path

    from airflow_provider_dativo.workflows.loader import LoadedWorkflow
    from airflow_provider_dativo.workflows.run_modes import RunMode, RunPlan
    from airflow_provider_dativo.workflows.runner import RunSummary
    from airflow_provider_dativo.workflows.selection import Selection
    from airflow_provider_dativo.workflows.state import WorkflowState



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
        help=f"base delay before a first retry, for every task (default: {settings.WORKFLOW_RETRY_DELAY}, "
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
    run.add_argument(
        "--state",
        default=None,
        metavar="PATH",
        help="the workflow's state file, or a folder of them (default: DATIVO_WORKFLOW_STATE, else "
        "$DATIVO_HOME/workflow-state/<tenant>/<name>.json, DATIVO_HOME defaulting to .dativo)",
    )
    modes = run.add_mutually_exclusive_group()
    modes.add_argument(
        "--full",
        dest="mode",
        action="store_const",
        const="full",
        help="run every task and refresh the state (the default)",
    )
    modes.add_argument(
        "--changed",
        dest="mode",
        action="store_const",
        const="changed",
        help="run the tasks whose definition changed since their last success (or that did not "
        "succeed), and what depends on them; the others are cached",
    )
    modes.add_argument(
        "--resume",
        dest="mode",
        action="store_const",
        const="resume",
        help="run only what failed, was skipped or was interrupted in the last run; the rest is cached",
    )
    run.set_defaults(mode="full")


def format_plan(
    workflow: LoadedWorkflow, selection: Selection, plan: RunPlan | None = None, *, dry_run: bool = False
) -> str:
    """Seed 003's plan: one numbered line per task in execution order; skipped ones say why. With
    a ``--changed`` or ``--resume`` plan, cached tasks are marked and every task says why."""
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
        why = skip or (plan.why.get(task_id) if plan is not None else None)
        mark = "SKIP " if skip else "CACHED " if plan is not None and task_id in plan.cached else ""
        lines.append(
            f"  {number}. {mark}{task_id} (workflow: {task.workflow_ref}, "
            f"depends_on: {', '.join(task.depends_on) or 'none'})" + (f" - {why}" if why else "")
        )
    return "\n".join(lines)


def format_summary(summary: RunSummary) -> str:
    """Seed 003's summary, then the cached tasks (seed 004), the state file, and why each task
    failed or was skipped."""
    lines = [
        "DAG EXECUTION FAILED" if summary.exit_code else "DAG EXECUTION COMPLETE",
        f"DAG: {summary.dag_name}",
        f"Run: {summary.run_id}",
        f"Tasks Total: {summary.total}",
        f"Tasks Succeeded: {summary.count('success')}",
        f"Tasks Failed: {summary.count('failed')}",
        f"Tasks Skipped: {summary.count('skipped')}",
        f"Duration: {summary.duration_seconds:.2f}s",
        f"Tasks Cached: {summary.count('cached')}",
    ]
    if summary.state_file:
        lines.append(f"State: {summary.state_file} (--{summary.mode})")
    for result in summary.results.values():
        if result.status == "failed":
            lines.append(f"  failed: {result.task_id} after {result.attempts} try(s): {result.error}")
        elif result.status == "skipped":
            lines.append(f"  skipped: {result.task_id}: {result.reason}")
    return "\n".join(lines)


def _retry_delay(value: float | None) -> float | None:
    if value is not None:
        return value
    raw = settings.workflow_retry_delay()
    return float(raw) if raw else None


def cmd_workflow(args: argparse.Namespace) -> int:
    from airflow_provider_dativo.workflows.loader import load_workflow_file
    from airflow_provider_dativo.workflows.selection import select_tasks

    workflow = load_workflow_file(args.dag, app_root=args.app_root)
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
    if args.workflow_command == "plan":
        print(format_plan(workflow, selection))
        return 0
    from airflow_provider_dativo.workflows.run_lock import WorkflowRunLocked
    from airflow_provider_dativo.workflows.state import StateFileError

    try:
        return _run(args, workflow, selection)
    except (StateFileError, WorkflowRunLocked) as exc:
        print(f"error: {exc}", file=sys.stderr)
        return EXIT_FAILURE
    except OSError as exc:  # the state, its lock or the events file cannot be written (a task's own
        # errors never get here: the runner records them as the task's failure)
        print(f"error: {type(exc).__name__}: {exc}", file=sys.stderr)
        return EXIT_FAILURE


def _run(args: argparse.Namespace, workflow: LoadedWorkflow, selection: Selection) -> int:
    """``workflow run``: under the run lock, read the state, plan, run, record."""
    from airflow_provider_dativo.workflows.fingerprint import task_fingerprints
    from airflow_provider_dativo.workflows.progress import Progress
    from airflow_provider_dativo.workflows.run_lock import exclusive_run
    from airflow_provider_dativo.workflows.run_modes import plan_run
    from airflow_provider_dativo.workflows.runner import WorkflowRunner
    from airflow_provider_dativo.workflows.state import state_path
    from airflow_provider_dativo.workflows.state_recorder import StateRecorder

    path = state_path(workflow, args.state)
    mode: RunMode = args.mode
    if args.dry_run:  # reads the state (its problems are reported) but takes no lock, writes nothing
        state = _previous_state(path, workflow, mode, dry_run=True)
        plan = plan_run(workflow, selection, mode, state, task_fingerprints(workflow))
        print(format_plan(workflow, selection, plan if mode != "full" else None, dry_run=True))
        return 0
    runner = WorkflowRunner(
        workflow,
        events_path=args.events,
        continue_on_error=args.continue_on_error,
        retry_delay=_retry_delay(args.retry_delay),
        run_id=args.run_id,
        progress=Progress(sys.stderr, len(workflow.order)),
    )
    with exclusive_run(path, workflow_name=workflow.name, run_id=runner.run_id):
        state = _previous_state(path, workflow, mode)
        fingerprints = task_fingerprints(workflow)
        plan = plan_run(workflow, selection, mode, state, fingerprints)
        recorder = StateRecorder(path, workflow, state, fingerprints, mode=mode, run_id=runner.run_id)
        summary = runner.run(selection, plan, recorder)
    print(format_summary(summary), file=sys.stderr)
    if args.json:
        print(json.dumps(summary.as_dict(), default=str))
    return summary.exit_code


def _previous_state(
    path: Path, workflow: LoadedWorkflow, mode: RunMode, *, dry_run: bool = False
) -> WorkflowState | None:
    """The state file's content. A corrupt file stops ``--changed`` and ``--resume``; a full run,
    which needs nothing from it, sets it aside (kept for inspection) and starts a new one. A
    file of another workflow always stops the run: a full run would overwrite it."""
    from airflow_provider_dativo.engine.events import utc_timestamp
    from airflow_provider_dativo.workflows.state import (
        CorruptStateError,
        StateFileError,
        read_state,
        set_aside,
    )

    try:
        state = read_state(path, workflow)
    except CorruptStateError as exc:
        if mode != "full":
            raise StateFileError(
                path,
                f"{exc}; it is not used. Move or delete it to start afresh, or run with --full, which "
                "sets it aside and records a new state",
            ) from None
        if dry_run:
            print(f"warning: {exc}; a full run sets it aside and records a new state", file=sys.stderr)
        else:
            aside = set_aside(path, utc_timestamp())
            print(
                f"warning: {exc}; it is not used: moved to {aside}, a new state is recorded", file=sys.stderr
            )
        return None
    if state is None and mode == "resume":
        print(f"note: no state file {path} yet: nothing to resume, every task runs", file=sys.stderr)
    last = state.last_run if state is not None else None
    if last is not None and last.status in ("running", "interrupted"):
        print(
            f"note: the last run {last.run_id} (pid {last.pid}, started {last.started_at}) did not finish; "
            "the task it was running counts as interrupted",
            file=sys.stderr,
        )
    return state
