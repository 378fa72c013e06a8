"""Run a workflow file in this process, for CI and local work (``dativo workflow run``).

Tasks run one at a time in the plan's order. Each gets the same params and upstream keys as on
Airflow (:mod:`.execution`), is retried with tenacity after exactly the delays Airflow's
retry policy uses, and emits the seeds' orchestrator events. After a failure the run stops;
with ``continue_on_error`` it goes on, skipping only the tasks that depend on the failure
(directly or through others) while independent branches run.
"""

from __future__ import annotations

import os
import sys
import time
import uuid
from collections.abc import Callable
from dataclasses import dataclass, field
from typing import Any, Literal, TextIO

from tenacity import RetryCallState, Retrying, retry_if_exception, stop_after_attempt

from airflow_provider_dativo.outcomes import EXIT_FAILURE
from airflow_provider_dativo.outcomes import EXIT_SUCCESS as EXIT_OK
from airflow_provider_dativo.workflows.context import WorkflowContext
from airflow_provider_dativo.workflows.errors import FatalWorkflowError
from airflow_provider_dativo.workflows.events import EventLog
from airflow_provider_dativo.workflows.events import events_path as events_path_of
from airflow_provider_dativo.workflows.execution import payload_params, run_workflow_task
from airflow_provider_dativo.workflows.loader import LoadedWorkflow
from airflow_provider_dativo.workflows.selection import Selection
from airflow_provider_dativo.workflows.spec import WorkflowTask

Status = Literal["success", "failed", "skipped"]


@dataclass
class TaskResult:
    task_id: str
    status: Status
    attempts: int = 0
    duration_seconds: float = 0.0
    output: dict[str, Any] | None = None
    error: str | None = None
    reason: str | None = None
    """Why a skipped task did not run."""


@dataclass
class RunSummary:
    """What ``dativo workflow run`` prints: totals, duration and every task's result."""

    dag_name: str
    tenant_id: str
    run_id: str
    duration_seconds: float = 0.0
    results: dict[str, TaskResult] = field(default_factory=dict)

    def count(self, status: Status) -> int:
        return sum(1 for result in self.results.values() if result.status == status)

    @property
    def total(self) -> int:
        return len(self.results)

    @property
    def exit_code(self) -> int:
        return EXIT_FAILURE if self.count("failed") else EXIT_OK

    def as_dict(self) -> dict[str, Any]:
        return {
            "dag_name": self.dag_name,
            "tenant_id": self.tenant_id,
            "run_id": self.run_id,
            "status": "failed" if self.exit_code else "success",
            "total": self.total,
            "succeeded": self.count("success"),
            "failed": self.count("failed"),
            "skipped": self.count("skipped"),
            "duration_seconds": round(self.duration_seconds, 3),
            "tasks": {task_id: vars(result) for task_id, result in self.results.items()},
        }


class WorkflowRunner:
    """Runs one loaded workflow file; build one per run.

    :param events_path: the JSONL file events are appended to (default ``ORCH_EVENTS_PATH``).
    :param retry_delay: replaces every task's ``retry_delay_seconds`` (base of the backoff).
    :param sleep: what waits between tries (tests pass a recorder).
    :param event_stream: where ``dativo_ingest`` jobs write their JSON events.
    :param progress: receives one human line per task start and end.
    """

    def __init__(
        self,
        workflow: LoadedWorkflow,
        *,
        events_path: str | os.PathLike[str] | None = None,
        continue_on_error: bool = False,
        retry_delay: float | None = None,
        sleep: Callable[[float], None] = time.sleep,
        run_id: str | None = None,
        event_stream: TextIO | None = None,
        progress: Callable[[str], None] | None = None,
    ) -> None:
        self.workflow = workflow
        self.run_id = run_id or f"cli__{uuid.uuid4()}"
        self.events = EventLog(
            events_path_of(events_path),
            dag_name=workflow.name,
            tenant_id=workflow.tenant_id,
            run_id=self.run_id,
        )
        self.continue_on_error = continue_on_error
        self.retry_delay = retry_delay
        self.sleep = sleep
        self.event_stream = event_stream if event_stream is not None else sys.stderr
        self.progress = progress or (lambda line: None)

    def run(self, selection: Selection) -> RunSummary:
        workflow = self.workflow
        started = time.monotonic()
        summary = RunSummary(workflow.name, workflow.tenant_id, self.run_id)
        self.events.emit("dag_start", tasks_total=len(workflow.order), tasks_selected=len(selection.selected))
        outputs: dict[str, dict[str, Any]] = {}
        blocked: set[str] = set()  # failed tasks and those skipped because of a failure
        stopped_after: str | None = None
        for task_id in workflow.order:
            reason = _skip_reason(workflow.task(task_id), selection, blocked, stopped_after)
            if reason is not None:
                result = TaskResult(task_id, "skipped", reason=reason)
                if task_id not in selection.left_out:
                    blocked.add(task_id)  # skipped because of a failure: its dependants are too
                self.progress(f"SKIP {task_id}: {reason}")
            else:
                result = self._run_task(workflow.task(task_id), outputs)
                if result.status == "success":
                    outputs[task_id] = result.output or {}
                else:
                    blocked.add(task_id)
                    if not self.continue_on_error:
                        stopped_after = task_id
            summary.results[task_id] = result
        summary.duration_seconds = time.monotonic() - started
        self.events.emit(
            "dag_done",
            status="failed" if summary.exit_code else "success",
            tasks_total=summary.total,
            tasks_succeeded=summary.count("success"),
            tasks_failed=summary.count("failed"),
            tasks_skipped=summary.count("skipped"),
            duration_seconds=round(summary.duration_seconds, 3),
        )
        return summary

    def _run_task(self, task: WorkflowTask, outputs: dict[str, dict[str, Any]]) -> TaskResult:
        workflow = self.workflow
        params = payload_params(task.params, outputs, workflow.payload_from[task.id])
        retry_config = task.retry_config(self.retry_delay)
        started = time.monotonic()
        attempts = 0

        def one_try() -> dict[str, Any]:
            nonlocal attempts
            attempts += 1
            self.events.emit("task_start", task_id=task.id, workflow_ref=task.workflow_ref, attempt=attempts)
            self.progress(f"RUN  {task.id} ({task.workflow_ref}), try {attempts} of {task.retries + 1}")
            context = WorkflowContext(
                dag_id=workflow.name,
                workflow_name=workflow.name,
                tenant_id=workflow.tenant_id,
                task_id=task.id,
                run_id=self.run_id,
                try_number=attempts,
                base_dir=workflow.base_dir,
                app_root=workflow.app_root,
                orchestrator="cli",
                event_stream=self.event_stream,
            )
            return run_workflow_task(task.workflow_ref, workflow.modules, params, context)

        def announce_retry(state: RetryCallState) -> None:
            error = state.outcome.exception() if state.outcome else None
            delay = state.next_action.sleep if state.next_action else 0.0
            self.events.emit(
                "task_retry",
                task_id=task.id,
                attempt=state.attempt_number,
                retry=state.attempt_number,
                delay_seconds=delay,
                error=_describe(error),
            )
            self.progress(f"RETRY {task.id} in {delay:g}s: {_describe(error)}")

        retrying = Retrying(
            stop=stop_after_attempt(task.retries + 1),
            wait=lambda state: retry_config.delay_before_retry(state.attempt_number),
            retry=retry_if_exception(
                lambda exc: isinstance(exc, Exception) and not isinstance(exc, FatalWorkflowError)
            ),
            sleep=self.sleep,
            before_sleep=announce_retry,
            reraise=True,
        )
        try:
            output = retrying(one_try)
        except Exception as exc:
            result = TaskResult(task.id, "failed", attempts, error=_describe(exc))
            return self._finished(result, started, "task_fail", error=result.error)
        result = TaskResult(task.id, "success", attempts, output=output)
        return self._finished(result, started, "task_ok", output_keys=sorted(output))

    def _finished(self, result: TaskResult, started: float, event: str, **fields: Any) -> TaskResult:
        """Time the task, emit its last event and progress line."""
        result.duration_seconds = time.monotonic() - started
        self.events.emit(
            event,
            task_id=result.task_id,
            attempts=result.attempts,
            duration_seconds=round(result.duration_seconds, 3),
            **fields,
        )
        if result.status == "failed":
            self.progress(f"FAIL {result.task_id} after {result.attempts} try(s): {result.error}")
        else:
            self.progress(f"OK   {result.task_id} in {result.duration_seconds:.2f}s")
        return result


def _skip_reason(
    task: WorkflowTask, selection: Selection, blocked: set[str], stopped_after: str | None
) -> str | None:
    """Why ``task`` does not run (left out, the run stopped, an upstream failed), or ``None``."""
    if task.id in selection.left_out:
        return selection.left_out[task.id]
    if stopped_after is not None:
        return f"the run stopped after {stopped_after} failed"
    failed_upstream = [upstream for upstream in task.depends_on if upstream in blocked]
    if failed_upstream:
        return f"upstream {failed_upstream[0]} did not succeed"
    return None


def _describe(error: BaseException | None) -> str:
    return f"{type(error).__name__}: {error}" if error is not None else ""
