"""The state file of a workflow: what each task last did, so a CLI run can skip what is done.

One JSON file per workflow (seed 004's ``execution_state.json``, per workflow and with more in
it). For each task: its definition's fingerprint, status in the last run that planned it,
tries, duration, rows, finish time and result (or error), and the results of its upstream
tasks it received (as hashes). It is rewritten atomically (a temporary file, fsync, rename)
before and after every task, so a killed run leaves the state of the last finished task and
marks the interrupted one ``running``.

A file that is not valid JSON, not a state file, of a newer format, or of another workflow is
an error that names the file and what is wrong; it is never used as if it were empty.
"""

from __future__ import annotations

import json
import os
import tempfile
from pathlib import Path
from typing import Any, Literal

from pydantic import BaseModel, ConfigDict, Field, ValidationError, model_validator

from airflow_provider_dativo.settings import dativo_home, workflow_state
from airflow_provider_dativo.workflows.loader import LoadedWorkflow

STATE_FORMAT = "dativo-workflow-state"
STATE_VERSION = 1
RecordStatus = Literal["success", "failed", "skipped", "cached", "running"]
UP_TO_DATE = ("success", "cached")


class StateFileError(Exception):
    """The state file cannot be used; the message names the file and says why and what to do."""

    def __init__(self, path: Path, message: str) -> None:
        self.path = path
        super().__init__(message)


class CorruptStateError(StateFileError):
    """Not a readable dativo workflow state file."""


class ForeignStateError(StateFileError):
    """A valid state file of another workflow."""


class _Model(BaseModel):
    model_config = ConfigDict(extra="forbid")


class TaskRecord(_Model):
    """What one task did the last time a run planned it."""

    status: RecordStatus
    run_id: str = Field(description="The run that made this record (for 'cached': its result's run).")
    fingerprint: str
    parts: dict[str, str] = Field(default_factory=dict, description="Hash of each part of the definition.")
    attempts: int = Field(0, ge=0)
    duration_seconds: float = Field(0.0, ge=0)
    rows: int | None = None
    started_at: str | None = None
    finished_at: str | None = None
    result: dict[str, Any] | None = None
    error: str | None = None
    reason: str | None = None
    upstream: dict[str, str] = Field(
        default_factory=dict, description="upstream task id -> hash of the result this task received"
    )

    @model_validator(mode="after")
    def _result_of_success(self) -> TaskRecord:
        if self.status in UP_TO_DATE and self.result is None:
            raise ValueError(f"a {self.status!r} record must hold the task's result")
        return self

    @property
    def up_to_date(self) -> bool:
        return self.status in UP_TO_DATE


class LastRun(_Model):
    run_id: str
    mode: str
    status: Literal["running", "success", "failed", "interrupted"]
    started_at: str
    finished_at: str | None = None
    pid: int | None = None


class WorkflowState(_Model):
    format: Literal["dativo-workflow-state"] = STATE_FORMAT
    version: int = STATE_VERSION
    workflow: str
    tenant_id: str
    workflow_file: str
    updated_at: str | None = None
    last_run: LastRun | None = None
    tasks: dict[str, TaskRecord] = Field(default_factory=dict)

    @classmethod
    def empty(cls, workflow: LoadedWorkflow) -> WorkflowState:
        return cls(workflow=workflow.name, tenant_id=workflow.tenant_id, workflow_file=str(workflow.path))


def state_path(workflow: LoadedWorkflow, explicit: str | os.PathLike[str] | None = None) -> Path:
    """The argument (``--state``), else ``DATIVO_WORKFLOW_STATE``, else
    ``$DATIVO_HOME/workflow-state/<tenant>/<name>.json`` (``DATIVO_HOME`` defaulting to
    ``.dativo``). A folder (existing, or written with a trailing ``/``) holds one file per
    workflow, ``<folder>/<tenant>/<name>.json``."""
    raw = workflow_state(explicit)
    per_workflow = Path(workflow.tenant_id) / f"{workflow.name}.json"
    if raw:
        path = Path(raw).expanduser()
        return path / per_workflow if raw.endswith(("/", os.sep)) or path.is_dir() else path
    return dativo_home() / "workflow-state" / per_workflow


def read_state(path: Path, workflow: LoadedWorkflow) -> WorkflowState | None:
    """The state in ``path`` (``None`` when there is no file yet).

    Raises :class:`CorruptStateError` or :class:`ForeignStateError`.
    """
    try:
        text = path.read_text(encoding="utf-8")
    except FileNotFoundError:
        return None
    except (OSError, UnicodeDecodeError) as exc:
        raise CorruptStateError(path, f"state file {path} cannot be read: {exc}") from None
    try:
        data = json.loads(text)
    except json.JSONDecodeError as exc:
        where = f"{path}:{exc.lineno}"
        raise CorruptStateError(
            path, f"state file {where}: is corrupt, not valid JSON ({exc.msg}, column {exc.colno})"
        ) from None
    if not isinstance(data, dict) or data.get("format") != STATE_FORMAT:
        raise CorruptStateError(
            path, f'state file {path} is not a dativo workflow state file (no "format": "{STATE_FORMAT}")'
        )
    if data.get("version") != STATE_VERSION:
        raise CorruptStateError(
            path,
            f"state file {path} has format version {data.get('version')!r}; this dativo reads version "
            f"{STATE_VERSION}",
        )
    try:
        state = WorkflowState.model_validate(data)
    except ValidationError as exc:
        problems = "; ".join(
            f"{'.'.join(str(part) for part in error['loc']) or '(top)'}: {error['msg']}"
            for error in exc.errors()[:3]
        )
        raise CorruptStateError(path, f"state file {path} is corrupt: {problems}") from None
    if (state.workflow, state.tenant_id) != (workflow.name, workflow.tenant_id):
        raise ForeignStateError(
            path,
            f"state file {path} belongs to workflow {state.workflow!r} of tenant {state.tenant_id!r} "
            f"(file {state.workflow_file}), not to {workflow.name!r} of tenant {workflow.tenant_id!r}; "
            "pass --state with this workflow's own state file",
        )
    return state


def write_state(path: Path, state: WorkflowState) -> None:
    """Replace ``path`` with ``state`` atomically: readers see the old file or the new one, and a
    crash leaves one of them whole. The file is private to its owner (mode 0600)."""
    path.parent.mkdir(parents=True, exist_ok=True)
    descriptor, temporary = tempfile.mkstemp(dir=path.parent, prefix=f".{path.name}.", suffix=".tmp")
    try:
        with os.fdopen(descriptor, "w", encoding="utf-8") as out:
            out.write(state.model_dump_json(indent=2))
            out.write("\n")
            out.flush()
            os.fsync(out.fileno())
        os.replace(temporary, path)
    except BaseException:
        Path(temporary).unlink(missing_ok=True)
        raise


def set_aside(path: Path, stamp: str) -> Path:
    """Move a corrupt state file out of the way (kept for inspection); returns its new name."""
    aside = path.with_name(f"{path.name}.corrupt-{stamp.replace(':', '')}")
    os.replace(path, aside)
    return aside
