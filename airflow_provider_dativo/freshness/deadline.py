"""The Airflow deadline alert of a schedule with ``freshness_minutes``.

Airflow 3.1+ deadline alerts are evaluated by the scheduler: when a DAG run is queued it
records a deadline (queued time + interval); a run still unfinished at that time is "missed"
and the scheduler queues the alert's callback, which an ``AsyncCallback`` makes the
triggerer's job. Nothing here imports more than ``airflow.sdk``: it runs while DAG files parse.
"""

from __future__ import annotations

from datetime import timedelta
from typing import Any

from airflow.sdk.definitions.callback import AsyncCallback
from airflow.sdk.definitions.deadline import DeadlineAlert, DeadlineReference

CALLBACK_PATH = "airflow_provider_dativo.freshness.callback.freshness_missed"
"""Written as a path, so building the alert imports no callback code."""
ALERT_NAME = "dativo_freshness"
"""The alert's name; the Dativo view finds freshness promises by it in ``deadline_alert``."""


def freshness_arguments(
    *, schedule: str, tenant: str, table: str, minutes: int, notifier: str | None
) -> dict[str, Any]:
    """The plain data of one freshness promise (stored in the parse cache, written by export)."""
    return {
        "schedule": schedule,
        "tenant": tenant,
        "table": table,
        "freshness_minutes": minutes,
        "notifier": notifier,
    }


def freshness_deadline(arguments: dict[str, Any]) -> DeadlineAlert:
    """A deadline ``freshness_minutes`` after the run was queued, calling :func:`freshness_missed`
    on the triggerer with the schedule, tenant, table and notifier."""
    return DeadlineAlert(
        reference=DeadlineReference.DAGRUN_QUEUED_AT,
        interval=timedelta(minutes=arguments["freshness_minutes"]),
        callback=AsyncCallback(CALLBACK_PATH, kwargs=dict(arguments)),
        name=ALERT_NAME,
    )
