"""Notifiers a runner file can name as ``freshness_notifier`` without writing code.

``append_jsonl`` appends each ``freshness_missed`` event to a JSON Lines file, so the misses of
every schedule are in one place that ``tail -f``, a log shipper or a script can read:
``DATIVO_FRESHNESS_EVENTS_PATH``, else ``$DATIVO_HOME/freshness_events.jsonl``.
"""

from __future__ import annotations

import json
from pathlib import Path
from typing import Any

from airflow_provider_dativo.settings import freshness_events_path


def events_file() -> Path:
    return freshness_events_path()


def append_jsonl(event: dict[str, Any]) -> None:
    """Append ``event`` as one line (called in a worker thread of the triggerer)."""
    path = events_file()
    path.parent.mkdir(parents=True, exist_ok=True)
    with path.open("a", encoding="utf-8") as out:
        out.write(json.dumps(event, default=str, ensure_ascii=False) + "\n")
