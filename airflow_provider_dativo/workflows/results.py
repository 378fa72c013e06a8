"""What a CLI run of a workflow file reports: each task's result and the run's summary.

The runner fills them, the state file records them, ``dativo workflow run`` prints them (and
``--json`` dumps them). A ``cached`` task did not run: the state held its result from an earlier
run (``from_run``), and that result is its payload downstream.
"""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass, field
from typing import Any, Literal

from airflow_provider_dativo.outcomes import EXIT_FAILURE
from airflow_provider_dativo.outcomes import EXIT_SUCCESS as EXIT_OK

Status = Literal["success", "failed", "skipped", "cached"]
ROW_KEYS = ("rows", "row_count", "records_valid")
"""Result keys that count rows, in order of preference: a workflow's own ``rows`` (or seed 004's
``row_count``), else ``records_valid`` of ``dativo_ingest``'s metrics (the rows written)."""


def rows_of(output: Mapping[str, Any] | None) -> int | None:
    """The row count a task reports in its result, or ``None`` when it reports none."""
    for key in ROW_KEYS:
        value = (output or {}).get(key)
        if isinstance(value, int) and not isinstance(value, bool):
            return value
    return None


@dataclass
class TaskResult:
    task_id: str
    status: Status
    attempts: int = 0
    duration_seconds: float = 0.0
    output: dict[str, Any] | None = None
    error: str | None = None
    reason: str | None = None
    """Why a skipped task did not run, why a cached one did not need to, or (in ``--changed`` and
    ``--resume`` runs) why a task ran."""
    rows: int | None = None
    finished_at: str | None = None
    """UTC time the task finished; for a cached task, when its stored result was made."""
    from_run: str | None = None
    """For a cached task: the run whose result stands in."""


@dataclass
class RunSummary:
    """What ``dativo workflow run`` prints: totals, duration and every task's result."""

    dag_name: str
    tenant_id: str
    run_id: str
    duration_seconds: float = 0.0
    results: dict[str, TaskResult] = field(default_factory=dict)
    mode: str = "full"
    state_file: str | None = None

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
            "mode": self.mode,
            "state_file": self.state_file,
            "total": self.total,
            "succeeded": self.count("success"),
            "failed": self.count("failed"),
            "skipped": self.count("skipped"),
            "cached": self.count("cached"),
            "duration_seconds": round(self.duration_seconds, 3),
            "tasks": {task_id: vars(result) for task_id, result in self.results.items()},
        }
