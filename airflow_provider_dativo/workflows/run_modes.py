"""Which selected tasks run and which are ``cached``, per run mode (seed 004's incremental runs).

- ``full`` (the default): every selected task runs; the state is refreshed.
- ``changed``: a task runs when it is not up to date: never run, failed, skipped or interrupted
  in the last run that planned it, its definition changed since its success
  (:mod:`.fingerprint`), or what it would receive from the tasks it depends on is not what it
  received when it ran (a newer result; nothing from a task left out by the selection). Every
  task that depends on a task that runs runs too. The others are cached.
- ``resume``: only what did not succeed in the last run that planned it runs (failed, skipped,
  interrupted, or never run); what succeeded is cached even if its definition changed since
  (the plan says so: ``--changed`` would run it).

A cached task's stored result is its payload downstream. Tasks left out by ``--only`` or
``--exclude-tags`` are neither run nor cached, whatever the mode.
"""

from __future__ import annotations

from dataclasses import dataclass, field
from typing import Literal

from airflow_provider_dativo.workflows.fingerprint import Fingerprint, describe_change, digest
from airflow_provider_dativo.workflows.loader import LoadedWorkflow
from airflow_provider_dativo.workflows.selection import Selection
from airflow_provider_dativo.workflows.state import TaskRecord, WorkflowState

RunMode = Literal["full", "changed", "resume"]
RUN_MODES: tuple[RunMode, ...] = ("full", "changed", "resume")


@dataclass(frozen=True)
class RunPlan:
    """``cached``: task id -> the record whose result stands in; ``why``: for every selected task,
    why it runs or why it is cached (empty for a task that runs in a full run)."""

    mode: RunMode = "full"
    cached: dict[str, TaskRecord] = field(default_factory=dict)
    why: dict[str, str] = field(default_factory=dict)

    @property
    def tasks_to_run(self) -> int:
        return len(self.why) - len(self.cached)


def plan_run(
    workflow: LoadedWorkflow,
    selection: Selection,
    mode: RunMode,
    state: WorkflowState | None,
    fingerprints: dict[str, Fingerprint],
) -> RunPlan:
    records = state.tasks if state is not None else {}
    plan = RunPlan(mode)
    running: set[str] = set()
    for task_id in selection.selected:
        record = records.get(task_id)
        if mode == "full":
            reason = ""
        elif mode == "changed":
            received = _results_received(workflow.payload_from[task_id], selection, plan, running)
            reason = _why_run_changed(record, fingerprints[task_id], received)
        else:
            reason = _why_run_resume(record)
        if reason is None:
            assert record is not None
            plan.cached[task_id] = record
            plan.why[task_id] = _why_cached(mode, record, fingerprints[task_id])
        else:
            running.add(task_id)
            plan.why[task_id] = reason
    return plan


def result_digest(result: dict | None) -> str:
    """Identity of a task's result, stored with each dependant as the result it received."""
    return digest(result)


def _not_done(record: TaskRecord | None) -> str | None:
    """Why a record does not count as done, or ``None`` when it does."""
    if record is None:
        return "not run before"
    if record.status == "running":
        return f"interrupted in run {record.run_id} (the process stopped while it ran)"
    if record.status == "failed":
        return f"failed in run {record.run_id}"
    if record.status == "skipped":
        return f"skipped in run {record.run_id} ({record.reason})"
    return None


def _why_run_resume(record: TaskRecord | None) -> str | None:
    return _not_done(record)


def _results_received(
    upstreams: list[str], selection: Selection, plan: RunPlan, running: set[str]
) -> dict[str, str | None]:
    """What a task would receive from each upstream in this run: ``"runs"`` (a new result), the
    hash of a cached one, or ``None`` (left out by the selection: nothing)."""
    received: dict[str, str | None] = {}
    for upstream in upstreams:
        if upstream in running:
            received[upstream] = "runs"
        elif upstream in plan.cached:
            received[upstream] = result_digest(plan.cached[upstream].result)
        else:
            received[upstream] = None
    return received


def _why_run_changed(
    record: TaskRecord | None, fingerprint: Fingerprint, received: dict[str, str | None]
) -> str | None:
    not_done = _not_done(record)
    if not_done is not None or record is None:
        return not_done
    if record.fingerprint != fingerprint.value:
        return describe_change(record.parts, fingerprint.parts)
    for upstream, now in received.items():
        if now == "runs":
            return f"upstream {upstream} runs"
        if record.upstream.get(upstream) != now:
            return f"the result of upstream {upstream} is not the one it received"
    return None


def _why_cached(mode: RunMode, record: TaskRecord, fingerprint: Fingerprint) -> str:
    made = f"run {record.run_id}" + (f" at {record.finished_at}" if record.finished_at else "")
    if mode == "changed":
        return f"unchanged since its success in {made}"
    note = ""
    if record.fingerprint != fingerprint.value:
        note = f"; since then its {describe_change(record.parts, fingerprint.parts)} (--changed would run it)"
    return f"succeeded in {made}{note}"
