"""Run a workflow file in this process, for CI and local work (``dativo workflow run``).

Tasks run one at a time in the plan's order. Each gets the same params and upstream keys as on
Airflow (:mod:`.execution`), is retried with tenacity after exactly the delays Airflow's
retry policy uses, and emits the seeds' orchestrator events. After a failure the run stops;
with ``continue_on_error`` it goes on, skipping only the tasks that depend on the failure
(directly or through others) while independent branches run.

With a :class:`~.run_modes.RunPlan` some tasks are ``cached``: they do not run, and the result
the state file holds for them is their payload downstream. With a
:class:`~.state_recorder.StateRecorder` every step is written to the state file as it happens.
"""

from __future__ import annotations

import os
import sys
import time
import uuid
from collections.abc import Callable
from typing import Any, TextIO

from tenacity import RetryCallState, Retrying, retry_if_exception, stop_after_attempt

from airflow_provider_dativo.config.workflow import WorkflowTask
from airflow_provider_dativo.engine.events import utc_timestamp
from airflow_provider_dativo.workflows.context import WorkflowContext
from airflow_provider_dativo.workflows.errors import FatalWorkflowError
from airflow_provider_dativo.workflows.events import EventLog
from airflow_provider_dativo.workflows.events import events_path as events_path_of
from airflow_provider_dativo.workflows.execution import payload_params, run_workflow_task
from airflow_provider_dativo.workflows.loader import LoadedWorkflow
from airflow_provider_dativo.workflows.progress import Progress
from airflow_provider_dativo.workflows.results import EXIT_FAILURE, EXIT_OK, RunSummary, TaskResult, rows_of
from airflow_provider_dativo.workflows.run_modes import RunPlan
from airflow_provider_dativo.workflows.selection import Selection
from airflow_provider_dativo.workflows.state_recorder import StateRecorder

__all__ = ["EXIT_FAILURE", "EXIT_OK", "RunSummary", "TaskResult", "WorkflowRunner"]


def new_run_id() -> str:
    return f"cli__{uuid.uuid4()}"


class WorkflowRunner:
    """Runs one loaded workflow file; build one per run.

    :param events_path: the JSONL file events are appended to (default ``ORCH_EVENTS_PATH``).
    :param retry_delay: replaces every task's ``retry_delay_seconds`` (base of the backoff).
    :param sleep: what waits between tries (tests pass a recorder).
    :param event_stream: where ``dativo_ingest`` jobs write their JSON events.
    :param progress: receives a line when each task starts and ends.
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
        progress: Progress | None = None,
    ) -> None:
        self.workflow = workflow
        self.run_id = run_id or new_run_id()
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
        self.progress = progress or Progress(None, len(workflow.order))

    def run(
        self, selection: Selection, plan: RunPlan | None = None, recorder: StateRecorder | None = None
    ) -> RunSummary:
        """Run the selected tasks; ``plan`` names the cached ones, ``recorder`` keeps the state."""
        plan = plan or RunPlan()
        if recorder is not None:
            recorder.run_started()
        try:
            summary = self._run(selection, plan, recorder)
        except BaseException:
            if recorder is not None:
                recorder.run_finished(None)
            raise
        if recorder is not None:
            recorder.run_finished(summary)
        return summary

    def _run(self, selection: Selection, plan: RunPlan, recorder: StateRecorder | None) -> RunSummary:
        workflow = self.workflow
        started = time.monotonic()
        summary = RunSummary(workflow.name, workflow.tenant_id, self.run_id, mode=plan.mode)
        if recorder is not None:
            summary.state_file = str(recorder.path)
        self.events.emit(
            "dag_start",
            tasks_total=len(workflow.order),
            tasks_selected=len(selection.selected),
            mode=plan.mode,
            tasks_cached=len(plan.cached),
        )
        outputs: dict[str, dict[str, Any]] = {}
        blocked: set[str] = set()  # failed tasks and those skipped because of a failure
        stopped_after: str | None = None
        for number, task_id in enumerate(workflow.order, start=1):
            task = workflow.task(task_id)
            reason = _skip_reason(task, selection, blocked, stopped_after, task_id in plan.cached)
            if reason is not None:
                result = TaskResult(task_id, "skipped", reason=reason)
                self.progress.skipped(number, task_id, reason)
            elif task_id in plan.cached:
                result = self._cached(number, task, plan)
            else:
                if recorder is not None:
                    recorder.task_started(task_id)
                result = self._run_task(number, task, outputs, plan.why.get(task_id, ""))
                result.reason = plan.why.get(task_id) or None
            if result.status in ("success", "cached"):
                outputs[task_id] = result.output or {}
            elif task_id not in selection.left_out:
                blocked.add(task_id)  # failed, or skipped because of a failure: its dependants too
                if result.status == "failed" and not self.continue_on_error:
                    stopped_after = task_id
            if recorder is not None and task_id not in selection.left_out:
                recorder.task_done(result, outputs)
            summary.results[task_id] = result
        summary.duration_seconds = time.monotonic() - started
        self.events.emit(
            "dag_done",
            status="failed" if summary.exit_code else "success",
            tasks_total=summary.total,
            tasks_succeeded=summary.count("success"),
            tasks_failed=summary.count("failed"),
            tasks_skipped=summary.count("skipped"),
            tasks_cached=summary.count("cached"),
            duration_seconds=round(summary.duration_seconds, 3),
        )
        return summary

    def _cached(self, number: int, task: WorkflowTask, plan: RunPlan) -> TaskResult:
        """A task whose stored result stands in for a run."""
        record = plan.cached[task.id]
        reason = plan.why[task.id]
        output = dict(record.result or {})
        self.events.emit(
            "task_cached",
            task_id=task.id,
            workflow_ref=task.workflow_ref,
            reason=reason,
            result_run_id=record.run_id,
            result_finished_at=record.finished_at,
            output_keys=sorted(output),
        )
        self.progress.cached(number, task.id, reason)
        return TaskResult(
            task.id,
            "cached",
            output=output,
            reason=reason,
            rows=record.rows,
            finished_at=record.finished_at,
            from_run=record.run_id,
        )

    def _run_task(
        self, number: int, task: WorkflowTask, outputs: dict[str, dict[str, Any]], why: str
    ) -> TaskResult:
        workflow = self.workflow
        params = payload_params(task.params, outputs, workflow.payload_from[task.id])
        retry_config = task.retry_config(self.retry_delay)
        started = time.monotonic()
        attempts = 0
        tries = task.retries + 1

        def one_try() -> dict[str, Any]:
            nonlocal attempts
            attempts += 1
            self.events.emit("task_start", task_id=task.id, workflow_ref=task.workflow_ref, attempt=attempts)
            self.progress.started(number, task.id, attempts, tries, why)
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
                tries=tries,
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
            self.progress.retrying(task.id, state.attempt_number, tries, delay, _describe(error))

        retrying = Retrying(
            stop=stop_after_attempt(tries),
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
        result = TaskResult(task.id, "success", attempts, output=output, rows=rows_of(output))
        return self._finished(result, started, "task_ok", output_keys=sorted(output))

    def _finished(self, result: TaskResult, started: float, event: str, **fields: Any) -> TaskResult:
        """Time the task, emit its last event and progress line."""
        result.duration_seconds = time.monotonic() - started
        result.finished_at = utc_timestamp()
        self.events.emit(
            event,
            task_id=result.task_id,
            attempts=result.attempts,
            duration_seconds=round(result.duration_seconds, 3),
            **({"rows": result.rows} if result.rows is not None else {}),
            **fields,
        )
        if result.status == "failed":
            self.progress.failed(result.task_id, result.attempts, result.duration_seconds, result.error or "")
        else:
            self.progress.succeeded(result.task_id, result.duration_seconds, result.rows)
        return result


def _skip_reason(
    task: WorkflowTask, selection: Selection, blocked: set[str], stopped_after: str | None, cached: bool
) -> str | None:
    """Why ``task`` does not run (left out, the run stopped, an upstream failed), or ``None``.

    A cached task runs nothing, so a stopped run still reports it cached (its stored result stays
    valid); only a failed upstream makes it skipped.
    """
    if task.id in selection.left_out:
        return selection.left_out[task.id]
    if stopped_after is not None and not cached:
        return f"the run stopped after {stopped_after} failed"
    failed_upstream = [upstream for upstream in task.depends_on if upstream in blocked]
    if failed_upstream:
        return f"upstream {failed_upstream[0]} did not succeed"
    return None


def _describe(error: BaseException | None) -> str:
    return f"{type(error).__name__}: {error}" if error is not None else ""
