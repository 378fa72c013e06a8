"""Which tasks a CLI run executes: ``--only`` (with what they need, or ``--downstream`` what
depends on them) and ``--exclude-tags``. Tasks left out are reported as skipped.

Selection does not cascade through failures or exclusions: a task whose upstream was left out
still runs, without that upstream's keys (as ``dbt --select`` does); run the upstream too, or
select it with ``--only``, when a task needs its results.
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass

from airflow_provider_dativo.workflows.graph import descendants
from airflow_provider_dativo.workflows.loader import LoadedWorkflow


@dataclass(frozen=True)
class Selection:
    """The tasks to run, in execution order, and why each other task is skipped."""

    selected: list[str]
    left_out: dict[str, str]


def select_tasks(
    workflow: LoadedWorkflow,
    *,
    only: Sequence[str] = (),
    downstream: bool = False,
    exclude_tags: Sequence[str] = (),
) -> Selection:
    """Raises ``ValueError`` when ``only`` names a task the file does not have."""
    unknown = [task_id for task_id in only if task_id not in workflow.payload_from]
    if unknown:
        raise ValueError(
            f"unknown task id(s) {', '.join(unknown)} in --only; task ids: {', '.join(workflow.order)}"
        )
    chosen = set(workflow.order)
    if only:
        chosen = set(only)
        if downstream:
            chosen |= descendants(workflow.graph, list(only))
        else:
            chosen |= {upstream for task_id in only for upstream in workflow.payload_from[task_id]}
    left_out: dict[str, str] = {}
    for task_id in workflow.order:
        tags = [tag for tag in workflow.task(task_id).tags if tag in exclude_tags]
        if task_id not in chosen:
            left_out[task_id] = "not selected by --only"
        elif tags:
            left_out[task_id] = f"excluded by tag {tags[0]!r}"
    return Selection([t for t in workflow.order if t not in left_out], left_out)
