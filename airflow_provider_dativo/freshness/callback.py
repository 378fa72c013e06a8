"""What runs when a DAG run misses its freshness deadline (on Airflow's triggerer).

The callback logs one ``freshness_missed`` event (the same JSON-per-line format as the job
events, on the ``dativo.events`` logger) naming the schedule, tenant and table, then calls the
notifier named in the runner file, if any, with that event. A notifier may be a plain or an
``async`` function; a plain one runs in a worker thread so it cannot stall the triggerer's loop.
"""

from __future__ import annotations

import asyncio
import importlib
import inspect
import json
import logging
from collections.abc import Callable
from datetime import datetime, timezone
from typing import Any

logger = logging.getLogger("dativo.events")


def import_callable(path: str) -> Callable[..., Any]:
    """``package.module:function`` or ``package.module.function`` -> the function."""
    module_name, _, name = path.rpartition(":") if ":" in path else path.rpartition(".")
    target = getattr(importlib.import_module(module_name), name, None)
    if not callable(target):
        raise ImportError(f"freshness_notifier {path!r}: {module_name} has no function {name!r}")
    return target


def missed_event(
    *, schedule: str, tenant: str, table: str, freshness_minutes: int, context: dict[str, Any] | None
) -> dict[str, Any]:
    """The ``freshness_missed`` event of one missed deadline (``context`` as Airflow passes it)."""
    dag_run = (context or {}).get("dag_run") or {}
    deadline = (context or {}).get("deadline") or {}
    return {
        "timestamp": datetime.now(timezone.utc).isoformat(timespec="milliseconds").replace("+00:00", "Z"),
        "level": "WARNING",
        "event_type": "freshness_missed",
        "job_name": schedule,
        "tenant_id": tenant,
        "run_id": dag_run.get("dag_run_id"),
        "message": (
            f"schedule {schedule} (tenant {tenant}) missed its freshness promise: table {table} "
            f"was not loaded within {freshness_minutes} minutes"
        ),
        "schedule": schedule,
        "tenant": tenant,
        "table": table,
        "freshness_minutes": freshness_minutes,
        "dag_id": dag_run.get("dag_id", schedule),
        "deadline_time": str(deadline.get("deadline_time")) if deadline.get("deadline_time") else None,
    }


async def freshness_missed(
    *,
    schedule: str,
    tenant: str,
    table: str,
    freshness_minutes: int,
    notifier: str | None = None,
    context: dict[str, Any] | None = None,
) -> dict[str, Any]:
    """Airflow's deadline callback: log the event, then notify. Returns the event."""
    event = missed_event(
        schedule=schedule, tenant=tenant, table=table, freshness_minutes=freshness_minutes, context=context
    )
    logger.warning(json.dumps(event, default=str, ensure_ascii=False))
    if notifier:
        notify = import_callable(notifier)
        if inspect.iscoroutinefunction(notify):
            await notify(event)
        else:
            await asyncio.to_thread(notify, event)
    return event
