"""A task's definition as a fingerprint: ``dativo workflow run --changed`` reruns a task whose
fingerprint differs from the one recorded at its last success.

The definition is the task's entry in the workflow file (``tags`` left out: they only select),
the content of the job and asset files its params name, and the workflow function's source
where Python can tell it (``inspect.getsource``). Each part is hashed on its own (sha256, cut
to 16 hex digits: edit detection, no security boundary), so a rerun can say what changed.
"""

from __future__ import annotations

import hashlib
import inspect
import json
from collections.abc import Mapping
from dataclasses import dataclass
from pathlib import Path
from typing import Any

from airflow_provider_dativo.workflows.loader import LoadedWorkflow
from airflow_provider_dativo.workflows.registry import load_workflow

FILE_PART = "file:"
FUNCTION_UNKNOWN = "unknown"
"""The ``function`` part of a function whose source Python cannot tell."""
_DESCRIBED = {
    "workflow_ref": "workflow_ref",
    "params": "params",
    "depends_on": "depends_on",
    "retries": "retry settings",
    "function": "workflow function source",
}


def digest(value: Any) -> str:
    """Hash of a JSON value (keys sorted, so dict order never counts)."""
    text = json.dumps(value, sort_keys=True, separators=(",", ":"), default=str, ensure_ascii=False)
    return hashlib.sha256(text.encode()).hexdigest()[:16]


@dataclass(frozen=True)
class Fingerprint:
    """One task's definition: ``value`` is the hash of all ``parts``."""

    value: str
    parts: dict[str, str]


def task_fingerprints(workflow: LoadedWorkflow) -> dict[str, Fingerprint]:
    """The fingerprint of every task of ``workflow``, read now (files and functions as they are)."""
    return {task_id: task_fingerprint(workflow, task_id) for task_id in workflow.order}


def task_fingerprint(workflow: LoadedWorkflow, task_id: str) -> Fingerprint:
    task = workflow.task(task_id)
    parts = {
        "workflow_ref": digest(task.workflow_ref),
        "params": digest(task.params),
        "depends_on": digest(sorted(set(task.depends_on))),
        "retries": digest(
            [task.retries, task.retry_delay_seconds, task.max_retry_delay_seconds, task.backoff_multiplier]
        ),
        "function": _function_part(task.workflow_ref, workflow.modules),
    }
    for path in dict.fromkeys(workflow.config_files.get(task_id, [])):
        parts[f"{FILE_PART}{path}"] = _file_part(path)
    return Fingerprint(digest(parts), parts)


def describe_change(old: Mapping[str, str], new: Mapping[str, str]) -> str:
    """What differs between two fingerprints' parts, for a person: ``params changed``,
    ``job or asset file /x/orders.yaml changed``, ..."""
    changed = []
    for name, label in _DESCRIBED.items():
        if old.get(name) != new.get(name):
            changed.append(label)
    old_files = {k.removeprefix(FILE_PART): v for k, v in old.items() if k.startswith(FILE_PART)}
    new_files = {k.removeprefix(FILE_PART): v for k, v in new.items() if k.startswith(FILE_PART)}
    for path in sorted(set(old_files) | set(new_files)):
        if old_files.get(path) != new_files.get(path):
            changed.append(f"file {path}")
    return f"{', '.join(changed) or 'definition'} changed"


def _file_part(path: Path) -> str:
    try:
        return hashlib.sha256(path.read_bytes()).hexdigest()[:16]
    except OSError:
        return "missing"


def _function_part(ref: str, modules: list[str]) -> str:
    try:
        func = load_workflow(ref, modules).func
        return digest(inspect.getsource(func))
    except Exception:  # unknown ref (the task will fail and say why), no source: cannot tell
        return FUNCTION_UNKNOWN
