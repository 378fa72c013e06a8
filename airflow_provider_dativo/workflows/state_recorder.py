"""Keeps a workflow's state file current while ``dativo workflow run`` runs.

The file is written when the run starts (``last_run`` says ``running``), before each task (its
record says ``running``: if the process dies, the next run knows that task was interrupted),
after each task, and when the run ends. Tasks left out by ``--only``/``--exclude-tags`` keep
the record of the last run that planned them; records of tasks no longer in the file are
dropped.
"""

from __future__ import annotations

import os
from collections.abc import Mapping
from pathlib import Path
from typing import Any

from airflow_provider_dativo.engine.events import utc_timestamp
from airflow_provider_dativo.workflows.fingerprint import Fingerprint
from airflow_provider_dativo.workflows.loader import LoadedWorkflow
from airflow_provider_dativo.workflows.results import RunSummary, TaskResult
from airflow_provider_dativo.workflows.run_modes import RunMode, result_digest
from airflow_provider_dativo.workflows.state import LastRun, TaskRecord, WorkflowState, write_state


class StateRecorder:
    """Records one run in ``path``; ``previous`` is the state read (under the run lock) before it."""

    def __init__(
        self,
        path: Path,
        workflow: LoadedWorkflow,
        previous: WorkflowState | None,
        fingerprints: dict[str, Fingerprint],
        *,
        mode: RunMode,
        run_id: str,
    ) -> None:
        self.path = path
        self.workflow = workflow
        self.fingerprints = fingerprints
        self.mode = mode
        self.run_id = run_id
        state = previous.model_copy(deep=True) if previous is not None else WorkflowState.empty(workflow)
        state.workflow_file = str(workflow.path)
        state.tasks = {task_id: r for task_id, r in state.tasks.items() if task_id in workflow.payload_from}
        self.state = state

    def run_started(self) -> None:
        self.state.last_run = LastRun(
            run_id=self.run_id, mode=self.mode, status="running", started_at=utc_timestamp(), pid=os.getpid()
        )
        self._save()

    def task_started(self, task_id: str) -> None:
        self.state.tasks[task_id] = self._record(task_id, status="running", started_at=utc_timestamp())
        self._save()

    def task_done(self, result: TaskResult, upstream_results: Mapping[str, Mapping[str, Any]]) -> None:
        """Record a task that ran, was cached or was skipped because of a failure."""
        task_id = result.task_id
        if result.status == "cached":
            self.state.tasks[task_id] = self.state.tasks[task_id].model_copy(update={"status": "cached"})
        else:
            started = self.state.tasks.get(task_id)
            self.state.tasks[task_id] = self._record(
                task_id,
                status=result.status,
                attempts=result.attempts,
                duration_seconds=round(result.duration_seconds, 3),
                rows=result.rows,
                started_at=started.started_at if started and started.run_id == self.run_id else None,
                finished_at=result.finished_at,
                result=result.output if result.status == "success" else None,
                error=result.error,
                reason=result.reason,
                upstream={
                    upstream: result_digest(dict(upstream_results[upstream]))
                    for upstream in self.workflow.payload_from[task_id]
                    if upstream in upstream_results
                },
            )
        self._save()

    def run_finished(self, summary: RunSummary | None) -> None:
        """``None``: the run was interrupted (Ctrl-C) before it could finish."""
        assert self.state.last_run is not None
        status = "interrupted" if summary is None else "failed" if summary.exit_code else "success"
        self.state.last_run = self.state.last_run.model_copy(
            update={"status": status, "finished_at": utc_timestamp()}
        )
        self._save()

    def _record(self, task_id: str, **fields: Any) -> TaskRecord:
        fingerprint = self.fingerprints[task_id]
        return TaskRecord(
            run_id=self.run_id, fingerprint=fingerprint.value, parts=fingerprint.parts, **fields
        )

    def _save(self) -> None:
        self.state.updated_at = utc_timestamp()
        write_state(self.path, self.state)
