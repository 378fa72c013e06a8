"""Seed 003's analytics API over the JSON Lines events of ``dativo workflow run`` and ``dativo run``.

::

    from airflow_provider_dativo.analytics import (
        load_events, summarize_tasks, summarize_dags, summarize_schedules, per_tenant_load,
    )

    events = load_events("logs/orchestrator_events.jsonl", limit=5000)
    stats = summarize_tasks(events, window_hours=24)
    print(f"Error rate: {stats['last_24h']['error_rate'] * 100:.1f}%")

Pure Python on plain dicts: no Airflow, no pyarrow. ``dativo report`` prints the same numbers.
"""

from airflow_provider_dativo.analytics.events import load_events
from airflow_provider_dativo.analytics.summaries import (
    per_tenant_load,
    summarize_dags,
    summarize_schedules,
    summarize_tasks,
)

__all__ = ["load_events", "per_tenant_load", "summarize_dags", "summarize_schedules", "summarize_tasks"]
