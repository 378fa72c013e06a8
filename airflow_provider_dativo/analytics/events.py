"""Read event files into one list in seed 003's vocabulary.

Two producers write JSON Lines: ``dativo workflow run`` appends the seed's orchestrator events
(``event``: dag_start, task_start, task_ok, task_fail, task_retry, dag_done, keyed by
``dag_name`` and ``run_id``), and ``dativo run`` prints job events (``event_type``:
job_started, metrics_complete, job_finished, job_error, retry_attempt, keyed by ``job_name``).
A job run is read as a one-task DAG run (task ``ingest``), so every summary counts both alike:
``job_started`` -> dag_start and task_start, ``job_finished`` -> task_ok and dag_done,
``job_error`` -> task_fail and dag_done (failed), ``retry_attempt`` -> task_retry. The rows a
job loaded and rejected (``metrics_complete``) ride on its task_ok / task_fail.
"""

from __future__ import annotations

import json
import os
from collections import deque
from collections.abc import Iterable, Iterator
from datetime import datetime, timezone
from pathlib import Path
from typing import Any

_EPOCH = datetime.fromtimestamp(0, timezone.utc)
JOB_TASK_ID = "ingest"
"""The task id a ``dativo run`` job is counted under (the ingest DAG's only task)."""


def parse_time(value: Any) -> datetime | None:
    """An event's ISO-8601 ``timestamp`` as an aware datetime (zone-less ones are UTC)."""
    if isinstance(value, datetime):
        moment = value
    elif isinstance(value, str) and value:
        try:
            moment = datetime.fromisoformat(value.replace("Z", "+00:00"))
        except ValueError:
            return None
    else:
        return None
    return moment if moment.tzinfo else moment.replace(tzinfo=timezone.utc)


def _job_events(raw: dict[str, Any], metrics: dict[str, dict[str, Any]]) -> list[dict[str, Any]]:
    """One ``dativo run`` event in the seed's vocabulary (none for the purely informative ones)."""
    kind = raw["event_type"]
    run_key = raw.get("run_id") or raw.get("job_name") or ""
    base = {
        "timestamp": raw.get("timestamp"),
        "dag_name": raw.get("job_name"),
        "tenant_id": raw.get("tenant_id"),
        "run_id": raw.get("run_id"),
        "source": "dativo run",
    }
    if kind == "job_started":
        metrics.pop(run_key, None)
        return [{**base, "event": "dag_start"}, {**base, "event": "task_start", "task_id": JOB_TASK_ID}]
    if kind == "metrics_complete":
        metrics[run_key] = raw
        return []
    if kind == "retry_attempt":
        return [{**base, "event": "task_retry", "task_id": JOB_TASK_ID, "error": raw.get("error")}]
    if kind not in ("job_finished", "job_error"):
        return []
    done = metrics.pop(run_key, {})
    ok = kind == "job_finished"
    task = {
        **base,
        "event": "task_ok" if ok else "task_fail",
        "task_id": JOB_TASK_ID,
        "duration_seconds": done.get("execution_time_seconds"),
        "rows_loaded": done.get("records_valid", 0) if ok else 0,
        "rows_rejected": done.get("records_invalid", 0),
        "table": done.get("table"),
        "error": None if ok else raw.get("error"),
    }
    dag_done = {**base, "event": "dag_done", "status": "success" if ok else "failed"}
    return [task, dag_done]


def normalize(records: Iterable[dict[str, Any]]) -> Iterator[dict[str, Any]]:
    """Seed-vocabulary events from raw records of either producer (others are passed through)."""
    metrics: dict[str, dict[str, Any]] = {}
    for raw in records:
        if "event" in raw:
            yield raw
        elif "event_type" in raw:
            yield from _job_events(raw, metrics)


def _records(path: Path) -> Iterator[dict[str, Any]]:
    """The JSON objects of a file, one a line; lines that are not JSON objects are skipped
    (a ``dativo run`` log may hold other output)."""
    with path.open(encoding="utf-8", errors="replace") as handle:
        for line in handle:
            line = line.strip()
            if not line.startswith("{"):
                continue
            try:
                record = json.loads(line)
            except ValueError:
                continue
            if isinstance(record, dict):
                yield record


def load_events(
    path: str | os.PathLike[str] | Iterable[str | os.PathLike[str]], limit: int | None = 5000
) -> list[dict[str, Any]]:
    """The last ``limit`` events (all with ``None``) of one file or several, oldest first.

    A missing file yields no events, as in the seed (a fresh deployment has none yet).
    """
    paths = [path] if isinstance(path, (str, os.PathLike)) else list(path)
    events: list[dict[str, Any]] = []
    for one in paths:
        file = Path(one)
        if file.is_file():
            events.extend(normalize(_records(file)))
    if len(paths) > 1:  # interleave the files by time (the sort is stable within each)
        events.sort(key=lambda e: parse_time(e.get("timestamp")) or _EPOCH)
    return list(deque(events, maxlen=limit)) if limit else events
