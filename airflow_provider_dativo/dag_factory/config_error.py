"""The placeholder DAG that stands in for a broken schedule, as plain data.

A schedule whose files are missing or invalid, or whose DAG Airflow refuses to build, becomes
a paused DAG tagged ``dativo:config-error`` whose description, docs and only task name the
schedule, file, line and field: the error is visible in the UI and hides no healthy schedule.
The arguments are cached and built like the healthy schedules' (:mod:`.build`).
"""

from __future__ import annotations

import re
from typing import TYPE_CHECKING, Any

if TYPE_CHECKING:
    from airflow_provider_dativo.plan.runner import ScheduleFailure

CONFIG_ERROR_TASK_ID = "config_error"
TAG_CONFIG_ERROR = "dativo:config-error"


def config_error_dag_id(failure: ScheduleFailure, taken: set[str]) -> str:
    """The schedule's own name when it is free and valid, else a stable derived id."""
    name = failure.name
    if name and re.fullmatch(r"[A-Za-z0-9_.-]{1,200}", name) and name not in taken:
        return name
    base = re.sub(r"[^A-Za-z0-9_.-]", "_", name or "unnamed")[:150]
    return f"dativo_config_error__{base}__schedule_{failure.index}"


def config_error_dag_args(failure: ScheduleFailure, dag_id: str) -> dict[str, Any]:
    """DAG arguments of the placeholder that shows a broken schedule's problems in the UI."""
    text = "\n".join(str(p) for p in failure.problems)
    first = str(failure.problems[0]) if failure.problems else "invalid schedule"
    return _placeholder_args(dag_id, text, first)


def build_failure_dag_args(dag_id: str, error: BaseException) -> dict[str, Any]:
    """Placeholder arguments for a schedule whose DAG Airflow refused to build (a value no check
    foresaw): the schedule shows its error instead of taking the whole runner file down."""
    text = f"schedule {dag_id!r}: the DAG cannot be built: {type(error).__name__}: {error}"
    return _placeholder_args(dag_id, text, text)


def _placeholder_args(dag_id: str, text: str, first: str) -> dict[str, Any]:
    return {
        "dag_id": dag_id,
        "description": f"CONFIG ERROR: {first}"[:1000],
        "catchup": False,
        "is_paused_upon_creation": True,
        "tags": ["dativo", TAG_CONFIG_ERROR],
        "doc_md": f"**This dativo schedule is misconfigured** and does not run.\n\n```\n{text}\n```\n",
        "error_message": text,
    }
