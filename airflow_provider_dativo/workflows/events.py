"""The seeds' orchestrator events, one JSON object per line, appended to ``ORCH_EVENTS_PATH``.

Seed 003 writes ``dag_start``, ``task_start``, ``task_ok``, ``task_fail``, ``task_retry`` and
``dag_done`` to ``logs/orchestrator_events.jsonl`` for its dashboards; ``dativo workflow run``
appends the same events (with the seed's ``timestamp``, ``event``, ``dag_name`` and
``task_id`` keys, plus the run's identity) so those dashboards keep working.
"""

from __future__ import annotations

import json
import os
from pathlib import Path
from typing import Any

from airflow_provider_dativo import settings
from airflow_provider_dativo.engine.events import utc_timestamp


def events_path(explicit: str | os.PathLike[str] | None = None) -> Path:
    """The argument, then ``ORCH_EVENTS_PATH``, then ``logs/orchestrator_events.jsonl`` (relative
    to the current directory, as in the seeds)."""
    return settings.events_path(explicit)


class EventLog:
    """Appends the events of one DAG run; every event carries the DAG, tenant and run id."""

    def __init__(self, path: Path, *, dag_name: str, tenant_id: str, run_id: str) -> None:
        self.path = path
        self.identity = {"dag_name": dag_name, "tenant_id": tenant_id, "run_id": run_id}
        self.written: list[dict[str, Any]] = []

    def emit(self, event: str, **fields: Any) -> dict[str, Any]:
        record = {"timestamp": utc_timestamp(), "event": event, **self.identity, **fields}
        self.path.parent.mkdir(parents=True, exist_ok=True)
        with self.path.open("a", encoding="utf-8") as out:
            out.write(json.dumps(record, default=str, ensure_ascii=False) + "\n")
        self.written.append(record)
        return record
